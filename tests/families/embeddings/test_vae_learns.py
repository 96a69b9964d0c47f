"""The conditional VAE learns its data and its condition steers what it generates (synthetic data)."""
from __future__ import annotations

import torch
from embedding_fixtures import synthetic

from evohyper.families.embeddings import ConditionalVAE, train_vae


def test_reconstruction_error_falls_by_a_factor_of_five():
    """Weights on a 3-dimensional subspace (+ a little noise): a 4-d latent code can hold them."""
    gen = torch.Generator().manual_seed(0)
    basis = torch.randn(3, 13, generator=gen)
    weights = torch.randn(512, 3, generator=gen) @ basis + 0.05 * torch.randn(512, 13, generator=gen)
    groups = torch.arange(4).repeat_interleave(128)
    before = ConditionalVAE(weights.shape[1], 4, 4, (32, 32), init_seed=0)
    before.set_normalisation(weights)
    start = before.reconstruction_error(weights, groups)
    vae, history = train_vae(weights, groups, latent=4, hidden=(32, 32), epochs=60, batch=64, seed=0, log=None)
    end = vae.reconstruction_error(weights, groups)
    assert end < start / 5, (start, end)
    assert history[-1]["recon"] < history[0]["recon"] / 2


def test_samples_of_each_group_land_nearest_their_groups_mean():
    weights, groups, centres = synthetic(128, spread=3.0, noise=0.3)
    vae, _ = train_vae(weights, groups, latent=2, hidden=(32, 32), epochs=60, batch=64, seed=1, log=None)
    z = torch.randn(200, 2, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        for g in range(4):
            samples = vae.generate(z, g)
            dist = torch.cdist(samples, centres).mean(dim=0)     # mean distance to each group's centre
            assert int(dist.argmin()) == g, (g, dist)
            assert dist[g] < 0.5 * dist[[h for h in range(4) if h != g]].min(), (g, dist)
