"""``evohyper show RUN_DIR`` on a QD run (archive summary, pictures), ``show --cell`` (one elite's numbers,
its replay reproducing its re-evaluated mean, one-line errors) and ``export --cell`` (a loadable file that
computes what decoding the elite's genotype computes)."""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
import archive_test_parts as parts  # noqa: E402

from evohyper.api.rows import population_of_one  # noqa: E402
from evohyper.cli import main  # noqa: E402
from evohyper.config import validate  # noqa: E402
from evohyper.engine import archive_files  # noqa: E402


@pytest.fixture(scope="module")
def qd_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("show")
    with pytest.MonkeyPatch.context() as mp:
        parts.register(mp)
        raw = parts.raw_config(tmp, reevaluate={"episodes": 4, "end_share": None})   # the whole archive
        parts.run(raw, tmp / "run")
        yield tmp / "run", raw


@pytest.fixture
def registered(monkeypatch):
    parts.register(monkeypatch)


def test_show_summarises_the_archive_and_lists_its_pictures(qd_run, registered, capsys):
    run_dir, _ = qd_run
    assert main(["show", str(run_dir)]) == 0
    out = capsys.readouterr().out
    archive = archive_files.read(run_dir / "archive", genotypes=False)
    lines = {k: v for k, _, v in (line.partition(" ") for line in out.splitlines())}
    assert lines["archive_members"].strip() == str(len(archive)) and lines["archive_cells"].strip() == "20"
    assert float(lines["archive_coverage"]) == pytest.approx(len(archive) / 20)
    assert float(lines["archive_qd_score"]) > 0
    best = archive.best(reevaluated=False)
    assert lines["archive_best"].strip() == f"{float(archive.objectives[best, 0]):.6g} ({archive.name(best)})"
    assert "every member re-evaluated on 4 fresh episodes" in out
    assert f"archive picture: {run_dir / 'archive' / 'heatmap.png'}" in out


def test_show_cell_prints_the_elite_and_its_replay_reproduces_its_reevaluated_mean(qd_run, registered, capsys):
    run_dir, _ = qd_run
    archive = archive_files.read(run_dir / "archive", genotypes=False)
    row = len(archive) // 2
    i, j = archive.grid(row)
    assert main(["show", str(run_dir), "--cell", f"{i},{j}", "--episodes", "4"]) == 0
    out = capsys.readouterr().out
    mean = float(archive.reevaluated[row, 0])
    assert out.startswith(f"{archive.name(row)} of {len(archive)} ")
    assert f"fitness: {float(archive.objectives[row, 0]):.6g}; re-evaluated {mean:.6g}" in out
    survival, rest = archive.measures[row].tolist()
    assert f"survival: {survival:.6g}" in out and f"rest_output: {rest:.6g}" in out
    assert f"seed {archive.reevaluation['seed']}:" in out
    assert f"mean return {mean:.6g} over 4 episode(s)" in out   # the very episodes it was re-evaluated on


@pytest.mark.parametrize("args,message", [
    (["--cell", "EMPTY"], "--cell EMPTY: empty cell; "),
    (["--cell", "4,0"], "--cell 4,0: not a cell of the 4 x 5 grid"),
    (["--member", "0"], "--member 0: this run's archive is a quality-diversity archive; use --cell I"),
    (["--cell", "1", "--member", "1"], "give --cell or --member, not both"),
])
def test_show_cell_errors_are_one_line(qd_run, registered, capsys, args, message):
    run_dir, _ = qd_run
    archive = archive_files.read(run_dir / "archive", genotypes=False)
    empty = str(next(c for c in range(20) if c not in set(archive.cells.tolist())))
    args, message = [a.replace("EMPTY", empty) for a in args], message.replace("EMPTY", empty)
    assert main(["show", str(run_dir), *args]) != 0
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and err.count("\n") == 1


def test_show_cell_on_a_run_without_an_archive(tmp_path, capsys):
    run_dir = tmp_path / "plain"
    raw = {"name": "plain", "seed": 1, "task": {"name": "sphere", "dim": 3},
           "strategy": {"name": "random", "popsize": 4},
           "budget": {"generations": 1}, "output": {"runs_dir": str(tmp_path), "tensorboard": False, "progress": False}}
    parts.run(raw, run_dir)
    assert main(["show", str(run_dir), "--cell", "0"]) == 1
    assert "holds no archive" in capsys.readouterr().err


def test_export_cell_writes_the_elites_network(qd_run, registered, capsys):
    run_dir, raw = qd_run
    archive = archive_files.read(run_dir / "archive")
    row = archive.best(reevaluated=False)
    cell = int(archive.cells[row])
    assert main(["export", str(run_dir), "--cell", str(cell)]) == 0
    out = capsys.readouterr().out
    path = run_dir / "archive" / f"cell-{cell}.pt2"
    assert out.startswith(f"exported: {archive.name(row)}: {path} (torch;")
    module = torch.export.load(path).module()
    components = validate(raw).components()
    with torch.no_grad():
        direct = components.decoder.decode(population_of_one(archive.genotypes[row]), device="cpu")
        x = torch.from_numpy(np.random.default_rng(0).normal(size=(16, 4))).to(direct.dtype)
        assert torch.allclose(module(x), direct.forward(x)[0], atol=1e-6)
        other = components.decoder.decode(population_of_one(archive.genotypes[(row + 1) % len(archive)]), device="cpu")
        assert not torch.allclose(module(x), other.forward(x)[0], atol=1e-6)   # not just any elite's network


def test_show_member_of_a_front(tmp_path, monkeypatch, capsys):
    parts.register_front(monkeypatch)
    run_dir = tmp_path / "run"
    parts.run(parts.front_config(tmp_path, reevaluate={"episodes": 3, "end_share": None}), run_dir)
    assert main(["show", str(run_dir), "--member", "1"]) == 0
    out = capsys.readouterr().out
    blob = torch.load(run_dir / "archive" / "front.pt", weights_only=True)
    ret, cost = blob["objectives"][1].tolist()
    re_ret, re_cost = blob["reevaluated"][1].tolist()
    assert out.startswith(f"member 1 of {len(blob['objectives'])} ")
    assert f"  return: {ret:.6g}; re-evaluated {re_ret:.6g}\n" in out
    assert f"  cost: {cost:.6g}; re-evaluated {re_cost:.6g}" in out
    assert main(["show", str(run_dir), "--cell", "1"]) == 1
    assert "Pareto front; use --member K" in capsys.readouterr().err
    assert main(["show", str(run_dir)]) == 0
    out = capsys.readouterr().out
    column = blob["objectives"][:, 0]
    assert "archive_return" in out and f"{float(column.min()):.6g} to {float(column.max()):.6g}" in out
    from evohyper.viz.run_report import write_run_report

    assert "## Pareto front" in write_run_report(run_dir).read_text()
