"""Direct NEAT phenotypes: a population of NEAT networks (any topologies) run in one batched call.

Why a phenotype of its own: the genome *is* the network, so there is no fixed weight shape to stack.
``NEATPhenotypes`` keeps the genomes (a ``GenomeBatch``) and compiles them (``compile.compile_networks``,
batched) on the first ``forward``: once with shared input rows for a batch every network sees
(``[B, n_in]``: xor, digits), once with per-network input rows for each individual's own inputs
(``[P, B, n_in]``: control tasks).

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
from evohyper.families.neat.compile import compile_networks, plan_networks, row_plan
from evohyper.families.neat.convert import as_genome_batch, neat_genome
from evohyper.families.neat.genome import GenomeBatch
from evohyper.families.neat.module import NEATModule
from evohyper.families.neat.runtime import CompiledNetworks


def io_keys(num_inputs: int, num_outputs: int) -> tuple[list[int], list[int]]:
    """neat-python's node keys of the inputs (-1, -2, ...) and outputs (0, 1, ...)."""
    return [-i - 1 for i in range(num_inputs)], list(range(num_outputs))


class NEATPhenotypes(Phenotypes):
    """P NEAT networks; ``forward(x [B, n_in] or [P, B, n_in]) -> [P, B, n_out]``.

    ``genomes``: a ``GenomeBatch`` (neat-python ``DefaultGenome``s are converted, ``convert.as_genome_batch``)."""

    def __init__(self, spec: TargetSpec, genomes: GenomeBatch | list[Any], num_inputs: int, num_outputs: int, *,
                 recurrent: bool = False, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"):
        self.genomes = as_genome_batch(genomes)
        if not len(self.genomes):
            raise ValueError("NEATPhenotypes needs at least one genome")
        self.spec = spec
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
        picked = torch.arange(len(self))[index].reshape(-1)
        return NEATPhenotypes(self.spec, self.genomes[picked.to(self.genomes.device)], self.num_inputs,
                              self.num_outputs, recurrent=self.recurrent, dtype=self._dtype, device=self._device)

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
        g = self.genomes
        return {"kind": "NEATPhenotypes", "population": len(self), "recurrent": self.recurrent,
                "inputs": self.num_inputs, "outputs": self.num_outputs, "nodes": g.n_nodes.tolist(),
                "enabled_links": (g.enabled & g.conn_live).sum(dim=1).tolist()}

    def to_module(self, index: int) -> torch.nn.Module:
        """Network ``index`` as a plain ``torch.nn.Module`` (feed-forward genomes)."""
        if self.recurrent:
            raise NotImplementedError("export of recurrent NEAT networks is not supported (feed-forward only)")
        one = self.genomes[index]
        plan = row_plan(plan_networks(one, self.num_inputs, self.num_outputs), one, 0)
        return NEATModule(neat_genome(one, 0), plan, self.num_inputs, self.num_outputs, dtype=self._dtype)


def network_tensors(genomes: Any, num_inputs: int, num_outputs: int, recurrent: bool) -> dict[str, torch.Tensor]:
    """Padded per-network tensors of the nodes neat-python evaluates, in its order (layer, then node id;
    N = most evaluated nodes):

    ``weight``/``link`` ``[P, N, n_in + N]`` (columns: inputs, then nodes), ``bias``, ``response``
    ``[P, N]``, ``activation``/``aggregation`` ``[P, N]`` (indices into ``activations.ACTIVATION_NAMES`` /
    ``AGGREGATION_NAMES``, -1 = padding), ``layer`` ``[P, N]``, ``output`` ``[P, n_out]`` (node index,
    -1 = never evaluated: 0)."""
    batch = as_genome_batch(genomes).to("cpu")
    plan = plan_networks(batch, num_inputs, num_outputs, recurrent=recurrent)
    P, W, n_in = len(batch), batch.node_width, num_inputs
    p, slot = (plan.layer >= 0).nonzero(as_tuple=True)               # by genome, then slot
    order = torch.argsort((p * (plan.n_layers + 1) + plan.layer[p, slot]) * (W + 1) + slot)
    p, slot = p[order], slot[order]
    count = torch.bincount(p, minlength=P)
    j = torch.arange(p.numel()) - (torch.cumsum(count, 0) - count)[p]   # rank within its network
    N = int(count.max()) if P else 0
    column = torch.full((P, W), -1, dtype=torch.int64)
    column[p, slot] = j
    t = {"weight": torch.zeros(P, N, n_in + N, dtype=torch.float64),
         "link": torch.zeros(P, N, n_in + N, dtype=torch.bool),
         "bias": torch.zeros(P, N, dtype=torch.float64), "response": torch.zeros(P, N, dtype=torch.float64),
         **{k: torch.full((P, N), -1, dtype=torch.int64) for k in ("activation", "aggregation", "layer")},
         "output": torch.full((P, num_outputs), -1, dtype=torch.int64)}
    t["bias"][p, j], t["response"][p, j] = batch.bias[p, slot].double(), batch.response[p, slot].double()
    t["layer"][p, j] = plan.layer[p, slot]
    t["activation"][p, j] = batch.activation[p, slot].long()
    t["aggregation"][p, j] = batch.aggregation[p, slot].long()
    q, c = plan.kept.nonzero(as_tuple=True)
    src = plan.src[q, c]
    src_node = column[q, (src - n_in).clamp(min=0)]
    col = torch.where(src < n_in, src, n_in + src_node)
    ok = (src < n_in) | (src_node >= 0)   # a recurrent link from a node never evaluated reads 0: no column
    dst = column[q, plan.dst[q, c]]
    t["weight"][q[ok], dst[ok], col[ok]] = batch.weight[q, c][ok].double()
    t["link"][q[ok], dst[ok], col[ok]] = True
    t["output"] = column[:, :num_outputs].clone()
    return t
