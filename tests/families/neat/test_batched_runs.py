"""Whole runs with ``engine: batched`` through the engine and the CLI (docs/neat_engine.md, 4.3 test_neat_engine):
kill -9 + resume is bit-identical (direct NEAT on XOR, HyperNEAT on visual discrimination at small P), two Ray
actors give the local run's metrics.csv, and HyperNEAT / ES-HyperNEAT run a few generations from the CLI."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from batched_helpers import same_data
from run_helpers import kill_and_resume, run_dir_of, write_config
from run_helpers import metric_rows as _rows

from evohyper.config import apply_overrides, load_raw, validate
from evohyper.engine.runner import run

ROOT = Path(__file__).resolve().parents[3]
SPACES = ROOT / "search_spaces"
CLI = [sys.executable, "-m", "evohyper.cli"]
QUIET = {"tensorboard": False, "progress": False}


def _xor(tmp_path, name, generations=40, popsize=60, **output):
    raw = load_raw(SPACES / "neat_xor.yaml")
    raw.update(name=name, budget={"generations": generations}, backend={"name": "local"},
               output={"runs_dir": str(tmp_path / "runs"), **QUIET, "checkpoint_every": 1, "keep_checkpoints": 3,
                       **output})
    raw["strategy"] = {**raw["strategy"], "engine": "batched", "popsize": popsize,
                       "neat_config": str(ROOT / raw["strategy"]["neat_config"])}
    return raw


def _assert_resumed_as_uninterrupted(ref, killed, a, b, generations):
    assert a["counters"]["generation"] == b["counters"]["generation"] == generations
    assert a["strategy"]["engine"] == "batched" and a["strategy"]["format"] == "neat-batched"
    for key in ("population", "species", "species_of", "counters", "neat_generation", "best_genotype"):
        assert same_data(a["strategy"][key], b["strategy"][key]), key     # every genome, gene for gene
    assert a["best_fitness"] == b["best_fitness"]
    assert _rows(ref) == _rows(killed)
    assert (ref / "best" / "genotype.json").read_text() == (killed / "best" / "genotype.json").read_text()


def test_xor_sigkill_and_resume_is_bit_identical(tmp_path):
    ref, killed, a, b = kill_and_resume(tmp_path, lambda t, n: write_config(t, _xor(t, n)), kill_after=6,
                                        generations=40)
    _assert_resumed_as_uninterrupted(ref, killed, a, b, 40)


def _visual(tmp_path, name):
    raw = apply_overrides(load_raw(SPACES / "hyperneat_visual.yaml"), [
        f"name={name}", "backend.name=local", "strategy.engine=batched", "strategy.popsize=16",
        "budget.generations=8", f"output.runs_dir={tmp_path / 'runs'}", "output.progress=false",
        "output.checkpoint_every=1", "output.keep_checkpoints=2"])
    return write_config(tmp_path, raw)


def test_hyperneat_visual_sigkill_and_resume_is_bit_identical(tmp_path):
    ref, killed, a, b = kill_and_resume(tmp_path, _visual, kill_after=3, generations=8)
    _assert_resumed_as_uninterrupted(ref, killed, a, b, 8)
    assert (ref / "best" / "weights.pt").read_bytes() == (killed / "best" / "weights.pt").read_bytes()


@pytest.mark.ray
def test_two_ray_actors_give_the_local_runs_metrics(tmp_path, ray_local):
    """The search runs on the driver only and the actors evaluate: metrics.csv is the local run's, row for row.

    Cart-pole, not XOR: its returns are step counts, so they do not move with the last bit of a network's
    output. XOR's continuous fitness does: the ``neat`` decoder's runtime activates a layer's rows with one
    in-place ``sigmoid_`` over the slice, whose vectorised body and scalar remainder round differently (1 ulp,
    measured), and a chunk of the population moves a node between the two (a decoder matter, not the engine's).
    """
    over = ["strategy.engine=batched", "strategy.popsize=50", "budget.generations=6", "budget.target_fitness=null",
            "task.episodes=2", "task.max_steps=200", f"output.runs_dir={tmp_path}", "output.progress=false"]
    raw = load_raw(SPACES / "neat_cartpole.yaml")
    (_, local_dir), (_, remote_dir) = (
        run(validate(apply_overrides(raw, [*over, *backend])))
        for backend in (["backend.name=local"], ["backend.name=ray", "backend.num_actors=2"]))
    assert len(_rows(local_dir)) == 6 and _rows(local_dir) == _rows(remote_dir)
    assert (local_dir / "best" / "genotype.json").read_text() == (remote_dir / "best" / "genotype.json").read_text()


@pytest.mark.parametrize("space,extra", [
    ("hyperneat_visual", []),
    ("es_hyperneat_visual", ["decoder.max_depth=2", "decoder.initial_depth=1"]),
])
def test_hyperneat_runs_the_batched_engine_from_the_cli(space, extra, tmp_path):
    raw = apply_overrides(load_raw(SPACES / f"{space}.yaml"), [
        f"name={space}", "backend.name=local", "strategy.engine=batched", "strategy.popsize=16",
        "budget.generations=4", f"output.runs_dir={tmp_path / 'runs'}", "output.progress=false", *extra])
    res = subprocess.run([*CLI, "run", str(write_config(tmp_path, raw))], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    run_dir = run_dir_of(tmp_path, space)
    rows = _rows(run_dir)
    assert [int(r["generation"]) for r in rows] == [1, 2, 3, 4]
    assert all(float(r["best"]) > 0 for r in rows) and float(rows[-1]["best_so_far"]) >= float(rows[0]["best"])
    genome = json.loads((run_dir / "best" / "genotype.json").read_text())
    assert genome["kind"] == "neat-genome" and (genome["num_inputs"], genome["num_outputs"]) == (5, 1)
    config = json.loads(json.dumps(validate(raw).to_dict()))
    assert config["strategy"]["engine"] == "batched"
