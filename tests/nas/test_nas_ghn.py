"""The GHN: options, determinism, weight normalisation (its training is tested in test_nas_engine.py)."""
from __future__ import annotations

import random

import pytest
import torch

from evohyper.nas.ghn import GHN
from evohyper.nas.space import CellSpace
from evohyper.nas.training import train_from_scratch


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


def test_from_scratch_training_learns():
    g = CellSpace(nodes=4, channels=8).sample(random.Random(4))
    res = train_from_scratch(g, 8, steps=60, seeds=2)
    assert set(res) == {"val_acc", "test_acc"} and res["val_acc"] > 0.3
