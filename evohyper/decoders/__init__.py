"""Generic genotype-to-phenotype maps: direct encoding and Ha et al.'s static and input-conditioned
hypernetworks. Each is registered by name through an entry point (``pyproject.toml``); method-specific
decoders (HyperNEAT, GHN, HyperGAN, circuits) live with their family in ``evohyper.families``."""
from evohyper.decoders.conditioned import InputConditionedDecoder
from evohyper.decoders.direct import DirectDecoder
from evohyper.decoders.parametrised import ParametrisedDecoder
from evohyper.decoders.static_hyper import StaticHyperDecoder

__all__ = ["DirectDecoder", "InputConditionedDecoder", "ParametrisedDecoder", "StaticHyperDecoder"]
