"""evohyper: evolutionary and neuroevolution search where every hypernetwork is a genotype-to-phenotype map."""
from evohyper.api import (ConvPhenotypes, ConvSpec, Decoder, EvalResult, MLPPhenotypes, MLPSpec, NotDifferentiableError, Phenotypes,
                          Strategy, TargetSpec, Task, VectorPhenotypes, VectorSpec)

__version__ = "0.1.0"
__all__ = ["ConvPhenotypes", "ConvSpec", "Decoder", "EvalResult", "MLPPhenotypes", "MLPSpec", "NotDifferentiableError", "Phenotypes",
           "Strategy", "TargetSpec", "Task", "VectorPhenotypes", "VectorSpec", "__version__"]
