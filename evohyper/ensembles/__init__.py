"""Ensembles of networks from any source (a HyperGAN generator, an evolved population, independently
trained nets), their metrics, HyperGAN training and the generator's latent space."""
from evohyper.ensembles.ensemble import Ensemble, GeneratorSource, PoolSource, Source, train_independent
from evohyper.ensembles.hypergan_training import HyperGANTraining, train_hypergan
from evohyper.ensembles.latent import interpolate

__all__ = ["Ensemble", "GeneratorSource", "HyperGANTraining", "PoolSource", "Source", "interpolate",
           "train_hypergan", "train_independent"]
