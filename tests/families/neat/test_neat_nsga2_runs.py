"""``neat_nsga2`` through ``evohyper run``: the shipped config validates; kill -9 + resume is bit-identical
(survivors, objectives, metrics.csv with hypervolume/front_size, front files)."""
from pathlib import Path

import pytest
from run_helpers import kill_and_resume, metric_rows, same_state, write_config

from evohyper.config import load_raw, validate

ROOT = Path(__file__).resolve().parents[3]
SPACE = ROOT / "search_spaces" / "pendulum_neat_nsga2.yaml"


def test_the_shipped_config_validates():
    cfg = validate(load_raw(SPACE))
    assert cfg.strategy["name"] == "neat_nsga2" and cfg.strategy["size_objective"] is True


def _small(tmp_path, name):
    raw = load_raw(SPACE)
    raw.update(name=name, budget={"generations": 14},
               output={"runs_dir": str(tmp_path / "runs"), "tensorboard": False, "progress": False,
                       "checkpoint_every": 1, "keep_checkpoints": 3})
    raw["strategy"].update(popsize=32, offspring=32)
    return raw


@pytest.mark.slow
def test_sigkill_and_resume_is_bit_identical(tmp_path):
    ref, killed, a, b = kill_and_resume(tmp_path, lambda t, n: write_config(t, _small(t, n)), kill_after=5,
                                        generations=14)
    assert a["counters"]["generation"] == b["counters"]["generation"] == 14
    for key in ("parents", "objectives", "crowding", "counters", "best_genotype", "hypervolume"):
        assert same_state(a["strategy"][key], b["strategy"][key]), key
    rows = metric_rows(ref)
    assert rows == metric_rows(killed) and float(rows[-1]["hypervolume"]) > float(rows[0]["hypervolume"])
    for name in ("front.json", "front.csv"):
        assert (ref / "archive" / name).read_text() == (killed / "archive" / name).read_text()
