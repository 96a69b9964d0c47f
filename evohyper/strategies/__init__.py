"""Search strategies wrapping cma, evotorch and deap (``circuit_ga``: DEAP over integer circuit genes). Each registers itself by name.

EvoTorch (which imports Ray) is only imported when an EvoTorch strategy is constructed.
"""
from evohyper.registry import strategies as _registry
from evohyper.strategies.cem import CEM
from evohyper.strategies.circuit_ga import CircuitGA
from evohyper.strategies.cmaes import CMAES
from evohyper.strategies.ga import GA
from evohyper.strategies.nes import SNES, XNES
from evohyper.strategies.pgpe import PGPE
from evohyper.strategies.random_search import RandomSearch

for _name, _cls in {"cmaes": CMAES, "snes": SNES, "xnes": XNES, "pgpe": PGPE, "cem": CEM,
                    "ga": GA, "random": RandomSearch, "circuit_ga": CircuitGA}.items():
    _registry.register(_name)(_cls)

__all__ = ["CEM", "CMAES", "CircuitGA", "GA", "PGPE", "RandomSearch", "SNES", "XNES"]
