"""Generic genotype-to-phenotype maps: direct encoding, compressed weight space (DCT coefficients) and Ha
et al.'s static and input-conditioned hypernetworks. Each is registered by name through an entry point
(``pyproject.toml``); method-specific decoders (HyperNEAT, GHN, HyperGAN, circuits) live with their family
in ``evohyper.families``."""
from evohyper.decoders.conditioned import InputConditionedDecoder
from evohyper.decoders.dct import DCTDecoder
from evohyper.decoders.direct import DirectDecoder
from evohyper.decoders.parametrised import ParametrisedDecoder
from evohyper.decoders.static_hyper import StaticHyperDecoder

__all__ = ["DCTDecoder", "DirectDecoder", "InputConditionedDecoder", "ParametrisedDecoder", "StaticHyperDecoder"]
