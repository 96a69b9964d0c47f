"""Ensemble API over all three sources (generator, evolved population, independent nets), metrics,
latent interpolation and CMA-ES over the generator's noise through the engine."""
from __future__ import annotations

import math

import pytest
import torch

from evohyper.api.phenotypes import MLPSpec
from evohyper.config import load_config
from evohyper.engine.runner import build_search
from evohyper.families.hypergan import Ensemble, GeneratorSource, PoolSource, interpolate, train_independent
from evohyper.families.hypergan import metrics as M
from evohyper.families.hypergan.decoder import HyperGANDecoder
from evohyper_tasks.digits import DigitsTask

SPEC = MLPSpec([64, 32, 10])
CONFIG = "search_spaces/digits_hypergan_cmaes.yaml"


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny kernels: 1 thread beats 2 here


@pytest.fixture(scope="module")
def test_split():
    task = DigitsTask()
    task.setup("cpu")
    return task.split("test", torch.device("cpu"))


def _evolved_source():
    search = build_search(load_config(CONFIG, ["budget.generations=2", "strategy.popsize=12"]), None)
    search.run()
    dec = HyperGANDecoder(SPEC, noise=16, code=16, hidden=64)
    return PoolSource.from_search(search, dec)


def _sources():
    return {"generator": GeneratorSource(HyperGANDecoder(SPEC, noise=16, code=16, hidden=64)),
            "evolved": _evolved_source(),
            "independent": train_independent(DigitsTask(), SPEC, n=12, epochs=2, seed=0)}


def test_the_same_api_over_all_three_sources(test_split):
    x, y = test_split
    for name, source in _sources().items():
        members = source.sample(5, seed=1)
        assert len(members) == 5, name
        assert tuple(members.tensors["w0"].shape) == (5, 64, 32), name
        ens = Ensemble(members)
        probs = ens.predict_proba(x)
        assert probs.shape == (len(y), 10)
        torch.testing.assert_close(probs.sum(-1), torch.ones(len(y)))
        torch.testing.assert_close(probs, ens.member_probs(x).mean(0))
        again = source.sample(5, seed=1)
        assert torch.equal(again.tensors["w1"], members.tensors["w1"]), f"{name}: sample not seeded"
        assert set(M.accuracy_by_size(source, x, y, sizes=(1, 5))) == {1, 5}


def test_pool_sources_refuse_more_members_than_they_hold():
    pool = train_independent(DigitsTask(), SPEC, n=3, epochs=1)
    assert len(pool) == 3
    with pytest.raises(ValueError, match=r"n=4.*<= 3"):
        pool.sample(4)
    with pytest.raises(ValueError, match="n=0"):
        GeneratorSource(HyperGANDecoder(SPEC)).sample(0)


def test_independent_nets_learn_and_differ(test_split):
    x, y = test_split
    pool = train_independent(DigitsTask(), SPEC, n=4, epochs=5, seed=0)
    acc = (pool.pool.forward(x).argmax(-1) == y).float().mean(dim=1)
    assert (acc > 0.85).all()
    assert M.relative_spread(pool.pool) > 0.5  # independent initialisations stay far apart


def test_ensemble_of_copies_equals_its_member(test_split):
    x, _ = test_split
    one = GeneratorSource(HyperGANDecoder(SPEC)).sample(1, seed=0)
    copies = one.select([0, 0, 0])
    torch.testing.assert_close(Ensemble(copies).predict_proba(x), Ensemble(one).predict_proba(x))
    div = M.weight_diversity(copies)
    assert div["w0"]["norm_std"] == 0.0 and div["w0"]["relative_spread"] == 0.0
    assert M.disagreement(Ensemble(copies).member_probs(x)) == 0.0


def test_entropy_and_ece_by_hand():
    uniform = torch.full((4, 10), 0.1)
    assert M.mean_entropy(uniform) == pytest.approx(math.log(10), rel=1e-6)
    y = torch.tensor([0, 1, 2, 3])
    sure = torch.eye(10)[:4]
    assert M.expected_calibration_error(sure, y) == pytest.approx(0.0)
    # confidence 0.8 on every row, half right: |0.5 - 0.8| = 0.3
    p = torch.full((4, 10), 0.2 / 9)
    p[torch.arange(4), torch.tensor([0, 1, 5, 5])] = 0.8
    assert M.expected_calibration_error(p, y) == pytest.approx(0.3, abs=1e-6)
    assert M.accuracy(p, y) == 0.5
    with pytest.raises(ValueError, match="bins=0"):
        M.expected_calibration_error(p, y, bins=0)


def test_ood_inputs():
    x = torch.arange(12.0).reshape(2, 6)
    perm = M.permuted_pixels(x, seed=0)
    assert torch.equal(perm.sort(dim=1).values, x) and not torch.equal(perm, x)
    assert torch.equal(perm[1] - perm[0], torch.full((6,), 6.0))  # one permutation for every image
    u = M.uniform_noise(100, 64, seed=1)
    assert u.shape == (100, 64) and 0 <= float(u.min()) and float(u.max()) <= 1


def test_interpolation_endpoints_match_their_codes():
    dec, task = HyperGANDecoder(SPEC, noise=16), DigitsTask()
    s0, s1 = dec.sample_noise(2, seed=3)
    path = interpolate(dec, task, s0, s1, points=5, seed=0)
    assert path["alpha"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert path["fitness"].shape == (5,) and path["test_accuracy"].shape == (5,)
    with torch.no_grad():
        ends = task.evaluate(dec.decode(torch.stack([s0, s1])), 0).fitness
    torch.testing.assert_close(path["fitness"][[0, -1]].float(), torch.as_tensor(ends).float())
    with pytest.raises(ValueError, match="points=1"):
        interpolate(dec, task, s0, s1, points=1)


def test_cmaes_over_the_noise_of_a_trained_generator_by_config(tmp_path):
    """The engine searches s of a generator loaded from a weights file: fitness improves on the prior."""
    dec = HyperGANDecoder(SPEC, noise=16, code=16, hidden=64)
    path = dec.save_weights(tmp_path / "g.pt")
    cfg = load_config(CONFIG, [f"decoder.weights={path}", "budget.generations=4", "strategy.popsize=8"])
    search = build_search(cfg, None)
    result = search.run()
    assert search.strategy.genome_size == 16 and result.generations == 4
    assert result.best_genotype.shape == (16,)
    assert math.isfinite(result.best_fitness)
