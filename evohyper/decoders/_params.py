"""Named parameter tensors <-> one flat genotype row per individual, and standard initialisation.

Why a layout object: a parametrised decoder's genotype (its embeddings z, its own weights theta, or
both) must flatten to the ``[P, D]`` vectors every vector strategy works on, and back, exactly.
"""
from __future__ import annotations

import math

import torch

from evohyper.api.phenotypes import TargetSpec


class ParamLayout:
    """Fixed order of named shapes; ``flatten`` and ``unflatten`` are inverse (batched over P)."""

    def __init__(self, shapes: dict[str, tuple[int, ...]]):
        self.shapes = {k: tuple(int(d) for d in v) for k, v in shapes.items()}
        self.sizes = [math.prod(s) for s in self.shapes.values()]

    @property
    def size(self) -> int:
        return sum(self.sizes)

    def unflatten(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        if flat.dim() != 2 or flat.shape[1] != self.size:
            raise ValueError(f"expected genotypes [P, {self.size}], got {tuple(flat.shape)}")
        parts = torch.split(flat, self.sizes, dim=1)
        return {n: p.reshape(flat.shape[0], *s) for (n, s), p in zip(self.shapes.items(), parts)}

    def flatten(self, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
        rows = [tensors[n].reshape(tensors[n].shape[0], -1) for n in self.shapes]
        return torch.cat(rows, dim=1) if rows else torch.zeros(0, 0)


def standard_init(target: TargetSpec, name: str, generator: torch.Generator) -> torch.Tensor:
    """torch's default layer init: weights U(-1/sqrt(fan_in), 1/sqrt(fan_in)), biases zero."""
    shape = target.shapes()[name]
    fan_in = target.fan_in(name)
    if fan_in is None:
        return torch.zeros(shape)
    bound = 1.0 / math.sqrt(fan_in)
    return (torch.rand(shape, generator=generator) * 2 - 1) * bound


def init_std(target: TargetSpec, name: str) -> float:
    """Standard deviation of ``standard_init`` for a weight tensor (what a generator should match)."""
    fan_in = target.fan_in(name) or 1
    return 1.0 / math.sqrt(3 * fan_in)
