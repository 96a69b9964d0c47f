"""``engine/run_dir.py`` owns a run directory's layout: what a run writes is found there again, by every reader
(resume, show/replay, export, compare, the run report), and there is one ``load_best``."""
import pytest
import torch

from evohyper.config import validate
from evohyper.engine import replay, runner
from evohyper.engine.run_dir import RunDir, load_run_config, new_run_dir
from evohyper.engine.runner import run


def _config(tmp_path, generations=2):
    return validate({"name": "rd", "seed": 1, "task": {"name": "sphere", "dim": 3},
                     "strategy": {"name": "cmaes", "popsize": 6}, "budget": {"generations": generations},
                     "output": {"runs_dir": str(tmp_path / "runs"), "tensorboard": False, "progress": False,
                                "checkpoint_every": 1}})


def test_a_finished_run_is_read_back_through_its_layout(tmp_path):
    config = _config(tmp_path)
    _, path = run(config)
    layout = RunDir.open(path)
    assert layout.config().to_dict() == config.to_dict() == load_run_config(path).to_dict()
    assert layout.raw_config()["name"] == "rd"
    assert layout.metrics.is_file() and layout.errors.parent == path
    assert [p.name for p in layout.checkpoint_files()] == ["checkpoint-000002.pt", "checkpoint-000001.pt"]
    state, newest = layout.latest_checkpoint()
    assert newest == layout.checkpoint_files()[0] and state["counters"]["generation"] == 2
    summary = layout.best_summary()
    assert summary is not None and summary["generations"] == 2
    genotype = layout.best_genotype(strategy=None)    # a vector run: best/genotype.pt, no strategy needed
    assert isinstance(genotype, torch.Tensor) and genotype.shape == (3,)
    assert layout.best_state(None) is None and layout.pictures() == []


def test_one_load_best_for_show_and_export(tmp_path):
    import evohyper.export
    assert evohyper.export.load_best is replay.load_best
    _, path = run(_config(tmp_path))
    best = replay.load_best(path)
    phenotypes, config = best                          # unpacks as export's load_best always returned
    assert phenotypes is best.phenotypes and config["name"] == "rd"


def test_not_a_run_directory_is_one_line_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"is not a run directory \(no config.yaml\)"):
        RunDir.open(tmp_path)
    with pytest.raises(FileNotFoundError, match="no config.yaml"):
        replay.load_best(tmp_path)


def test_a_run_without_best_says_so(tmp_path):
    path = new_run_dir(_config(tmp_path))
    assert RunDir.open(path).best_summary() is None
    with pytest.raises(FileNotFoundError, match="no exported best individual"):
        replay.load_best(path)
    with pytest.raises(FileNotFoundError, match="did the run finish"):
        RunDir(path).best_genotype(strategy=None)


def test_the_runner_still_exports_its_old_names():
    assert runner.CONFIG_FILE == "config.yaml" and runner.new_run_dir is new_run_dir
    assert runner.load_run_config is load_run_config
