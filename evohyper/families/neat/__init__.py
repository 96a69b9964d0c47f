"""NEAT in general: genomes evolved by strategy ``neat`` and handed out as a ``GenomeBatch`` (row batch kind
``neat-genomes``), compiled into tensors for a whole population; direct NEAT, where the genome is the network
itself, feed-forward or recurrent (decoder ``neat``).
``families.hyperneat`` builds its CPPN decoders on this package (the one import allowed between families)."""
from evohyper.api.registry import decoders as _decoders
from evohyper.api.registry import row_batches as _row_batches
from evohyper.api.registry import strategies as _strategies
from evohyper.families.neat.direct import NEATDecoder
from evohyper.families.neat.genome import GenomeBatch
from evohyper.families.neat.networks import NEATPhenotypes
from evohyper.families.neat.strategy import NEAT

_decoders.register("neat")(NEATDecoder)
_strategies.register("neat")(NEAT)
_row_batches.register("neat-genomes")(GenomeBatch)

__all__ = ["NEAT", "GenomeBatch", "NEATDecoder", "NEATPhenotypes"]
