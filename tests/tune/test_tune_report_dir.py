"""Issue 21, item 10: `evohyper tune` writes its report into the experiment directory by default (run from a
checkout, it used to overwrite the committed reports/tune_<name>.md); `--report-dir` still chooses."""
from types import SimpleNamespace

import pytest
import yaml

from evohyper import cli
from evohyper.tune.driver import TuneOutcome

RAW = {"name": "tiny-tune", "task": {"name": "sphere", "dim": 3}, "strategy": {"name": "snes", "popsize": 4},
       "budget": {"generations": 2}, "tune": {"params": {"strategy.popsize": {"choice": [4, 8]}}}}


@pytest.fixture
def fake_tune(tmp_path, monkeypatch):
    """The meta-search itself is replaced by a finished one with no trials (the Ray Tune runs are tested in
    test_tune.py); this test is about where the CLI puts the report."""
    exp = tmp_path / "tune_runs" / "tiny-tune-20260101-000000"
    exp.mkdir(parents=True)
    outcome = TuneOutcome(experiment_dir=exp, results=[], raw=RAW, spec=SimpleNamespace(metric="best_so_far"),
                          mode="max")
    monkeypatch.setattr("evohyper.tune.run_tune", lambda raw, **kw: outcome)
    monkeypatch.setattr("evohyper.tune.resume_tune", lambda path, **kw: outcome)
    work = tmp_path / "checkout"
    (work / "reports").mkdir(parents=True)
    monkeypatch.chdir(work)
    (work / "c.yaml").write_text(yaml.safe_dump(RAW))
    return exp, work


@pytest.mark.parametrize("resume", [False, True], ids=["run", "resume"])
def test_report_goes_into_the_experiment_directory_by_default(fake_tune, capsys, resume):
    exp, work = fake_tune
    args = ["tune", "--resume", str(exp)] if resume else ["tune", "c.yaml"]
    assert cli.main(args) == 0
    assert (exp / "tune_tiny_tune.md").is_file()
    assert list((work / "reports").iterdir()) == []           # the current directory's reports/ untouched
    assert f"report: {exp / 'tune_tiny_tune.md'}" in capsys.readouterr().out


def test_report_dir_still_chooses(fake_tune, tmp_path):
    exp, work = fake_tune
    assert cli.main(["tune", "c.yaml", "--report-dir", str(tmp_path / "elsewhere")]) == 0
    assert (tmp_path / "elsewhere" / "tune_tiny_tune.md").is_file()
    assert not (exp / "tune_tiny_tune.md").exists()
