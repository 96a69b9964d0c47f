"""experiments/control.py resumes an interrupted report: a (config, seed) whose run directory finished
is reused as it is; a changed config, a run cut off before its end or before its export runs again."""
import shutil

import pytest

from experiments.control import finished_run, run_or_reuse, study_config

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _overrides(runs_dir, env_steps=25_600):
    # Pendulum-v1, P = 32, 2 episodes of 200 steps: 12,800 env steps a generation -> 2 generations
    return ["seed=3", "backend.name=local", "budget.seconds=null", f"budget.env_steps={env_steps}",
            f"output.runs_dir={runs_dir}", "output.progress=false", "output.tensorboard=false",
            "output.checkpoint_every=1", "output.keep_checkpoints=3", "name=reuse-s3"]


def test_a_finished_run_is_reused_and_nothing_else_is(tmp_path):
    config = study_config("pendulum_pgpe", _overrides(tmp_path))
    first = run_or_reuse(config)
    assert not first["reused"] and first["stop"].startswith("env_steps budget")
    again = run_or_reuse(study_config("pendulum_pgpe", _overrides(tmp_path)))
    assert again["reused"] and again["run_dir"] == first["run_dir"]
    assert (again["rows"], again["best_fitness"], again["wall"], again["stop"]) == \
           (first["rows"], first["best_fitness"], first["wall"], first["stop"])

    # another budget (or seed, or any option) is another config: not this directory
    assert finished_run(study_config("pendulum_pgpe", _overrides(tmp_path, env_steps=38_400))) is None
    assert finished_run(study_config("pendulum_pgpe", [*_overrides(tmp_path), "seed=4"])) is None

    run_dir = tmp_path / first["run_dir"].rsplit("/", 1)[-1]
    cut = tmp_path / "reuse-s3-20000101-000000"     # sorts before: the finished one is found first
    shutil.copytree(run_dir, cut)
    # cut off before the end of the export: best/phenotype.json (written last) is missing
    (run_dir / "best" / "phenotype.json").unlink()
    assert finished_run(config)[0] == cut
    # cut off mid-run: the last checkpoint has not spent the budget
    newest = sorted((cut / "checkpoints").glob("checkpoint-*.pt"))[-1]
    newest.unlink()
    assert finished_run(config) is None
