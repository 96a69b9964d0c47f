"""Circuits as phenotypes: a population of component chains held as two stacked tensors.

``kinds [P, L]``: kind codes as floats (rounded and clamped to ``[-1, 5]`` when read; -1 = empty
slot) and ``log_values [P, L]``: log10 of each component's value. Floats keep the phenotype a plain
tensor dict like every other (any decoder, even the direct one, can produce it) and make values
differentiable for the designer's refinement stage.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from evohyper.api.phenotypes import Phenotypes, TargetSpec
from evohyper.families.circuits.pictures import circuit_text
from evohyper.families.circuits.simulator import EMPTY, KINDS

DESCRIBED = 10   # circuits of a population written out in words (an exported best is one)


@dataclass
class CircuitSpec(TargetSpec):
    """A chain of at most ``max_length`` two-port components (R/C/L, series or parallel).

    ``target_response`` (``[2, K]`` complex, optional): the response the task wants, declared so that
    a decoder can propose designs for it (the ``circuit`` decoder's ``designer`` option).
    """

    max_length: int = 10
    target_response: torch.Tensor | None = field(default=None, compare=False, repr=False)

    def describe(self) -> dict[str, Any]:
        return {"kind": type(self).__name__, "max_length": self.max_length,
                "target_response": None if self.target_response is None else list(self.target_response.shape)}

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {"kinds": (self.max_length,), "log_values": (self.max_length,)}

    def build(self, tensors: dict[str, torch.Tensor]) -> CircuitPhenotypes:
        return CircuitPhenotypes(self, tensors)


class CircuitPhenotypes(Phenotypes):
    def __init__(self, spec: CircuitSpec, tensors: dict[str, torch.Tensor]):
        self.spec, self.tensors = spec, tensors

    @classmethod
    def from_circuits(cls, kinds: torch.Tensor, values: torch.Tensor) -> CircuitPhenotypes:
        """From integer kinds and physical values ``[P, L]``."""
        safe = torch.where(kinds == EMPTY, torch.ones_like(values), values)
        return cls(CircuitSpec(kinds.shape[1]), {"kinds": kinds.to(torch.float64),
                                                 "log_values": torch.log10(safe.to(torch.float64))})

    def describe(self) -> dict[str, Any]:
        """Shapes, and each chain in words (``series resistor 1.2 kOhm -> ...``) for ``best/phenotype.json``."""
        return {**super().describe(), "circuits": [circuit_text(k, v, words=True) for k, v in
                                                   zip(self.kinds[:DESCRIBED], self.values[:DESCRIBED])]}

    @property
    def kinds(self) -> torch.Tensor:
        return self.tensors["kinds"].detach().round().clamp(EMPTY, len(KINDS) - 1).long()

    @property
    def values(self) -> torch.Tensor:
        return torch.pow(10.0, self.tensors["log_values"].to(torch.float64))
