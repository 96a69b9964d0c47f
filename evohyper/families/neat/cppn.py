"""Batched neat-python networks: a population of genomes compiled into a few tensors.

Why: HyperNEAT queries every CPPN at every substrate coordinate pair (14,641 pairs per genome at
11x11, 9.15 M at 55x55), and direct NEAT runs every network once per time step of every episode.
neat-python's ``FeedForwardNetwork.activate`` / ``RecurrentNetwork.activate`` do that one input at a
time in Python. Here all nodes of all genomes become rows of one value buffer ``V [rows, Q]`` (Q
queries, samples or episodes along the fast axis, no padding between genomes) and are evaluated in a
handful of tensor ops:

* **Compile** (once per generation; loops over genes, never over queries): each genome's enabled
  connections go through neat-python's own ``feed_forward_layers`` (feed-forward) or the selection of
  ``RecurrentNetwork.create`` (recurrent), so the set and order of the evaluated nodes are exactly
  neat-python's. Layer ``l`` of the population is the concatenation of every genome's layer ``l``,
  rows sorted by activation function so each function runs once, in place, on one contiguous slice.
* **Inputs** are either shared by every genome (``shared_inputs``: CPPN coordinates, a classification
  batch), then the input links, biases and responses of *all* nodes are one dense GEMM
  ``[N, n_in + 1] @ [n_in + 1, Q]``; or each genome's own (``[G, Q, n_in]``: a control task's
  observations), then every genome has its own input rows and its input links join the sparse product.
* **Query**: layer by layer, links from earlier rows are added with one sparse (CSR) matrix product,
  nodes with another aggregation than ``sum`` (product, max, median, ...) gather their padded link
  lists ``[R, D, Q]``, and the activations run.
* **Recurrent** genomes have one "layer": every node neat-python's ``RecurrentNetwork`` evaluates. A
  ``step`` reads the previous values of all rows (inputs replaced by the current ones) and writes all
  nodes at once: neat-python's synchronous update, batched.

``act(bias + response * sum(w_i x_i))`` is computed as ``act'(sum((s response w_i) x_i) + s bias)``
where ``s`` is the activation's own input scale (5 for sigmoid, ...): equal up to float rounding (the
property tests hold it to 1e-5 against neat-python in float64).
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from neat.graphs import feed_forward_layers, required_for_output

from evohyper.families.neat.activations import ACTIVATION_NAMES, ACTIVATIONS, AGGREGATION_NAMES, AGGREGATIONS

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
class Plan:
    """One genome as neat-python evaluates it: node layers and each node's incoming ``(source, weight)``."""

    layers: list[list[int]]
    incoming: dict[int, list[tuple[int, float]]]


def feed_forward_plan(genome: Any, input_keys: list[int], output_keys: list[int]) -> Plan:
    """neat-python's ``FeedForwardNetwork.create``: its layers, and links in its scan order."""
    connections = [cg.key for cg in genome.connections.values() if cg.enabled]
    layers, required = feed_forward_layers(input_keys, output_keys, connections)
    usable = required | set(input_keys)
    incoming: dict[int, list[tuple[int, float]]] = {}
    for key in connections:  # same order as FeedForwardNetwork.create's scan of the connections
        i, o = key
        if i in usable:
            incoming.setdefault(o, []).append((i, genome.connections[key].weight))
    return Plan([sorted(layer) for layer in layers], incoming)


def recurrent_plan(genome: Any, input_keys: list[int], output_keys: list[int]) -> Plan:
    """neat-python's ``RecurrentNetwork.create``: every node with an expressed link into it (one layer)."""
    required = required_for_output(input_keys, output_keys, genome.connections)
    incoming: dict[int, list[tuple[int, float]]] = {}
    for cg in genome.connections.values():
        i, o = cg.key
        if cg.enabled and (o in required or i in required):
            incoming.setdefault(o, []).append((i, cg.weight))
    return Plan([sorted(incoming)] if incoming else [], incoming)


@dataclass
class _Gather:
    """Nodes of one layer whose aggregation is not ``sum``: padded link lists."""

    rows: torch.Tensor      # [R] row within the layer
    src: torch.Tensor       # [R, D] source row in V
    weight: torch.Tensor    # [R, D]
    mask: torch.Tensor      # [R, D] real link
    bias: torch.Tensor      # [R, 1]
    response: torch.Tensor  # [R, 1]
    groups: list[tuple[str, torch.Tensor]]  # (aggregation, index into R)


@dataclass
class _Layer:
    start: int
    end: int
    columns: int                             # the CSR reads rows [0, columns) of V
    hidden: torch.Tensor | None              # CSR [end - start, columns]: links not in the dense GEMM
    activations: list[tuple[str, int, int]]  # (name, start, end) within the layer, contiguous
    gather: _Gather | None = None


@dataclass
class CompiledNetworks:
    """A population of neat-python networks as tensors.

    Rows of ``V``: the input rows (``n_in`` shared, or ``G * n_in``), the bias row (1.0), a zero row
    (the value of nodes neat-python never evaluates), then every evaluated node."""

    num_inputs: int
    num_outputs: int
    num_genomes: int
    num_rows: int
    shared_inputs: bool
    recurrent: bool
    dense: torch.Tensor                      # [N, n_dense]: links from rows [dense_start, bias row] of every node
    layers: list[_Layer]
    output_rows: torch.Tensor                # [G * O]
    dtype: torch.dtype
    device: torch.device
    stats: dict[str, Any] = field(default_factory=dict)
    _work: dict[int, torch.Tensor] = field(default_factory=dict, repr=False)

    @property
    def num_slots(self) -> int:
        """Rows of the value buffer (memory per query is ``num_slots * itemsize``)."""
        return self.num_rows

    @property
    def input_rows(self) -> int:
        return self.num_inputs * (1 if self.shared_inputs else self.num_genomes)

    @property
    def base(self) -> int:
        return self.input_rows + 2

    def _buffer(self, q: int) -> torch.Tensor:
        V = torch.zeros(self.num_rows, q, dtype=self.dtype, device=self.device)
        V[self.input_rows] = 1.0                     # bias row; the zero row after it stays 0
        return V

    def _set_inputs(self, V: torch.Tensor, inputs: torch.Tensor) -> None:
        """Copy (and cast) the inputs into their rows of ``V`` in one pass."""
        n_in, G, x = self.num_inputs, self.num_genomes, inputs
        if self.shared_inputs:
            if x.dim() != 2 or x.shape[1] != n_in:
                raise ValueError(f"network inputs must be [Q, {n_in}] (shared), got {tuple(inputs.shape)}")
            V[:n_in].copy_(x.t())
        else:
            if x.dim() != 3 or x.shape[0] != G or x.shape[2] != n_in:
                raise ValueError(f"network inputs must be [{G}, Q, {n_in}] (one per genome), got {tuple(inputs.shape)}")
            V[:G * n_in].view(G, n_in, x.shape[1]).copy_(x.transpose(1, 2))

    def _dense(self, V: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        lo = 0 if self.shared_inputs else self.input_rows
        return torch.mm(self.dense, V[lo:self.input_rows + 1], out=out)

    def _outputs(self, V: torch.Tensor) -> torch.Tensor:
        return V.index_select(0, self.output_rows).view(self.num_genomes, self.num_outputs, V.shape[1])

    @staticmethod
    def _run_layer(out: torch.Tensor, V: torch.Tensor, layer: _Layer, q: int) -> None:
        """Add the layer's sparse links into ``out`` (its rows), aggregate gathers, activate, in place."""
        if layer.hidden is not None:
            out.addmm_(layer.hidden, V[:layer.columns])  # in place: no temporaries
        if layer.gather is not None:
            gt = layer.gather
            x = V[gt.src] * gt.weight[..., None]                   # [R, D, Q]
            agg = torch.empty(gt.rows.shape[0], q, dtype=V.dtype, device=V.device)
            for name, idx in gt.groups:
                agg[idx] = AGGREGATIONS[name](x[idx], gt.mask[idx])
            out[gt.rows] = agg.mul_(gt.response).add_(gt.bias)
        for name, a, b in layer.activations:
            if name in _FOLDED:
                _FOLDED[name][1](out[a:b])
            else:
                out[a:b] = ACTIVATIONS[name](out[a:b])

    def query(self, inputs: torch.Tensor) -> torch.Tensor:
        """Feed-forward: ``inputs [Q, n_in]`` (shared) or ``[G, Q, n_in]`` -> outputs ``[G, num_outputs, Q]``."""
        if self.recurrent:
            raise RuntimeError("recurrent networks run with step(inputs, state), not query()")
        q = inputs.shape[-2]
        V = self._work.get(q)
        if V is None:  # small buffers (a control task's per-step call) are kept and reused: every row but
            V = self._buffer(q)  # the constant ones is rewritten; big ones (HyperNEAT chunks) are not kept
            if V.numel() * V.element_size() <= 2**24:
                self._work[q] = V
        self._set_inputs(V, inputs)
        self._dense(V, out=V[self.base:])                         # every node's dense links + bias
        for layer in self.layers:
            self._run_layer(V[layer.start:layer.end], V, layer, q)
        return self._outputs(V)

    def initial_state(self, q: int) -> torch.Tensor:
        """The value buffer of a network at rest (every node 0), for ``q`` parallel sequences."""
        return self._buffer(q)

    def step(self, inputs: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """Recurrent: one synchronous update of every node from the previous values in ``state`` (updated
        in place) with the current ``inputs``; returns outputs ``[G, num_outputs, Q]``."""
        if not self.recurrent:
            raise RuntimeError("feed-forward networks run with query(inputs)")
        self._set_inputs(state, inputs)
        new = self._dense(state)
        for layer in self.layers:
            self._run_layer(new, state, layer, state.shape[1])
        state[self.base:] = new
        return self._outputs(state)


def _check_node(genome: Any, key: int, node: Any) -> None:
    if node.activation not in _ACT_CODE:
        raise ValueError(f"node {key} of genome {genome.key}: activation {node.activation!r} "
                         f"has no batched version; allowed: {list(ACTIVATION_NAMES)}")
    if node.aggregation not in _AGG_CODE:
        raise ValueError(f"node {key} of genome {genome.key}: aggregation {node.aggregation!r} "
                         f"has no batched version; allowed: {list(AGGREGATION_NAMES)}")


def _gather(gather_rows: list[tuple[int, float, float, list[tuple[int, float]], str]], zero_row: int,
            t: dict[str, Any]) -> _Gather:
    device = t["device"]
    D = max(1, max(len(links) for *_, links, _ in gather_rows))
    R = len(gather_rows)
    src = np.full((R, D), zero_row, dtype=np.int64)
    wts = np.zeros((R, D), dtype=np.float64)
    mask = np.zeros((R, D), dtype=bool)
    for i, (*_, links, _) in enumerate(gather_rows):
        for d, (s, w) in enumerate(links):
            src[i, d], wts[i, d], mask[i, d] = s, w, True
    names = [agg for *_, agg in gather_rows]
    return _Gather(rows=torch.tensor([r for r, *_ in gather_rows], device=device),
                   src=torch.from_numpy(src).to(device), weight=torch.from_numpy(wts).to(**t),
                   mask=torch.from_numpy(mask).to(device),
                   bias=torch.tensor([[b] for _, b, *_ in gather_rows], **t),
                   response=torch.tensor([[rs] for _, _, rs, *_ in gather_rows], **t),
                   groups=[(a, torch.tensor([i for i, n in enumerate(names) if n == a], device=device))
                           for a in sorted(set(names))])


def _csr(dst: list[int], src: list[int], w: list[float], shape: tuple[int, int], t: dict[str, Any]) -> torch.Tensor:
    with warnings.catch_warnings():  # "sparse CSR support is in beta": addmm_ with CSR is what we use
        warnings.simplefilter("ignore")
        return torch.sparse_coo_tensor(torch.tensor([dst, src]), torch.tensor(w, dtype=torch.float64),
                                       shape).coalesce().to_sparse_csr().to(**t)


def compile_networks(genomes: Sequence[Any], num_inputs: int, num_outputs: int, *, recurrent: bool = False,
                     shared_inputs: bool = True, dtype: torch.dtype = torch.float32,
                     device: torch.device | str = "cpu") -> CompiledNetworks:
    """Compile neat-python ``DefaultGenome``s into one batched population (see the module docstring).

    Loops over genomes and genes once (that is the per-generation compile); all querying is batched.
    """
    device = torch.device(device)
    G = len(genomes)
    if G == 0:
        raise ValueError("cannot compile an empty population of networks")
    input_keys = [-i - 1 for i in range(num_inputs)]
    output_keys = list(range(num_outputs))
    plan_of = recurrent_plan if recurrent else feed_forward_plan
    plans = [plan_of(g, input_keys, output_keys) for g in genomes]
    n_layers = max((len(p.layers) for p in plans), default=0)
    input_rows = num_inputs if shared_inputs else G * num_inputs
    zero_row, base = input_rows + 1, input_rows + 2   # row input_rows holds the bias
    n_dense = num_inputs + 1 if shared_inputs else 1   # the dense GEMM reads the inputs (if shared) and the bias

    # Row of every evaluated node: layer by layer, within a layer sorted by activation function.
    order: list[list[tuple[int, int, int]]] = []  # per layer: (activation code, genome, node)
    for li in range(n_layers):
        entries = []
        for g, (plan, genome) in enumerate(zip(plans, genomes)):
            if li < len(plan.layers):
                for node in plan.layers[li]:
                    _check_node(genome, node, genome.nodes[node])
                    entries.append((_ACT_CODE[genome.nodes[node].activation], g, node))
        order.append(sorted(entries))
    row_of: list[dict[int, int]] = [
        {k: (i if shared_inputs else g * num_inputs + i) for i, k in enumerate(input_keys)} for g in range(G)]
    row = base
    bounds = []
    for entries in order:
        start = row
        for _, g, node in entries:
            row_of[g][node] = row
            row += 1
        bounds.append((start, row))
    num_rows, n_nodes = row, row - base

    t = dict(dtype=dtype, device=device)
    win = np.zeros((n_nodes, n_dense), dtype=np.float64)
    compiled_layers = []
    n_gather = n_sparse = 0
    for (start, end), entries in zip(bounds, order):
        columns = num_rows if recurrent else start
        h_src, h_dst, h_w, gather_rows = [], [], [], []
        for r, (_, g, node) in enumerate(entries, start=start):
            ng = genomes[g].nodes[node]
            scale = _FOLDED.get(ng.activation, (1.0,))[0]
            bias, response = ng.bias * scale, ng.response * scale
            links = [(row_of[g].get(i, zero_row), w) for i, w in plans[g].incoming.get(node, [])]
            if ng.aggregation == "sum":
                win[r - base, n_dense - 1] = bias
                for s, w in links:
                    if shared_inputs and s < num_inputs:
                        win[r - base, s] += response * w
                    else:
                        h_src.append(s), h_dst.append(r - start), h_w.append(response * w)
            else:
                gather_rows.append((r - start, bias, response, links, ng.aggregation))
        acts, a = [], 0
        for code in sorted({c for c, _, _ in entries}):
            b = a + sum(1 for c, _, _ in entries if c == code)
            acts.append((ACTIVATION_NAMES[code], a, b))
            a = b
        gather = None
        if gather_rows:
            n_gather += len(gather_rows)
            gather = _gather(gather_rows, zero_row, t)
        n_sparse += len(h_src)
        hidden = _csr(h_dst, h_src, h_w, (end - start, columns), t) if h_src else None
        compiled_layers.append(_Layer(start, end, columns, hidden, acts, gather))

    out_rows = [row_of[g].get(k, zero_row) for g in range(G) for k in output_keys]  # unevaluated -> 0.0
    stats = {"layers": n_layers, "nodes": n_nodes, "rows": num_rows, "hidden_links": n_sparse,
             "gather_nodes": n_gather}
    return CompiledNetworks(num_inputs, num_outputs, G, num_rows, shared_inputs, recurrent,
                            torch.from_numpy(win).to(**t), compiled_layers, torch.tensor(out_rows, device=device),
                            dtype, device, stats)


#: HyperNEAT's name for the feed-forward, shared-input case
CompiledCPPNs = CompiledNetworks


def compile_cppns(genomes: Sequence[Any], num_inputs: int, num_outputs: int, *,
                  dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> CompiledNetworks:
    """Compile CPPNs (feed-forward genomes whose inputs, the coordinates, every genome shares)."""
    return compile_networks(genomes, num_inputs, num_outputs, dtype=dtype, device=device)
