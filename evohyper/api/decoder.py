"""Decoder: the genotype-to-phenotype map (every hypernetwork is one)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import torch

from evohyper.api.phenotypes import Phenotypes, TargetSpec


class Decoder(ABC):
    """``decode(genotypes) -> Phenotypes`` for a whole population, on any torch device.

    Constructor keyword arguments (besides ``target``) are the decoder's config options.
    A decoder that owns trainable parameters should also subclass ``torch.nn.Module``.
    """

    def __init__(self, target: TargetSpec):
        self.target = target

    @property
    @abstractmethod
    def genome_size(self) -> int | None:
        """Length of a flat real genotype, or None when genotypes are not vectors (e.g. NEAT)."""

    @abstractmethod
    def decode(self, genotypes: Any, device: torch.device | str = "cpu") -> Phenotypes:
        """Map a population of genotypes to phenotypes in one batched call."""

    def pictures(self, genotype: Any, out_dir: Path) -> list[Path]:
        """Optional: write images of one genotype's decoding (e.g. a CPPN drawing, weight patterns)
        into ``out_dir``; the engine calls it for the best individual at the end of a run."""
        return []

    def describe(self) -> dict[str, Any]:
        """JSON description; ``trainable_params`` = numbers a search adjusts (the genome, by default)."""
        return {"decoder": type(self).__name__, "genome_size": self.genome_size,
                "target": self.target.describe(), "target_params": self.target.num_params,
                "trainable_params": self.genome_size}

    def initial_genotype(self, generator: torch.Generator) -> torch.Tensor | None:
        """A standard starting genotype ``[D]`` for gradient training, or None for zeros (which is
        the seeded initialisation for decoders whose genotypes are offsets)."""
        return None
