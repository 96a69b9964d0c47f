"""Control on Ray: with observation normalisation on, 2 evaluator actors give bit-for-bit the run of 1
actor (and of the in-process backend); a meta-search (Ray Tune) runs gym trials."""
import pytest
import torch
from run_helpers import same_state

from evohyper.config import validate
from evohyper.engine.runner import build_search

pytest.importorskip("gymnasium")


def _raw(backend, actors=1):
    return {"name": "ctl", "seed": 2,
            "task": {"name": "gym", "env": "Pendulum-v1", "episodes": 2, "max_steps": 30,
                     "observation_normalization": True},
            "network": {"hidden": [4]}, "strategy": {"name": "pgpe", "popsize": 10},
            "budget": {"generations": 4},
            "backend": {"name": backend, "num_actors": actors, "num_cpus_per_actor": 0.5, "timeout_s": 120}}


def _run(raw):
    search = build_search(validate(raw), None)
    search.run()
    return search


@pytest.mark.ray
def test_two_actors_equal_one_actor_bit_for_bit_with_normalization(ray_local):
    runs = {"local": _run(_raw("local")), "1 actor": _run(_raw("ray", 1)), "2 actors": _run(_raw("ray", 2))}
    ref = runs["1 actor"]
    assert float(ref.evaluation_state["obs_count"]) == 4 * 10 * 2 * 30
    for name, search in runs.items():
        assert same_state(search.strategy.state_dict(), ref.strategy.state_dict()), name   # the whole strategy
        assert [(r.best, r.mean, r.median, r.worst) for r in search.history] == \
            [(r.best, r.mean, r.median, r.worst) for r in ref.history], name      # every generation's fitness
        for key, value in ref.evaluation_state.items():
            assert torch.equal(search.evaluation_state[key], value), (name, key)
        assert search.best_evaluation["seed"] == ref.best_evaluation["seed"]
        assert [r.env_steps for r in search.history] == [r.env_steps for r in ref.history]


@pytest.mark.ray
@pytest.mark.slow
def test_tune_runs_gym_trials_with_normalization(ray_local, tmp_path):
    from evohyper.tune.driver import run_tune
    from evohyper.tune.trial import load_trial_checkpoint

    raw = {**_raw("ray", 1), "budget": {"generations": 3},
           "tune": {"params": {"strategy.center_learning_rate": {"choice": [0.05, 0.2]}}, "num_samples": 2,
                    "seed": 0, "metric": "best_so_far", "storage_path": str(tmp_path / "tune")}}
    outcome = run_tune(raw, verbose=0, name="gym")
    assert len(outcome.results) == 2 and all(r.error is None for r in outcome.results)
    for r in outcome.results:
        assert int(r.metrics["generation"]) == 3 and r.metrics["env_steps"] == 3 * 10 * 2 * 30
        with r.checkpoint.as_directory() as d:
            state = load_trial_checkpoint(d)["search"]
        assert float(state["evaluation_state"]["obs_count"]) == 3 * 10 * 2 * 30
