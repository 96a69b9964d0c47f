"""A genetic algorithm over variable-length circuits, assembled from DEAP's integer operators.

Genotype: integer genes ``[length, kind_1, value_1, ..., kind_L, value_L]`` (``evohyper.families.circuits.space``;
decoded by the ``circuit`` decoder). Each generation: the ``elite`` best survive unchanged
(``tools.selBest``); the rest are bred by ``algorithms.varAnd`` from ``tools.selTournament`` parents with
``tools.cxTwoPoint`` crossover (swaps whole stretches of the chain, possibly the length gene) and a
mutation that resets genes uniformly (``tools.mutUniformInt``: new length, kind or value) and nudges
value indices to neighbouring E12 values (``tools.mutGaussian`` on the value genes, rounded, clipped).

DEAP draws from Python's global ``random``; every DEAP call runs with this strategy's own
``random.Random`` swapped in (``_rng.python_random``), so the GA depends on ``seed`` only.

Seeding: when the decoder proposes genotypes (``DecoderInfo.proposals``: the ``circuit`` decoder's
trained designer's beams for the target), the first population starts with them (at most
``popsize``, best first) and is filled up with random genes.
"""
import random
from typing import ClassVar

import numpy as np
import torch
from deap import base, tools

from evohyper.api import checks as _checks
from evohyper.api.deap_ga import Individual as _Individual
from evohyper.api.deap_ga import clone as _clone
from evohyper.api.deap_ga import next_generation
from evohyper.api.decoder import DecoderInfo
from evohyper.api.strategy import Strategy


class CircuitGA(Strategy):
    """Genetic algorithm over variable-length component chains (DEAP two-point crossover, integer mutations)."""

    genotype_kind: ClassVar[str] = "circuit"

    def __init__(self, genome_size: int, seed: int, *,
                 popsize: int = 100,
                 tournament_size: int = 3,
                 cx_prob: float = 0.5,
                 mut_prob: float = 0.8,
                 reset_indpb: float = 0.05,
                 creep_indpb: float = 0.1,
                 creep_sigma: float = 1.5,
                 elite: int = 2,
                 min_length: int = 4,
                 n_kinds: int = 6,
                 n_values: int = 36):
        super().__init__(_checks.genome_size(genome_size, 3), seed)
        if self.genome_size % 2 != 1:
            _checks.fail("genome_size", genome_size, "an odd integer 1 + 2 * max_length (circuit genes)")
        self.max_length = (self.genome_size - 1) // 2
        _checks.integer("popsize", popsize, 2)
        _checks.integer("tournament_size", tournament_size, 1, popsize)
        _checks.probability("cx_prob", cx_prob)
        _checks.probability("mut_prob", mut_prob)
        _checks.probability("reset_indpb", reset_indpb)
        _checks.probability("creep_indpb", creep_indpb)
        _checks.positive("creep_sigma", creep_sigma)
        _checks.integer("elite", elite, 0, popsize - 1)
        _checks.integer("min_length", min_length, 1, self.max_length)
        _checks.integer("n_kinds", n_kinds, 1)
        _checks.integer("n_values", n_values, 1)
        self._popsize, self._elite = int(popsize), int(elite)
        self._cx_prob, self._mut_prob = float(cx_prob), float(mut_prob)
        self._low = [int(min_length)] + [0, 0] * self.max_length
        self._up = [self.max_length] + [int(n_kinds) - 1, int(n_values) - 1] * self.max_length
        self._reset_indpb, self._creep_indpb, self._creep_sigma = (
            float(reset_indpb),
            float(creep_indpb),
            float(creep_sigma),
        )
        self._random = random.Random(self.seed)
        self._np = np.random.Generator(np.random.PCG64(self.seed % 2**128))
        self._toolbox = base.Toolbox()
        self._toolbox.register("clone", _clone)
        self._toolbox.register("mate", tools.cxTwoPoint)
        self._toolbox.register("mutate", self._mutate)
        self._toolbox.register("select", tools.selTournament, tournsize=int(tournament_size))
        self._genes: np.ndarray | None = None
        self._fitness: np.ndarray | None = None
        self._seeds = np.zeros((0, self.genome_size), dtype=np.int64)

    @property
    def popsize(self) -> int:
        return self._popsize

    def _mutate(self, ind: _Individual) -> tuple[_Individual]:
        """Uniform resets of any gene, then a Gaussian creep of the value genes (rounded, clipped)."""
        tools.mutUniformInt(ind, self._low, self._up, self._reset_indpb)
        values = [float(v) for v in ind[2::2]]
        tools.mutGaussian(values, 0.0, self._creep_sigma, self._creep_indpb)
        ind[2::2] = [min(max(int(round(v)), 0), self._up[2]) for v in values]
        return (ind,)

    def bind(self, info: DecoderInfo) -> None:
        """Take the decoder's proposed genotypes (if any) as the start of the first population."""
        if info.proposals is None:
            return
        seeds = torch.as_tensor(info.proposals)
        low, up = torch.tensor(self._low), torch.tensor(self._up)
        if seeds.dim() != 2 or seeds.shape[1] != self.genome_size or seeds.is_floating_point():
            raise ValueError(f"decoder proposals must be integer genes [k, {self.genome_size}], got "
                             f"{seeds.dtype} {tuple(seeds.shape)}")
        if ((seeds < low) | (seeds > up)).any():
            raise ValueError(f"decoder proposals out of this GA's gene ranges (length >= {self._low[0]}, kinds < "
                             f"{self._up[1] + 1}, values < {self._up[2] + 1})")
        self._seeds = seeds[:self._popsize].numpy().astype(np.int64)

    def _ask(self) -> torch.Tensor:
        if self._genes is None:
            low, high = np.array(self._low), np.array(self._up) + 1
            genes = self._np.integers(low, high, size=(self._popsize, self.genome_size))
            genes[:len(self._seeds)] = self._seeds
        else:
            genes = np.asarray(
                next_generation(
                    self._genes, self._fitness, self._toolbox, self._elite, self._cx_prob, self._mut_prob, self._random
                ),
                dtype=np.int64,
            )
        self._genes = genes.astype(np.int64)
        self._fitness = None
        return torch.from_numpy(self._genes.copy())

    def _tell(self, fitness: torch.Tensor) -> None:
        self._fitness = fitness.to(torch.float64).numpy().copy()
