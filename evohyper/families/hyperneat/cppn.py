"""Batched CPPNs: a population of neat-python feed-forward genomes compiled into a few tensors.

Why: HyperNEAT queries every CPPN at every substrate coordinate pair (14,641 pairs per genome at
11x11, 9.15 M at 55x55). neat-python's ``FeedForwardNetwork.activate`` does that one pair at a
time in Python. Here all nodes of all genomes become rows of one value buffer ``V [S, Q]`` (Q
queries along the fast axis, no padding between genomes) and are evaluated in a handful of
tensor ops:

* **Compile** (once per generation; loops over genes, never over queries): each genome's enabled
  connections go through neat-python's own ``feed_forward_layers``, so the set and order of the
  evaluated nodes are exactly neat-python's. Layer ``l`` of the population is the concatenation of
  every genome's layer ``l``, rows sorted by activation function so each function runs once, in
  place, on one contiguous slice.
* **Query**: the inputs (coordinates, bias) are shared by every genome, and most CPPN links come
  straight from them. So the input links, biases and responses of *all* nodes of *all* genomes are
  one dense GEMM ``[N, n_in + 1] @ [n_in + 1, Q]``. Then, layer by layer, links from hidden nodes
  are added with one sparse (CSR) matrix product, nodes with another aggregation than ``sum``
  (product, max, median, ...) gather their padded link lists ``[R, D, Q]``, and the activations run.

``act(bias + response * sum(w_i x_i))`` is computed as ``act'(sum((s response w_i) x_i) + s bias)``
where ``s`` is the activation's own input scale (5 for sigmoid, ...): equal up to float rounding (the
property test holds it to 1e-5 against neat-python).
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from neat.graphs import feed_forward_layers

from evohyper.families.hyperneat.activations import ACTIVATION_NAMES, ACTIVATIONS, AGGREGATION_NAMES, AGGREGATIONS

_ACT_CODE = {n: i for i, n in enumerate(ACTIVATION_NAMES)}
_AGG_CODE = {n: i for i, n in enumerate(AGGREGATION_NAMES)}

# The activations HyperNEAT CPPNs use most, as (input scale, in-place op on the scaled input).
# neat-python's sigmoid(z) is 1 / (1 + exp(-clamp(5z, +-60))): the 5 is folded into the node's
# weights, bias and response at compile time, so the query runs one pass per node. The +-60 clamp is
# dropped where it cannot change a float (sigmoid, tanh saturate long before); sin keeps it.
_FOLDED = {
    "sigmoid": (5.0, lambda z: z.sigmoid_()),
    "tanh": (2.5, lambda z: z.tanh_()),
    "sin": (5.0, lambda z: z.clamp_(-60.0, 60.0).sin_()),
    "gauss": (1.0, lambda z: z.clamp_(-3.4, 3.4).square_().mul_(-5.0).exp_()),
    "abs": (1.0, lambda z: z.abs_()),
    "identity": (1.0, lambda z: z),
}


@dataclass
class _Gather:
    """Nodes of one layer whose aggregation is not ``sum``: padded link lists."""

    rows: torch.Tensor      # [R] row in V
    src: torch.Tensor       # [R, D] source row
    weight: torch.Tensor    # [R, D]
    mask: torch.Tensor      # [R, D] real link
    bias: torch.Tensor      # [R, 1]
    response: torch.Tensor  # [R, 1]
    groups: list[tuple[str, torch.Tensor]]  # (aggregation, index into R)


@dataclass
class _Layer:
    start: int
    end: int
    hidden: torch.Tensor | None              # CSR [end - start, start]: links from earlier hidden nodes
    activations: list[tuple[str, int, int]]  # (name, row start, row end), contiguous
    gather: _Gather | None = None


@dataclass
class CompiledCPPNs:
    """A population of CPPNs as tensors; ``query(inputs)`` runs all of them at all queries."""

    num_inputs: int
    num_outputs: int
    num_genomes: int
    num_rows: int
    input_weights: torch.Tensor              # [N, n_in + 1]: input links and bias of every node
    layers: list[_Layer]
    output_rows: torch.Tensor                # [G * O]
    dtype: torch.dtype
    device: torch.device
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def num_slots(self) -> int:
        """Rows of the value buffer (memory per query is ``num_slots * itemsize``)."""
        return self.num_rows

    def query(self, inputs: torch.Tensor) -> torch.Tensor:
        """``inputs [Q, num_inputs]`` (shared by all genomes) -> outputs ``[G, num_outputs, Q]``."""
        if inputs.dim() != 2 or inputs.shape[1] != self.num_inputs:
            raise ValueError(f"CPPN inputs must be [Q, {self.num_inputs}], got {tuple(inputs.shape)}")
        n_in, Q = self.num_inputs, inputs.shape[0]
        base = n_in + 2
        V = torch.empty(self.num_rows, Q, dtype=self.dtype, device=self.device)
        V[:n_in] = inputs.to(device=self.device, dtype=self.dtype).t()
        V[n_in] = 1.0                                   # bias row
        V[n_in + 1] = 0.0                               # value of outputs neat-python never evaluates
        torch.mm(self.input_weights, V[:n_in + 1], out=V[base:])   # every node's input links + bias
        for layer in self.layers:
            if layer.hidden is not None:
                V[layer.start:layer.end].addmm_(layer.hidden, V[:layer.start])  # in place: no temporaries
            if layer.gather is not None:
                gt = layer.gather
                x = V[gt.src] * gt.weight[..., None]                   # [R, D, Q]
                agg = torch.empty(gt.rows.shape[0], Q, dtype=self.dtype, device=self.device)
                for name, idx in gt.groups:
                    agg[idx] = AGGREGATIONS[name](x[idx], gt.mask[idx])
                V[gt.rows] = agg.mul_(gt.response).add_(gt.bias)
            for name, a, b in layer.activations:
                if name in _FOLDED:
                    _FOLDED[name][1](V[a:b])
                else:
                    V[a:b] = ACTIVATIONS[name](V[a:b])
        return V.index_select(0, self.output_rows).view(self.num_genomes, self.num_outputs, Q)


def _genome_layers(genome: Any, input_keys: list[int], output_keys: list[int]):
    """neat-python's own evaluation order and links for one genome (what FeedForwardNetwork uses)."""
    connections = [cg.key for cg in genome.connections.values() if cg.enabled]
    layers, required = feed_forward_layers(input_keys, output_keys, connections)
    usable = required | set(input_keys)
    incoming: dict[int, list[tuple[int, float]]] = {}
    for key in connections:  # same order as FeedForwardNetwork.create's scan of the connections
        i, o = key
        if i in usable:
            incoming.setdefault(o, []).append((i, genome.connections[key].weight))
    return [sorted(layer) for layer in layers], incoming


def _check_node(genome: Any, key: int, node: Any) -> None:
    if node.activation not in _ACT_CODE:
        raise ValueError(f"CPPN node {key} of genome {genome.key}: activation {node.activation!r} "
                         f"has no batched version; allowed: {list(ACTIVATION_NAMES)}")
    if node.aggregation not in _AGG_CODE:
        raise ValueError(f"CPPN node {key} of genome {genome.key}: aggregation {node.aggregation!r} "
                         f"has no batched version; allowed: {list(AGGREGATION_NAMES)}")


def compile_cppns(genomes: Sequence[Any], num_inputs: int, num_outputs: int, *,
                  dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> CompiledCPPNs:
    """Compile neat-python ``DefaultGenome``s (feed-forward) into one batched population.

    Loops over genomes and genes once (that is the per-generation compile); all querying is batched.
    """
    device = torch.device(device)
    G = len(genomes)
    if G == 0:
        raise ValueError("cannot compile an empty population of CPPNs")
    input_keys = [-i - 1 for i in range(num_inputs)]
    output_keys = list(range(num_outputs))
    per_genome = [_genome_layers(g, input_keys, output_keys) for g in genomes]
    n_layers = max((len(layers) for layers, _ in per_genome), default=0)
    zero_row, base = num_inputs + 1, num_inputs + 2   # row num_inputs holds the bias

    # Row of every evaluated node: layer by layer, within a layer sorted by activation function.
    order: list[list[tuple[int, int, int]]] = []  # per layer: (activation code, genome, node)
    for li in range(n_layers):
        entries = []
        for g, ((layers, _), genome) in enumerate(zip(per_genome, genomes)):
            if li < len(layers):
                for node in layers[li]:
                    _check_node(genome, node, genome.nodes[node])
                    entries.append((_ACT_CODE[genome.nodes[node].activation], g, node))
        order.append(sorted(entries))
    row_of: list[dict[int, int]] = [{k: i for i, k in enumerate(input_keys)} for _ in range(G)]
    row = base
    bounds = []
    for entries in order:
        start = row
        for _, g, node in entries:
            row_of[g][node] = row
            row += 1
        bounds.append((start, row))
    num_rows, n_nodes = row, row - base

    win = np.zeros((n_nodes, num_inputs + 1), dtype=np.float64)
    compiled_layers = []
    n_gather = n_hidden = 0
    for (start, end), entries in zip(bounds, order):
        h_src, h_dst, h_w, gather_rows = [], [], [], []
        for r, (_, g, node) in enumerate(entries, start=start):
            ng = genomes[g].nodes[node]
            scale = _FOLDED.get(ng.activation, (1.0,))[0]
            bias, response = ng.bias * scale, ng.response * scale
            links = [(row_of[g][i], w) for i, w in per_genome[g][1].get(node, [])]
            if ng.aggregation == "sum":
                win[r - base, num_inputs] = bias
                for s, w in links:
                    if s < num_inputs:
                        win[r - base, s] += response * w
                    else:
                        h_src.append(s), h_dst.append(r - start), h_w.append(response * w)
            else:
                gather_rows.append((r, bias, response, links))
        t = dict(dtype=dtype, device=device)
        acts, a = [], start
        for code in sorted({c for c, _, _ in entries}):
            b = a + sum(1 for c, _, _ in entries if c == code)
            acts.append((ACTIVATION_NAMES[code], a, b))
            a = b
        gather = None
        if gather_rows:
            n_gather += len(gather_rows)
            D = max(1, max(len(links) for *_, links in gather_rows))
            R = len(gather_rows)
            src = np.full((R, D), zero_row, dtype=np.int64)
            wts = np.zeros((R, D), dtype=np.float64)
            mask = np.zeros((R, D), dtype=bool)
            for i, (*_, links) in enumerate(gather_rows):
                for d, (s, w) in enumerate(links):
                    src[i, d], wts[i, d], mask[i, d] = s, w, True
            names = [genomes[g].nodes[node].aggregation for _, g, node in entries
                     if genomes[g].nodes[node].aggregation != "sum"]
            gather = _Gather(
                rows=torch.tensor([r for r, *_ in gather_rows], device=device),
                src=torch.from_numpy(src).to(device), weight=torch.from_numpy(wts).to(**t),
                mask=torch.from_numpy(mask).to(device),
                bias=torch.tensor([[b] for _, b, _, _ in gather_rows], **t),
                response=torch.tensor([[rs] for _, _, rs, _ in gather_rows], **t),
                groups=[(a, torch.tensor([i for i, n in enumerate(names) if n == a], device=device))
                        for a in sorted(set(names))])
        n_hidden += len(h_src)
        hidden = None
        if h_src:  # CSR rows = this layer's nodes, columns = every earlier row of V
            with warnings.catch_warnings():  # "sparse CSR support is in beta": addmm_ with CSR is what we use
                warnings.simplefilter("ignore")
                hidden = torch.sparse_coo_tensor(torch.tensor([h_dst, h_src]), torch.tensor(h_w, dtype=torch.float64),
                                                 (end - start, start)).coalesce().to_sparse_csr().to(**t)
        compiled_layers.append(_Layer(start, end, hidden, acts, gather))

    out_rows = [row_of[g].get(k, zero_row) for g in range(G) for k in output_keys]  # unevaluated -> 0.0
    stats = {"layers": n_layers, "nodes": n_nodes, "rows": num_rows, "hidden_links": n_hidden,
             "gather_nodes": n_gather}
    return CompiledCPPNs(num_inputs, num_outputs, G, num_rows, torch.from_numpy(win).to(dtype=dtype, device=device),
                         compiled_layers, torch.tensor(out_rows, device=device), dtype, device, stats)
