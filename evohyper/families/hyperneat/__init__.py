"""HyperNEAT: NEAT-evolved CPPNs (``families.neat``) queried at substrate coordinate pairs (decoder
``hyperneat``), and ES-HyperNEAT, where the CPPN also places the hidden nodes (decoder ``es_hyperneat``).
``NEAT``, ``NEATDecoder`` and ``NEATPhenotypes`` moved to ``evohyper.families.neat`` and are re-exported here
for one release. The substrate names below are the family's public face for tasks (``gym``,
``visual-discrimination``), which may import this package but none of its modules."""
from evohyper.families.hyperneat.decoder import HyperNEATDecoder
from evohyper.families.hyperneat.es_decoder import ESHyperNEATDecoder
from evohyper.families.hyperneat.substrate import Substrate, SubstrateSpec, grid, sandwich
from evohyper.families.neat import NEAT, NEATDecoder, NEATPhenotypes

__all__ = ["NEAT", "ESHyperNEATDecoder", "HyperNEATDecoder", "NEATDecoder", "NEATPhenotypes", "Substrate",
           "SubstrateSpec", "grid", "sandwich"]
