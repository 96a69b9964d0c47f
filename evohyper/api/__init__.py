"""The core types: Task, Phenotypes, Decoder, Strategy (and what they share)."""
from evohyper.api.conv import ConvPhenotypes, ConvSpec
from evohyper.api.decoder import Decoder, DecoderInfo
from evohyper.api.evaluation_state import merge_evaluation_state
from evohyper.api.phenotypes import (
    ACTIVATIONS,
    MLPPhenotypes,
    MLPSpec,
    Phenotypes,
    TargetSpec,
    VectorPhenotypes,
    VectorSpec,
)
from evohyper.api.recurrent import ElmanPhenotypes, ElmanSpec, FullyRecurrentPhenotypes, FullyRecurrentSpec
from evohyper.api.strategy import Strategy, TrainingStrategy, sanitize_fitness
from evohyper.api.task import EvalResult, NotDifferentiableError, Replay, Task

__all__ = ["ACTIVATIONS", "ConvPhenotypes", "ConvSpec", "Decoder", "DecoderInfo", "ElmanPhenotypes", "ElmanSpec",
           "EvalResult", "FullyRecurrentPhenotypes", "FullyRecurrentSpec", "MLPPhenotypes", "MLPSpec",
           "NotDifferentiableError", "Phenotypes", "Replay", "Strategy",
           "TargetSpec", "Task", "TrainingStrategy", "VectorPhenotypes", "VectorSpec", "merge_evaluation_state",
           "sanitize_fitness"]
