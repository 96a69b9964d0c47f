"""Generic genotype-to-phenotype maps: direct encoding and Ha et al.'s static and input-conditioned
hypernetworks. Each registers itself by name; method-specific decoders (HyperNEAT, GHN, HyperGAN,
circuits) live with their family in ``evohyper.families``."""
from evohyper.api.registry import decoders as _registry
from evohyper.decoders.conditioned import InputConditionedDecoder
from evohyper.decoders.direct import DirectDecoder
from evohyper.decoders.parametrised import ParametrisedDecoder
from evohyper.decoders.static_hyper import StaticHyperDecoder

_registry.register("direct")(DirectDecoder)
_registry.register("hyper_static")(StaticHyperDecoder)
_registry.register("hyper_conditioned")(InputConditionedDecoder)

__all__ = ["DirectDecoder", "InputConditionedDecoder", "ParametrisedDecoder", "StaticHyperDecoder"]
