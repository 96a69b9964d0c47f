"""The documented seam, end to end: a task in a separate package, found through its entry point."""
import csv
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "user_task"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "--target", str(target), str(EXAMPLE)],
                   check=True, capture_output=True)
    return target


def _env(site):
    import os
    return {**os.environ, "PYTHONPATH": str(site)}


def test_user_task_is_listed(installed):
    out = subprocess.run([sys.executable, "-m", "evohyper.cli", "list"], env=_env(installed), capture_output=True,
                         text=True, check=True).stdout
    assert "target-regression" in out and "Fit y = A x" in out


@pytest.mark.parametrize("strategy", ["cmaes", "snes", "ga"])
def test_user_task_runs_and_improves_with_each_strategy(installed, tmp_path, strategy):
    proc = subprocess.run([sys.executable, "-m", "evohyper.cli", "run", str(EXAMPLE / "search.yaml"),
                           "--set", f"strategy.name={strategy}", "--set", f"output.runs_dir={tmp_path}",
                           "--set", "output.tensorboard=false", "--set", "output.progress=false"],
                          env=_env(installed), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = tmp_path.iterdir()
    with (run_dir / "metrics.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 30
    first, last = float(rows[0]["best"]), float(rows[-1]["best_so_far"])
    assert last > first + 0.1 * abs(first), (strategy, first, last)   # negative MSE rose clearly


def test_user_task_passes_task_contract(installed):
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(EXAMPLE / "tests")], env=_env(installed), capture_output=True, text=True,
                          cwd=EXAMPLE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " passed" in proc.stdout and "failed" not in proc.stdout
