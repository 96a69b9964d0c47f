"""Generic vector strategies wrapping cma, evotorch and deap, random search and gradient training.
Each is registered by name through an entry point (``pyproject.toml``); method-specific strategies
(NEAT, graph search, circuit GA) live with their family in ``evohyper.families``.

EvoTorch (which imports Ray) is only imported when an EvoTorch strategy is constructed.
"""
from evohyper.strategies.cem import CEM
from evohyper.strategies.cmaes import CMAES
from evohyper.strategies.ga import GA
from evohyper.strategies.gradient import GradientStrategy
from evohyper.strategies.nes import SNES, XNES
from evohyper.strategies.pgpe import PGPE
from evohyper.strategies.random_search import RandomSearch

__all__ = ["CEM", "CMAES", "GA", "PGPE", "SNES", "XNES", "GradientStrategy", "RandomSearch"]
