"""Sphere: the shifted sphere function, a black-box vector problem for strategy tests and benchmarks.

The phenotype is a plain vector ``x`` of ``dim`` reals (``VectorSpec``); fitness is
``sum((x - shift)^2)``, minimised (optimum 0 at ``x = shift``).
"""
# No `from __future__ import annotations`: constructor annotations stay real types for the validator.
from typing import Any, ClassVar

import torch

from evohyper.api.checks import Checks
from evohyper.api.phenotypes import VectorPhenotypes, VectorSpec
from evohyper.api.task import EvalResult, Task

_checks = Checks("task")


class SphereTask(Task):
    """Shifted sphere sum((x - shift)^2) on a dim-vector (minimised; black-box benchmark).

    Options:
      dim: length of the vector x (>= 1).
      shift: where the optimum lies in every coordinate (a finite number).
    """

    maximize: ClassVar[bool] = False
    network_keys: ClassVar[tuple[str, ...]] = ()   # the phenotype is a plain vector

    def __init__(self, dim: int = 10, shift: float = 0.5) -> None:
        self.dim = _checks.integer("dim", dim, 1)
        self.shift = _checks.magnitude("shift", shift)
        self.device = torch.device("cpu")

    def target(self, network: dict[str, Any]) -> VectorSpec:
        Checks("network").keys(network, self.network_keys)   # none: the phenotype is a plain vector
        return VectorSpec(self.dim)

    def _value(self, phenotypes: VectorPhenotypes) -> torch.Tensor:
        x = phenotypes.x
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(f"sphere(dim={self.dim}) expects phenotypes x of shape [P, {self.dim}], "
                             f"got {tuple(x.shape)}")
        return ((x.to(torch.float64) - self.shift) ** 2).sum(dim=1)

    def evaluate(self, phenotypes: VectorPhenotypes, seed: int) -> EvalResult:
        value = self._value(phenotypes)
        return EvalResult(fitness=value, metrics={"distance": value.sqrt()}, sample_forwards=len(phenotypes))

    def loss(self, phenotypes: VectorPhenotypes, batch: Any = None) -> torch.Tensor:
        """The sphere value itself ``[P]`` (differentiable; ``batch`` is ignored)."""
        return self._value(phenotypes)
