"""Sets of networks as one individual: P ensembles of k members each, scored as ensembles.

Why: to search for *diverse, high-fitness sets* (HyperGAN's ``set_size`` option) with an unchanged
task, a set must look like one network to the task. ``SetPhenotypes.forward`` runs all P*k members in
one batched forward and returns the log of each set's averaged softmax probabilities ``[P, B, C]``.
A classification task reads that as logits (``log_softmax`` leaves it unchanged, since the averaged
probabilities sum to one), so its cross-entropy and accuracy are those of the *ensemble* (what
``evohyper.families.hypergan.Ensemble`` predicts), and diversity that helps the ensemble is rewarded.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from evohyper.api.phenotypes import Phenotypes, TargetSpec


@dataclass
class SetSpec(TargetSpec):
    """Sets of ``k`` networks of the ``member`` architecture; tensors ``{name: [P, k, *shape]}``."""

    member: TargetSpec
    k: int

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise ValueError(f"invalid set size k={self.k!r}; allowed: an integer >= 1")

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {name: (self.k, *shape) for name, shape in self.member.shapes().items()}

    def fan_in(self, name: str) -> int | None:
        return self.member.fan_in(name)

    def build(self, tensors: dict[str, torch.Tensor]) -> SetPhenotypes:
        return SetPhenotypes(self, tensors)

    def describe(self) -> dict[str, Any]:
        return {"kind": "SetSpec", "k": self.k, "member": self.member.describe()}


class SetPhenotypes(Phenotypes):
    """P sets of k member networks; ``forward`` returns each set's log mean probability ``[P, B, C]``."""

    def __init__(self, spec: SetSpec, tensors: dict[str, torch.Tensor]):
        self.spec, self.tensors = spec, tensors

    @property
    def k(self) -> int:
        return self.spec.k

    @property
    def networks_per_individual(self) -> int:
        return self.spec.k

    def flat_members(self) -> Phenotypes:
        """All P*k members as one ``member`` phenotype (set i's members are rows i*k .. i*k+k-1)."""
        return self.spec.member.build({n: t.reshape(-1, *t.shape[2:]) for n, t in self.tensors.items()})

    def members(self, i: int) -> Phenotypes:
        """The k members of set ``i`` as one phenotype (e.g. for ``Ensemble`` and its metrics)."""
        return self.spec.member.build({n: t[i] for n, t in self.tensors.items()})

    def member_logits(self, x: torch.Tensor) -> torch.Tensor:
        """``[P, k, B, C]``: every member's output, one batched forward over all P*k members."""
        out = self.flat_members().forward(x)
        return out.view(len(self), self.k, *out.shape[1:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[P, B, C]`` = log of the mean over members of softmax(member logits): the ensemble's log
        probabilities (computed as a logsumexp, stable for confident members)."""
        logp = torch.log_softmax(self.member_logits(x), dim=-1)
        return torch.logsumexp(logp, dim=1) - math.log(self.k)

    __call__ = forward

    def to_module(self, index: int) -> torch.nn.Module:
        """Set ``index`` as one module: its k members' modules and the same log mean probability."""
        return EnsembleModule([self.members(index).to_module(j) for j in range(self.k)])


class EnsembleModule(torch.nn.Module):
    """k member modules; ``forward(x) -> log(mean_j softmax(member_j(x)))`` ``[B, C]``."""

    def __init__(self, members: list[torch.nn.Module]):
        super().__init__()
        self.members = torch.nn.ModuleList(members)
        self.input_shape = members[0].input_shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logp = torch.stack([torch.log_softmax(m(x), dim=-1) for m in self.members])
        return torch.logsumexp(logp, dim=0) - math.log(len(self.members))
