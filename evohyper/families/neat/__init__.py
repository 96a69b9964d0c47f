"""NEAT in general: genomes evolved by strategy ``neat`` and handed out as a ``GenomeBatch`` (row batch kind
``neat-genomes``), compiled into tensors for a whole population; direct NEAT, where the genome is the network
itself, feed-forward or recurrent (decoder ``neat``).
``families.hyperneat`` builds its CPPN decoders on this package (the one import allowed between families).
Strategy ``neat``, decoder ``neat`` and row batch ``neat-genomes`` register through entry points (pyproject.toml)."""
from evohyper.families.neat.activations import ACTIVATION_NAMES, AGGREGATION_NAMES
from evohyper.families.neat.direct import NEATDecoder
from evohyper.families.neat.genome import GenomeBatch
from evohyper.families.neat.networks import NEATPhenotypes
from evohyper.families.neat.strategy import NEAT

__all__ = ["ACTIVATION_NAMES", "AGGREGATION_NAMES", "NEAT", "GenomeBatch", "NEATDecoder", "NEATPhenotypes"]
