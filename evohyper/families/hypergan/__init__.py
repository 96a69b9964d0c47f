"""HyperGAN (Ratzlaff & Li 2019): the generator as a decoder (``hypergan``), and ensembles of networks
from any source (a generator, an evolved population, independently trained nets), their metrics and
the generator's latent space."""
from evohyper.families.hypergan.decoder import HyperGANDecoder
from evohyper.families.hypergan.ensemble import Ensemble, GeneratorSource, PoolSource, Source, train_independent
from evohyper.families.hypergan.latent import interpolate

__all__ = ["Ensemble", "GeneratorSource", "HyperGANDecoder", "PoolSource", "Source", "interpolate",
           "train_independent"]
