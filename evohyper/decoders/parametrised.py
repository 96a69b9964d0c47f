"""Decoders that own trainable parameters (hypernetworks), searchable by evolution or by gradient.

Every parameter belongs to a group: ``z`` (layer embeddings) or ``theta`` (the hypernetwork's own
weights, and the target tensors it does not generate). The ``genotype`` option picks what a
genotype holds: ``z``, ``theta`` or ``all``. Genotypes are *offsets* from the seeded initial
values (``init_seed``), so every strategy's default centre 0 is the standard initialisation, the
groups not in the genotype stay fixed at that initialisation, and the same decoder serves CMA-ES
on z, SNES on theta and gradient descent on everything, by config alone.
"""
from __future__ import annotations

from abc import abstractmethod
from typing import Any

import torch

from evohyper.api.checks import Checks
from evohyper.api.decoder import Decoder
from evohyper.api.phenotypes import Phenotypes, TargetSpec
from evohyper.decoders._params import ParamLayout

_checks = Checks("decoder")

GENOTYPES = ("z", "theta", "all")


class ParametrisedDecoder(torch.nn.Module, Decoder):
    """Base: registers grouped parameters; ``decode`` adds genotype offsets and calls ``generate``."""

    def __init__(self, target: TargetSpec, genotype: str, init_seed: int, allowed: tuple[str, ...] = GENOTYPES):
        torch.nn.Module.__init__(self)
        Decoder.__init__(self, target)
        _checks.one_of("genotype", genotype, allowed)
        _checks.integer("init_seed", init_seed, 0)
        self.genotype = genotype
        self.generator = torch.Generator().manual_seed(init_seed)
        self.groups: dict[str, str] = {}
        self.layout = ParamLayout({})

    # ------------------------------------------------------------------ construction
    def add(self, name: str, value: torch.Tensor, group: str) -> None:
        """Register one parameter (``name`` may contain dots; stored under ``__``)."""
        self.register_parameter(name.replace(".", "__"), torch.nn.Parameter(value.float()))
        self.groups[name] = group

    def finish(self) -> None:
        """Call after the last ``add``: fixes the genotype layout."""
        chosen = {n: tuple(self.base(n).shape) for n, g in self.groups.items()
                  if self.genotype == "all" or g == self.genotype}
        if not chosen:
            _checks.fail("genotype", self.genotype, f"a group of {type(self).__name__}'s parameters: "
                                                    f"{sorted(set(self.groups.values()))}")
        self.layout = ParamLayout(chosen)

    def base(self, name: str) -> torch.Tensor:
        return getattr(self, name.replace(".", "__"))

    # ------------------------------------------------------------------ the Decoder interface
    @property
    def genome_size(self) -> int:
        return self.layout.size

    def params(self, genotypes: torch.Tensor) -> dict[str, torch.Tensor]:
        """All parameters with a leading population axis: ``base + offset`` for the genotype's
        groups, the base broadcast (no copy) for the rest. Differentiable in ``genotypes``."""
        P = genotypes.shape[0]
        offsets = self.layout.unflatten(genotypes)
        out = {}
        for name in self.groups:
            b = self.base(name).unsqueeze(0)
            out[name] = b + offsets[name] if name in offsets else b.expand(P, *b.shape[1:])
        return out

    def decode(self, genotypes: Any, device: torch.device | str = "cpu") -> Phenotypes:
        ref = next(self.parameters())
        g = torch.as_tensor(genotypes, dtype=torch.float32).to(ref.device)
        if g.dim() != 2 or g.shape[1] != self.genome_size:
            raise ValueError(f"{type(self).__name__} expects genotypes [P, {self.genome_size}] "
                             f"(genotype={self.genotype!r}), got {tuple(g.shape)}")
        return self.generate(self.params(g))

    @abstractmethod
    def generate(self, params: dict[str, torch.Tensor]) -> Phenotypes:
        """Phenotypes from batched parameters ``{name: [P, ...]}`` in one batched computation."""

    # ------------------------------------------------------------------ reporting
    def trainable_params(self) -> int:
        """Every parameter the decoder owns (what gradient training with ``genotype: all`` trains)."""
        return sum(p.numel() for p in self.parameters())

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out.update({"genotype": self.genotype, "trainable_params": self.trainable_params(),
                    "generated_params": self.target.num_params})
        return out
