"""Noisy elites: at the end of a QD run on a stochastic task every archive member is re-evaluated on the same
fresh episodes (the re-evaluation's seed stream), the scores are written beside the search's, and ``best/`` is
the member best on them; a deterministic task's archive is left as the search scored it."""
import csv
import json

import archive_test_parts as parts
import pytest
import torch

from evohyper.config import validate
from evohyper.engine import archive_files
from evohyper.engine.observers.reevaluation import reevaluation_seed


@pytest.fixture(scope="module")
def noisy_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("noisy")
    with pytest.MonkeyPatch.context() as mp:
        parts.register(mp)
        raw = parts.raw_config(tmp, reevaluate={"episodes": 4, "end_share": None})   # the whole archive
        search, result = parts.run(raw, tmp / "run")
        components = validate(raw).components()
        yield tmp / "run", search, components


def _expected(components, solutions, seed, episodes=4):
    """The members' mean returns over ``episodes`` episodes of ``seed``, evaluated here directly."""
    task = parts.DescribedCartPole(episodes=episodes, max_steps=40)
    with torch.no_grad():
        phenotypes = components.decoder.decode(solutions, device="cpu")
        return task.evaluate(phenotypes, seed).fitness.double().mean(1)


def test_every_member_is_reevaluated_on_the_stated_fresh_episodes(noisy_run):
    run_dir, search, components = noisy_run
    blob = torch.load(run_dir / "archive" / "elites.pt", weights_only=True)
    about = blob["reevaluation"]
    assert about["episodes"] == 4 and about["members"] == len(blob["objectives"]) > 3
    # the seed of the re-evaluation stream at the run's last generation, never a generation's seed
    assert about["seed"] == reevaluation_seed(3, 3, True)
    expected = _expected(components, blob["solutions"], about["seed"])
    assert torch.equal(blob["reevaluated"], expected)
    # the search's scores are kept, and on this noisy task some differ from the fresh ones
    assert not torch.equal(blob["objectives"], blob["reevaluated"])
    with (run_dir / "archive" / "archive.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [float(r["reevaluated_objective"]) for r in rows] == expected.tolist()
    assert [float(r["objective"]) for r in rows] == blob["objectives"].tolist()
    # one reevaluation.csv row per member, the chosen one marked
    with (run_dir / "reevaluation.csv").open() as fh:
        logged = [r for r in csv.DictReader(fh) if r["point"] == "archive"]
    assert len(logged) == len(rows) and sum(int(r["chosen"]) for r in logged) == 1


def test_best_is_the_member_best_on_the_reevaluated_objective(noisy_run):
    run_dir, _, _ = noisy_run
    archive = archive_files.read(run_dir / "archive")
    row = int(torch.argmax(archive.reevaluated[:, 0]))
    best = torch.load(run_dir / "best" / "genotype.pt", weights_only=True)
    assert torch.equal(best, archive.genotypes[row])
    summary = json.loads((run_dir / "best" / "phenotype.json").read_text())
    assert summary["reevaluation"]["candidate"] == archive.name(row)
    assert summary["reevaluation"]["mean"] == float(archive.reevaluated[row, 0])
    assert summary["fitness"] == float(archive.objectives[row, 0])   # the search's own score of that member


def test_the_run_report_states_the_reevaluation(noisy_run):
    from evohyper.viz.run_report import write_run_report

    run_dir, _, _ = noisy_run
    report = write_run_report(run_dir).read_text()
    assert "## Quality-diversity archive" in report
    assert "every member re-evaluated on 4 fresh episodes" in report
    assert "![QD score and coverage](archive_curves.png)" in report and (run_dir / "archive_curves.png").is_file()
    assert "![heatmap](archive/heatmap.png)" in report


def test_a_deterministic_task_is_not_reevaluated(tmp_path, monkeypatch):
    raw = parts.raw_config(tmp_path, task={"name": "sphere", "dim": 6, "descriptors": True}, generations=2)
    del raw["network"]
    run_dir = tmp_path / "run"
    parts.run(raw, run_dir)
    blob = torch.load(run_dir / "archive" / "elites.pt", weights_only=True)
    assert "reevaluated" not in blob and "reevaluation" not in blob and len(blob["objectives"]) > 0
    header = (run_dir / "archive" / "archive.csv").read_text().splitlines()[0]
    assert "reevaluated" not in header
    assert not (run_dir / "reevaluation.csv").exists()
    from evohyper.viz.run_report import write_run_report

    assert "not re-evaluated: the task is deterministic" in write_run_report(run_dir).read_text()


def test_a_fronts_members_are_reevaluated_on_every_objective(tmp_path, monkeypatch):
    parts.register_front(monkeypatch)
    raw = parts.front_config(tmp_path, reevaluate={"episodes": 3, "end_share": None})
    run_dir = tmp_path / "run"
    parts.run(raw, run_dir)
    blob = torch.load(run_dir / "archive" / "front.pt", weights_only=True)
    about = blob["reevaluation"]
    assert about["episodes"] == 3 and len(blob["objectives"]) >= 2
    task = parts.TwoObjectiveCartPole(episodes=3, max_steps=60)
    with torch.no_grad():
        phenotypes = validate(raw).components().decoder.decode(blob["solutions"], device="cpu")
        expected = task.evaluate(phenotypes, about["seed"]).fitness.mean(1)   # [F, 2], each in its own direction
    assert torch.equal(blob["reevaluated"], expected)
    header = (run_dir / "archive" / "front.csv").exists()
    assert not header   # this strategy writes no table; the .pt file carries the scores
    archive = archive_files.read(run_dir / "archive", info=validate(raw).components().task.info())
    row = int(torch.argmax(expected[:, 0]))
    assert archive.best() == row
    assert torch.equal(torch.load(run_dir / "best" / "genotype.pt", weights_only=True), blob["solutions"][row])


def test_resuming_the_finished_run_reevaluates_the_same_archive_the_same_way(noisy_run, tmp_path):
    import shutil

    from evohyper.engine.runner import resume

    run_dir = tmp_path / "copy"
    shutil.copytree(noisy_run[0], run_dir)
    before = torch.load(run_dir / "archive" / "elites.pt", weights_only=True)
    best = torch.load(run_dir / "best" / "genotype.pt", weights_only=True)
    resume(run_dir)
    after = torch.load(run_dir / "archive" / "elites.pt", weights_only=True)
    assert torch.equal(after["reevaluated"], before["reevaluated"]) and after["reevaluation"] == before["reevaluation"]
    assert torch.equal(after["solutions"], before["solutions"])
    assert torch.equal(torch.load(run_dir / "best" / "genotype.pt", weights_only=True), best)
    header = (run_dir / "archive" / "archive.csv").read_text().splitlines()[0]
    assert header.count("reevaluated_objective") == 1   # written afresh, not appended twice
