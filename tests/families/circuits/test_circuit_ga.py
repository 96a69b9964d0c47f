"""circuit_ga: DEAP over integer circuit genes; determinism, ranges, replay checkpoints, runs in the engine."""
import random

import pytest
import torch

from evohyper.config import validate
from evohyper.engine.runner import build_search
from evohyper.families.circuits.strategy import CircuitGA

G = 21  # 1 + 2 * 10


def toy_fitness(genes):
    """Higher is better: many parallel-R components (kind 3) with value index 12, short chains."""
    length, kinds, values = genes[:, 0], genes[:, 1::2], genes[:, 2::2]
    active = torch.arange(10) < length.unsqueeze(1)
    hits = ((kinds == 3) & (values == 12) & active).sum(1)
    return (hits - 0.1 * length).double()


def run(s, gens):
    asked = []
    for _ in range(gens):
        g = s.ask()
        asked.append(g.clone())
        s.tell(toy_fitness(g))
    return asked


def test_genes_stay_in_range_and_improve():
    s = CircuitGA(G, 0, popsize=40, min_length=4)
    asked = run(s, 50)
    for g in asked:
        assert g.dtype == torch.int64 and g.shape == (40, G)
        assert (g[:, 0] >= 4).all() and (g[:, 0] <= 10).all()
        assert ((g[:, 1::2] >= 0) & (g[:, 1::2] <= 5)).all() and ((g[:, 2::2] >= 0) & (g[:, 2::2] <= 35)).all()
    assert s.best_fitness > float(toy_fitness(asked[0]).max()) + 1


def test_seeded_deterministic_and_global_random_untouched():
    random.seed(5)
    before = random.getstate()
    a, b = run(CircuitGA(G, 3, popsize=10), 4), run(CircuitGA(G, 3, popsize=10), 4)
    assert random.getstate() == before
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[0], run(CircuitGA(G, 4, popsize=10), 1)[0])


def test_replay_checkpoint_resumes_exactly():
    s = CircuitGA(G, 7, popsize=12)
    run(s, 5)
    state = s.state_dict()
    nxt = s.ask()
    t = CircuitGA(G, 7, popsize=12)
    t.load_state_dict(state)
    assert torch.equal(t.ask(), nxt) and t.best_fitness == s.best_fitness


@pytest.mark.parametrize("option,value", [("popsize", 1), ("elite", 100), ("cx_prob", 1.5), ("min_length", 11),
                                          ("creep_sigma", 0.0)])
def test_out_of_range_options_are_refused(option, value):
    with pytest.raises(ValueError, match=option):
        CircuitGA(G, 0, **{option: value})


def _search(backend, **backend_opts):
    raw = {"name": "cga", "seed": 1, "task": {"name": "circuit_design", "target_length": 4, "target_index": 1},
           "decoder": {"name": "circuit"}, "strategy": {"name": "circuit_ga", "popsize": 30},
           "budget": {"generations": 15}, "backend": {"name": backend, **backend_opts}}
    return build_search(validate(raw), None)


def test_ga_through_the_engine_reduces_the_response_error():
    search = _search("local")
    search.run()
    first, last = search.history[0], search.history[-1]
    assert last.best_so_far < first.best and last.best_so_far < 0.5 * first.mean
    assert {"exact_of_best", "kinds_match_of_best", "equivalent_of_best", "error_of_best"} <= set(last.metrics)


@pytest.mark.ray
def test_ga_on_ray_equals_local(ray_local):
    local = _search("local")
    local.run()
    remote = _search("ray", num_actors=2, num_cpus_per_actor=0.25, timeout_s=60)
    remote.run()
    assert [r.best for r in local.history] == [r.best for r in remote.history]
    assert torch.equal(local.strategy.best_genotype, remote.strategy.best_genotype)


def test_proposals_declared_by_the_decoder_start_the_first_population():
    from evohyper.api.decoder import DecoderInfo

    seeds = torch.tensor([[5] + [3, 12] * 10, [4] + [0, 7] * 10])
    s = CircuitGA(G, 0, popsize=10)
    s.bind(DecoderInfo(genotype="circuit", genome_size=G, proposals=seeds))
    first = s.ask()
    assert torch.equal(first[:2], seeds)
    plain = CircuitGA(G, 0, popsize=10)
    plain.bind(DecoderInfo(genotype="circuit", genome_size=G))
    assert torch.equal(plain.ask()[2:], first[2:])          # the rest is the unseeded GA's population
    with pytest.raises(ValueError, match="out of this GA's gene ranges"):
        CircuitGA(G, 0, popsize=10, min_length=6).bind(DecoderInfo(genotype="circuit", genome_size=G,
                                                                   proposals=seeds))
    with pytest.raises(ValueError, match="integer genes"):
        s.bind(DecoderInfo(genotype="circuit", genome_size=G, proposals=seeds[:, :5]))


def _designer_file(tmp_path):
    from evohyper.families.circuits.designer import Designer
    from evohyper.families.circuits.training import save_designer

    torch.manual_seed(0)
    return str(save_designer(Designer("hyper", embed=16, hidden=16, token=8, width=4, res_dim=8),
                             tmp_path / "designer.pt"))


def test_hybrid_config_seeds_the_ga_with_the_designers_refined_beams(tmp_path):
    """One config: the decoder's designer proposes (refined) beams for the task's target, the GA starts
    from them; its best is never worse than the designer's best proposal."""
    from evohyper.engine.evaluation import Evaluator

    raw = {"name": "hybrid", "seed": 0, "task": {"name": "circuit_design", "target_length": 5, "target_index": 2},
           "decoder": {"name": "circuit", "designer": _designer_file(tmp_path), "beams": 4, "refine_steps": 10,
                       "polish_rounds": 1},
           "strategy": {"name": "circuit_ga", "popsize": 12}, "budget": {"generations": 3},
           "backend": {"name": "local"}}
    cfg = validate(raw)
    proposals = cfg.components().info.proposals
    assert proposals.shape == (4, G) and proposals.dtype == torch.int64
    search = build_search(cfg, None)
    first = search.strategy.ask()
    assert torch.equal(first[:4], proposals)
    evaluator = Evaluator(cfg.spec(), components=cfg.components())
    designer_best = float(evaluator.evaluate(proposals[:1], 0).fitness[0])
    search = build_search(validate(raw), None)
    result = search.run()
    assert result.best_fitness <= designer_best + 1e-12


@pytest.mark.parametrize("option,value,match", [("designer", "no/such/file.pt", "existing designer weights"),
                                                ("beams", 0, "beams"), ("refine_steps", -1, "refine_steps")])
def test_bad_designer_options_are_config_errors(option, value, match):
    from evohyper.config.options import ConfigError

    raw = {"name": "hybrid", "task": {"name": "circuit_design"}, "decoder": {"name": "circuit", option: value},
           "strategy": {"name": "circuit_ga"}, "budget": {"generations": 1}}
    with pytest.raises(ConfigError, match=match):
        validate(raw)


def test_a_designer_that_cannot_serve_the_decoder_is_refused(tmp_path):
    from evohyper.config.options import ConfigError

    raw = {"name": "hybrid", "task": {"name": "circuit_design"},
           "decoder": {"name": "circuit", "designer": _designer_file(tmp_path), "min_length": 6},
           "strategy": {"name": "circuit_ga", "min_length": 6}, "budget": {"generations": 1}}
    expected = (r"decoder.designer: .*designer.pt.; allowed: a designer of the chains this decoder needs "
                r"\(6-10 components.*this one designs 4-10 components")
    with pytest.raises(ConfigError, match=expected):
        validate(raw)
