"""``neat_map_elites`` through ``evohyper run``: the shipped config validates; kill -9 + resume is bit-identical
(archive, elites, metrics.csv with qd_score/coverage, archive files)."""
from pathlib import Path

import pytest
from run_helpers import kill_and_resume, metric_rows, same_state, write_config

from evohyper.config import load_raw, validate

ROOT = Path(__file__).resolve().parents[3]
SPACE = ROOT / "search_spaces" / "lunarlander_neat_map_elites.yaml"


def test_the_shipped_config_validates():
    raw = load_raw(SPACE)
    cfg = validate(raw)
    assert cfg.strategy["name"] == "neat_map_elites" and cfg.strategy["archive"]["dims"] == [50, 50]


def _small(tmp_path, name):
    raw = load_raw(SPACE)
    raw.update(name=name, budget={"generations": 16},
               output={"runs_dir": str(tmp_path / "runs"), "tensorboard": False, "progress": False,
                       "checkpoint_every": 1, "keep_checkpoints": 3})
    raw["strategy"].update(popsize=30, batch=30, archive={"dims": [10, 10], "ranges": [[-1.0, 1.0], [-3.0, 0.0]]})
    return raw


@pytest.mark.slow
def test_sigkill_and_resume_is_bit_identical(tmp_path):
    ref, killed, a, b = kill_and_resume(tmp_path, lambda t, n: write_config(t, _small(t, n)), kill_after=5,
                                        generations=16)
    assert a["counters"]["generation"] == b["counters"]["generation"] == 16
    for key in ("archive", "elites", "elite_cells", "elite_objective", "counters", "best_genotype"):
        assert same_state(a["strategy"][key], b["strategy"][key]), key
    rows = metric_rows(ref)
    assert rows == metric_rows(killed) and float(rows[-1]["coverage"]) > float(rows[0]["coverage"])
    for name in ("elites.json", "archive.csv"):
        assert (ref / "archive" / name).read_text() == (killed / "archive" / name).read_text()
