import subprocess
import sys

import pytest
import yaml

from evohyper.config import ConfigError, apply_overrides, load_config, validate

BASE = {"name": "c", "seed": 1, "task": {"name": "sphere", "dim": 5},
        "strategy": {"name": "cmaes", "popsize": 8}, "budget": {"generations": 3}}


def _with(path, value):
    return apply_overrides(BASE, [f"{path}={yaml.safe_dump(value, default_flow_style=True).strip()}"])


@pytest.mark.parametrize("raw,where,what", [
    ({**BASE, "strategee": {}}, "strategee", "unknown key"),
    (_with("strategy.popsiz", 8), "strategy.popsiz", "unknown key; did you mean .popsize.\\? allowed keys:.*popsize"),
    (_with("strategy.popsize", "many"), "strategy.popsize", "got 'many', expected"),
    (_with("budget.generations", 2.5), "budget.generations", "got 2.5, expected int or null"),
    (_with("backend.name", "slurm"), "backend.name", "got 'slurm', expected one of 'local', 'ray'"),
    (_with("evaluation.on_error", "ignore"), "evaluation.on_error", "one of 'strict', 'lenient'"),
    (_with("task.name", "no-such-task"), "task.name", "unknown task 'no-such-task'; available:.*sphere"),
    (_with("strategy.name", "no-such"), "strategy.name", "unknown strategy"),
    ({k: v for k, v in BASE.items() if k != "budget"}, "budget", "missing required key"),
    (_with("budget", {}), "budget", "at least one"),
    (_with("seed", -1), "seed", "non-negative"),
    (_with("backend.num_actors", 0), "backend", "num_actors must be >= 1, got 0"),
    (_with("network.hidden", [4]), "network.hidden", "allowed keys: [(]none[)]"),   # sphere takes no network options
])
def test_bad_config_names_key_value_and_allowed(raw, where, what):
    with pytest.raises(ConfigError) as err:
        validate(raw)
    assert err.value.path == where
    assert __import__("re").search(what, str(err.value)), str(err.value)


def test_valid_config_fills_defaults():
    cfg = validate(BASE)
    assert cfg.decoder == {"name": "direct"}
    assert cfg.backend.name == "local" and cfg.evaluation.on_error == "strict"
    assert cfg.to_dict()["budget"]["generations"] == 3


def test_overrides_parse_yaml_scalars_and_nest():
    raw = apply_overrides(BASE, ["strategy.popsize=32", "backend.name=ray", "budget.seconds=1.5"])
    assert raw["strategy"]["popsize"] == 32 and raw["backend"]["name"] == "ray"
    assert raw["budget"]["seconds"] == 1.5
    assert BASE["strategy"]["popsize"] == 8          # the original is untouched


def test_every_shipped_search_space_validates():
    from pathlib import Path
    files = sorted(Path(__file__).resolve().parents[2].joinpath("search_spaces").glob("*.yaml"))
    assert files
    for f in files:
        raw = yaml.safe_load(f.read_text())
        if "tune" in raw:   # meta-search files are checked by the tune tests
            continue
        if "runs" in raw:   # compare specs: every listed config is validated by load_spec
            from evohyper.viz.compare import load_spec
            load_spec(f)
            continue
        load_config(f)


def test_cli_config_error_exit_code_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(_with("strategy.popsize", -4)))
    proc = subprocess.run([sys.executable, "-m", "evohyper.cli", "run", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "strategy" in proc.stderr and "popsize" in proc.stderr and "-4" in proc.stderr
    assert not (tmp_path / "runs").exists()   # nothing started


def test_plugins_are_imported_before_names_are_resolved(tmp_path, monkeypatch):
    from pathlib import Path
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "engine"))
    raw = {**BASE, "plugins": ["plugin_tasks"], "task": {"name": "plugin-quadratic", "dim": 2}}
    assert validate(raw).plugins == ["plugin_tasks"]
    with pytest.raises(ConfigError) as err:
        validate({**BASE, "plugins": ["no_such_module_xyz"]})
    assert err.value.path == "plugins" and "no_such_module_xyz" in str(err.value)
