"""Multi-objective search (issue 23): Pareto helpers over DEAP (``pareto``), the front's files
(``front_files``) and NSGA-II on vectors (``nsga2``, strategy ``nsga2``).

The helpers take objectives ``[n, m]`` higher-is-better and return indices, so a strategy over any genotype
(NEAT-NSGA-II included) selects with them.
"""
from evohyper.strategies.mo.pareto import (
    crowding_distance,
    hypervolume,
    nsga2_select,
    nsga2_survivors,
    pareto_front,
    tournament_dcd,
)

__all__ = ["crowding_distance", "hypervolume", "nsga2_select", "nsga2_survivors", "pareto_front", "tournament_dcd"]
