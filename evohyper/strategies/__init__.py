"""Search strategies wrapping cma, evotorch, deap (also ``circuit_ga`` over integer circuit genes) and
neat-python, and cell-architecture searches (``nas_random``, ``regularized_evolution``). Each registers itself by name.

EvoTorch (which imports Ray) is only imported when an EvoTorch strategy is constructed.
"""
from evohyper.registry import strategies as _registry
from evohyper.strategies.cem import CEM
from evohyper.strategies.circuit_ga import CircuitGA
from evohyper.strategies.cmaes import CMAES
from evohyper.strategies.ga import GA
from evohyper.strategies.gradient import GradientStrategy
from evohyper.strategies.graph import NASRandom, RegularizedEvolution
from evohyper.strategies.nes import SNES, XNES
from evohyper.strategies.neat import NEAT
from evohyper.strategies.pgpe import PGPE
from evohyper.strategies.random_search import RandomSearch

for _name, _cls in {"cmaes": CMAES, "snes": SNES, "xnes": XNES, "pgpe": PGPE, "cem": CEM,
                    "ga": GA, "random": RandomSearch, "gradient": GradientStrategy, "neat": NEAT,
                    "circuit_ga": CircuitGA, "nas_random": NASRandom,
                    "regularized_evolution": RegularizedEvolution}.items():
    _registry.register(_name)(_cls)

__all__ = ["CEM", "CMAES", "CircuitGA", "GA", "GradientStrategy", "NASRandom", "NEAT", "PGPE", "RandomSearch", "RegularizedEvolution", "SNES", "XNES"]
