"""The DEAP individual shared by evohyper's GAs (a list of genes carrying a one-objective fitness),
the one elitist generation step they share, and their common base class (options, toolbox, ask/tell)."""
from __future__ import annotations

import random
from typing import ClassVar

import numpy as np
import torch
from deap import algorithms, base, tools

from evohyper.api import rng as _rng
from evohyper.api.checks import Checks
from evohyper.api.strategy import Strategy

_checks = Checks("strategy")


class Fitness(base.Fitness):
    weights = (1.0,)  # one objective, maximised (evohyper's internal direction)


class Individual(list):
    """DEAP individuals are mutable sequences carrying a ``fitness``; plain lists are fastest."""

    def __init__(self, genes=(), fitness: float | None = None):
        super().__init__(genes)
        self.fitness = Fitness() if fitness is None else Fitness((fitness,))


def clone(ind: Individual) -> Individual:
    """Cheaper than DEAP's default ``copy.deepcopy`` for a list of numbers."""
    twin = Individual(ind)
    twin.fitness.wvalues = ind.fitness.wvalues
    return twin


def next_generation(genes: np.ndarray, fitness: np.ndarray, toolbox: base.Toolbox, elite: int, cx_prob: float,
                    mut_prob: float, rng: random.Random) -> list[Individual]:
    """``elite`` best rows kept, the rest bred by ``toolbox.select`` + ``varAnd`` (DEAP's operators,
    run with our private ``rng`` as Python's ``random``). One DEAP individual per row is the conversion
    DEAP's operators need; the loops over the population after that are DEAP's own."""
    population = list(map(Individual, genes.tolist(), fitness.tolist()))
    with _rng.python_random(rng):
        elites = tools.selBest(population, elite)
        parents = toolbox.select(population, len(population) - elite)
        children = algorithms.varAnd(parents, toolbox, cx_prob, mut_prob)
    return elites + children


class DeapGA(Strategy):
    """A generational GA bred by DEAP's operators (``next_generation``); subclasses register ``mate`` and
    ``mutate`` on ``self._toolbox`` and draw the first population (``_first_population``).

    Options:
      popsize: individuals per generation (>= 2).
      tournament_size: contestants per selection tournament (1 .. popsize).
      cx_prob: probability that a pair of selected parents is crossed over (DEAP ``varAnd``), in [0, 1].
      mut_prob: probability that a child is mutated, in [0, 1].
      elite: best individuals copied unchanged into the next generation (0 .. popsize - 1).
    """

    #: the dtype of the genes ``ask`` returns (what is evaluated is exactly what survives as an elite)
    gene_dtype: ClassVar[type] = np.float32

    def _setup_ga(self, popsize: int, tournament_size: int, cx_prob: float, mut_prob: float, elite: int) -> None:
        """Check the shared options; set up the generators (Python's for DEAP, numpy's for the first
        population, both from ``seed``) and the toolbox with ``clone`` and tournament ``select``."""
        _checks.population("popsize", popsize, 2)
        _checks.integer("tournament_size", tournament_size, 1, popsize)
        _checks.probability("cx_prob", cx_prob)
        _checks.probability("mut_prob", mut_prob)
        _checks.integer("elite", elite, 0, popsize - 1)
        self._popsize, self._elite = int(popsize), int(elite)
        self._cx_prob, self._mut_prob = float(cx_prob), float(mut_prob)
        self._random = random.Random(self.seed)                # every DEAP draw
        self._np = np.random.Generator(np.random.PCG64(self.seed % 2**128))  # the first population
        self._toolbox = base.Toolbox()
        self._toolbox.register("clone", clone)
        self._toolbox.register("select", tools.selTournament, tournsize=int(tournament_size))
        self._genes: np.ndarray | None = None      # [P, D] the population last asked
        self._fitness: np.ndarray | None = None    # [P] float64, its fitness once told

    @property
    def popsize(self) -> int:
        return self._popsize

    def _first_population(self) -> np.ndarray:
        """``[popsize, genome_size]`` genes of generation 1, drawn from ``self._np``."""
        raise NotImplementedError

    def _ask(self) -> torch.Tensor:
        if self._genes is None:
            genes = self._first_population()
        else:
            genes = np.asarray(next_generation(self._genes, self._fitness, self._toolbox, self._elite, self._cx_prob,
                                               self._mut_prob, self._random))
        self._genes = genes.astype(self.gene_dtype)
        self._fitness = None
        return torch.from_numpy(self._genes.copy())

    def _tell(self, fitness: torch.Tensor) -> None:
        self._fitness = fitness.to(torch.float64).numpy().copy()
