"""`evohyper export RUN_DIR`: the best phenotype of a finished run, rebuilt from its directory, as a file."""
from pathlib import Path

import pytest
import torch

from evohyper.cli import main
from evohyper.config import apply_overrides, load_raw, validate
from evohyper.engine.runner import run
from evohyper.export import load_best

ROOT = Path(__file__).resolve().parents[2]
QUIET = ["backend.name=local", "output.progress=false", "output.tensorboard=false", "budget.target_fitness=null"]


def finished(tmp_path, config, *overrides):
    raw = apply_overrides(load_raw(ROOT / "search_spaces" / config),
                          [*QUIET, f"output.runs_dir={tmp_path}", *overrides])
    return run(validate(raw))[1]


@pytest.fixture(scope="module")
def neat_run(tmp_path_factory):
    return finished(tmp_path_factory.mktemp("neat"), "neat_xor.yaml", "strategy.popsize=30", "budget.generations=3")


@pytest.mark.parametrize("fmt", ["torch", "onnx"])
def test_export_of_a_neat_run(neat_run, fmt, capsys):
    assert main(["export", str(neat_run), "--format", fmt]) == 0
    out = capsys.readouterr().out
    path = neat_run / "best" / ("model.pt2" if fmt == "torch" else "model.onnx")
    assert f"exported: {path}" in out and "input [B, 2]" in out and path.is_file()
    if fmt == "torch":
        phenotypes, _ = load_best(neat_run)
        x = torch.rand(4, 2)
        assert torch.allclose(torch.export.load(path).module()(x), phenotypes.forward(x)[0], atol=1e-5)


def test_export_of_a_vector_run_and_what_cannot_be_exported(tmp_path, capsys):
    mlp = finished(tmp_path / "a", "digits_direct_snes.yaml", "budget.generations=1", "strategy.popsize=4")
    assert main(["export", str(mlp), "--out", str(tmp_path / "digits.pt2")]) == 0
    assert (tmp_path / "digits.pt2").is_file()
    sphere = apply_overrides({"name": "s", "task": {"name": "sphere", "dim": 3}, "strategy": {"name": "cmaes"},
                              "budget": {"generations": 1}}, [*QUIET[:3], f"output.runs_dir={tmp_path / 'b'}"])
    vector = run(validate(sphere))[1]
    capsys.readouterr()
    assert main(["export", str(vector)]) == 1
    err = capsys.readouterr().err
    assert "cannot be exported" in err and "Traceback" not in err
