"""A mixed population of cells as one phenotype object: grouped by architecture, run in one call.

Why: a NAS population holds many architectures, and tasks (``evaluate``, ``loss``, ``test_metrics``)
expect one batched ``forward(x) -> [P, B, n_out]``. ``CellPhenotypes`` keeps one ``CellGroup`` per
distinct architecture (its members' weights stacked ``[G, ...]``, or ``[1, ...]`` when every member
has the same weights, as GHN-predicted weights do: then the cell runs once and its logits are shared)
and puts the groups' logits back in population order. The loop is over architectures, never over
individuals.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx
import torch

from evohyper.api.phenotypes import Phenotypes, TargetSpec
from evohyper.families.nas.executor import CellGroup
from evohyper.families.nas.space import graph_to_json


@dataclass
class CellArchitecture:
    """One distinct architecture: the cell, its members' population indices, their stacked weights."""

    graph: nx.DiGraph
    members: list[int]
    params: dict[str, torch.Tensor]   # [G, ...] with G = len(members), or [1, ...] shared by all members

    @property
    def shared(self) -> bool:
        return next(iter(self.params.values())).shape[0] == 1 and len(self.members) > 1


class CellPhenotypes(Phenotypes):
    """P cells (any mix of architectures); ``forward(x)`` takes a shared ``[B, C*H*W]`` or
    ``[B, C, H, W]`` batch and returns logits ``[P, B, n_out]`` in population order."""

    def __init__(self, spec: TargetSpec, in_shape: list[int], architectures: list[CellArchitecture]):
        self.spec, self.in_shape, self.architectures = spec, [int(s) for s in in_shape], architectures
        members = sorted(i for a in architectures for i in a.members)
        if members != list(range(len(members))) or not members:
            raise ValueError(f"CellPhenotypes: members must cover 0..P-1 exactly once, got {members}")
        for a in architectures:
            g = next(iter(a.params.values())).shape[0]
            if g not in (1, len(a.members)):
                raise ValueError(f"CellPhenotypes: an architecture with {len(a.members)} members has weights "
                                 f"for {g}; allowed: {len(a.members)} or 1 (shared)")
        self._size = len(members)
        order = torch.tensor([i for a in architectures for i in a.members])
        self._inverse = torch.empty_like(order)
        self._inverse[order] = torch.arange(len(order))

    def __len__(self) -> int:
        return self._size

    @property
    def tensors(self) -> dict[str, torch.Tensor]:
        """Weights by node name (one architecture) or ``"a<j>/<node>"`` (several)."""
        if len(self.architectures) == 1:
            return dict(self.architectures[0].params)
        return {f"a{j}/{k}": v for j, a in enumerate(self.architectures) for k, v in a.params.items()}

    @property
    def device(self) -> torch.device:
        return next(iter(self.architectures[0].params.values())).device

    @property
    def dtype(self) -> torch.dtype:
        return next(iter(self.architectures[0].params.values())).dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        C, H, W = self.in_shape
        if x.dim() not in (2, 4) or x[0].numel() != C * H * W:
            raise ValueError(f"CellPhenotypes.forward: input must be a shared batch [B, {C * H * W}] or "
                             f"[B, {C}, {H}, {W}], got {tuple(x.shape)}")
        x = x.reshape(x.shape[0], C, H, W)
        parts = []
        for a in self.architectures:
            logits = CellGroup(a.graph, a.params).forward(x)                # [G or 1, B, n_out]
            parts.append(logits.expand(len(a.members), *logits.shape[1:]) if a.shared else logits)
        return torch.cat(parts)[self._inverse.to(x.device)]

    __call__ = forward

    def select(self, index: torch.Tensor | slice | list[int]) -> CellPhenotypes:
        picked = torch.arange(len(self))[index].reshape(-1).tolist()
        where = {i: (j, k) for j, a in enumerate(self.architectures) for k, i in enumerate(a.members)}
        chosen: dict[int, list[tuple[int, int]]] = {}
        for new, old in enumerate(picked):
            j, k = where[old]
            chosen.setdefault(j, []).append((new, k))
        out = []
        for j, rows in chosen.items():
            a = self.architectures[j]
            ks = [k for _, k in rows]
            params = a.params if a.shared else {n: v[ks] for n, v in a.params.items()}
            out.append(CellArchitecture(a.graph, [new for new, _ in rows], params))
        return CellPhenotypes(self.spec, self.in_shape, out)

    def to_module(self, index: int) -> torch.nn.Module:
        """Cell ``index`` with its weights as a plain module (``forward(x [B, C*H*W]) -> logits [B, n_out]``)."""
        for a in self.architectures:
            if index in a.members:
                k = 0 if a.shared else a.members.index(index)
                return CellModule(a.graph, {n: v[k:k + 1] for n, v in a.params.items()}, self.in_shape)
        raise IndexError(f"cell {index} is outside the population of {len(self)}")

    def describe(self) -> dict[str, Any]:
        return {"kind": "CellPhenotypes", "population": len(self), "in_shape": self.in_shape,
                "architectures": [{"cell": graph_to_json(a.graph), "members": len(a.members),
                                   "tensors": {k: list(v.shape) for k, v in a.params.items()}}
                                  for a in self.architectures]}


class CellModule(torch.nn.Module):
    """One cell and its weights (``nn.Parameter``s), run by the executor's ``CellGroup`` with G = 1."""

    def __init__(self, graph: nx.DiGraph, params: dict[str, torch.Tensor], in_shape: list[int]):
        super().__init__()
        self.graph, self.in_shape = graph, list(in_shape)
        self.input_shape = (in_shape[0] * in_shape[1] * in_shape[2],)
        self.names = {n: "p" + n.replace(".", "_") for n in params}      # parameter names may not hold dots
        self.weights = torch.nn.ParameterDict({self.names[n]: torch.nn.Parameter(v.detach().clone())
                                               for n, v in params.items()})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        params = {n: self.weights[k] for n, k in self.names.items()}
        return CellGroup(self.graph, params).forward(x.reshape(x.shape[0], *self.in_shape))[0]
