"""``evohyper run`` with strategy ``nsga2``: metrics.csv gains the hypervolume and front size, the run ends
with archive/front.{pt,csv,png}, a resumed run continues bit for bit, and a missing reference point is one
line at strategy.reference_point with exit status 2."""
import csv
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from run_helpers import metric_rows

from evohyper.config import validate
from evohyper.engine.runner import resume, run

ROOT = Path(__file__).resolve().parents[3]


def _config(tmp_path, name, generations):
    raw = yaml.safe_load((ROOT / "search_spaces" / "sphere_nsga2.yaml").read_text())
    raw.update(name=name, budget={"generations": generations})
    raw["strategy"]["popsize"] = 16
    raw["output"] = {"runs_dir": str(tmp_path / "runs"), "tensorboard": False, "progress": False,
                     "checkpoint_every": 1}
    return raw


def test_a_run_writes_hypervolume_per_generation_and_the_front(tmp_path):
    _, run_dir = run(validate(_config(tmp_path, "full", 12)))
    rows = metric_rows(run_dir)
    hv = [float(r["hypervolume"]) for r in rows]
    assert len(hv) == 12 and hv[-1] > hv[0] > 0 and all(b >= a for a, b in zip(hv, hv[1:]))
    assert {"front_size", "f1_best", "f2_best"} <= rows[0].keys()
    archive = run_dir / "archive"
    assert sorted(p.name for p in archive.iterdir()) == ["front.csv", "front.png", "front.pt"]
    blob = torch.load(archive / "front.pt", weights_only=True)
    assert blob["hypervolume"] == hv[-1] and len(blob["objectives"]) == int(float(rows[-1]["front_size"]))
    with (archive / "front.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == len(blob["objectives"])
    # resumed from generation 6, the same metrics and the same front
    _, short = run(validate(_config(tmp_path, "short", 6)))
    resume(short, ["budget.generations=12"])
    assert metric_rows(short) == rows
    again = torch.load(short / "archive" / "front.pt", weights_only=True)
    assert torch.equal(again["solutions"], blob["solutions"]) and torch.equal(again["objectives"], blob["objectives"])


def _gym_config(tmp_path, name):
    raw = _config(tmp_path, name, 2)
    raw["task"] = {"name": "gym", "env": "Pendulum-v1", "max_steps": 10, "objectives": ["return", "action_cost"]}
    raw["network"] = {"hidden": [2]}
    return raw


def test_a_missing_reference_point_is_a_config_error_at_strategy_reference_point(tmp_path, monkeypatch):
    from evohyper.config import ConfigError
    from evohyper_tasks import gym_objectives

    monkeypatch.delitem(gym_objectives.WORST_STEP_REWARD, "Pendulum-v1")   # a task that declares none
    with pytest.raises(ConfigError, match=r"strategy.reference_point: null; the task declares no reference point: "
                                          r"give 2 values, one per objective \(return, action_cost\)"):
        validate(_gym_config(tmp_path, "noref")).components()
    raw = _gym_config(tmp_path, "ref")
    raw["strategy"]["reference_point"] = [-3000.0, 2.0]
    assert validate(raw).components().strategy.metrics()["hypervolume"] == 0.0


def test_a_bad_reference_point_is_one_line_with_exit_status_2(tmp_path):
    raw = _gym_config(tmp_path, "badref")
    raw["strategy"]["reference_point"] = [0.0]
    path = tmp_path / "badref.yaml"
    path.write_text(yaml.safe_dump(raw))
    res = subprocess.run([sys.executable, "-m", "evohyper.cli", "run", str(path)], capture_output=True, text=True)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "strategy.reference_point: [0.0]; allowed: 2 values" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_sigkill_and_resume_is_bit_identical_with_the_same_front(tmp_path):
    from run_helpers import kill_and_resume, same_state, write_config

    def write(tmp, name):
        raw = _config(tmp, name, 150)
        raw["seed"] = 11
        return write_config(tmp, raw)

    ref_dir, run_dir, a, b = kill_and_resume(tmp_path, write, kill_after=30, generations=150)
    assert a["counters"]["generation"] == b["counters"]["generation"] == 150
    assert same_state(a["strategy"], b["strategy"]) and a["best_fitness"] == b["best_fitness"]
    assert metric_rows(ref_dir) == metric_rows(run_dir)
    x, y = (torch.load(d / "archive" / "front.pt", weights_only=True) for d in (ref_dir, run_dir))
    assert torch.equal(x["solutions"], y["solutions"]) and x["hypervolume"] == y["hypervolume"]
