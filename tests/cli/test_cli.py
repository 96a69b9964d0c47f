import json
import subprocess

import pytest
import torch
import yaml
from run_helpers import CLI, resume_beside, run_and_kill, same_state
from run_helpers import metric_rows as _rows
from run_helpers import run_dir_of as _run_dir

from evohyper.engine.checkpoint import list_checkpoints, load_latest


def _write(tmp_path, name, **over):
    cfg = {"name": name, "seed": 7, "task": {"name": "sphere", "dim": 10},
           "strategy": {"name": "cmaes", "popsize": 24}, "budget": {"generations": 150},
           "output": {"runs_dir": str(tmp_path / "runs"), "tensorboard": False, "progress": False,
                      "keep_checkpoints": 3, "checkpoint_every": 1}}
    cfg.update(over)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_list_shows_builtin_components_with_descriptions():
    out = subprocess.run([*CLI, "list"], capture_output=True, text=True, check=True).stdout
    for name in ("cartpole", "digits", "xor", "sphere", "cmaes", "snes", "xnes", "pgpe", "cem", "ga", "random",
                 "direct"):
        assert f"  {name} " in out, name
    line = next(row for row in out.splitlines() if row.strip().startswith("cmaes"))
    assert len(line.split()) > 2   # has a one-line description


def test_run_writes_run_directory_and_show_summarises(tmp_path):
    cfg = _write(tmp_path, "small", budget={"generations": 5}, output={"runs_dir": str(tmp_path / "runs"),
                                                                      "progress": True, "checkpoint_every": 2})
    proc = subprocess.run([*CLI, "run", str(cfg), "--set", "strategy.popsize=10"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    run_dir = _run_dir(tmp_path, "small")
    assert "gen 5" in proc.stderr                             # progress output
    for f in ("config.yaml", "metrics.csv", "report.md", "fitness.png", "best/weights.pt",
              "best/phenotype.json", "tensorboard"):
        assert (run_dir / f).exists(), f
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["strategy"]["popsize"] == 10
    assert [p.name for p in list_checkpoints(run_dir / "checkpoints")] == ["checkpoint-000005.pt",
                                                                         "checkpoint-000004.pt",
                                                                         "checkpoint-000002.pt"]
    assert len(_rows(run_dir)) == 5
    weights = torch.load(run_dir / "best" / "weights.pt", weights_only=True)
    best = json.loads((run_dir / "best" / "phenotype.json").read_text())
    assert best["fitness"] == pytest.approx(float(((weights["x"] - 0.5) ** 2).sum()), rel=1e-4)
    shown = subprocess.run([*CLI, "show", str(run_dir), "--json"], capture_output=True, text=True, check=True)
    summary = json.loads(shown.stdout.split("\nfitness curve")[0])
    assert summary["generations"] == 5 and summary["evaluations"] == 50
    assert summary["best_fitness"] == pytest.approx(best["fitness"])


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """The uninterrupted run every killed-and-resumed run must reproduce exactly."""
    tmp = tmp_path_factory.mktemp("reference")
    subprocess.run([*CLI, "run", str(_write(tmp, "ref"))], check=True, capture_output=True)
    return _run_dir(tmp, "ref")


@pytest.mark.parametrize("kill_after", [3, 60])
def test_sigkill_and_resume_is_bit_identical(tmp_path, kill_after, reference_run):
    ref_dir = reference_run

    run_dir = run_and_kill(tmp_path, _write(tmp_path, "killed"), kill_after)
    state, _ = load_latest(run_dir / "checkpoints")
    assert state["counters"]["generation"] < 150, "run finished before it could be killed"

    a, b = resume_beside(ref_dir, run_dir)
    assert a["counters"]["generation"] == b["counters"]["generation"] == 150
    assert same_state(a["strategy"], b["strategy"])               # the whole explicit strategy state
    assert a["best_fitness"] == b["best_fitness"]
    assert _rows(ref_dir) == _rows(run_dir)                           # metrics.csv: one row per generation
    # The restored strategy's RNG state matches too: both propose the same next population.
    from evohyper.config import validate
    from evohyper.engine.runner import build_search
    config = validate(yaml.safe_load((ref_dir / "config.yaml").read_text()) | {"budget": {"generations": 150}})
    nxt = []
    for state in (a, b):
        search = build_search(config, None)
        search.load_state_dict(state)
        nxt.append(search.strategy.ask())
    assert torch.equal(nxt[0], nxt[1])


def test_resume_of_a_non_run_directory_is_a_clear_error(tmp_path):
    proc = subprocess.run([*CLI, "resume", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 1 and "not a run directory" in proc.stderr and "Traceback" not in proc.stderr
