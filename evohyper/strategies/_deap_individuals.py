"""The DEAP individual shared by evohyper's GAs: a list of genes carrying a one-objective fitness."""
from __future__ import annotations

from deap import base


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
