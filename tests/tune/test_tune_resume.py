"""A meta-search whose driver is SIGKILLed mid-run is restored by `evohyper tune --resume`: every
trial finishes with exactly its generations, each the same run as an uninterrupted one."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from evohyper.config import validate
from evohyper.config.tune_schema import apply_params
from evohyper.engine.runner import build_search

HERE = Path(__file__).resolve().parent
GENERATIONS, TRIALS = 6, 4


def _kill_session(sid: int) -> None:
    """SIGKILL every process of the session we started (the driver and the Ray it launched)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[3]) == sid:
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass


def _rows(trial_dir: Path) -> list[dict]:
    path = trial_dir / "result.json"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _cli(*args: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    return subprocess.Popen([sys.executable, "-m", "evohyper.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


@pytest.mark.ray
@pytest.mark.slow
def test_killed_tune_driver_is_resumed_and_every_trial_finishes_exactly(tmp_path):
    raw = {"name": "killed", "seed": 2, "plugins": ["tune_test_tasks"],
           "task": {"name": "tunetest_sphere", "dim": 4, "sleep_s": 0.4},
           "strategy": {"name": "snes", "popsize": 6}, "budget": {"generations": GENERATIONS},
           "tune": {"params": {"strategy.stdev_init": {"uniform": [0.1, 1.0]}}, "num_samples": TRIALS, "seed": 3,
                    "num_cpus": 2, "storage_path": str(tmp_path / "tune")}}
    cfg = tmp_path / "killed.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    exp = tmp_path / "tune" / "exp"
    proc = _cli("tune", str(cfg), "--name", "exp", "--report-dir", str(tmp_path / "reports"), cwd=tmp_path)
    try:
        deadline = time.time() + 240
        while time.time() < deadline and proc.poll() is None:
            progress = [max((r.get("generation", 0) for r in _rows(d)), default=0)
                        for d in exp.glob("evohyper_trial_*")]
            if any(g >= 2 for g in progress):
                break
            time.sleep(0.5)
        assert proc.poll() is None, proc.stdout.read()
        _kill_session(proc.pid)
        proc.wait(timeout=30)
    finally:
        _kill_session(proc.pid)
    at_kill = {d.name: max((r["generation"] for r in _rows(d)), default=0) for d in exp.glob("evohyper_trial_*")}
    assert min(at_kill.values(), default=0) < GENERATIONS and len(at_kill) >= 1   # killed mid-run

    resumed = _cli("tune", "--resume", str(exp), "--num-cpus", "2", "--report-dir", str(tmp_path / "reports"),
                   cwd=tmp_path)
    try:
        out, _ = resumed.communicate(timeout=400)
    finally:
        _kill_session(resumed.pid)
    assert resumed.returncode == 0, out[-3000:]
    trials = sorted(exp.glob("evohyper_trial_*"))
    assert len(trials) == TRIALS
    base = {k: v for k, v in raw.items() if k != "tune"}
    for d in trials:
        rows = _rows(d)
        by_gen = {r["generation"]: r["best_so_far"] for r in rows}  # a re-run generation reports the same
        assert sorted(by_gen) == list(range(1, GENERATIONS + 1)), (d.name, [r["generation"] for r in rows])
        params = json.loads((d / "params.json").read_text())
        plain = apply_params(base, params)
        plain["task"] = {**plain["task"], "sleep_s": 0.0}
        search = build_search(validate(plain), None)
        search.run()
        assert [rec.best_so_far for rec in search.history] == [by_gen[g] for g in range(1, GENERATIONS + 1)]
    assert (tmp_path / "reports" / "tune_killed.md").is_file()
