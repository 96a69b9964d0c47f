"""evohyper: evolutionary and neuroevolution search where every hypernetwork is a genotype-to-phenotype map.

The package face re-exports the core types (``evohyper.api``): ``Task``, ``EvalResult``, the phenotype
specs, ``Decoder``, ``Strategy``.
"""
from evohyper.api import *  # noqa: F403 - the core types are the package's public face
from evohyper.api import __all__ as _core

__version__ = "0.1.0"
__all__ = [*_core, "__version__"]
