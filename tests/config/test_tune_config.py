"""The `tune:` block: validated before Ray starts, errors name the key path, the bad value, what is allowed."""
from pathlib import Path

import pytest
import yaml

from evohyper.config import ConfigError, load_config, validate
from evohyper.config.tune_schema import apply_params, validate_tune

BASE = {"name": "t", "seed": 1, "task": {"name": "sphere", "dim": 3},
        "strategy": {"name": "snes", "popsize": 8}, "budget": {"generations": 3}}
OK = {"params": {"strategy.stdev_init": {"loguniform": [0.01, 1.0]}}}


def _tune(**over):
    return {**BASE, "tune": {**OK, **over}}


@pytest.mark.parametrize("tune,where,what", [
    ({"paramz": {}}, "tune.paramz", "unknown key; did you mean 'params'\\? allowed keys: params, num_samples"),
    ({"params": {"strategy.popsiz": {"choice": [4, 8]}}}, "tune.params.strategy.popsiz",
     "value 4 gives an invalid config: strategy.popsiz: unknown key; did you mean 'popsize'\\? allowed keys:.*popsize"),
    ({"params": {"strategy.popsize": {"choice": [8, 1]}}}, "tune.params.strategy.popsize", "value 1 gives"),
    ({"params": {"strategy.stdev_init": {"normal": [0, 1]}}}, "tune.params.strategy.stdev_init",
     "expected a mapping with one key, one of uniform, loguniform, randint, choice, grid"),
    ({"params": {"strategy.stdev_init": {"loguniform": [0.0, 1.0]}}}, "tune.params.strategy.stdev_init.loguniform",
     r"got \[0.0, 1.0\], expected 0 < low < high"),
    ({"params": {"strategy.popsize": {"randint": [8, 8]}}}, "tune.params.strategy.popsize.randint", "low < high"),
    ({"params": {"strategy.popsize": {"choice": []}}}, "tune.params.strategy.popsize.choice", "non-empty list"),
    ({"params": {"name": {"choice": ["a"]}}}, "tune.params.name", "cannot be searched"),
    ({"num_samples": 0}, "tune.num_samples", "got 0, expected an int >= 1"),
    ({"mode": "up"}, "tune.mode", "got 'up', expected one of max, min"),
    ({"metric": "qd_score"}, "tune.mode", "metric 'qd_score' is not a fitness column.*give tune.mode: max or min"),
    ({"scheduler": "hyperband"}, "tune.scheduler.name", "got 'hyperband', expected one of fifo, asha, pbt"),
    ({"scheduler": {"name": "asha", "grace": 2}}, "tune.scheduler.grace", "allowed keys: name, grace_period"),
    ({"scheduler": {"name": "asha", "reduction_factor": 1}}, "tune.scheduler.reduction_factor", "> 1"),
    ({"scheduler": {"name": "pbt"}}, "tune.scheduler.hyperparam_mutations", "non-empty mapping"),
    ({"scheduler": {"name": "pbt", "hyperparam_mutations": {"strategy.popsize": {"choice": [8, 16]}}}},
     "tune.scheduler.hyperparam_mutations.strategy.popsize",
     "PBT cannot change 'strategy.popsize'.*allowed keys: strategy.center_learning_rate"),
    ({"scheduler": {"name": "pbt", "perturbation_interval": 2,
                    "hyperparam_mutations": {"strategy.center_learning_rate": {"uniform": [0.1, 1]}}},
      "checkpoint_every": 3}, "tune.checkpoint_every", "expected <= the PBT perturbation_interval"),
    ({"max_concurrent_trials": 1.5}, "tune.max_concurrent_trials", "got 1.5, expected an int >= 1 or null"),
    ({"driver_cpus": 0}, "tune.driver_cpus", "expected a number > 0"),
    ({"reuse_actors": "yes"}, "tune.reuse_actors", "expected true or false"),
])
def test_bad_tune_block_names_key_value_and_allowed(tune, where, what):
    raw = {**BASE, "tune": {**OK, **tune}}
    with pytest.raises(ConfigError) as err:
        validate(raw)
    assert err.value.path == where, str(err.value)
    assert __import__("re").search(what, str(err.value)), str(err.value)


def test_tune_block_defaults_and_pbt_keys_join_the_space():
    spec = validate_tune(_tune())
    assert spec.metric == "best_so_far" and spec.mode is None and spec.scheduler.name == "fifo"
    assert spec.num_samples == 1 and spec.max_failures == 2 and spec.reuse_actors
    pbt = validate_tune(_tune(scheduler={"name": "pbt", "hyperparam_mutations": {
        "strategy.center_learning_rate": {"loguniform": [0.1, 1.0]}}}))
    assert set(pbt.params) == {"strategy.stdev_init", "strategy.center_learning_rate"}
    assert validate(_tune()).tune == OK                  # kept as written: a resolved config re-validates


def test_apply_params_sets_dotted_keys_and_whole_blocks_without_the_tune_block():
    out = apply_params(_tune(), {"strategy.popsize": 16, "decoder": {"name": "direct"}, "budget.seconds": 2.0})
    assert "tune" not in out and out["strategy"] == {"name": "snes", "popsize": 16}
    assert out["decoder"] == {"name": "direct"} and out["budget"] == {"generations": 3, "seconds": 2.0}
    assert BASE["strategy"]["popsize"] == 8


def test_every_shipped_meta_search_validates():
    files = [f for f in sorted(Path(__file__).resolve().parents[2].joinpath("search_spaces").glob("*.yaml"))
             if "tune" in (yaml.safe_load(f.read_text()) or {})]
    assert len(files) >= 3
    schedulers = set()
    for f in files:
        cfg = load_config(f)
        schedulers.add(validate_tune(cfg.to_dict() | {"tune": cfg.tune}).scheduler.name)
    assert schedulers >= {"asha", "pbt"}


def test_a_strategy_metric_is_tuned_in_the_mode_given():
    from evohyper.tune.space import mode_of
    raw = _tune(metric="hypervolume", mode="max")
    assert mode_of(validate_tune(raw), validate(raw)) == "max"        # although sphere is minimised
    assert mode_of(validate_tune(_tune()), validate(_tune())) == "min"  # best_so_far: the task's direction
