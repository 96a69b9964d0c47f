"""Issue 13: configs a fuzzer and a new user wrote. Each must end in a ConfigError naming its key (the CLI's
exit 2, one line), never a traceback, a hang or a run that ignores what it was told."""
import copy
import math
import re

import pytest
import torch
import yaml

from evohyper.config import ConfigError, load_raw, validate

BASE = {"name": "c", "seed": 1, "task": {"name": "sphere", "dim": 5},
        "strategy": {"name": "cmaes", "popsize": 8}, "budget": {"generations": 3}}
XOR = {**BASE, "task": {"name": "xor"}}


def _with(base=BASE, **over):
    raw = copy.deepcopy(base)
    raw.update(over)
    return raw


def _error(raw, read=validate) -> ConfigError:
    """The one-line ConfigError that ``read(raw)`` raises."""
    with pytest.raises(ConfigError) as err:
        read(raw)
    assert "\n" not in str(err.value), str(err.value)
    return err.value


@pytest.mark.parametrize("raw,where,what", [
    # item 11: tracebacks
    (_with(task={"name": {"x": 1}}), "task.name", "expected a name"),
    (_with(strategy={"name": ["cmaes"]}), "strategy.name", "expected a name"),
    (_with(name="a\x00b"), "name", "letters, digits"),
    (_with(name="a" * 300), "name", "at most 100"),
    (_with(backend={"name": "ray", "timeout_s": math.nan}), "backend", "timeout_s must be a finite number"),
    (_with(backend={"name": "ray", "num_cpus_per_actor": math.inf}), "backend", "num_cpus_per_actor must be a finite"),
    (_with(backend={"name": "ray", "device": "nonsense"}), "backend", "torch device"),
    # item 12: hangs
    (_with(budget={"seconds": math.nan}), "budget", "seconds must be a finite number > 0"),
    (_with(budget={"target_fitness": math.nan}), "budget", "target_fitness must be a finite number"),
    (_with(budget={"target_fitness": -math.inf}), "budget", "target_fitness must be a finite number"),
    (_with(description={"a": [1, 2]}), "description", "expected a string"),
    (_with(backend={"name": "ray", "num_cpus": 0}), "backend", r"num_actors \* num_cpus_per_actor = 2 .* num_cpus"),
    (_with(backend={"name": "ray", "num_actors": 1000000, "num_cpus": 4}), "backend", "num_actors"),
    # item 13: accepted although invalid
    (_with(name="../../../x"), "name", "letters, digits"),
    (_with(name="a/b/c"), "name", "letters, digits"),
    (_with(budget={"generations": 0}), "budget", "generations must be an int >= 1"),
    (_with(budget={"evaluations": 0}), "budget", "evaluations must be an int >= 1"),
    (_with(budget={"sample_forwards": -5}), "budget", "sample_forwards must be an int >= 1"),
    (_with(seed=2**63), "seed", r"non-negative int below 2\*\*63"),
    # item 7: neat cannot drive the direct decoder
    (_with(XOR, strategy={"name": "neat"}, decoder={"name": "direct"}), "decoder.name",
     "decoders it can drive: es_hyperneat, hyperneat, neat"),
    # item 2: the network block is checked against the keys the task reads
    (_with(XOR, network={"hiden": [16]}), "network.hiden",
     "unknown key; did you mean .hidden.\\? allowed keys: activation, bias, hidden"),
    (_with(XOR, network={"activaton": "relu"}), "network.activaton", "unknown key"),
    (_with(network={"hidden": [4]}), "network.hidden", "unknown key; allowed keys: [(]none[)]"),
])
def test_bad_config_is_one_config_error_naming_the_key(raw, where, what):
    err = _error(raw)
    assert err.path == where, str(err)
    assert re.search(what, str(err)), str(err)


def test_names_of_shipped_configs_stay_valid():
    assert validate(_with(name="cartpole-snes.v2_1")).name == "cartpole-snes.v2_1"


def test_largest_seed_is_accepted():
    assert validate(_with(seed=2**63 - 1)).seed == 2**63 - 1


# ---------------------------------------------------------------- YAML files (items 11, 12, 13)
def _file(tmp_path, data: bytes | str):
    path = tmp_path / "c.yaml"
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def _load_error(path) -> ConfigError:
    return _error(path, read=load_raw)


def test_binary_and_non_utf8_files_are_config_errors(tmp_path):
    assert "UTF-8" in str(_load_error(_file(tmp_path, b"name: \xff\xfe\x00\x01 x\n")))
    assert "UTF-8" in str(_load_error(_file(tmp_path, bytes(range(256)) * 4)))


def test_nul_byte_in_yaml_is_a_config_error(tmp_path):
    assert "not valid YAML" in str(_load_error(_file(tmp_path, "name: a\x00b\n")))


def test_deep_nesting_is_a_config_error_not_a_recursion_error(tmp_path):
    err = _load_error(_file(tmp_path, "description: " + "[" * 20000 + "]" * 20000 + "\n"))
    assert "nest" in str(err)
    err = _load_error(_file(tmp_path, "task: " + "[" * 200 + "]" * 200 + "\n"))
    assert err.path.startswith("task") and "nested deeper than" in str(err)


def test_yaml_alias_bomb_is_refused_before_it_expands(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
              f"*a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 9)]
    text = "name: bomb\ndescription: &d\n  " + "\n  ".join(lines) + "\n"
    err = _load_error(_file(tmp_path, text))
    assert "expands to more than" in str(err) and "alias" in str(err)


def test_duplicate_yaml_keys_are_refused_with_their_path(tmp_path):
    err = _load_error(_file(tmp_path, "name: a\nstrategy:\n  name: cmaes\n  popsize: 8\n  popsize: 16\n"))
    assert err.path == "strategy.popsize" and "duplicate key" in str(err) and "line 5" in str(err)


def test_merge_keys_and_anchors_still_work(tmp_path):
    text = ("name: m\nbase: &b {name: cmaes, popsize: 8}\n")
    raw = load_raw(_file(tmp_path, text + "strategy: {<<: *b, popsize: 16}\n"))
    assert raw["strategy"] == {"name": "cmaes", "popsize": 16}


def test_oversized_file_is_refused(tmp_path):
    err = _load_error(_file(tmp_path, "description: '" + "x" * (11 * 2**20) + "'\n"))
    assert "larger than" in str(err)


# ---------------------------------------------------------------- devices (items 11, 14)
@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
def test_cuda_device_without_cuda_is_a_config_error():
    err = _error(_with(backend={"name": "local", "device": "cuda"}))
    assert err.path == "backend" and "no CUDA device" in str(err)


def test_cuda_on_ray_actors_needs_gpus_per_actor():
    err = _error(_with(backend={"name": "ray", "device": "cuda", "address": "auto"}))
    assert err.path == "backend" and "num_gpus_per_actor > 0" in str(err)


# ---------------------------------------------------------------- weights file (item 15)
def test_decoder_weights_that_are_not_a_safe_weights_file(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    bad = tmp_path / "w.pt"
    torch.save({"x": Evil()}, bad)
    raw = _with(task={"name": "digits"}, strategy={"name": "cmaes", "popsize": 4},
                decoder={"name": "hypergan", "noise": 4, "code": 4, "hidden": 8, "weights": str(bad)})
    err = _error(raw)
    assert err.path == "decoder.weights" and "not a safe weights file" in str(err)
    garbage = tmp_path / "g.pt"
    garbage.write_bytes(b"\x00garbage" * 10)
    err = _error({**raw, "decoder": {**raw["decoder"], "weights": str(garbage)}})
    assert err.path == "decoder.weights" and "not a safe weights file" in str(err)


# ---------------------------------------------------------------- memory (item 11)
def test_population_that_cannot_fit_in_memory_is_refused_before_start():
    err = _error(_with(strategy={"name": "cmaes", "popsize": 10**12}))
    assert err.path == "strategy.popsize" and "memory" in str(err)
    err = _error(_with(strategy={"name": "snes", "popsize": 10**12}))
    assert err.path == "strategy.popsize" and "memory" in str(err)


def test_network_that_cannot_fit_in_memory_is_refused_before_start():
    err = _error(_with(XOR, network={"hidden": [10**6, 10**6]}, strategy={"name": "snes"}))
    assert err.path == "network" and "memory" in str(err)


def test_full_covariance_cmaes_on_a_huge_genome_suggests_diagonal():
    err = _error(_with(task={"name": "sphere", "dim": 3 * 10**5}, strategy={"name": "cmaes", "popsize": 4}))
    assert err.path == "strategy" and "diagonal: true" in str(err)
    assert validate(_with(task={"name": "sphere", "dim": 3 * 10**5},
                          strategy={"name": "cmaes", "popsize": 4, "diagonal": True}))


# ---------------------------------------------------------------- run directory (item 11)
def test_runs_dir_under_a_file_is_a_config_error(tmp_path):
    (tmp_path / "f").write_text("x")
    err = _error(_with(output={"runs_dir": str(tmp_path / "f" / "runs")}))
    assert err.path == "output" and "not a directory" in str(err)


def test_runs_dir_that_cannot_be_created_is_a_config_error(tmp_path):
    from evohyper.engine.runner import new_run_dir
    config = validate(_with(output={"runs_dir": "/proc/evohyper-runs"}))
    with pytest.raises(ConfigError) as err:
        new_run_dir(config)
    assert err.value.path == "output.runs_dir" and "cannot create" in str(err.value)


# ---------------------------------------------------------------- resolved config.yaml (item 4)
def test_resolved_config_lists_every_option_of_every_component():
    raw = _with(task={"name": "digits"}, strategy={"name": "gradient"}, decoder={"name": "direct"},
                network={"hidden": [8]})
    out = validate(raw).to_dict()
    assert {"optimizer", "lr", "batch_size", "steps_per_generation", "clip_grad_norm"} <= set(out["strategy"])
    assert {"fitness", "eval_batch"} <= set(out["task"])
    cm = validate(BASE).to_dict()["strategy"]
    assert {"active", "diagonal", "x0", "sigma0"} <= set(cm) and cm["popsize"] == 8
    yaml.safe_dump(out)   # plain YAML data


def test_run_directory_config_yaml_holds_the_resolved_options(tmp_path):
    from evohyper.engine.runner import run
    config = validate(_with(budget={"generations": 1},
                            output={"runs_dir": str(tmp_path), "tensorboard": False, "progress": False}))
    _, run_dir = run(config)
    written = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert written["task"] == {"name": "sphere", "dim": 5, "shift": 0.5, "descriptors": False, "objectives": 1}
    assert written["strategy"] == {"name": "cmaes", "popsize": 8, "sigma0": 0.5, "x0": 0.0, "diagonal": False,
                                   "active": True, "restarts": 0, "restart_popsize_factor": 2.0, "restart_stall": 0}
    assert written == yaml.safe_load(yaml.safe_dump(config.to_dict()))


def test_resolved_config_validates_to_itself():
    cfg = validate(_with(strategy={"name": "ga", "popsize": 6}))
    again = validate(yaml.safe_load(yaml.safe_dump(cfg.to_dict())))
    assert again.to_dict() == cfg.to_dict()


def test_every_shipped_config_resolves_to_a_config_that_validates_to_itself():
    from pathlib import Path

    from evohyper.config import load_config
    from evohyper.engine.run_dir import _strip_resolved
    for f in sorted(Path(__file__).resolve().parents[2].joinpath("search_spaces").glob("*.yaml")):
        raw = yaml.safe_load(f.read_text())
        if "tune" in raw or "runs" in raw:
            continue
        resolved = load_config(f).to_dict()
        assert validate(_strip_resolved(yaml.safe_load(yaml.safe_dump(resolved)))).to_dict() == resolved, f.name


def test_runs_dir_with_a_name_too_long_for_the_file_system_is_a_config_error():
    err = _error(_with(output={"runs_dir": "r" * 300}))
    assert err.path == "output" and "not a usable directory path" in str(err)


def test_a_file_option_the_file_system_cannot_open_is_a_config_error():
    raw = _with(task={"name": "digits"}, decoder={"name": "hypergan", "weights": "w" * 300})
    err = _error(raw)
    assert err.path == "decoder" and "cannot read" in str(err) and "File name too long" in str(err)


def test_cmaes_population_beyond_what_cma_can_build_quickly_is_refused():
    err = _error(_with(strategy={"name": "cmaes", "popsize": 8_000_000}))
    assert err.path == "strategy.popsize" and "100000" in str(err)
