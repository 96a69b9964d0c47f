"""One feed-forward neat-python network as a plain ``torch.nn.Module`` (export, fine-tuning by gradient).

Why a module of its own: the batched compiler is built for populations (sparse products over many
genomes, activations run in place); an exported network should be an ordinary module of dense ops
that ``torch.export`` and ONNX understand and autograd can train. Node by node it computes what
neat-python's ``FeedForwardNetwork`` computes, ``act(bias + response * agg(w_i x_i))``, with the same
functions (``activations.py``), layer by layer in neat-python's order; the weights, biases and
responses are ``nn.Parameter``s, so an evolved network can be fine-tuned by backprop (its topology stays
NEAT's: a dense weight matrix is multiplied by the genome's link mask, so absent links get no gradient).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from evohyper.families.neat.activations import ACTIVATIONS, AGGREGATIONS
from evohyper.families.neat.compile import Plan


class _Group(nn.Module):
    """Nodes of one layer that share activation and aggregation; reads every column computed so far."""

    def __init__(self, activation: str, aggregation: str, sources: list[list[int]], weights: list[list[float]],
                 bias: list[float], response: list[float], columns: int, dtype: torch.dtype):
        super().__init__()
        self.activation, self.aggregation = activation, aggregation
        n = len(bias)
        self.bias = nn.Parameter(torch.tensor(bias, dtype=dtype))
        self.response = nn.Parameter(torch.tensor(response, dtype=dtype))
        if aggregation == "sum":   # a dense [columns, n] matrix (one GEMM), masked to the genome's links
            w = torch.zeros(columns, n, dtype=torch.float64)
            mask = torch.zeros(columns, n, dtype=torch.bool)
            for j, (src, ws) in enumerate(zip(sources, weights)):
                for s, v in zip(src, ws):
                    w[s, j], mask[s, j] = v, True
            self.weight = nn.Parameter(w.to(dtype))
            self.register_buffer("mask", mask)
        else:                      # padded link lists, aggregated as neat-python does (empty lists too)
            d = max(1, max(len(s) for s in sources))
            src = torch.full((n, d), columns, dtype=torch.int64)   # column `columns` is a constant 0
            w = torch.zeros(n, d, dtype=torch.float64)
            mask = torch.zeros(n, d, dtype=torch.bool)
            for j, (ss, ws) in enumerate(zip(sources, weights)):
                for k, (s, v) in enumerate(zip(ss, ws)):
                    src[j, k], w[j, k], mask[j, k] = s, v, True
            self.register_buffer("src", src)
            self.register_buffer("mask", mask)
            self.weight = nn.Parameter(w.to(dtype))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """``h [B, columns]`` -> this group's node values ``[B, n]``."""
        if self.aggregation == "sum":   # the mask keeps gradient steps off links NEAT did not evolve
            s = h @ (self.weight * self.mask)
        else:
            padded = torch.cat([h, torch.zeros_like(h[:, :1])], dim=1)
            x = padded[:, self.src] * self.weight                           # [B, n, D]
            s = AGGREGATIONS[self.aggregation](x.permute(1, 2, 0), self.mask).t()   # [B, n]
        return ACTIVATIONS[self.activation](self.bias + self.response * s)


class NEATModule(nn.Module):
    """A feed-forward neat-python network: ``forward(x [B, num_inputs]) -> [B, num_outputs]``."""

    def __init__(self, genome: Any, plan: Plan, num_inputs: int, num_outputs: int, dtype: torch.dtype = torch.float32):
        super().__init__()
        self.num_inputs, self.num_outputs = num_inputs, num_outputs
        self.input_shape = (num_inputs,)
        column = {-i - 1: i for i in range(num_inputs)}
        self.layers = nn.ModuleList()
        for layer in plan.layers:
            groups: dict[tuple[str, str], list[int]] = {}
            for node in layer:
                gene = genome.nodes[node]
                groups.setdefault((gene.activation, gene.aggregation), []).append(node)
            width = len(column)   # inputs and the nodes of earlier layers
            modules = nn.ModuleList()
            for (act, agg), nodes in sorted(groups.items()):
                links = [plan.incoming.get(n, []) for n in nodes]
                modules.append(_Group(act, agg, [[column[s] for s, _ in lk] for lk in links],
                                      [[w for _, w in lk] for lk in links],
                                      [genome.nodes[n].bias for n in nodes], [genome.nodes[n].response for n in nodes],
                                      width, dtype))
            for nodes in (n for _, n in sorted(groups.items())):
                for n in nodes:
                    column[n] = len(column)
            self.layers.append(modules)
        total = len(column)
        self.register_buffer("outputs", torch.tensor([column.get(k, total) for k in range(num_outputs)]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for groups in self.layers:
            h = torch.cat([h, *(g(h) for g in groups)], dim=1)
        padded = torch.cat([h, torch.zeros_like(h[:, :1])], dim=1)  # outputs neat-python never evaluates: 0
        return padded[:, self.outputs]
