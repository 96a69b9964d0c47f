"""Issue 21 item 12: SIGTERM (a scheduler, `kill`, a container stop) ends a run as Ctrl-C does: one line, a
non-zero exit, no native stack dump (Ray's failure-signal handler printed ``*** SIGTERM received ... PC: @``),
and the run resumes from its checkpoints."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

CLI = [sys.executable, "-m", "evohyper.cli"]


def _start(tmp_path: Path, backend: dict, generations: int) -> tuple[subprocess.Popen, Path]:
    runs = tmp_path / "runs"
    cfg = {"name": "sig", "seed": 3, "task": {"name": "sphere", "dim": 4}, "strategy": {"name": "snes", "popsize": 8},
           "budget": {"generations": generations}, "backend": backend,
           "output": {"runs_dir": str(runs), "progress": False, "tensorboard": False, "checkpoint_every": 1}}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = subprocess.Popen([*CLI, "run", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, runs


def _terminate_after_first_checkpoint(proc: subprocess.Popen, runs: Path, timeout_s: float = 120) -> Path:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = sorted(runs.glob("*/checkpoints/checkpoint-*"))
        if found:
            time.sleep(0.5)   # inside the loop, not in a write
            os.kill(proc.pid, signal.SIGTERM)
            return found[0].parents[1]
        if proc.poll() is not None:
            pytest.fail(f"the run ended before its first checkpoint: {proc.stderr.read()[-2000:]}")
        time.sleep(0.1)
    proc.kill()
    pytest.fail("no checkpoint within the timeout")


def _check_stopped_cleanly(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, (proc.returncode, err[-3000:])
    assert "SIGTERM received" not in err and "PC: @" not in err and "Traceback" not in err, err[-3000:]
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines and lines[-1].startswith("terminated (SIGTERM); resume with `evohyper resume"), err[-3000:]


def test_sigterm_stops_a_local_run_cleanly_and_it_resumes(tmp_path):
    proc, runs = _start(tmp_path, {"name": "local"}, generations=10**6)
    run_dir = _terminate_after_first_checkpoint(proc, runs)
    _check_stopped_cleanly(proc)
    newest = max(int(p.stem.split("-")[1]) for p in (run_dir / "checkpoints").glob("checkpoint-*.pt"))
    # continue a few generations past the checkpoint (resume --set: the run was stopped far from its budget)
    resumed = subprocess.run([*CLI, "resume", str(run_dir), "--set", f"budget.generations={newest + 20}"],
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"after {newest + 20} generations" in resumed.stdout, resumed.stdout


@pytest.mark.ray
def test_sigterm_stops_a_ray_run_without_a_native_stack_dump(tmp_path):
    proc, runs = _start(tmp_path, {"name": "ray", "num_actors": 1}, generations=10**6)
    _terminate_after_first_checkpoint(proc, runs)
    _check_stopped_cleanly(proc)
