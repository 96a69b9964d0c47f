"""The one reader of a run's archive/ (``engine.archive_files``): a real CMA-ME run's ``elites.pt``, and
hand-written ``elites.json`` / ``front.json`` / ``front.pt`` as the NEAT and NSGA-II strategies write them;
members in a stable order, selection by cell / grid coordinates / member, one-line errors."""
import json

import numpy as np
import pytest
import torch
import yaml

from evohyper.api.task import Objective, TaskInfo
from evohyper.config import apply_overrides, load_raw, validate
from evohyper.engine import archive_files
from evohyper.engine.archive_files import ArchiveError
from evohyper.engine.replay import load_archive
from evohyper.engine.runner import build_search


@pytest.fixture(scope="module")
def cma_me_run(tmp_path_factory):
    """search_spaces/sphere_cma_me.yaml at a tiny budget on a 10 x 10 grid."""
    tmp = tmp_path_factory.mktemp("cma_me")
    raw = apply_overrides(load_raw("search_spaces/sphere_cma_me.yaml"), [
        "budget.generations=4", "strategy.archive.dims=[10,10]", f"output.runs_dir={tmp}",
        "output.tensorboard=false", "output.progress=false", "output.checkpoint_every=100"])
    config = validate(raw)
    run_dir = tmp / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    search = build_search(config, run_dir)
    search.run()
    return run_dir, search


def test_a_cma_me_runs_archive_reads_back_as_pyribs_kept_it(cma_me_run):
    run_dir, search = cma_me_run
    archive = load_archive(run_dir)
    data = search.strategy.archive.data(["index", "solution", "objective", "measures"])
    order = np.argsort(data["index"])
    assert archive.kind == "elites" and len(archive) == len(order) > 3
    assert archive.cells.tolist() == data["index"][order].tolist()
    assert torch.equal(archive.genotypes, torch.from_numpy(data["solution"][order].astype(np.float32)))
    assert archive.objectives[:, 0].tolist() == data["objective"][order].tolist()
    assert torch.allclose(archive.measures, torch.from_numpy(data["measures"][order]))
    assert archive.descriptor_names == search.strategy.descriptor_names and archive.dims == [10, 10]
    assert archive.reevaluated is None                          # a deterministic task
    best = archive.best()
    assert float(archive.objectives[best, 0]) == float(search.strategy.archive.best_elite["objective"])
    # selection: by cell index and by grid coordinates, the same row
    cell = int(archive.cells[best])
    i, j = np.unravel_index(cell, (10, 10))
    assert archive.select(cell=str(cell)) == best == archive.select(cell=f"{i},{j}")
    assert archive.name(best) == f"cell {cell} ({i},{j})"


def test_an_empty_cell_names_the_option_and_an_occupied_one(cma_me_run):
    archive = load_archive(cma_me_run[0])
    empty = next(c for c in range(100) if c not in set(archive.cells.tolist()))
    i, j = np.unravel_index(empty, (10, 10))
    with pytest.raises(ArchiveError) as err:
        archive.select(cell=f"{i},{j}")
    message = str(err.value)
    assert message.startswith(f"--cell {i},{j}: empty cell; {len(archive)} elites, e.g. ")
    example = tuple(int(v) for v in message.rsplit("e.g. ", 1)[1].split(","))
    assert int(np.ravel_multi_index(example, (10, 10))) in archive.cells.tolist()
    for bad, words in (("10,0", "not a cell of the 10 x 10 grid"), ("a", "not an integer"),
                       (str(empty), "empty cell")):
        with pytest.raises(ArchiveError, match=words):
            archive.select(cell=bad)
    with pytest.raises(ArchiveError, match="--member 0: this run's archive is a quality-diversity archive; use --cell"):
        archive.select(member="0")


class _JsonStrategy:
    """What a NEAT strategy's ``import_genotype`` does for the reader: data back to a genotype."""

    @staticmethod
    def import_genotype(data):
        return {"genome": data["nodes"]}


def _elites_json(directory):
    directory.mkdir(parents=True, exist_ok=True)
    elites = [{"index": 7, "cell": [1, 2], "gid": 3, "objective": 2.5, "descriptors": {"a": 0.1, "b": 0.2},
               "genotype": {"nodes": [1, 2]}},
              {"index": 11, "cell": [2, 1], "gid": 9, "objective": 4.0, "descriptors": {"a": 0.3, "b": 0.4},
               "genotype": {"nodes": [3]}}]
    (directory / "elites.json").write_text(json.dumps({"descriptors": ["a", "b"], "dims": [5, 5],
                                                       "ranges": [[0, 1], [0, 1]], "qd_score_offset": 0.0,
                                                       "elites": elites}))
    (directory / "archive.csv").write_text("index,cell_0,cell_1,gid,objective,a,b\n7,1,2,3,2.5,0.1,0.2\n"
                                           "11,2,1,9,4.0,0.3,0.4\n")


def test_elites_json_reads_genotypes_through_the_strategy(tmp_path):
    _elites_json(tmp_path)
    archive = archive_files.read(tmp_path, _JsonStrategy())
    assert archive.kind == "elites" and archive.genotypes == [{"genome": [1, 2]}, {"genome": [3]}]
    assert archive.cells.tolist() == [7, 11] and archive.objectives[:, 0].tolist() == [2.5, 4.0]
    assert archive.measures.tolist() == [[0.1, 0.2], [0.3, 0.4]]
    assert archive.select(cell="2,1") == 1 == archive.select(cell="11") and archive.best() == 1
    assert archive.grid(0) == (1, 2)
    with pytest.raises(ArchiveError, match="--cell 1,1: empty cell; 2 elites, e.g. 1,2"):
        archive.select(cell="1,1")
    with pytest.raises(ArchiveError, match="genotypes in JSON need the run's strategy"):
        archive_files.read(tmp_path)
    assert archive_files.read(tmp_path, genotypes=False).genotypes is None


def test_reevaluation_is_written_into_json_and_csv_and_read_back(tmp_path):
    _elites_json(tmp_path)
    archive = archive_files.read(tmp_path, _JsonStrategy())
    archive_files.add_reevaluation(archive, torch.tensor([[2.0], [1.5]]), {"episodes": 3, "seed": 5})
    again = archive_files.read(tmp_path, _JsonStrategy())
    assert again.reevaluated.tolist() == [[2.0], [1.5]] and again.reevaluation == {"episodes": 3, "seed": 5}
    assert again.best() == 0 and again.best(reevaluated=False) == 1   # the re-evaluated order differs
    lines = (tmp_path / "archive.csv").read_text().splitlines()
    assert lines[0].endswith(",reevaluated_objective") and lines[1].endswith(",2.0") and lines[2].endswith(",1.5")


def test_a_front_json_and_a_front_pt(tmp_path):
    info = TaskInfo(maximize=True, objectives=(Objective("return", True), Objective("cost", False)))
    members = [{"member": 0, "objectives": {"return": -5.0, "cost": 0.1}, "genotype": {"nodes": [0]}},
               {"member": 1, "objectives": {"return": 3.0, "cost": 0.9}, "genotype": {"nodes": [1]}}]
    (tmp_path / "json").mkdir()
    (tmp_path / "json" / "front.json").write_text(json.dumps({"names": ["return", "cost"], "reference_point": [-10, 2],
                                                             "hypervolume": 7.5, "members": members}))
    torch.save({"objectives": torch.zeros(2, 2, dtype=torch.float64), "names": ["return", "cost"]},
               tmp_path / "json" / "front.pt")   # NEAT-NSGA-II writes both; the .json carries the genotypes
    front = archive_files.read(tmp_path / "json", _JsonStrategy(), info)
    assert front.kind == "front" and front.path.name == "front.json" and front.maximize == [True, False]
    assert front.objectives.tolist() == [[-5.0, 0.1], [3.0, 0.9]] and front.genotypes[1] == {"genome": [1]}
    assert front.extra["hypervolume"] == 7.5 and front.best() == 1 and front.select(member="1") == 1
    with pytest.raises(ArchiveError, match=r"--member 2: no such member; the front has 2 \(0 to 1\)"):
        front.select(member="2")
    with pytest.raises(ArchiveError, match="Pareto front; use --member K"):
        front.select(cell="0")
    (tmp_path / "pt").mkdir()
    solutions = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    torch.save({"objectives": torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64), "names": ["return", "cost"],
                "reference_point": torch.tensor([0.0, 5.0]), "hypervolume": 1.0, "solutions": solutions},
               tmp_path / "pt" / "front.pt")
    front = archive_files.read(tmp_path / "pt", None, info)
    assert torch.equal(front.genotypes, solutions) and front.extra["reference_point"] == [0.0, 5.0]
    archive_files.add_reevaluation(front, torch.tensor([[0.5, 2.5], [2.0, 3.0]]), {"episodes": 2, "seed": 1})
    assert archive_files.read(tmp_path / "pt", None, info).reevaluated.tolist() == [[0.5, 2.5], [2.0, 3.0]]


def test_missing_and_garbled_archives_are_one_line_errors(tmp_path):
    with pytest.raises(ArchiveError, match="holds no archive"):
        archive_files.read(tmp_path)
    (tmp_path / "elites.pt").write_bytes(b"not a torch file")
    with pytest.raises(ArchiveError) as err:
        archive_files.read(tmp_path)
    assert "elites.pt is not a readable archive" in str(err.value) and "\n" not in str(err.value)
    (tmp_path / "elites.pt").unlink()
    torch.save({"objectives": torch.zeros(1, 2), "names": ["a", "b"]}, tmp_path / "front.pt")
    with pytest.raises(ArchiveError, match="has no solutions and no front.json beside it"):
        archive_files.read(tmp_path)
