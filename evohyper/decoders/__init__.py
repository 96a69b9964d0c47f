"""Genotype-to-phenotype maps (decoders). Each built-in registers itself by name."""
from evohyper.decoders.circuit import CircuitDecoder
from evohyper.decoders.conditioned import InputConditionedDecoder
from evohyper.decoders.direct import DirectDecoder
from evohyper.decoders.ghn import GHNDecoder
from evohyper.decoders.hypergan import HyperGANDecoder
from evohyper.decoders.hyperneat import HyperNEATDecoder
from evohyper.decoders.parametrised import ParametrisedDecoder
from evohyper.decoders.static_hyper import StaticHyperDecoder
from evohyper.registry import decoders as _registry

_registry.register("direct")(DirectDecoder)
_registry.register("hyperneat")(HyperNEATDecoder)
_registry.register("hyper_static")(StaticHyperDecoder)
_registry.register("hyper_conditioned")(InputConditionedDecoder)
_registry.register("circuit")(CircuitDecoder)
_registry.register("hypergan")(HyperGANDecoder)
_registry.register("ghn")(GHNDecoder)

__all__ = ["CircuitDecoder", "DirectDecoder", "GHNDecoder", "HyperGANDecoder", "HyperNEATDecoder", "InputConditionedDecoder", "ParametrisedDecoder",
           "StaticHyperDecoder"]
