"""Random streams of the batched NEAT engine: derived per (seed, generation, operator, call, row block).

Why derived generators instead of one carried generator (docs/neat_engine.md, section 4.1): nothing but
``(seed, generation)`` needs checkpointing, a resumed run is bit-identical on the same device, and each
operator consumes only its own stream, so a change to one operator's draws never shifts another's. A
draw's shape is always a function of the data (counts, firing rows, config), never of capacity. Rows
are drawn in blocks of about ``BLOCK`` elements (whole rows), so that no single draw allocates much more
than a block and seeding a generator (~30 us) stays negligible per element.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

Tensor = torch.Tensor

BLOCK = 1 << 20  # elements per block: rows are grouped so that one generator serves up to this many
_NEAT = 0x4E454154  # "NEAT": keeps these streams apart from every other use of the run seed
#: operator names -> stream codes (a new operator appends; never reorder: codes are part of a run's identity)
OPS = ("init", "select", "crossover", "structure", "add_node", "delete_node", "add_connection",
       "delete_connection", "attributes", "extinction")


def seed64(*words: int) -> int:
    """A 63-bit seed from integers, through numpy's ``SeedSequence`` (well mixed, platform independent)."""
    state = np.random.SeedSequence([int(w) & 0xFFFFFFFFFFFFFFFF for w in words]).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


class Streams:
    """The draws of one generation. Each ``(op, call)`` pair is its own stream; ``call`` counts the calls
    made for ``op`` in this generation (the engine's call sequence is deterministic, so is the count).

    ``record=True`` keeps every drawn tensor in ``draws[op]`` (tests feed them to neat-python).
    """

    def __init__(self, seed: int, generation: int, device: torch.device | str = "cpu", *, record: bool = False):
        self.seed, self.generation, self.device = int(seed), int(generation), torch.device(device)
        self.record = record
        self.draws: dict[str, list[Tensor]] = {}
        self._calls: dict[str, int] = {}

    def generator(self, op: str, block: int = 0, call: int | None = None) -> torch.Generator:
        if op not in OPS:
            raise ValueError(f"unknown stream {op!r}; allowed: {list(OPS)}")
        call = self._calls.get(op, 0) if call is None else call
        gen = torch.Generator(device=self.device)
        gen.manual_seed(seed64(self.seed, _NEAT, self.generation, OPS.index(op), call, block))
        return gen

    def _draw(self, op: str, shape: tuple[int, ...], dtype: torch.dtype,
              fill: Callable[..., Tensor]) -> Tensor:
        call = self._calls.get(op, 0)
        self._calls[op] = call + 1
        rows = shape[0] if shape else 1
        per_row = 1
        for n in shape[1:]:
            per_row *= int(n)
        block_rows = max(1, BLOCK // max(1, per_row))
        if not shape or rows <= block_rows:
            out = fill(shape, generator=self.generator(op, 0, call), dtype=dtype, device=self.device)
        else:
            parts = [fill((min(block_rows, rows - s), *shape[1:]), generator=self.generator(op, b, call),
                          dtype=dtype, device=self.device) for b, s in enumerate(range(0, rows, block_rows))]
            out = torch.cat(parts)
        if self.record:
            self.draws.setdefault(op, []).append(out.clone())
        return out

    def uniform(self, op: str, *shape: int, dtype: torch.dtype = torch.float64) -> Tensor:
        """Uniforms in [0, 1) of ``shape`` (rows first) from ``op``'s next stream."""
        return self._draw(op, tuple(shape), dtype, torch.rand)

    def normal(self, op: str, *shape: int, dtype: torch.dtype = torch.float64) -> Tensor:
        """Standard normals of ``shape`` from ``op``'s next stream."""
        return self._draw(op, tuple(shape), dtype, torch.randn)

    @staticmethod
    def choice(u: Tensor, n: Tensor | int) -> Tensor:
        """``floor(u * n)`` clamped to ``n - 1`` (int64): a uniform pick among ``n`` from a float64 uniform."""
        n_t = torch.as_tensor(n, device=u.device)
        return torch.minimum((u * n_t).floor().to(torch.int64), (n_t - 1).to(torch.int64).clamp(min=0))
