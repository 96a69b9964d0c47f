"""Re-evaluation of candidates (``evaluation.reevaluate``): ``best/`` is the candidate with the best mean
over fresh episodes, not the luckiest single evaluation; the search itself is untouched."""
import csv
import json
import math
import time

import pytest
import torch
import yaml

from evohyper import EvalResult, Task, VectorSpec
from evohyper.api.registry import tasks
from evohyper.config import validate
from evohyper.engine.observers.end_allowance import Allowance, episodes_for
from evohyper.engine.runner import build_search, resume

NOISE = 10.0


@tasks.register("test-lucky")
class LuckyTask(Task):
    """Per episode ``-10 x0^2 + 10 |x0| z``: a risky individual (large ``|x0|``) is worse on average but
    can be lucky, ``z = cos(997 x1 + phase)``, with the episode phases drawn from the seed in antithetic
    pairs (phase, phase + pi): the mean over an even number of episodes is ``-10 x0^2`` (to rounding),
    while the best single evaluation is a lucky risky one (``|x0|`` near 0.5). One row of evaluation
    state per individual (a count), so the run's evaluation state moves every generation."""

    stochastic = True

    def __init__(self, episodes: int = 1):
        self.episodes = episodes

    def target(self, network):
        return VectorSpec(2)

    def evaluate(self, phenotypes, seed):
        x = phenotypes.x.double()
        half = 2 * math.pi * torch.rand((self.episodes + 1) // 2, generator=torch.Generator().manual_seed(int(seed)),
                                        dtype=torch.float64)
        phase = torch.stack([half, half + math.pi], dim=1).reshape(-1)[:self.episodes]
        fitness = -10 * x[:, :1] ** 2 + NOISE * x[:, :1].abs() * torch.cos(997 * x[:, 1:2] + phase[None])
        return EvalResult(fitness, state={"count": torch.ones(len(x), dtype=torch.float64)})


def true_mean(genotype):
    return -10 * float(genotype[0]) ** 2


def _config(tmp_path, strategy="random", reevaluate=None, generations=8, **strategy_options):
    raw = {"name": "lucky", "seed": 11, "task": {"name": "test-lucky"},
           "strategy": {"name": strategy, "popsize": 16, **strategy_options}, "budget": {"generations": generations},
           "output": {"runs_dir": str(tmp_path), "tensorboard": False, "progress": False}}
    if reevaluate is not None:
        raw["evaluation"] = {"reevaluate": reevaluate}
    return validate(raw)


def _run(config, run_dir):
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    search = build_search(config, run_dir)
    return search, search.run()


def _rows(run_dir, name="reevaluation.csv"):
    with (run_dir / name).open() as fh:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(fh)]


def test_best_is_the_better_candidate_in_expectation_not_the_luckiest(tmp_path):
    config = _config(tmp_path, reevaluate={"every": 1, "top_k": 3, "episodes": 20}, local_fraction=0.0)
    search, result = _run(config, tmp_path / "run")
    luckiest = result.best_genotype
    best = torch.load(tmp_path / "run" / "best" / "genotype.pt", weights_only=True)
    summary = json.loads((tmp_path / "run" / "best" / "phenotype.json").read_text())
    assert true_mean(best) > true_mean(luckiest) + 0.5, "best/ should not hold the lucky draw"
    reeval = summary["reevaluation"]
    assert reeval["episodes"] == 20 and reeval["mean"] == pytest.approx(true_mean(best), abs=1e-9)
    assert summary["search_best_fitness"] == result.best_fitness
    # both scores: the search fitness of the exported individual, and its re-evaluated mean
    assert summary["fitness"] is not None and summary["fitness"] != reeval["mean"]
    from evohyper.viz.run_report import write_run_report
    report = write_run_report(tmp_path / "run").read_text()
    assert f"mean over 20 fresh episodes (`reevaluation.csv`): {reeval['mean']:.6g}" in report
    assert f"its search fitness {summary['fitness']:.6g}" in report and f"{result.best_fitness:.6g}" in report
    rows = _rows(tmp_path / "run")
    assert {r["point"] for r in rows} == {"every"}      # the last generation was a periodic point already
    chosen = [r for r in rows if r["chosen"] == "1"]
    assert len(chosen) == 8 and float(chosen[-1]["reevaluated"]) == reeval["mean"]
    # every candidate of a point was scored on the same fresh episodes; the chosen one has the best mean
    for g in range(1, 9):
        point = [r for r in rows if int(r["generation"]) == g]
        assert max(float(r["reevaluated"]) for r in point) == float(next(r for r in point if r["chosen"] == "1")
                                                                    ["reevaluated"])


def test_centre_of_snes_is_reevaluated(tmp_path):
    config = _config(tmp_path, strategy="snes", reevaluate={"every": 2, "episodes": 4}, generations=5)
    search, _ = _run(config, tmp_path / "run")
    rows = _rows(tmp_path / "run")
    centre = [r for r in rows if r["candidate"] == "centre"]
    assert [(int(r["generation"]), r["point"]) for r in centre] == [(2, "every"), (4, "every"), (5, "end")]
    assert float(centre[-1]["reevaluated"]) == pytest.approx(true_mean(search.strategy.center()), abs=1e-6)
    assert centre[-1]["search_fitness"] == ""          # the search never scored its centre


@pytest.mark.parametrize("strategy", ["snes", "cmaes"])
def test_search_is_bit_identical_with_and_without_reevaluation(tmp_path, strategy):
    runs = {}
    for label, reevaluate in (("on", {"every": 1, "episodes": 6}), ("off", False)):
        config = _config(tmp_path / label, strategy=strategy, reevaluate=reevaluate, generations=6)
        runs[label] = _run(config, tmp_path / label / "run")[0]
    on, off = runs["on"], runs["off"]
    assert (tmp_path / "on" / "run" / "reevaluation.csv").is_file()
    assert not (tmp_path / "off" / "run" / "reevaluation.csv").exists()
    assert {**on.counters.__dict__, "seconds": 0} == {**off.counters.__dict__, "seconds": 0}
    assert _rows(tmp_path / "on" / "run", "metrics.csv") == _rows(tmp_path / "off" / "run", "metrics.csv")
    assert torch.equal(on.evaluation_state["count"], off.evaluation_state["count"])
    assert on.best_fitness == off.best_fitness and torch.equal(on.strategy.best_genotype, off.strategy.best_genotype)
    assert torch.equal(on.strategy.ask(), off.strategy.ask())          # the strategy's state and RNG agree


def test_resume_is_exact(tmp_path):
    config = _config(tmp_path, strategy="snes", reevaluate={"every": 2, "episodes": 4}, generations=9)
    _run(config, tmp_path / "full")

    run_dir = tmp_path / "killed"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    killed = build_search(_config(tmp_path, strategy="snes", reevaluate={"every": 2, "episodes": 4},
                                  generations=9), run_dir)
    for obs in killed.observers:
        obs.on_start(killed)
    for _ in range(5):    # checkpoints every generation; the champion of generation 4 is in the last one
        killed.step()
    killed.backend.close()
    resume(run_dir)
    assert _rows(run_dir) == _rows(tmp_path / "full")
    full = json.loads((tmp_path / "full" / "best" / "phenotype.json").read_text())
    resumed = json.loads((run_dir / "best" / "phenotype.json").read_text())
    assert resumed["reevaluation"] == full["reevaluation"] and resumed["fitness"] == full["fitness"]
    assert torch.equal(torch.load(run_dir / "best" / "genotype.pt", weights_only=True),
                       torch.load(tmp_path / "full" / "best" / "genotype.pt", weights_only=True))


@pytest.mark.parametrize("task, reevaluate, on", [
    ({"name": "sphere", "dim": 3}, None, False),              # deterministic: off by default
    ({"name": "cartpole", "episodes": 2, "max_steps": 20}, None, True),   # stochastic: on by default
    ({"name": "sphere", "dim": 3}, True, True),
    ({"name": "cartpole", "episodes": 2, "max_steps": 20}, {"enabled": False}, False),
])
def test_default_follows_the_task_declaration(tmp_path, task, reevaluate, on):
    raw = {"name": "d", "task": task, "strategy": {"name": "snes", "popsize": 6}, "budget": {"generations": 2},
           "output": {"runs_dir": str(tmp_path), "tensorboard": False, "progress": False}}
    if reevaluate is not None:
        raw["evaluation"] = {"reevaluate": reevaluate}
    _, result = _run(validate(raw), tmp_path / "run")
    summary = json.loads((tmp_path / "run" / "best" / "phenotype.json").read_text())
    assert ("reevaluation" in summary) is on
    assert (tmp_path / "run" / "reevaluation.csv").is_file() is on
    if on:
        assert math.isfinite(summary["reevaluation"]["mean"])
        assert summary["reevaluation"]["episodes"] == 10


@tasks.register("test-slow-lucky")
class SlowLuckyTask(LuckyTask):
    """``test-lucky`` at 2 ms per individual-episode (a simulator's cost)."""

    def evaluate(self, phenotypes, seed):
        time.sleep(0.002 * len(phenotypes) * self.episodes)
        return super().evaluate(phenotypes, seed)


def test_end_of_run_reevaluation_fits_in_five_percent_of_budget_seconds(tmp_path):
    """1000 episodes x 5 candidates would take 10 s; under ``budget.seconds: 2`` the end re-evaluation gets
    5% of it (0.1 s), so it plays fewer episodes, measured from the generations' own cost, and says so."""
    raw = {"name": "slow", "seed": 2, "task": {"name": "test-slow-lucky"},
           "strategy": {"name": "snes", "popsize": 8}, "budget": {"seconds": 2.0},
           "evaluation": {"reevaluate": {"episodes": 1000}},
           "output": {"runs_dir": str(tmp_path), "tensorboard": False, "progress": False,
                      "checkpoint_every": 1000}}
    _run(validate(raw), tmp_path / "run")
    with (tmp_path / "run" / "reevaluation.csv").open() as fh:
        end = [r for r in csv.DictReader(fh) if r["point"] == "end"]
    assert len(end) == 5                              # champion-less: best so far, centre, top 3
    episodes, seconds = int(end[0]["episodes"]), float(end[0]["seconds"])
    assert 1 <= episodes < 100 and seconds < 0.5, (episodes, seconds)


def test_end_episodes_rule():
    """Allowances in candidate-episodes (``end_allowance``: 5% of 2 s at 0.01 s per episode = 10)."""
    assert episodes_for(10, 5, Allowance()) == 10                          # no bound
    assert episodes_for(10, 5, Allowance(100.0, "seconds", 0.05)) == 10   # 5 x 10 fits
    assert episodes_for(1000, 5, Allowance(100.0, "seconds", 0.05)) == 20
    assert episodes_for(1000, 5, Allowance(1.0, "seconds", 0.05)) == 1    # at least one episode


@pytest.mark.ray
def test_reevaluation_does_not_depend_on_the_number_of_actors(ray_local, tmp_path):
    pytest.importorskip("gymnasium")
    out = {}
    for label, backend in (("local", {"name": "local"}),
                           ("ray2", {"name": "ray", "num_actors": 2, "num_cpus_per_actor": 0.5, "timeout_s": 120})):
        raw = {"name": label, "seed": 4,
               "task": {"name": "gym", "env": "Pendulum-v1", "episodes": 2, "max_steps": 20,
                        "observation_normalization": True},
               "network": {"hidden": [3]}, "strategy": {"name": "pgpe", "popsize": 8}, "budget": {"generations": 4},
               "evaluation": {"reevaluate": {"every": 2, "episodes": 4}}, "backend": backend,
               "output": {"runs_dir": str(tmp_path), "tensorboard": False, "progress": False}}
        _run(validate(raw), tmp_path / label)
        summary = json.loads((tmp_path / label / "best" / "phenotype.json").read_text())
        out[label] = (_rows(tmp_path / label), summary["reevaluation"], summary["fitness"])
    assert out["local"] == out["ray2"]
    assert {r["candidate"] for r in out["local"][0]} >= {"centre", "best_so_far", "top1"}


def test_resuming_a_finished_run_exports_the_same_best(tmp_path):
    """The end's choice is in the final checkpoint: a resume that takes no step re-exports it unchanged
    (the last generation's top k are not checkpointed, so it could not choose among them again)."""
    raw = {"name": "fin", "seed": 5, "task": {"name": "test-lucky"}, "strategy": {"name": "snes", "popsize": 8},
           "budget": {"generations": 5}, "evaluation": {"reevaluate": {"episodes": 4}},
           "output": {"runs_dir": str(tmp_path), "tensorboard": False, "progress": False, "checkpoint_every": 4}}
    _run(validate(raw), tmp_path / "run")
    before = json.loads((tmp_path / "run" / "best" / "phenotype.json").read_text())
    assert before["reevaluation"]["candidate"].startswith("top")     # so the choice needs the last generation
    resume(tmp_path / "run")
    after = json.loads((tmp_path / "run" / "best" / "phenotype.json").read_text())
    assert after == before
