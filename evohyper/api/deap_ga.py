"""The DEAP individual shared by evohyper's GAs (a list of genes carrying a one-objective fitness),
and the one elitist generation step they share."""
from __future__ import annotations

import random

import numpy as np
from deap import algorithms, base, tools

from evohyper.api import rng as _rng


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
