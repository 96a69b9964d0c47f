"""Direct NEAT phenotypes: a population of neat-python networks (any topologies) run in one batched call.

Why a phenotype of its own: the genome *is* the network, so there is no fixed weight shape to stack.
``NEATPhenotypes`` keeps the genomes and compiles them (``cppn.compile_networks``) on the first
``forward``: once with shared input rows for a batch every network sees (``[B, n_in]``: xor, digits),
once with per-network input rows for each individual's own inputs (``[P, B, n_in]``: control tasks).

**Recurrent state.** Recurrent genomes run as neat-python's ``RecurrentNetwork.activate``: each
``forward`` is one time step (every node updated once from the previous values), and the values are
carried to the next ``forward``. The state starts at rest (every node 0) when the phenotypes are
decoded and after ``reset_state()``, which episodic tasks call at the start of every rollout; the
columns of the state are the ``B`` parallel sequences (episodes) of each network, so a call with
another ``B`` than the state's is an error, not a silent restart.
"""
from __future__ import annotations

from typing import Any

import torch

from evohyper.api.phenotypes import Phenotypes, TargetSpec
from evohyper.families.neat.activations import ACTIVATION_NAMES, AGGREGATION_NAMES
from evohyper.families.neat.cppn import CompiledNetworks, compile_networks, feed_forward_plan, recurrent_plan
from evohyper.families.neat.module import NEATModule


def io_keys(num_inputs: int, num_outputs: int) -> tuple[list[int], list[int]]:
    """neat-python's node keys of the inputs (-1, -2, ...) and outputs (0, 1, ...)."""
    return [-i - 1 for i in range(num_inputs)], list(range(num_outputs))


class NEATPhenotypes(Phenotypes):
    """P neat-python networks; ``forward(x [B, n_in] or [P, B, n_in]) -> [P, B, n_out]``."""

    def __init__(self, spec: TargetSpec, genomes: list[Any], num_inputs: int, num_outputs: int, *,
                 recurrent: bool = False, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"):
        if not genomes:
            raise ValueError("NEATPhenotypes needs at least one genome")
        self.spec, self.genomes = spec, list(genomes)
        self.num_inputs, self.num_outputs, self.recurrent = int(num_inputs), int(num_outputs), bool(recurrent)
        self._dtype, self._device = dtype, torch.device(device)
        self._compiled: dict[bool, CompiledNetworks] = {}
        self._state: torch.Tensor | None = None
        self._tensors: dict[str, torch.Tensor] | None = None

    # ------------------------------------------------------------------ population
    def __len__(self) -> int:
        return len(self.genomes)

    @property
    def device(self) -> torch.device:
        return self._device

    @property
    def dtype(self) -> torch.dtype:
        return self._dtype

    @property
    def stateful(self) -> bool:
        """True for recurrent networks: ``forward`` carries state from call to call."""
        return self.recurrent

    def select(self, index: torch.Tensor | slice | list[int]) -> NEATPhenotypes:
        picked = torch.arange(len(self))[index].reshape(-1).tolist()
        return NEATPhenotypes(self.spec, [self.genomes[i] for i in picked], self.num_inputs, self.num_outputs,
                              recurrent=self.recurrent, dtype=self._dtype, device=self._device)

    def compiled(self, shared_inputs: bool) -> CompiledNetworks:
        """The population compiled for shared or per-network inputs (once each, on first use)."""
        if shared_inputs not in self._compiled:
            self._compiled[shared_inputs] = compile_networks(
                self.genomes, self.num_inputs, self.num_outputs, recurrent=self.recurrent,
                shared_inputs=shared_inputs, dtype=self._dtype, device=self._device)
        return self._compiled[shared_inputs]

    # ------------------------------------------------------------------ running
    def reset_state(self) -> None:
        """Put every recurrent network at rest (all node values 0); a no-op for feed-forward ones."""
        self._state = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs ``[P, B, n_out]`` for a shared batch ``[B, n_in]`` or per-network inputs ``[P, B, n_in]``;
        for recurrent networks, one time step of each of the B sequences."""
        P, n_in = len(self), self.num_inputs
        shared = x.dim() == 2
        if not (x.dim() in (2, 3) and x.shape[-1] == n_in and (shared or x.shape[0] == P)):
            raise ValueError(f"NEAT networks take [B, {n_in}] (shared) or [{P}, B, {n_in}] inputs, "
                             f"got {tuple(x.shape)}")
        if not self.recurrent:
            out = self.compiled(shared).query(x)
        else:
            net = self.compiled(False)          # state rows are per network: a shared batch is broadcast
            xs = x.expand(P, *x.shape) if shared else x
            if self._state is None:
                self._state = net.initial_state(xs.shape[1])
            elif self._state.shape[1] != xs.shape[1]:
                raise ValueError(f"recurrent NEAT networks carry the state of {self._state.shape[1]} sequences; "
                                 f"got a batch of {xs.shape[1]} (call reset_state() to start new sequences)")
            out = net.step(xs, self._state)
        return out.transpose(1, 2).contiguous()

    __call__ = forward

    # ------------------------------------------------------------------ description and export
    @property
    def tensors(self) -> dict[str, torch.Tensor]:
        """Each network as padded dense tensors (``network_tensors``): what ``best/weights.pt`` holds."""
        if self._tensors is None:
            self._tensors = network_tensors(self.genomes, self.num_inputs, self.num_outputs, self.recurrent)
        return self._tensors

    def describe(self) -> dict[str, Any]:
        return {"kind": "NEATPhenotypes", "population": len(self), "recurrent": self.recurrent,
                "inputs": self.num_inputs, "outputs": self.num_outputs,
                "nodes": [len(g.nodes) for g in self.genomes],
                "enabled_links": [sum(bool(c.enabled) for c in g.connections.values()) for g in self.genomes]}

    def to_module(self, index: int) -> torch.nn.Module:
        """Network ``index`` as a plain ``torch.nn.Module`` (feed-forward genomes)."""
        if self.recurrent:
            raise NotImplementedError("export of recurrent NEAT networks is not supported (feed-forward only)")
        inputs, outputs = io_keys(self.num_inputs, self.num_outputs)
        genome = self.genomes[index]
        return NEATModule(genome, feed_forward_plan(genome, inputs, outputs), self.num_inputs, self.num_outputs,
                          dtype=self._dtype)


def network_tensors(genomes: list[Any], num_inputs: int, num_outputs: int, recurrent: bool) -> dict[str, torch.Tensor]:
    """Padded per-network tensors of the nodes neat-python evaluates, in its order (N = most nodes):

    ``weight``/``link`` ``[P, N, n_in + N]`` (columns: inputs, then nodes), ``bias``, ``response``
    ``[P, N]``, ``activation``/``aggregation`` ``[P, N]`` (indices into ``activations.ACTIVATION_NAMES`` /
    ``AGGREGATION_NAMES``, -1 = padding), ``layer`` ``[P, N]``, ``output`` ``[P, n_out]`` (node index,
    -1 = never evaluated: 0)."""
    inputs, outputs = io_keys(num_inputs, num_outputs)
    plan_of = recurrent_plan if recurrent else feed_forward_plan
    plans = [plan_of(g, inputs, outputs) for g in genomes]
    orders = [[(li, n) for li, layer in enumerate(p.layers) for n in layer] for p in plans]
    P, N = len(genomes), max((len(o) for o in orders), default=0)
    t = {"weight": torch.zeros(P, N, num_inputs + N, dtype=torch.float64),
         "link": torch.zeros(P, N, num_inputs + N, dtype=torch.bool),
         "bias": torch.zeros(P, N, dtype=torch.float64), "response": torch.zeros(P, N, dtype=torch.float64),
         **{k: torch.full((P, N), -1, dtype=torch.int64) for k in ("activation", "aggregation", "layer")},
         "output": torch.full((P, num_outputs), -1, dtype=torch.int64)}
    for p, (genome, plan, order) in enumerate(zip(genomes, plans, orders)):
        column = {k: i for i, k in enumerate(inputs)} | {n: num_inputs + j for j, (_, n) in enumerate(order)}
        for j, (li, node) in enumerate(order):
            gene = genome.nodes[node]
            t["bias"][p, j], t["response"][p, j], t["layer"][p, j] = gene.bias, gene.response, li
            t["activation"][p, j] = ACTIVATION_NAMES.index(gene.activation)
            t["aggregation"][p, j] = AGGREGATION_NAMES.index(gene.aggregation)
            for src, w in plan.incoming.get(node, []):
                if src in column:  # a recurrent link from a node never evaluated reads 0: no column
                    t["weight"][p, j, column[src]], t["link"][p, j, column[src]] = w, True
        for o, key in enumerate(outputs):
            if key in column:
                t["output"][p, o] = column[key] - num_inputs
    return t
