"""Fixed-seed train / validation / test sets of circuits and their responses (generated, never downloaded).

Every (split, length) block is drawn from its own ``torch.Generator`` seeded by
``SeedSequence([DATA_SEED, split, length])``, so a block never depends on the sizes of the others.
Circuits are drawn by ``CircuitSpace.sample``: E12 values uniform, kinds uniform over those a reduced
circuit allows at each position (no element repeated inside a run of series or of parallel components).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from evohyper.families.circuits.canonical import canonicalize
from evohyper.families.circuits.space import DEFAULT_SPACE, CircuitSpace

DATA_SEED = 20200504
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class CircuitSet:
    """A block of circuits: kinds / value indices ``[N, L]`` (canonical), lengths ``[N]``, responses ``[N, 2, K]``."""

    kinds: torch.Tensor
    index: torch.Tensor
    values: torch.Tensor
    lengths: torch.Tensor
    response: torch.Tensor

    def __len__(self) -> int:
        return self.kinds.shape[0]

    def select(self, idx) -> CircuitSet:
        return CircuitSet(self.kinds[idx], self.index[idx], self.values[idx], self.lengths[idx], self.response[idx])

    @staticmethod
    def cat(parts: list[CircuitSet]) -> CircuitSet:
        return CircuitSet(*(torch.cat([getattr(p, f) for p in parts])
                            for f in ("kinds", "index", "values", "lengths", "response")))


def block_seed(split: str, length: int) -> int:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return int(np.random.SeedSequence([DATA_SEED, SPLITS.index(split), int(length)]).generate_state(1)[0])


@functools.lru_cache(maxsize=64)
def circuit_block(split: str, length: int, n: int, space: CircuitSpace = DEFAULT_SPACE) -> CircuitSet:
    """``n`` circuits of ``length`` components for ``split`` (deterministic; cached)."""
    gen = torch.Generator().manual_seed(block_seed(split, length))
    kinds, index = space.sample(n, length, gen)
    kinds, index = canonicalize(kinds, index)
    values = space.values(kinds, index)
    resp = space.response(kinds, values)
    return CircuitSet(kinds, index, values, torch.full((n,), length, dtype=torch.long), resp)


def circuit_split(split: str, n_per_length: int, space: CircuitSpace = DEFAULT_SPACE) -> CircuitSet:
    """All lengths of ``space`` for one split, ``n_per_length`` each, in length order."""
    return CircuitSet.cat([circuit_block(split, length, n_per_length, space) for length in space.lengths])
