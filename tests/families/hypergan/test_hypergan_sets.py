"""HyperGAN ``set_size``: a genotype of k noise vectors is one set of k networks scored as an ensemble
(shapes, identical members, fitness = the Ensemble API's, determinism, config errors, the engine path,
Ray = local)."""
from __future__ import annotations

import json

import pytest
import torch

from evohyper.api.phenotypes import MLPSpec
from evohyper.api.set_phenotypes import SetPhenotypes, SetSpec
from evohyper.config import ConfigError, load_config
from evohyper.engine.runner import build_search, run
from evohyper.families.hypergan import Ensemble
from evohyper.families.hypergan.decoder import HyperGANDecoder
from evohyper_tasks.digits import DigitsTask

MLP = MLPSpec([64, 16, 10])
CONFIG = "search_spaces/digits_hypergan_cmaes_sets.yaml"
SMALL = ["budget.generations=2", "strategy.popsize=6", "decoder.noise=8", "decoder.code=8", "decoder.hidden=16",
         "network.hidden=[16]", "decoder.set_size=3"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny kernels: 1 thread beats 2 here


def _val():
    task = DigitsTask()
    task.setup("cpu")
    return task, *task.split("val", torch.device("cpu"))


def test_set_decoding_shapes_and_members():
    dec = HyperGANDecoder(MLP, noise=8, code=8, hidden=16, set_size=4)
    assert dec.genome_size == 32
    g = torch.randn(5, 32)
    sets = dec.decode(g)
    assert isinstance(sets, SetPhenotypes) and len(sets) == 5 and sets.k == 4
    for name, shape in MLP.shapes().items():
        assert tuple(sets.tensors[name].shape) == (5, 4, *shape)
    x = torch.rand(7, 64)
    assert sets.forward(x).shape == (5, 7, 10)
    assert sets.member_logits(x).shape == (5, 4, 7, 10)
    # set i's members are the networks of its k noise chunks, in order
    single = dec.decode_members(g[2].reshape(4, 8))
    for name in MLP.shapes():
        torch.testing.assert_close(sets.members(2).tensors[name], single.tensors[name])
    # select keeps the set structure (the engine's best export takes one row)
    assert tuple(sets.select([3]).tensors["w0"].shape) == (1, 4, 64, 16)


def test_a_set_of_identical_members_predicts_like_the_member():
    dec = HyperGANDecoder(MLP, noise=8, code=8, hidden=16, set_size=5)
    s = torch.randn(3, 8)
    sets = dec.decode(s.repeat(1, 5))                       # every set: one noise vector five times
    x = torch.rand(20, 64)
    with torch.no_grad():
        member = torch.log_softmax(dec.decode_members(s).forward(x), dim=-1)
        torch.testing.assert_close(sets.forward(x), member, atol=1e-5, rtol=0)
        distinct = dec.decode(torch.randn(3, 40)).forward(x)
    assert not torch.allclose(distinct, member, atol=1e-3)


def test_set_fitness_is_the_ensembles_cross_entropy_and_accuracy():
    task, x, y = _val()
    dec = HyperGANDecoder(MLP, noise=8, code=8, hidden=16, set_size=3, init_seed=1)
    dec.load_parameter_vector(2 * dec.parameter_vector())   # confident members, so the ensemble differs
    g = torch.randn(4, 24, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        result = task.evaluate(dec.decode(g), seed=0)
        for i in range(4):
            probs = Ensemble(dec.decode(g).members(i)).predict_proba(x)
            nll = float(torch.nn.functional.nll_loss(probs.log(), y))
            assert float(result.fitness[i]) == pytest.approx(-nll, abs=1e-5)
            assert float(result.metrics["val_accuracy"][i]) == pytest.approx(
                float((probs.argmax(-1) == y).float().mean())
            )
            # the ensemble is not the mean member: averaging probabilities changes the loss
            member_nll = float(-task.evaluate(dec.decode(g).members(i), 0).fitness.mean())
            assert member_nll - nll > 0.01


def test_set_decoding_and_sampling_are_deterministic():
    a = HyperGANDecoder(MLP, noise=8, set_size=3, init_seed=2)
    b = HyperGANDecoder(MLP, noise=8, set_size=3, init_seed=2)
    one = HyperGANDecoder(MLP, noise=8, init_seed=2)
    g = torch.randn(2, 24)
    assert torch.equal(a.decode(g).tensors["w1"], b.decode(g).tensors["w1"])
    assert torch.equal(a.sample(4, seed=9).tensors["w0"], one.sample(4, seed=9).tensors["w0"])  # members
    assert a.sample(4, seed=9).tensors["w0"].shape == (4, 64, 16)
    assert not torch.equal(
        a.decode(g).tensors["w1"], HyperGANDecoder(MLP, noise=8, set_size=3, init_seed=3).decode(g).tensors["w1"]
    )


def test_bad_set_options_name_the_option():
    with pytest.raises(ValueError, match=r"decoder.set_size: 0; allowed: an integer in \[1, 100000\]"):
        HyperGANDecoder(MLP, set_size=0)
    with pytest.raises(ValueError, match=r"\[P, 24\] \(set_size=3 noise vectors of 8\)"):
        HyperGANDecoder(MLP, noise=8, set_size=3).decode(torch.randn(2, 8))
    with pytest.raises(ValueError, match="invalid set size"):
        SetSpec(MLP, 0)
    with pytest.raises(ConfigError, match="set_size"):
        load_config(CONFIG, ["decoder.set_size=0"])


def test_cmaes_over_sets_through_the_engine(tmp_path):
    """The engine's best fitness is the validation score of the best genotype's ensemble, and the run
    exports the best set (k members) like any phenotype."""
    cfg = load_config(CONFIG, [*SMALL, f"output.runs_dir={tmp_path}"])
    result, run_dir = run(cfg)
    dec = HyperGANDecoder(MLP, noise=8, code=8, hidden=16, set_size=3)
    task, x, y = _val()
    with torch.no_grad():
        probs = Ensemble(dec.decode(torch.as_tensor(result.best_genotype).reshape(1, -1)).members(0)).predict_proba(x)
    assert result.best_fitness == pytest.approx(-float(torch.nn.functional.nll_loss(probs.log(), y)), abs=1e-5)
    assert result.counters.sample_forwards == 2 * 6 * 3 * 359  # every member's forwards count
    weights = torch.load(run_dir / "best" / "weights.pt", weights_only=True)
    assert tuple(weights["w0"].shape) == (3, 64, 16)
    summary = json.loads((run_dir / "best" / "phenotype.json").read_text())
    assert summary["phenotype"]["spec"]["k"] == 3 and "test_accuracy" in summary["test_metrics"]


@pytest.mark.ray
def test_cmaes_over_sets_on_ray_actors_equals_local(ray_local):
    """CMA-ES over s (sets of 3) on two Ray actors: every generation's fitness and the best genotype
    are exactly the local run's (each actor builds the seeded generator itself)."""
    local = build_search(load_config(CONFIG, SMALL), None)
    local.run()
    remote = build_search(
        load_config(CONFIG, [*SMALL, "backend={name: ray, num_actors: 2, num_cpus_per_actor: 0.5}"]), None
    )
    remote.run()
    assert [r.best for r in remote.history] == [r.best for r in local.history]
    assert torch.equal(torch.as_tensor(remote.strategy.best_genotype), torch.as_tensor(local.strategy.best_genotype))


def test_sets_of_conv_networks_are_scored_by_the_task():
    task = DigitsTask()
    spec = task.target({"type": "conv", "channels": [4, 4]})
    dec = HyperGANDecoder(spec, noise=8, code=6, hidden=16, set_size=3)
    with torch.no_grad():
        sets = dec.decode(torch.randn(4, 24))
        result = task.evaluate(sets, 0)
        probs = Ensemble(sets.members(1)).predict_proba(task.split("val", torch.device("cpu"))[0])
    assert tuple(sets.tensors["conv0"].shape)[:2] == (4, 3) and result.fitness.shape == (4,)
    y = task.split("val", torch.device("cpu"))[1]
    assert float(result.fitness[1]) == pytest.approx(-float(torch.nn.functional.nll_loss(probs.log(), y)), abs=1e-5)
