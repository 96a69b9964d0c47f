"""Genotype-to-phenotype maps (decoders). Each built-in registers itself by name."""
from evohyper.decoders.direct import DirectDecoder
from evohyper.decoders.hyperneat import HyperNEATDecoder
from evohyper.registry import decoders as _registry

_registry.register("direct")(DirectDecoder)
_registry.register("hyperneat")(HyperNEATDecoder)

__all__ = ["DirectDecoder", "HyperNEATDecoder"]
