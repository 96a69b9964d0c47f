"""Issue 13: runs that fail, are killed or are damaged end in a defined outcome (items 6, 8, 15, 16)."""
import csv
import logging

import engine_tasks  # noqa: F401  (registers the test tasks)
import pytest
import torch
from run_helpers import metric_rows as _rows

from evohyper.config import validate
from evohyper.engine.checkpoint import CheckpointError, list_checkpoints, load_latest, load_state, save_state
from evohyper.engine.evaluation import TaskError
from evohyper.engine.runner import new_run_dir, resume, run


def _config(tmp_path, task, on_error="strict", generations=6, checkpoint_every=1):
    return validate({"name": "r", "seed": 3, "task": task, "strategy": {"name": "random", "popsize": 16},
                     "budget": {"generations": generations}, "evaluation": {"on_error": on_error},
                     "output": {"runs_dir": str(tmp_path / "runs"), "tensorboard": False, "progress": False,
                                "checkpoint_every": checkpoint_every, "keep_checkpoints": 10}})


def _header(run_dir):
    with (run_dir / "metrics.csv").open() as fh:
        return next(csv.reader(fh))


# ---------------------------------------------------------------- item 6: lenient, every evaluation failing
def test_lenient_run_where_every_evaluation_fails_stops_with_the_first_exception(tmp_path):
    config = _config(tmp_path, {"name": "test-always-raise"}, on_error="lenient")
    with pytest.raises(TaskError) as err:
        run(config)
    text = str(err.value)
    assert "every one of the 16 evaluations" in text and "generation 1" in text
    assert "ValueError: broken simulator for 1 individuals" in text and "Traceback" in text
    (run_dir,) = (tmp_path / "runs").iterdir()
    log = (run_dir / "errors.log").read_text()
    assert log.count("ValueError: broken simulator") == 16 and "Traceback" in log


def test_lenient_run_logs_every_task_exception(tmp_path):
    result, run_dir = run(_config(tmp_path, {"name": "test-raise"}, on_error="lenient", generations=3))
    failed = result.counters.task_errors
    assert failed > 0
    log = (run_dir / "errors.log").read_text()
    assert log.count("RuntimeError: simulator exploded") == failed
    assert "generation 1, individual" in log


def test_strict_run_writes_no_error_log(tmp_path):
    _, run_dir = run(_config(tmp_path, {"name": "sphere", "dim": 3}, generations=2))
    assert not (run_dir / "errors.log").exists()


# ---------------------------------------------------------------- item 8: stable metrics.csv columns
def test_metrics_csv_columns_keep_their_order_after_a_resume(tmp_path):
    _, ref = run(_config(tmp_path / "a", {"name": "test-metrics"}))
    _, killed = run(_config(tmp_path / "b", {"name": "test-metrics"}))
    for path in list_checkpoints(killed / "checkpoints")[:3]:   # as if killed after generation 3
        path.unlink()
    resume(killed)
    assert _header(killed) == _header(ref)
    assert _rows(killed) == _rows(ref)


# ---------------------------------------------------------------- item 16: killed before the first checkpoint
def test_run_killed_before_its_first_checkpoint_restarts_from_generation_0(tmp_path):
    _, ref = run(_config(tmp_path / "a", {"name": "sphere", "dim": 3}, generations=4))
    run_dir = new_run_dir(_config(tmp_path / "b", {"name": "sphere", "dim": 3}, generations=4))
    (run_dir / "checkpoints").mkdir()
    stale = run_dir / "checkpoints" / ".tmp-abc123.pt"
    stale.write_bytes(b"")                                   # a kill during the first write
    result, _ = resume(run_dir)
    assert result.generations == 4
    assert not stale.exists()
    assert _rows(run_dir) == _rows(ref)


def test_stale_temp_files_are_removed_when_a_run_resumes(tmp_path):
    _, run_dir = run(_config(tmp_path, {"name": "sphere", "dim": 3}, generations=3))
    stale = run_dir / "checkpoints" / ".tmp-xyz.pt"
    stale.write_bytes(b"")
    for path in list_checkpoints(run_dir / "checkpoints")[:1]:
        path.unlink()
    resume(run_dir)
    assert not stale.exists()


# ---------------------------------------------------------------- item 15: consistent-looking but wrong checkpoints
def _damage(path, how):
    state = load_state(path)
    if how == "no-counters":
        del state["counters"]
    elif how == "seed":
        state["seed"] = state["seed"] + 1
    elif how == "generation":
        state["counters"]["generation"] -= 1                  # the strategy is a generation further
    elif how == "strategy":
        state["strategy"] = {"nonsense": 1}
    save_state(state, path)                                   # a valid checksum over wrong content


@pytest.mark.parametrize("how", ["no-counters", "seed", "generation", "strategy"])
def test_checkpoint_with_valid_checksum_but_wrong_content_falls_back(tmp_path, caplog, how):
    _, ref = run(_config(tmp_path / "a", {"name": "sphere", "dim": 3}, generations=5))
    _, run_dir = run(_config(tmp_path / "b", {"name": "sphere", "dim": 3}, generations=5))
    newest = list_checkpoints(run_dir / "checkpoints")
    newest[0].unlink()                                       # killed after generation 4 ...
    _damage(newest[1], how)                                  # ... whose checkpoint is inconsistent
    with caplog.at_level(logging.WARNING, logger="evohyper"):
        result, _ = resume(run_dir)
    assert result.generations == 5
    assert _rows(run_dir) == _rows(ref)
    skipped = [r.getMessage() for r in caplog.records if "skipping" in r.getMessage()]
    assert len(skipped) == 1 and "checkpoint-000004.pt" in skipped[0] and "\n" not in skipped[0]


def test_a_skipped_pickle_checkpoint_is_reported_in_one_line(tmp_path, caplog):
    save_state({"gen": 1}, tmp_path / "checkpoint-000001.pt")
    torch.save({"schema": 1, "x": logging.getLogger("x")}, tmp_path / "checkpoint-000002.pt")
    with caplog.at_level(logging.WARNING, logger="evohyper"):
        state, path = load_latest(tmp_path)
    assert state["gen"] == 1
    (msg,) = [r.getMessage() for r in caplog.records]
    assert "checkpoint-000002.pt" in msg and "\n" not in msg
    with pytest.raises(CheckpointError) as err:
        load_state(tmp_path / "checkpoint-000002.pt")
    assert "\n" not in str(err.value)
