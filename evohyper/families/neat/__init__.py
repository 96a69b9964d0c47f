"""NEAT in general: neat-python genomes evolved by strategy ``neat`` and compiled into tensors for a whole
population; direct NEAT, where the genome is the network itself, feed-forward or recurrent (decoder ``neat``).
``families.hyperneat`` builds its CPPN decoders on this package (the one import allowed between families)."""
from evohyper.api.registry import decoders as _decoders
from evohyper.api.registry import strategies as _strategies
from evohyper.families.neat.direct import NEATDecoder
from evohyper.families.neat.genome import GenomeBatch
from evohyper.families.neat.networks import NEATPhenotypes
from evohyper.families.neat.strategy import NEAT

_decoders.register("neat")(NEATDecoder)
_strategies.register("neat")(NEAT)

__all__ = ["NEAT", "GenomeBatch", "NEATDecoder", "NEATPhenotypes"]
