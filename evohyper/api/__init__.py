"""The core types: Task, Phenotypes, Decoder, Strategy."""
from evohyper.api.conv import ConvPhenotypes, ConvSpec
from evohyper.api.decoder import Decoder, DecoderInfo
from evohyper.api.phenotypes import (ACTIVATIONS, MLPPhenotypes, MLPSpec, Phenotypes, TargetSpec,
                                     VectorPhenotypes, VectorSpec)
from evohyper.api.strategy import Strategy, TrainingStrategy, sanitize_fitness
from evohyper.api.task import EvalResult, NotDifferentiableError, Task

__all__ = ["ACTIVATIONS", "ConvPhenotypes", "ConvSpec", "Decoder", "DecoderInfo", "EvalResult", "MLPPhenotypes", "MLPSpec", "NotDifferentiableError",
           "Phenotypes", "Strategy", "TrainingStrategy", "TargetSpec", "Task", "VectorPhenotypes", "VectorSpec", "sanitize_fitness"]
