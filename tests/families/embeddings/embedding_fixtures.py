"""A tiny trained generator for the agent-embedding tests: a conditional VAE trained for a few epochs on a
synthetic data set of 4-2-1 tanh MLPs (the cart-pole task's network with ``hidden: [2]``)."""
from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import torch

from evohyper.api.phenotypes import MLPSpec
from evohyper.families.embeddings import network_of, save_generator, train_vae

TARGET = MLPSpec([4, 2, 1])
D = TARGET.num_params


def synthetic(n_per_group: int = 64, seed: int = 0, spread: float = 3.0, noise: float = 0.3):
    """Weights ``[4n, D]`` whose group g is centred on ``spread * e_g`` (+ ``-spread`` on weight D-1-g), groups
    ``[4n]``, and the four centres ``[4, D]``."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.zeros(4, D)
    for g in range(4):
        centres[g, g], centres[g, D - 1 - g] = spread, -spread
    groups = torch.arange(4).repeat_interleave(n_per_group)
    weights = centres[groups] + noise * torch.randn(len(groups), D, generator=gen)
    return weights, groups, centres


@functools.lru_cache(maxsize=1)
def tiny_generator() -> str:
    """Path of a generator trained for 3 epochs (made once per test process)."""
    weights, groups, _ = synthetic()
    vae, _ = train_vae(weights, groups, latent=3, hidden=(16,), epochs=3, batch=32, seed=0, log=None)
    path = Path(tempfile.mkdtemp(prefix="embeddings-test-")) / "generator.pt"
    save_generator(vae, path, {"network": network_of(TARGET), "group_ranges": [[1, 50], [51, 100], [101, 150],
                                                                                [151, 200]]})
    return str(path)
