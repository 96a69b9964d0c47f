"""``evohyper resume RUN --set budget.<limit>=...`` (issue 21): a finished run continues, bit-identical to
a run started with the larger budget; only budget limits and output.checkpoint_*/tensorboard/progress may
change; a limit below what is spent only re-exports best/."""
import logging

import pytest
import yaml
from run_helpers import metric_rows, run_dir_of, same_state

from evohyper.cli import main
from evohyper.engine.checkpoint import list_checkpoints, load_latest


def _write(tmp_path, name, generations):
    raw = {"name": name, "seed": 11, "task": {"name": "sphere", "dim": 5},
           "strategy": {"name": "snes", "popsize": 8}, "budget": {"generations": generations},
           "output": {"runs_dir": str(tmp_path / "runs"), "tensorboard": False, "progress": False}}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture
def finished(tmp_path):
    assert main(["run", str(_write(tmp_path, "short", 6))]) == 0
    return run_dir_of(tmp_path, "short")


def test_a_finished_run_continues_with_a_larger_budget_as_if_started_with_it(tmp_path, finished):
    assert main(["run", str(_write(tmp_path, "long", 10))]) == 0
    long_dir = run_dir_of(tmp_path, "long")
    assert main(["resume", str(finished), "--set", "budget.generations=10"]) == 0
    assert yaml.safe_load((finished / "config.yaml").read_text())["budget"]["generations"] == 10
    assert metric_rows(finished) == metric_rows(long_dir) and len(metric_rows(finished)) == 10
    a, b = load_latest(finished / "checkpoints")[0], load_latest(long_dir / "checkpoints")[0]
    assert a["counters"]["generation"] == b["counters"]["generation"] == 10
    assert same_state(a["strategy"], b["strategy"]) and a["best_fitness"] == b["best_fitness"]


@pytest.mark.parametrize("key", ["strategy.popsize=4", "seed=3", "task.dim=6", "output.runs_dir=/tmp/x",
                                 "budget.no_such_limit=3"])
def test_anything_but_budget_and_output_cadence_is_refused_by_name(finished, key, capsys):
    before = (finished / "config.yaml").read_text()
    assert main(["resume", str(finished), "--set", key]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and key.split("=")[0] in err and "Traceback" not in err
    assert (finished / "config.yaml").read_text() == before


def test_output_cadence_may_change(finished):
    assert main(["resume", str(finished), "--set", "output.checkpoint_every=2", "--set", "output.progress=false",
                 "--set", "budget.generations=8"]) == 0
    config = yaml.safe_load((finished / "config.yaml").read_text())
    assert config["output"]["checkpoint_every"] == 2 and config["budget"]["generations"] == 8
    assert [p.name for p in list_checkpoints(finished / "checkpoints")][:2] == ["checkpoint-000008.pt",
                                                                               "checkpoint-000006.pt"]


def test_a_limit_below_what_is_spent_only_reexports_best(finished, caplog):
    rows = (finished / "metrics.csv").read_bytes()
    checkpoints = [p.name for p in list_checkpoints(finished / "checkpoints")]
    (finished / "best" / "phenotype.json").unlink()
    with caplog.at_level(logging.WARNING, logger="evohyper"):
        assert main(["resume", str(finished), "--set", "budget.generations=3"]) == 0
    said = [r.getMessage() for r in caplog.records if "already spent" in r.getMessage()]
    assert len(said) == 1 and "best/" in said[0] and "\n" not in said[0]
    assert (finished / "metrics.csv").read_bytes() == rows
    assert [p.name for p in list_checkpoints(finished / "checkpoints")] == checkpoints
    assert (finished / "best" / "phenotype.json").is_file()
