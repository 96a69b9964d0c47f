"""The trained generator's file: a plain tensor dict + JSON sidecar, loaded with weights_only=True; the round trip
is exact and anything else is refused in one line."""
from __future__ import annotations

import json
import shutil

import pytest
import torch
from embedding_fixtures import synthetic, tiny_generator

from evohyper.api.checks import OptionError
from evohyper.families.embeddings import load_generator, save_generator, train_vae


def test_round_trip_gives_identical_outputs(tmp_path):
    weights, groups, _ = synthetic(16)
    vae, _ = train_vae(weights, groups, latent=2, hidden=(8, 8), epochs=2, batch=16, seed=4, log=None)
    path = save_generator(vae, tmp_path / "g.pt", {"network": {"shapes": {}}})
    again, meta = load_generator(path)
    z = torch.randn(9, 2, generator=torch.Generator().manual_seed(0))
    g = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3, 3])
    assert torch.equal(vae.generate(z, g), again.generate(z, g))
    assert torch.equal(vae.encode(weights, groups)[0], again.encode(weights, groups)[0])
    assert meta["latent"] == 2 and meta["hidden"] == [8, 8] and meta["network"] == {"shapes": {}}
    assert set(torch.load(path, weights_only=True)) == set(vae.state_dict())


def test_training_is_deterministic_under_its_seed():
    weights, groups, _ = synthetic(16)
    a, ha = train_vae(weights, groups, latent=2, hidden=(8,), epochs=2, batch=16, seed=7, log=None)
    b, hb = train_vae(weights, groups, latent=2, hidden=(8,), epochs=2, batch=16, seed=7, log=None)
    assert [r["loss"] for r in ha] == [r["loss"] for r in hb]
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def _copy(tmp_path):
    path = tmp_path / "g.pt"
    shutil.copy(tiny_generator(), path)
    shutil.copy(tiny_generator() + ".json", str(path) + ".json")
    return path


class Evil:
    pass


@pytest.mark.parametrize("payload,words", [
    ({"generator.0.weight": Evil()}, "not a safe weights file"),      # a pickle of an arbitrary object
    ({"generator.0.weight": [1, 2, 3]}, "mapping of names to tensors"),  # loads, but not tensors
    ({"generator.0.weight": torch.zeros(2)}, "do not match"),          # tensors of another model
])
def test_unsafe_or_foreign_files_are_refused_in_one_line(tmp_path, payload, words):
    path = _copy(tmp_path)
    torch.save(payload, path)
    with pytest.raises(OptionError) as err:
        load_generator(path)
    text = str(err.value)
    assert err.value.path == "decoder.generator" and "\n" not in text and words in text, text


def test_a_missing_or_foreign_sidecar_is_refused(tmp_path):
    path = _copy(tmp_path)
    (tmp_path / "g.pt.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(OptionError, match="format"):
        load_generator(path)
    (tmp_path / "g.pt.json").unlink()
    with pytest.raises(OptionError, match="sidecar"):
        load_generator(path)
