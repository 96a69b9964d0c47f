"""Direct encoding: the genotype *is* the target's weights, flattened."""
from __future__ import annotations

import math

import torch

from evohyper.api.decoder import Decoder
from evohyper.api.phenotypes import Phenotypes, TargetSpec


class DirectDecoder(Decoder):
    """Flat vector -> target weights by reshaping (the baseline every hypernetwork is compared to)."""

    def __init__(self, target: TargetSpec):
        super().__init__(target)
        self._shapes = target.shapes()
        self._sizes = [math.prod(s) for s in self._shapes.values()]

    @property
    def genome_size(self) -> int:
        return sum(self._sizes)

    def decode(self, genotypes: torch.Tensor, device: torch.device | str = "cpu") -> Phenotypes:
        g = torch.as_tensor(genotypes, dtype=torch.float32, device=device)
        if g.dim() != 2 or g.shape[1] != self.genome_size:
            raise ValueError(f"direct decoder expects genotypes [P, {self.genome_size}], got {tuple(g.shape)}")
        parts = torch.split(g, self._sizes, dim=1)
        tensors = {name: part.reshape(g.shape[0], *shape)
                   for (name, shape), part in zip(self._shapes.items(), parts)}
        return self.target.build(tensors)

    def initial_genotype(self, generator: torch.Generator) -> torch.Tensor:
        """torch's default layer initialisation of the target (zeros would never break symmetry)."""
        from evohyper.decoders._params import standard_init

        return torch.cat([standard_init(self.target, n, generator).reshape(-1) for n in self._shapes])

    def encode(self, phenotypes: Phenotypes) -> torch.Tensor:
        """Inverse of ``decode`` (used to seed searches from existing networks)."""
        return torch.cat([phenotypes.tensors[n].reshape(len(phenotypes), -1) for n in self._shapes], dim=1)
