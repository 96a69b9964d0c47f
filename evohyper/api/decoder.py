"""Decoder: the genotype-to-phenotype map (every hypernetwork is one)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch

from evohyper.api.phenotypes import Phenotypes, TargetSpec


@dataclass(frozen=True)
class DecoderInfo:
    """What a decoder declares to strategies: the only facts a strategy may read from it.

    genotype: the kind of genotype it decodes (``"vector"``: ``Tensor[P, D]``; ``"neat"``: neat-python
      genomes; ``"graph"``: cell DAGs as JSON; ``"circuit"``: integer circuit genes).
    genome_size: ``D`` for vector-like genotypes, else None.
    genome_inputs / genome_outputs: inputs and outputs of a NEAT genome (a CPPN for HyperNEAT).
    genome_feed_forward: True/False when the decoder runs NEAT genomes only as feed-forward / recurrent
      networks (neat-python's ``feed_forward`` item), None when it does not say.
    graph_space: the space graph genotypes live in (``sample(rng)``, ``mutate(graph, rng)``).
    trained_size: length of the decoder's own flat parameter vector when gradient training changes
      the decoder itself (a self-trained decoder: HyperGAN, GHN), else None.
    proposals: genotypes the decoder proposes as starting points (e.g. a trained circuit designer's
      designs for the task's target), in the strategy's genotype format, best first; or None. A strategy
      may seed its first population with them.
    """

    genotype: str = "vector"
    genome_size: int | None = None
    genome_inputs: int | None = None
    genome_outputs: int | None = None
    genome_feed_forward: bool | None = None
    graph_space: Any = None
    trained_size: int | None = None
    proposals: Any = None


class Decoder(ABC):
    """``decode(genotypes) -> Phenotypes`` for a whole population, on any torch device.

    Constructor keyword arguments (besides ``target``) are the decoder's config options.
    A decoder that owns trainable parameters should also subclass ``torch.nn.Module``.
    ``genotype_kind`` names the genotypes it decodes (strategies declare the kinds they produce, and
    a config pairing them wrongly is refused before the run); ``info()`` is everything else a
    strategy may know about it.
    """

    genotype_kind: ClassVar[str] = "vector"

    def __init__(self, target: TargetSpec):
        self.target = target

    def info(self) -> DecoderInfo:
        """The facts strategies may read (subclasses with more to declare extend it)."""
        return DecoderInfo(genotype=self.genotype_kind, genome_size=self.genome_size)

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
