"""Issue 21 item 12: MuJoCo's model-compiler warnings ("compiler attribute 'settotalmass' is deprecated") are
printed at most once per process, not once per environment built (halfcheetah_pgpe.yaml printed 64 copies)."""
from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("mujoco")

SCRIPT = """
from evohyper_tasks.gym import GymTask
task = GymTask(env="HalfCheetah-v5")
task.environments(5)
GymTask(env="HalfCheetah-v5").environments(3)
print("built", len(task._envs))
"""


def test_mujoco_compiler_warning_is_printed_once_per_process(tmp_path):
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "built 5" in proc.stdout
    out = proc.stdout + proc.stderr
    assert out.count("settotalmass") == 1, out[-3000:]
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()   # MuJoCo's default handler also wrote a log file into cwd
