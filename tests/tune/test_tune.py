"""Meta-search on Ray Tune, on the session's local Ray of 2 CPUs: ASHA, a failing trial, resources.

Trials are tiny sphere searches; every trial starts a process (and an actor with the ray backend),
which is what costs time here, so each experiment runs once per module and several tests read it.
"""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from evohyper.config import validate
from evohyper.config.tune_schema import apply_params
from evohyper.engine.runner import build_search

HERE = Path(__file__).resolve().parent
GENERATIONS = 6


def _run(raw, tmp, monkeypatch=None):
    from evohyper.tune.driver import run_tune

    return run_tune(raw, verbose=0, name="exp")


def _by_generation(result, metric="best_so_far"):
    df = result.metrics_dataframe
    return {int(g): float(v) for g, v in zip(df["generation"], df[metric])}


@pytest.fixture(scope="module")
def plugin_path():
    mp = pytest.MonkeyPatch()
    mp.syspath_prepend(str(HERE))
    mp.setenv("PYTHONPATH", str(HERE))   # the trial drivers (and their actors) import the test task
    yield
    mp.undo()


# ----------------------------------------------------------------------------- ASHA, 8 trials
@pytest.fixture(scope="module")
def asha(ray_local, plugin_path, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("asha")
    raw = {"name": "asha-test", "seed": 0, "plugins": ["tune_test_tasks"],
           "task": {"name": "tunetest_sphere", "dim": 4},
           "strategy": {"name": "snes", "popsize": 8}, "budget": {"generations": GENERATIONS},
           "tune": {"params": {"strategy.stdev_init": {"loguniform": [0.01, 3.0]}},
                    "num_samples": 8, "seed": 1, "storage_path": str(tmp / "tune"),
                    "scheduler": {"name": "asha", "grace_period": 1, "reduction_factor": 3}}}
    return raw, _run(raw, tmp), tmp


@pytest.mark.ray
def test_asha_meta_search_completes_and_stops_some_trials_early(asha):
    raw, outcome, tmp = asha
    results = list(outcome.results)
    assert len(results) == 8
    assert all(r.error is None for r in results)
    generations = sorted(int(r.metrics["generation"]) for r in results)
    assert generations[-1] == GENERATIONS                # the best ones ran the whole budget
    assert generations[0] < GENERATIONS                  # ASHA stopped some early
    assert len({r.config["strategy.stdev_init"] for r in results}) == 8
    for r in results:                                    # every generation reported once, in order
        assert sorted(_by_generation(r)) == list(range(1, int(r.metrics["generation"]) + 1))
    assert (outcome.experiment_dir / "evohyper_tune.yaml").is_file()


@pytest.mark.ray
def test_tune_report_table_best_yaml_and_plots(asha):
    raw, outcome, tmp = asha
    from evohyper.viz.tune_report import write_tune_report

    report = write_tune_report(outcome, tmp / "reports")
    text = report.read_text()
    assert report.name == "tune_asha_test.md"
    assert "stopped early" in text and "finished" in text
    assert sum(1 for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()) == 8
    best_yaml = report.parent / "tune_asha_test_best.yaml"
    best = validate(__import__("yaml").safe_load(best_yaml.read_text()))  # ready to run
    mins = min(min(_by_generation(r).values()) for r in outcome.results)
    assert math.isclose(float(text.split("= ")[1].split(" ")[0]), mins, rel_tol=1e-3)
    assert best.tune is None and best.strategy["stdev_init"] > 0
    assert (report.parent / "tune_asha_test_params.png").is_file()
    assert (report.parent / "tune_asha_test_curves.png").is_file()


# ----------------------------------------------------------------------------- failure + resources
@pytest.fixture(scope="module")
def failing(ray_local, plugin_path, tmp_path_factory):
    """Two trials of 1 driver CPU + 1 evaluator actor of 1 CPU on a 2-CPU Ray: one at a time.
    The first evaluation call 3 of any actor raises once; the trial must resume from its checkpoint."""
    tmp = tmp_path_factory.mktemp("failing")
    (tmp / "log").mkdir()
    raw = {"name": "fail-test", "seed": 0, "plugins": ["tune_test_tasks"],
           "task": {"name": "tunetest_sphere", "dim": 4, "fail_flag": str(tmp / "failed.flag"),
                    "fail_at_call": 3, "log_dir": str(tmp / "log")},
           "strategy": {"name": "cmaes", "popsize": 6}, "budget": {"generations": GENERATIONS - 1},
           "backend": {"name": "ray", "num_actors": 1, "num_cpus_per_actor": 1.0, "timeout_s": 60},
           "tune": {"params": {"strategy.sigma0": {"grid": [0.3, 1.0]}}, "max_failures": 1,
                    "storage_path": str(tmp / "tune")}}
    return raw, _run(raw, tmp), tmp


@pytest.mark.ray
def test_trial_that_raises_once_resumes_from_its_checkpoint_to_the_full_count(failing):
    raw, outcome, tmp = failing
    results = list(outcome.results)
    assert (tmp / "failed.flag").exists()               # the failure did happen
    assert all(r.error is None for r in results)
    restored = [r for r in results if r.metrics["restored_from_generation"] >= 0]
    assert len(restored) == 1
    r = restored[0]
    assert r.metrics["restored_from_generation"] == 2   # failed in generation 3, checkpoint of 2
    assert r.metrics["generation"] == GENERATIONS - 1
    curve = _by_generation(r)
    assert sorted(curve) == list(range(1, GENERATIONS))
    # ... and it is the very same run as an uninterrupted one
    params = dict(r.config)
    plain = apply_params({k: v for k, v in raw.items() if k != "tune"}, params)
    plain["task"] = {**plain["task"], "fail_flag": "", "log_dir": ""}
    plain["backend"] = {"name": "local"}
    search = build_search(validate(plain), None)
    search.run()
    assert [rec.best_so_far for rec in search.history] == [curve[g] for g in range(1, GENERATIONS)]


@pytest.mark.ray
def test_evaluator_actors_live_in_the_trial_placement_group_within_the_cpus(failing):
    raw, outcome, tmp = failing
    results = list(outcome.results)
    for r in results:
        assert r.metrics["placement_group"]             # actors were created inside the trial's group
        assert r.metrics["actor_bundles"] == "1"        # bundle 0 is the trial driver
    # actor lifetimes from the task's trace: setup .. last evaluation, per actor process
    spans = []
    for log in (tmp / "log").glob("*.log"):
        times = [float(line.split()[2]) for line in log.read_text().splitlines()]
        spans.append((min(times), max(times)))
    trial_pids = {p for r in results for p in r.metrics["actor_pids"].split(",")}
    assert len(spans) >= 3                              # 2 trials + the replacement after the failure
    assert trial_pids <= {p.stem for p in (tmp / "log").glob("*.log")}
    events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans], key=lambda e: (e[0], e[1]))
    alive = peak = 0
    for _, step in events:
        alive += step
        peak = max(peak, alive)
    assert peak == 1       # 2 CPUs, each trial holds 1 (driver) + 1 (actor): never two trials' actors at once
