"""Control runs from the command line: a gym run with observation normalisation resumes bit-identically
after kill -9, and `evohyper show --episodes` replays its best policy with the recorded returns."""
import json
import re
import subprocess
import sys

import pytest
import torch
from run_helpers import metric_rows as _rows
from run_helpers import resume_beside, run_and_kill, same_state
from run_helpers import run_dir_of as _run_dir
from test_cli import _write as _write_config

from evohyper.cli import main
from evohyper.engine.checkpoint import load_latest
from evohyper.engine.replay import load_best

pytest.importorskip("gymnasium")
CLI = [sys.executable, "-m", "evohyper.cli"]
GENERATIONS = 25


GYM = {"seed": 5,
       "task": {"name": "gym", "env": "Pendulum-v1", "episodes": 2, "max_steps": 40,
                "observation_normalization": True, "action_mapping": "tanh"},
       "network": {"hidden": [4]}, "strategy": {"name": "pgpe", "popsize": 12},
       "budget": {"generations": GENERATIONS}, "backend": {"name": "local"}}


def _write(tmp_path, name, **over):
    """test_cli's config writer (runs_dir, no TensorBoard, no progress bar) with a normalised gym run."""
    return _write_config(tmp_path, name, **{**GYM, **over})


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("control")
    subprocess.run([*CLI, "run", str(_write(tmp, "ref"))], check=True, capture_output=True)
    return _run_dir(tmp, "ref")


def test_sigkill_and_resume_is_bit_identical_with_normalization(tmp_path, reference_run):
    run_dir = run_and_kill(tmp_path, _write(tmp_path, "killed"), kill_after=5, timeout_s=120)
    state, _ = load_latest(run_dir / "checkpoints")
    assert 5 <= state["counters"]["generation"] < GENERATIONS, "killed too late"
    assert state["evaluation_state"] is not None and float(state["evaluation_state"]["obs_count"]) > 0
    a, b = resume_beside(reference_run, run_dir)
    assert a["counters"] == {**b["counters"], "seconds": a["counters"]["seconds"]}
    assert same_state(a["strategy"], b["strategy"])
    for key, value in a["evaluation_state"].items():
        assert torch.equal(value, b["evaluation_state"][key]), key
    assert _rows(reference_run) == _rows(run_dir)
    best_a = json.loads((reference_run / "best" / "phenotype.json").read_text())
    best_b = json.loads((run_dir / "best" / "phenotype.json").read_text())
    assert best_a["fitness"] == best_b["fitness"] and best_a["evaluation"] == best_b["evaluation"]


def test_show_replays_the_recorded_fitness(reference_run, tmp_path, capsys):
    best = json.loads((reference_run / "best" / "phenotype.json").read_text())
    reeval = best["reevaluation"]   # gym's episodes are stochastic: best/ was chosen on 10 fresh episodes
    assert reeval["state"] == "reevaluation_state.pt" and reeval["episodes"] == 10
    assert main(["show", str(reference_run), "--episodes", "10"]) == 0
    out = capsys.readouterr().out
    returns = [float(r) for r in re.findall(r"episode \d+: return (\S+) \(40 steps\)", out)]
    assert len(returns) == 10 and f"re-evaluated mean {reeval['mean']:.6g} over 10 fresh episodes" in out
    assert sum(returns) / 10 == pytest.approx(reeval["mean"], rel=1e-5)         # printed with 6 digits
    played = load_best(reference_run).replay(episodes=10)
    assert sum(played.returns) / 10 == pytest.approx(reeval["mean"], rel=1e-12)  # the same episodes
    if best["evaluation"] is not None:   # the exported individual was scored by the search too
        assert best["evaluation"]["state"] == "evaluation_state.pt"
        search = load_best(reference_run).replay(episodes=2, evaluation="search")
        assert sum(search.returns) / 2 == best["fitness"]                        # exactly
    fresh = load_best(reference_run).replay(episodes=2, seed=123)
    assert fresh.seeds != played.seeds[:2]
    gif = tmp_path / "best.gif"
    assert main(["show", str(reference_run), "--episodes", "1", "--video", str(gif)]) == 0
    assert gif.stat().st_size > 0 and f"video: {gif}" in capsys.readouterr().out


def test_show_replay_errors_are_one_line(reference_run, tmp_path, capsys):
    assert main(["show", str(reference_run), "--video", str(tmp_path / "x.avi")]) == 2
    assert ".gif and .mp4" in capsys.readouterr().err
    sphere = _write(tmp_path, "sphere", task={"name": "sphere", "dim": 3}, network={}, budget={"generations": 2},
                    strategy={"name": "cmaes", "popsize": 6})
    assert main(["run", str(sphere)]) == 0
    capsys.readouterr()
    assert main(["show", str(_run_dir(tmp_path, "sphere")), "--episodes", "2"]) == 1
    assert "no environment to replay" in capsys.readouterr().err
