"""Sphere: the shifted sphere function, a black-box vector problem for strategy tests and benchmarks.

The phenotype is a plain vector ``x`` of ``dim`` reals (``VectorSpec``); fitness is
``sum((x - shift)^2)``, minimised (optimum 0 at ``x = shift``).

Two options make it the small, fast problem quality-diversity and multi-objective code is tested on:
``descriptors: true`` adds pyribs' sphere benchmark measures (its tutorials' ``sphere`` function: each
coordinate outside [-5.12, 5.12] is folded back as ``5.12 / x``, then the two halves of ``x`` are summed),
and ``objectives: 2`` makes it the classic two-sphere problem ``f1 = sum(x^2)``, ``f2 = sum((x - shift)^2)``,
both minimised, whose Pareto front is the segment from 0 to ``shift``.
"""
# No `from __future__ import annotations`: constructor annotations stay real types for the validator.
import math
from typing import Any, ClassVar

import torch

from evohyper.api.checks import Checks
from evohyper.api.phenotypes import VectorPhenotypes, VectorSpec
from evohyper.api.task import Descriptor, EvalResult, Objective, Task

_checks = Checks("task")

#: pyribs' sphere benchmark domain: coordinates beyond it are folded back into it for the measures
BOUND = 5.12


def sphere_measures(x: torch.Tensor) -> torch.Tensor:
    """pyribs' sphere measures ``[P, 2]``: the sums of the two halves of ``x`` (first ``dim // 2``
    coordinates, then the rest), each coordinate outside ``[-5.12, 5.12]`` replaced by ``5.12 / x``."""
    outside = (x < -BOUND) | (x > BOUND)
    folded = torch.where(outside, BOUND / torch.where(outside, x, torch.ones_like(x)), x)
    half = x.shape[1] // 2
    return torch.stack([folded[:, :half].sum(dim=1), folded[:, half:].sum(dim=1)], dim=1)


class SphereTask(Task):
    """Shifted sphere sum((x - shift)^2) on a dim-vector (minimised; black-box benchmark).

    Options:
      dim: length of the vector x (>= 1; >= 2 with descriptors).
      shift: where the optimum lies in every coordinate (a finite number; not 0 with objectives: 2).
      descriptors: also return pyribs' two sphere measures (``Task.descriptor_space``: sum_low_half,
        sum_high_half, bounds +-ceil(dim/2)*5.12, pyribs' dim/2*5.12 for an even dim).
      objectives: 1 (one objective, the fitness above) or 2 (f1 = sum(x^2), f2 = sum((x - shift)^2), both
        minimised; fitness is f1; reference point 1.1*dim*shift^2 for both, just worse than the front's ends).
    """

    maximize: ClassVar[bool] = False
    network_keys: ClassVar[tuple[str, ...]] = ()   # the phenotype is a plain vector

    def __init__(self, dim: int = 10, shift: float = 0.5, descriptors: bool = False, objectives: int = 1) -> None:
        self.dim = _checks.integer("dim", dim, 1)
        self.shift = _checks.magnitude("shift", shift)
        self.descriptors = _checks.boolean("descriptors", descriptors)
        self.objectives = int(_checks.one_of("objectives", objectives, (1, 2)))
        if self.descriptors and self.dim < 2:
            _checks.fail("dim", dim, "at least 2 with descriptors: true (one measure per half of x)")
        if self.objectives == 2 and self.shift == 0:
            _checks.fail("shift", shift, "a nonzero number with objectives: 2 (the two spheres would coincide)")
        self.device = torch.device("cpu")

    def target(self, network: dict[str, Any]) -> VectorSpec:
        Checks("network").keys(network, self.network_keys)   # none: the phenotype is a plain vector
        return VectorSpec(self.dim)

    def descriptor_space(self) -> tuple[Descriptor, ...]:
        if not self.descriptors:
            return ()
        bound = math.ceil(self.dim / 2) * BOUND
        return Descriptor("sum_low_half", -bound, bound), Descriptor("sum_high_half", -bound, bound)

    def objective_space(self) -> tuple[Objective, ...]:
        return (Objective("f1", maximize=False), Objective("f2", maximize=False)) if self.objectives == 2 else ()

    def reference_point(self) -> tuple[float, ...] | None:
        if self.objectives != 2:
            return None
        worst = 1.1 * self.dim * self.shift ** 2   # each front end's value in the other objective, plus 10%
        return worst, worst

    def _x(self, phenotypes: VectorPhenotypes) -> torch.Tensor:
        x = phenotypes.x
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(f"sphere(dim={self.dim}) expects phenotypes x of shape [P, {self.dim}], "
                             f"got {tuple(x.shape)}")
        return x.to(torch.float64)

    def _value(self, phenotypes: VectorPhenotypes) -> torch.Tensor:
        return ((self._x(phenotypes) - self.shift) ** 2).sum(dim=1)

    def evaluate(self, phenotypes: VectorPhenotypes, seed: int) -> EvalResult:
        if self.objectives == 2:
            x = self._x(phenotypes)
            f1, f2 = (x ** 2).sum(dim=1), ((x - self.shift) ** 2).sum(dim=1)
            value, distance = torch.stack([f1, f2], dim=1), f1.sqrt()
        else:
            value = self._value(phenotypes)
            distance = value.sqrt()
        descriptors = sphere_measures(self._x(phenotypes)) if self.descriptors else None
        return EvalResult(fitness=value, metrics={"distance": distance}, descriptors=descriptors,
                          sample_forwards=len(phenotypes))

    def loss(self, phenotypes: VectorPhenotypes, batch: Any = None) -> torch.Tensor:
        """The sphere value itself ``[P]`` (differentiable; ``batch`` is ignored; with objectives: 2, f1)."""
        if self.objectives == 2:
            return (self._x(phenotypes) ** 2).sum(dim=1)
        return self._value(phenotypes)
