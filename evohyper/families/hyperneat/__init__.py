"""NEAT in general (neat-python genomes, strategy ``neat``), compiled into tensors for a whole population:
HyperNEAT's CPPNs queried at substrate coordinate pairs (decoder ``hyperneat``) and direct NEAT, where
the genome is the network itself, feed-forward or recurrent (decoder ``neat``), and ES-HyperNEAT, where the
CPPN also places the hidden nodes (decoder ``es_hyperneat``)."""
from evohyper.api.registry import decoders as _decoders
from evohyper.api.registry import strategies as _strategies
from evohyper.families.hyperneat.decoder import HyperNEATDecoder
from evohyper.families.hyperneat.direct import NEATDecoder
from evohyper.families.hyperneat.es_decoder import ESHyperNEATDecoder
from evohyper.families.hyperneat.networks import NEATPhenotypes
from evohyper.families.hyperneat.strategy import NEAT

_decoders.register("hyperneat")(HyperNEATDecoder)
_decoders.register("neat")(NEATDecoder)
_decoders.register("es_hyperneat")(ESHyperNEATDecoder)
_strategies.register("neat")(NEAT)

__all__ = ["NEAT", "ESHyperNEATDecoder", "HyperNEATDecoder", "NEATDecoder", "NEATPhenotypes"]
