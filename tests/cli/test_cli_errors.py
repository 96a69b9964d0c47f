"""Issue 13: what the CLI prints and returns when a config is refused or a run cannot go on."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from evohyper import cli

CLI = [sys.executable, "-m", "evohyper.cli"]
ENGINE_TESTS = Path(__file__).resolve().parents[1] / "engine"


def _config(tmp_path, **over):
    cfg = {"name": "e", "seed": 1, "task": {"name": "xor"}, "strategy": {"name": "cmaes", "popsize": 8},
           "budget": {"generations": 2},
           "output": {"runs_dir": str(tmp_path / "runs"), "tensorboard": False, "progress": False}}
    cfg.update(over)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _cli(*args, **kw):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ENGINE_TESTS), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=120, **kw)


def _one_config_error_line(capsys, args, starts):
    """In process: exit 2 and one `config error:` line (the fuzz test runs a sample in real processes)."""
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"config error: {starts}"), err
    return err


def test_neat_with_the_direct_decoder_is_refused_in_one_line(tmp_path, capsys):
    err = _one_config_error_line(capsys, ["run", str(_config(tmp_path, strategy={"name": "neat", "popsize": 10}))],
                                 "decoder.name: decoder 'direct' decodes 'vector' genotypes")
    assert "decoders it can drive: es_hyperneat, hyperneat, neat" in err
    assert not (tmp_path / "runs").exists()


def test_binary_config_file_is_refused_in_one_line(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_bytes(bytes(range(256)))
    _one_config_error_line(capsys, ["run", str(path)], str(path))


def test_yaml_syntax_error_is_one_line(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("name: [unclosed\nstrategy: {")
    _one_config_error_line(capsys, ["run", str(path)], str(path))


def test_check_validates_without_running(tmp_path, capsys):
    assert cli.main(["run", "--check", str(_config(tmp_path))]) == 0
    assert "config OK" in capsys.readouterr().out
    assert not (tmp_path / "runs").exists()


def test_lenient_run_where_everything_fails_exits_1_with_the_exception(tmp_path):
    cfg = _config(tmp_path, plugins=["engine_tasks"], task={"name": "test-always-raise"},
                  strategy={"name": "random", "popsize": 4}, evaluation={"on_error": "lenient"})
    proc = _cli("run", str(cfg))
    assert proc.returncode == 1, proc.stderr
    assert "every one of the 4 evaluations of generation 1 raised" in proc.stderr
    assert "ValueError: broken simulator for 1 individuals" in proc.stderr and "Traceback" in proc.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert (run_dir / "errors.log").read_text().count("ValueError: broken simulator") == 4


@pytest.mark.parametrize("error", ["EvaluationTimeout", "BackendError"])
def test_backend_errors_are_one_line_and_exit_1(tmp_path, monkeypatch, capsys, error):
    from evohyper.engine import runner
    from evohyper.engine.backends.ray import pool

    def fail(config, run_dir=None):
        raise getattr(pool, error)("chunk 0 (individuals 0..3 of 8) returned no result within timeout_s=1s; "
                                   "gave up after 4 attempts")

    monkeypatch.setattr(runner, "run", fail)
    assert cli.main(["run", str(_config(tmp_path))]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: chunk 0") and len(err.strip().splitlines()) == 1


def test_a_reader_that_goes_away_is_no_traceback():
    """`evohyper describe --all | head -1`: the pipe closes early; no traceback, exit 1 (as for EPIPE)."""
    read, write = os.pipe()
    os.close(read)                                   # every write to stdout now fails with EPIPE
    try:
        proc = subprocess.run([*CLI, "describe", "--all"], stdout=write, stderr=subprocess.PIPE, text=True,
                              timeout=120)
    finally:
        os.close(write)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, \
        proc.stderr[-2000:]
