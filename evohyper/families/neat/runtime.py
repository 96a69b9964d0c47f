"""The batched runtime of compiled NEAT networks: ``CompiledNetworks`` (built by ``compile.py``).

Why: HyperNEAT queries every CPPN at every substrate coordinate pair (14,641 pairs per genome at
11x11, 9.15 M at 55x55), and direct NEAT runs every network once per time step of every episode.
neat-python's ``FeedForwardNetwork.activate`` / ``RecurrentNetwork.activate`` do that one input at a
time in Python. Here all nodes of all genomes are rows of one value buffer ``V [rows, Q]`` (Q
queries, samples or episodes along the fast axis, no padding between genomes) and are evaluated in a
handful of tensor ops:

* **Layers**: layer ``l`` of the population is the concatenation of every genome's layer ``l`` (neat-python's
  ``feed_forward_layers``), rows sorted by activation function so each function runs once, in place, on
  one contiguous slice.
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

from dataclasses import dataclass, field
from typing import Any

import torch

from evohyper.families.neat.activations import ACTIVATIONS, AGGREGATIONS

# The activations HyperNEAT CPPNs use most, as (input scale, in-place op on the scaled input).
# neat-python's sigmoid(z) is 1 / (1 + exp(-clamp(5z, +-60))): the 5 is folded into the node's
# weights, bias and response at compile time, so the query runs one pass per node. The +-60 clamp is
# dropped where it cannot change a float (sigmoid, tanh saturate long before); sin keeps it.
FOLDED = {
    "sigmoid": (5.0, lambda z: z.sigmoid_()),
    "tanh": (2.5, lambda z: z.tanh_()),
    "sin": (5.0, lambda z: z.clamp_(-60.0, 60.0).sin_()),
    "gauss": (1.0, lambda z: z.clamp_(-3.4, 3.4).square_().mul_(-5.0).exp_()),
    "abs": (1.0, lambda z: z.abs_()),
    "identity": (1.0, lambda z: z),
}


@dataclass
class Gather:
    """Nodes of one layer whose aggregation is not ``sum``: padded link lists."""

    rows: torch.Tensor      # [R] row within the layer
    src: torch.Tensor       # [R, D] source row in V
    weight: torch.Tensor    # [R, D]
    mask: torch.Tensor      # [R, D] real link
    bias: torch.Tensor      # [R, 1]
    response: torch.Tensor  # [R, 1]
    groups: list[tuple[str, torch.Tensor]]  # (aggregation, index into R)


@dataclass
class Layer:
    start: int
    end: int
    columns: int                             # the CSR reads rows [0, columns) of V
    hidden: torch.Tensor | None              # CSR [end - start, columns]: links not in the dense GEMM
    activations: list[tuple[str, int, int]]  # (name, start, end) within the layer, contiguous
    gather: Gather | None = None


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
    layers: list[Layer]
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
    def _run_layer(out: torch.Tensor, V: torch.Tensor, layer: Layer, q: int) -> None:
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
            if name in FOLDED:
                FOLDED[name][1](out[a:b])
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


#: HyperNEAT's name for the feed-forward, shared-input case
CompiledCPPNs = CompiledNetworks
