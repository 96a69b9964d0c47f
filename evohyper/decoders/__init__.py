"""Genotype-to-phenotype maps (decoders). Each built-in registers itself by name."""
from evohyper.decoders.circuit import CircuitDecoder
from evohyper.decoders.direct import DirectDecoder
from evohyper.registry import decoders as _registry

_registry.register("direct")(DirectDecoder)
_registry.register("circuit")(CircuitDecoder)

__all__ = ["CircuitDecoder", "DirectDecoder"]
