"""Random streams of the batched NEAT engine: one generator per (seed, generation, operator), derived.

Why derived generators instead of one carried generator (docs/neat_engine.md, section 4.1): nothing but
``(seed, generation)`` needs checkpointing, a resumed run is bit-identical on the same device, and each
operator consumes only its own stream, so a change to one operator's draws never shifts another's. A
draw's shape is always a function of the data (counts, firing rows, config), never of capacity. Within a
generation an operator's successive draws continue its one generator (the engine's call sequence is
deterministic), so a generation seeds about ten generators, not one per draw (seeding costs ~30 us).
"""
from __future__ import annotations

from collections.abc import Callable

import torch

Tensor = torch.Tensor

_NEAT = 0x4E454154  # "NEAT": keeps these streams apart from every other use of the run seed
#: operator names -> stream codes (a new operator appends; never reorder: codes are part of a run's identity)
OPS = ("init", "select", "crossover", "structure", "add_node", "delete_node", "add_connection",
       "delete_connection", "attributes", "extinction")


_M64 = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def seed64(*words: int) -> int:
    """A 63-bit seed from integers: splitmix64 chained over the words (well mixed, platform independent,
    a few microseconds where numpy's ``SeedSequence`` takes ~30)."""
    h = 0
    for w in words:
        h = _splitmix64(h ^ (int(w) & _M64))
    return h >> 1


class Streams:
    """The draws of one generation: one generator per operator, seeded on its first draw.

    ``record=True`` keeps every drawn tensor in ``draws[op]`` (tests feed them to neat-python).
    """

    def __init__(self, seed: int, generation: int, device: torch.device | str = "cpu", *, record: bool = False):
        self.seed, self.generation, self.device = int(seed), int(generation), torch.device(device)
        self.record = record
        self.draws: dict[str, list[Tensor]] = {}
        self._generators: dict[str, torch.Generator] = {}

    def generator(self, op: str) -> torch.Generator:
        """``op``'s generator of this generation (made and seeded on first use, then continued)."""
        gen = self._generators.get(op)
        if gen is None:
            if op not in OPS:
                raise ValueError(f"unknown stream {op!r}; allowed: {list(OPS)}")
            gen = torch.Generator(device=self.device)
            gen.manual_seed(seed64(self.seed, _NEAT, self.generation, OPS.index(op)))
            self._generators[op] = gen
        return gen

    def _draw(self, op: str, shape: tuple[int, ...], dtype: torch.dtype,
              fill: Callable[..., Tensor]) -> Tensor:
        out = fill(shape, generator=self.generator(op), dtype=dtype, device=self.device)
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
        if isinstance(n, int):  # (u * n >= 0, so the int64 cast is the floor)
            return (u * n).to(torch.int64).clamp_(max=max(n - 1, 0))
        return torch.minimum((u * n).to(torch.int64), (n - 1).clamp(min=0).to(torch.int64))
