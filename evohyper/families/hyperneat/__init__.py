"""HyperNEAT: neat-python CPPN genomes (strategy ``neat``) compiled into tensors for a whole
population and queried at substrate coordinate pairs (decoder ``hyperneat``)."""
from evohyper.api.registry import decoders as _decoders
from evohyper.api.registry import strategies as _strategies
from evohyper.families.hyperneat.decoder import HyperNEATDecoder
from evohyper.families.hyperneat.es_decoder import ESHyperNEATDecoder
from evohyper.families.hyperneat.strategy import NEAT

_decoders.register("hyperneat")(HyperNEATDecoder)
_decoders.register("es_hyperneat")(ESHyperNEATDecoder)
_strategies.register("neat")(NEAT)

__all__ = ["NEAT", "ESHyperNEATDecoder", "HyperNEATDecoder"]
