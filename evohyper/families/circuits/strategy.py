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
from typing import ClassVar

import numpy as np
import torch
from deap import tools

from evohyper.api.checks import Checks
from evohyper.api.deap_ga import DeapGA
from evohyper.api.deap_ga import Individual as _Individual
from evohyper.api.decoder import DecoderInfo

_checks = Checks("strategy")

MAX_GENE_RANGE = 10_000   # component kinds / values a gene ranges over


class CircuitGA(DeapGA):
    """Genetic algorithm over variable-length component chains (DEAP two-point crossover, integer mutations).

    Options (and those of ``DeapGA``: popsize, tournament_size, cx_prob, mut_prob, elite):
      reset_indpb: per-gene probability of a uniform reset (any gene: length, kind, value index), in [0, 1].
      creep_indpb: per-value-gene probability of a Gaussian creep of the E12 value index, in [0, 1].
      creep_sigma: standard deviation of that creep, in value-index steps (> 0).
      min_length: shortest chain a genotype may encode (1 .. the genome's maximum length).
      n_kinds: number of component kinds a kind gene ranges over (>= 1; the circuit space's series and
        parallel R, C, L = 6).
      n_values: number of component values a value gene ranges over (>= 1; E12 over three decades = 36).
    """

    genotype_kind: ClassVar[str] = "circuit"
    gene_dtype = np.int64

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
        _checks.probability("reset_indpb", reset_indpb)
        _checks.probability("creep_indpb", creep_indpb)
        _checks.scale("creep_sigma", creep_sigma)
        _checks.integer("min_length", min_length, 1, self.max_length)
        _checks.integer("n_kinds", n_kinds, 1, MAX_GENE_RANGE)
        _checks.integer("n_values", n_values, 1, MAX_GENE_RANGE)
        self._setup_ga(popsize, tournament_size, cx_prob, mut_prob, elite)
        self._low = [int(min_length)] + [0, 0] * self.max_length
        self._up = [self.max_length] + [int(n_kinds) - 1, int(n_values) - 1] * self.max_length
        self._reset_indpb, self._creep_indpb, self._creep_sigma = (
            float(reset_indpb),
            float(creep_indpb),
            float(creep_sigma),
        )
        self._toolbox.register("mate", tools.cxTwoPoint)
        self._toolbox.register("mutate", self._mutate)
        self._seeds = np.zeros((0, self.genome_size), dtype=np.int64)   # the decoder's proposals (bind)

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

    def _first_population(self) -> np.ndarray:
        genes = self._np.integers(np.array(self._low), np.array(self._up) + 1, size=(self._popsize, self.genome_size))
        genes[:len(self._seeds)] = self._seeds
        return genes
