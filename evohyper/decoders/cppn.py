"""Batched CPPNs: a population of neat-python feed-forward genomes compiled into padded tensors.

Why: HyperNEAT queries every CPPN at every substrate coordinate pair (14,641 pairs per genome at
11x11, 9.15 M at 55x55). neat-python's ``FeedForwardNetwork.activate`` does that one pair at a
time in Python. Here a whole population of differently shaped CPPNs is evaluated at all pairs in a
few tensor ops per *topological layer*:

* **Compile** (once per generation; loops over genes, never over queries): each genome's enabled
  connections go through neat-python's own ``feed_forward_layers``, so the node order and the set of
  evaluated nodes are neat-python's. Layer ``l`` of every genome is padded to the widest genome's
  ``K_l`` nodes; node values live in one buffer ``[G, N, Q]`` with slots
  ``[inputs | zero | layer 0 | layer 1 | ...]``.
* **Query**: per layer, the weighted sums of all genomes are one ``bmm`` of a dense incoming-weight
  matrix ``[G, K_l, off_l]`` with the value buffer; nodes with another aggregation (product, max,
  median, ...) gather their padded link lists ``[R, D, Q]`` instead. Then ``bias + response * agg``
  and the activations, grouped by function (each function runs once on the rows that use it).

Padding is exact: padded weights are 0 and padded nodes are never read. The one divergence: a node
value of +-inf multiplied by a padded 0 weight gives NaN in the same genome's later nodes, where
neat-python would have ignored the unconnected node (only reachable with unbounded activations
such as ``exp``/``cube`` overflowing).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from neat.graphs import feed_forward_layers

from evohyper.decoders._neat_functions import ACTIVATION_NAMES, ACTIVATIONS, AGGREGATION_NAMES, AGGREGATIONS

_ACT_CODE = {n: i for i, n in enumerate(ACTIVATION_NAMES)}
_AGG_CODE = {n: i for i, n in enumerate(AGGREGATION_NAMES)}
_SUM = _AGG_CODE["sum"]


@dataclass
class _Gather:
    """Nodes of one layer whose aggregation is not ``sum``: padded link lists."""

    rows: torch.Tensor      # [R] flat row g * K + k
    genome: torch.Tensor    # [R, 1] genome index
    src: torch.Tensor       # [R, D] source slot
    weight: torch.Tensor    # [R, D]
    mask: torch.Tensor      # [R, D] real link
    groups: list[tuple[str, torch.Tensor]]  # (aggregation, index into R)


@dataclass
class _Layer:
    offset: int                              # first slot of this layer; sources are slots < offset
    width: int                               # K_l
    weight: torch.Tensor                     # [G, K_l, offset] incoming weights of sum nodes
    bias: torch.Tensor                       # [G, K_l, 1]
    response: torch.Tensor                   # [G, K_l, 1]
    activations: list[tuple[str, torch.Tensor | None]]  # (name, flat rows; None = every row)
    gather: _Gather | None = None


@dataclass
class CompiledCPPNs:
    """A population of CPPNs as tensors; ``query(inputs)`` runs all of them at all queries."""

    num_inputs: int
    num_outputs: int
    num_genomes: int
    num_slots: int
    layers: list[_Layer]
    output_slots: torch.Tensor               # [G, O]
    dtype: torch.dtype
    device: torch.device
    stats: dict[str, Any] = field(default_factory=dict)

    def query(self, inputs: torch.Tensor) -> torch.Tensor:
        """``inputs [Q, num_inputs]`` (shared by all genomes) -> outputs ``[G, num_outputs, Q]``."""
        if inputs.dim() != 2 or inputs.shape[1] != self.num_inputs:
            raise ValueError(f"CPPN inputs must be [Q, {self.num_inputs}], got {tuple(inputs.shape)}")
        G, Q, n_in = self.num_genomes, inputs.shape[0], self.num_inputs
        val = torch.empty(G, self.num_slots, Q, dtype=self.dtype, device=self.device)
        val[:, :n_in] = inputs.to(self.dtype).t().to(self.device)
        val[:, n_in] = 0.0
        for layer in self.layers:
            pre = torch.bmm(layer.weight, val[:, :layer.offset])          # [G, K, Q]
            flat = pre.view(G * layer.width, Q)
            if layer.gather is not None:
                gt = layer.gather
                x = val[gt.genome, gt.src] * gt.weight[..., None]          # [R, D, Q]
                for name, idx in gt.groups:
                    flat[gt.rows[idx]] = AGGREGATIONS[name](x[idx], gt.mask[idx])
            pre.mul_(layer.response).add_(layer.bias)
            for name, rows in layer.activations:
                if name == "identity":
                    continue
                if rows is None:
                    flat.copy_(ACTIVATIONS[name](flat))
                else:
                    flat[rows] = ACTIVATIONS[name](flat[rows])
            val[:, layer.offset:layer.offset + layer.width] = pre
        index = self.output_slots[:, :, None].expand(G, self.num_outputs, Q)
        return torch.gather(val, 1, index)


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
    widths = [max((len(layers[l]) if l < len(layers) else 0) for layers, _ in per_genome) for l in range(n_layers)]
    zero_slot = num_inputs
    offsets, off = [], num_inputs + 1
    for w in widths:
        offsets.append(off)
        off += w
    num_slots = off

    # slot of every evaluated node, per genome
    slot_of: list[dict[int, int]] = []
    for layers, _ in per_genome:
        m = {k: i for i, k in enumerate(input_keys)}
        for l, layer in enumerate(layers):
            for k, node in enumerate(layer):
                m[node] = offsets[l] + k
        slot_of.append(m)

    out_slots = np.full((G, num_outputs), zero_slot, dtype=np.int64)  # never-evaluated output: 0.0
    for g in range(G):
        for o, key in enumerate(output_keys):
            out_slots[g, o] = slot_of[g].get(key, zero_slot)

    compiled_layers = []
    n_gather = 0
    for l, (offset, width) in enumerate(zip(offsets, widths)):
        W = np.zeros((G, width, offset), dtype=np.float64)
        bias = np.zeros((G, width), dtype=np.float64)
        resp = np.ones((G, width), dtype=np.float64)
        act = np.full((G, width), _ACT_CODE["identity"], dtype=np.int64)
        gather_rows: list[tuple[int, int, str, list[tuple[int, float]]]] = []
        for g, ((layers, incoming), genome) in enumerate(zip(per_genome, genomes)):
            if l >= len(layers):
                continue
            for k, node in enumerate(layers[l]):
                ng = genome.nodes[node]
                bias[g, k], resp[g, k] = ng.bias, ng.response
                if ng.activation not in _ACT_CODE:
                    raise ValueError(f"CPPN node {node} of genome {genome.key}: activation {ng.activation!r} "
                                     f"has no batched version; allowed: {list(ACTIVATION_NAMES)}")
                if ng.aggregation not in _AGG_CODE:
                    raise ValueError(f"CPPN node {node} of genome {genome.key}: aggregation "
                                     f"{ng.aggregation!r} has no batched version; allowed: {list(AGGREGATION_NAMES)}")
                act[g, k] = _ACT_CODE[ng.activation]
                links = [(slot_of[g][i], w) for i, w in incoming.get(node, [])]
                if ng.aggregation == "sum":
                    for s, w in links:
                        W[g, k, s] += w
                else:
                    gather_rows.append((g, k, ng.aggregation, links))
        t = dict(dtype=dtype, device=device)
        flat_act = act.reshape(-1)
        codes = np.unique(flat_act)
        activations: list[tuple[str, torch.Tensor | None]] = []
        for c in codes:
            rows = None if len(codes) == 1 else torch.from_numpy(np.nonzero(flat_act == c)[0]).to(device)
            activations.append((ACTIVATION_NAMES[c], rows))
        gather = None
        if gather_rows:
            n_gather += len(gather_rows)
            D = max(1, max(len(links) for *_, links in gather_rows))
            R = len(gather_rows)
            src = np.full((R, D), zero_slot, dtype=np.int64)
            wts = np.zeros((R, D), dtype=np.float64)
            mask = np.zeros((R, D), dtype=bool)
            for r, (g, k, _, links) in enumerate(gather_rows):
                for d, (s, w) in enumerate(links):
                    src[r, d], wts[r, d], mask[r, d] = s, w, True
            names = [a for _, _, a, _ in gather_rows]
            groups = [(a, torch.tensor([r for r, n in enumerate(names) if n == a], device=device))
                      for a in sorted(set(names))]
            gather = _Gather(
                rows=torch.tensor([g * width + k for g, k, _, _ in gather_rows], device=device),
                genome=torch.tensor([[g] for g, *_ in gather_rows], device=device),
                src=torch.from_numpy(src).to(device), weight=torch.from_numpy(wts).to(**t),
                mask=torch.from_numpy(mask).to(device), groups=groups)
        compiled_layers.append(_Layer(
            offset=offset, width=width, weight=torch.from_numpy(W).to(**t),
            bias=torch.from_numpy(bias).to(**t)[..., None], response=torch.from_numpy(resp).to(**t)[..., None],
            activations=activations, gather=gather))
    stats = {"layers": n_layers, "slots": num_slots, "gather_nodes": n_gather,
             "nodes": int(sum(sum(len(layer) for layer in layers) for layers, _ in per_genome))}
    return CompiledCPPNs(num_inputs, num_outputs, G, num_slots, compiled_layers,
                         torch.from_numpy(out_slots).to(device), dtype, device, stats)
