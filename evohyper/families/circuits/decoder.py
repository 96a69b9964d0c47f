"""Circuit decoder: integer genes ``[length, kind_1, value_1, ...]`` -> a chain of E12 components."""
from __future__ import annotations

from typing import ClassVar

import torch

from evohyper.api.decoder import Decoder
from evohyper.api.phenotypes import TargetSpec
from evohyper.families.circuits.phenotypes import CircuitPhenotypes, CircuitSpec
from evohyper.families.circuits.space import CircuitSpace


class CircuitDecoder(Decoder):
    """Integer genes (length, then kind and E12 value index per position) -> circuit phenotypes.

    Pairs with the ``circuit_ga`` strategy; genes past ``length`` are inactive.

    Options:
      min_length: the shortest chain a genotype may encode (1 .. the target's maximum length; a length gene
        outside that range is an error).
    """

    genotype_kind: ClassVar[str] = "circuit"

    def __init__(self, target: TargetSpec, min_length: int = 4):
        super().__init__(target)
        if not isinstance(target, CircuitSpec):
            raise ValueError(f"the circuit decoder needs a circuit task (CircuitSpec target), got "
                             f"{type(target).__name__}")
        if isinstance(min_length, bool) or not isinstance(min_length, int) or not 1 <= min_length <= target.max_length:
            raise ValueError(f"invalid decoder option min_length={min_length!r}; allowed: an integer in "
                             f"[1, {target.max_length}]")
        self.space = CircuitSpace(min_length=min_length, max_length=target.max_length)

    @property
    def genome_size(self) -> int:
        return self.space.genome_size

    def decode(self, genotypes: torch.Tensor, device: torch.device | str = "cpu") -> CircuitPhenotypes:
        kinds, index = self.space.decode_genes(torch.as_tensor(genotypes))
        kinds, index = kinds.to(device), index.to(device)
        return CircuitPhenotypes.from_circuits(kinds, self.space.values(kinds, index))
