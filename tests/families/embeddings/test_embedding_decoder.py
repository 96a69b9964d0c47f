"""The ``agent_embedding`` decoder: the shipped contract, batched = one at a time, config errors, a real search."""
from __future__ import annotations

import copy

import pytest
import torch
from embedding_fixtures import TARGET, tiny_generator

from evohyper.api.phenotypes import MLPSpec
from evohyper.config import ConfigError, validate
from evohyper.engine.runner import build_search
from evohyper.families.embeddings import AgentEmbeddingDecoder, load_generator
from evohyper.testing import DecoderContract

CONFIG = {"name": "t", "seed": 0, "task": {"name": "cartpole", "episodes": 2, "max_steps": 30},
          "network": {"hidden": [2]}, "decoder": {"name": "agent_embedding"},
          "strategy": {"name": "cmaes", "popsize": 6, "sigma0": 1.0}, "budget": {"generations": 2},
          "backend": {"name": "local"}, "output": {"progress": False, "tensorboard": False}}


def _config(**decoder):
    raw = copy.deepcopy(CONFIG)
    raw["decoder"].update(decoder)
    return raw


class TestAgentEmbeddingContract(DecoderContract):
    def make_decoder(self):
        return AgentEmbeddingDecoder(TARGET, generator=tiny_generator(), group=2)


def test_batched_decode_equals_one_at_a_time_and_is_the_generator():
    dec = AgentEmbeddingDecoder(TARGET, generator=tiny_generator(), group=3)
    z = torch.randn(40, dec.genome_size, generator=torch.Generator().manual_seed(3))
    batch = dec.decode(z)
    for i in range(0, 40, 7):
        one = dec.decode(z[i:i + 1])
        for name in batch.tensors:
            torch.testing.assert_close(batch.tensors[name][i:i + 1], one.tensors[name], rtol=1e-5, atol=1e-6)
    vae, _ = load_generator(tiny_generator())
    flat = torch.cat([batch.tensors[n].reshape(40, -1) for n in TARGET.shapes()], dim=1)
    torch.testing.assert_close(flat, vae.generate(z, 2).detach())     # group 3 is the 0-based condition 2


def test_the_group_steers_the_networks_and_defaults_to_the_last():
    z = torch.zeros(1, 3)
    first = AgentEmbeddingDecoder(TARGET, generator=tiny_generator(), group=1).weights(z)
    default = AgentEmbeddingDecoder(TARGET, generator=tiny_generator())
    assert default.group == 4
    torch.testing.assert_close(default.weights(z), AgentEmbeddingDecoder(TARGET, generator=tiny_generator(),
                                                                         group=4).weights(z))
    assert not torch.allclose(first, default.weights(z))


def test_a_config_search_runs_cmaes_in_the_latent_space():
    search = build_search(validate(_config(generator=tiny_generator(), group=4)), None)
    result = search.run()
    assert result.generations == 2 and search.counters.evaluations == 12
    assert 1.0 <= result.best_fitness <= 30.0
    assert len(result.best_genotype) == 3          # a latent code, not 13 weights


@pytest.mark.parametrize("decoder,key,words", [
    ({}, "decoder.generator", ["None", "required"]),
    ({"generator": "/no/such/generator.pt"}, "decoder.generator", ["/no/such/generator.pt"]),
    ({"group": 0}, "decoder.group", ["0", "[1, 64]"]),
    ({"group": 5}, "decoder.group", ["5", "[1, 4]"]),
])
def test_config_errors_are_one_line_naming_the_key(decoder, key, words):
    if "generator" not in decoder and key != "decoder.generator":
        decoder = {**decoder, "generator": tiny_generator()}
    with pytest.raises(ConfigError) as err:
        validate(_config(**decoder))
    text = str(err.value)
    assert "\n" not in text and err.value.path == key, text
    for w in words:
        assert w in text, text


def test_a_generator_for_another_network_is_refused_naming_both_shapes():
    raw = _config(generator=tiny_generator())
    raw["network"] = {"hidden": [3]}
    with pytest.raises(ConfigError) as err:
        validate(raw)
    text = str(err.value)
    assert err.value.path == "decoder.generator" and "\n" not in text
    assert "w0 (4, 2)" in text and "w0 (4, 3)" in text, text
    with pytest.raises(ValueError, match="sigmoid"):     # activations give weights their meaning: checked too
        AgentEmbeddingDecoder(MLPSpec([4, 2, 1], activation="sigmoid"), generator=tiny_generator())
