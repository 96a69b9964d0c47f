"""The GHN: options, determinism, weight normalisation, and training reducing held-out loss."""
from __future__ import annotations

import random

import pytest
import torch

from evohyper.nas.ghn import GHN
from evohyper.nas.space import CellSpace
from evohyper.nas.training import digits_tensors, ghn_accuracy, ghn_loss, train_ghn, train_from_scratch


def test_options_are_checked():
    with pytest.raises(ValueError, match="'hidden'.*>= 1.*0"):
        GHN(hidden=0)
    with pytest.raises(ValueError, match="nodes=6"):
        GHN(nodes=6).predict([CellSpace(nodes=5).sample(random.Random(0))])


def test_seeded_init_and_stacked_prediction_agree():
    g = CellSpace().sample(random.Random(0))
    a, b = GHN(seed=3), GHN(seed=3)
    pa = a.predict([g])[0]
    stacked = b.predict_stacked([g, g])
    for k, v in pa.items():
        torch.testing.assert_close(stacked[k][0], v)
        torch.testing.assert_close(stacked[k][1], v)


def test_predicted_conv_weights_are_fan_in_normalised():
    ghn = GHN(channels=16)
    rng = random.Random(0)
    stds = []
    for p in ghn.predict([CellSpace().sample(rng) for _ in range(8)]):
        stds += [float(v.detach().std() * (v[0].numel() ** 0.5)) for k, v in p.items() if v.dim() == 4 and v.shape[1] > 1]
    assert stds and all(0.1 < s < 10 for s in stds)          # ~ sqrt(2) * raw std (order 1)


def test_training_reduces_the_loss_on_held_out_architectures():
    torch.manual_seed(0)
    space = CellSpace(nodes=5, channels=8)
    ghn = GHN(channels=8, nodes=5, hidden=16, seed=0)
    held_out = [space.sample(random.Random(10_000 + i)) for i in range(12)]   # never seen in training
    x, y = digits_tensors()["val"]
    with torch.no_grad():
        before = float(ghn_loss(ghn, held_out, x, y))
    losses = train_ghn(ghn, space, steps=60, graphs_per_step=4, batch=64, lr=3e-3, seed=1)
    with torch.no_grad():
        after = float(ghn_loss(ghn, held_out, x, y))
    assert len(losses) == 60
    assert after < before - 0.5, (before, after)
    assert float(ghn_accuracy(ghn, held_out, x, y).mean()) > 0.35    # chance is 0.1


def test_from_scratch_training_learns():
    g = CellSpace(nodes=4, channels=8).sample(random.Random(4))
    res = train_from_scratch(g, 8, steps=60, seeds=2)
    assert set(res) == {"val_acc", "test_acc"} and res["val_acc"] > 0.3
