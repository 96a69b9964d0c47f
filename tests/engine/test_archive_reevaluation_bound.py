"""The end-of-run re-evaluation of an archive is bounded by the run's own budget, in its own unit: an archive
larger than ``end_share`` of the budget allows is re-evaluated best first (by the search's score), as many
members as fit, the rest left unscored (NaN), and the cut is written down. Before this bound only
``budget.seconds`` limited it, so a run budgeted in environment steps or evaluations re-evaluated every elite
(a 950-elite walker archive x 10 episodes: 2.4x the run)."""
import csv
import math

import archive_test_parts as parts
import pytest
import torch

from evohyper.config.budget import Budget, Counters
from evohyper.engine.observers.end_allowance import Allowance, end_allowance, episodes_for, members_for

EPISODES = 4          # re-evaluation episodes per member
PER_EVALUATION = 2    # the task's episodes per evaluation (parts.raw_config)
SHARE = 0.25


def _run(tmp_path, monkeypatch, budget: dict, share=SHARE):
    parts.register(monkeypatch)
    raw = parts.raw_config(tmp_path, reevaluate={"episodes": EPISODES, "end_share": share})
    raw["budget"] = budget
    raw["strategy"]["emitters"]["batch_size"] = 16
    search, _ = parts.run(raw, tmp_path / "run")
    return tmp_path / "run", search


def _expected_members(unit: str, limit: float, counters) -> int:
    """Members that fit, from the run's counters, written out per unit as the module docstring states them."""
    evaluations = counters.evaluations
    per_episode = {"evaluations": 1 / PER_EVALUATION,
                   "env_steps": counters.env_steps / (evaluations * PER_EVALUATION),
                   "generations": counters.generation / (evaluations * PER_EVALUATION)}[unit]
    return max(1, int(SHARE * limit / per_episode / EPISODES))


@pytest.mark.parametrize("unit, limit", [("evaluations", 64), ("env_steps", 1500), ("generations", 4)])
def test_an_archive_over_the_allowance_is_reevaluated_best_first(tmp_path, monkeypatch, unit, limit):
    run_dir, search = _run(tmp_path, monkeypatch, {unit: limit})
    blob = torch.load(run_dir / "archive" / "elites.pt", weights_only=True)
    n = len(blob["objectives"])
    fits = _expected_members(unit, limit, search.counters)
    assert 1 <= fits < n, (fits, n)   # the setup: the whole archive would not fit
    scored = torch.isfinite(blob["reevaluated"])
    assert int(scored.sum()) == fits == blob["reevaluation"]["members"]
    assert blob["reevaluation"]["archive_members"] == n and blob["reevaluation"]["bound"] == f"25% of budget.{unit}"
    # the best members by the search's score, the first of equals first
    order = torch.argsort(-blob["objectives"].reshape(n), stable=True)
    assert set(torch.nonzero(scored).flatten().tolist()) == set(order[:fits].tolist())
    assert blob["reevaluation"]["episodes"] == EPISODES
    with (run_dir / "reevaluation.csv").open() as fh:
        logged = [r for r in csv.DictReader(fh) if r["point"] == "archive"]
    assert len(logged) == fits and sum(int(r["chosen"]) for r in logged) == 1
    # best/ is a scored member
    best = torch.load(run_dir / "best" / "genotype.pt", weights_only=True)
    row = int(torch.argmax(torch.where(scored, blob["reevaluated"], torch.tensor(-math.inf, dtype=torch.float64))))
    assert torch.equal(best, blob["solutions"][row])
    # the csv and json say which were not scored (empty / null), and the reader gives NaN for them
    with (run_dir / "archive" / "archive.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert sum(r["reevaluated_objective"] == "" for r in rows) == n - fits
    from evohyper.engine import archive_files

    archive = archive_files.read(run_dir / "archive")
    assert int(torch.isnan(archive.reevaluated[:, 0]).sum()) == n - fits
    assert archive.best() == row
    from evohyper.viz.run_report import write_run_report

    report = write_run_report(run_dir).read_text()
    assert f"the best {fits} of {n} members (by the search's score) re-evaluated on {EPISODES} fresh episodes" \
        in report and f"25% of budget.{unit}" in report


def test_the_usual_end_candidates_stay_bounded_by_seconds_only(tmp_path, monkeypatch):
    """A run with an archive-less strategy budgeted in generations keeps its full end re-evaluation."""
    parts.register(monkeypatch)
    raw = parts.raw_config(tmp_path, reevaluate={"episodes": EPISODES}, strategy="map_elites")
    raw["strategy"] = {"name": "snes", "popsize": 8}
    raw["budget"] = {"generations": 2}
    parts.run(raw, tmp_path / "run")
    with (tmp_path / "run" / "reevaluation.csv").open() as fh:
        end = [r for r in csv.DictReader(fh) if r["point"] == "end"]
    assert end and all(int(r["episodes"]) == EPISODES for r in end)


def test_allowance_rules():
    counters = Counters(generation=10, evaluations=200, env_steps=80_000, sample_forwards=0, seconds=50.0)
    budget = Budget(env_steps=100_000, evaluations=1000)
    # env_steps: 5% of 100,000 = 5,000 steps at 200 steps per episode (k = 2) -> 25 episodes; evaluations:
    # 50 evaluations x 2 episodes = 100: the tighter binds
    a = end_allowance(0.05, budget, counters, None, 2)
    assert (a.episodes, a.unit) == (pytest.approx(25.0), "env_steps") and a.words() == "5% of budget.env_steps"
    assert end_allowance(None, budget, counters, None, 2) == Allowance()            # null share: no bound
    assert end_allowance(0.05, budget, counters, None, 2, units=("seconds",)).episodes is None
    seconds = end_allowance(0.05, Budget(seconds=100.0), counters, 0.01, 1, units=("seconds",))
    assert (seconds.episodes, seconds.unit) == (pytest.approx(500.0), "seconds")
    generations = end_allowance(0.5, Budget(generations=10), counters, None, 2)   # 5 generations of 20 x 2
    assert generations.episodes == pytest.approx(200.0) and generations.unit == "generations"
    assert episodes_for(10, 5, Allowance(25.0, "env_steps", 0.05)) == 5
    assert episodes_for(10, 50, Allowance(25.0, "env_steps", 0.05)) == 1
    assert episodes_for(10, 5, Allowance()) == 10
    assert members_for(10, 100, Allowance(25.0, "env_steps", 0.05)) == 2
    assert members_for(10, 100, Allowance(5.0, "env_steps", 0.05)) == 1       # at least the best member
    assert members_for(10, 3, Allowance(1000.0, "env_steps", 0.05)) == 3
    assert members_for(10, 100, Allowance()) == 100


def test_when_every_scored_member_fails_best_is_the_searchs_best_of_them(tmp_path):
    """Lenient failures give NaN re-evaluations: ``final`` is then the best scored member by the search's score
    (never an unscored one, never a crash)."""
    from types import SimpleNamespace

    from evohyper.config.sections import ReevaluateConfig
    from evohyper.engine import archive_files
    from evohyper.engine.evaluation import ChunkResult
    from evohyper.engine.observers.reevaluation import Reevaluator

    n = 10
    objectives = torch.arange(n, dtype=torch.float64).reshape(n, 1)          # member 9 is the search's best
    archive = archive_files.Archive("elites", tmp_path / "elites.pt", ["objective"], objectives, [True],
                                    torch.randn(n, 3), cells=torch.arange(n))

    def failing(genotypes, episodes, seed, state):
        return ChunkResult(torch.full((len(genotypes),), float("nan")), {}, 0, len(genotypes), env_steps=0)

    budget = Budget(evaluations=100)
    reeval = Reevaluator(ReevaluateConfig(episodes=2, end_share=0.1), failing, maximize=True, budget=budget)
    search = SimpleNamespace(counters=Counters(generation=5, evaluations=100), seed=0, evaluation_state={})
    values = reeval.archive_point(search, archive)
    # 10% of 100 evaluations = 10 episodes = 5 members at 2 episodes: the best five by search score, all NaN
    assert reeval.archive_about == {"members": 5, "archive_members": n, "bound": "10% of budget.evaluations"}
    assert torch.isnan(values).all()
    assert reeval.final.name == archive.name(9) and torch.equal(reeval.final.genotype, archive.genotypes[9])
