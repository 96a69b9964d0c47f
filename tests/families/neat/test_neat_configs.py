"""neat-python's own example INI files run unmodified with strategy `neat` + decoder `neat` on the matching
task; explicit options override INI items; wrong pairings and mismatches are config errors before the run."""
from pathlib import Path

import pytest

from evohyper.cli import main
from evohyper.config import ConfigError, apply_overrides, validate
from evohyper.engine.runner import build_search

ROOT = Path(__file__).resolve().parents[3]
INI = ROOT / "search_spaces" / "neat_python"
OUT = {"tensorboard": False, "progress": False}

#: example INI -> the evohyper task it matches (gym episodes cut short to keep the test fast)
EXAMPLES = {
    "xor-config-feedforward": {"name": "xor"},
    "xor-config-feedforward-partial": {"name": "xor"},
    "single-pole-balancing-config-feedforward": {"name": "cartpole", "episodes": 2, "max_steps": 50,
                                                 "action_threshold": 0.5},
    "lunar-lander-config-feedforward": {"name": "gym", "env": "LunarLander-v3", "max_steps": 20},
    "bipedal-walker-config-feedforward": {"name": "gym", "env": "BipedalWalker-v3", "max_steps": 20},
    "hopper-config-feedforward": {"name": "gym", "env": "Hopper-v5", "max_steps": 20},
    "inverted-double-pendulum-config-feedforward": {"name": "gym", "env": "InvertedDoublePendulum-v5", "max_steps": 20},
    # no evohyper task matches these two (a memory task; a complexity reward): any 3-input, 1-output task runs them
    "memory-variable-config": {"name": "gym", "env": "Pendulum-v1", "max_steps": 20},
    "parallel-reproducible-config-parallel": {"name": "gym", "env": "Pendulum-v1", "max_steps": 20},
}
RECURRENT = {"memory-variable-config"}


def raw_config(ini, task, decoder=None, **strategy):
    return {"name": "neat-ini", "seed": 1, "task": task, "decoder": decoder or {"name": "neat"},
            "strategy": {"name": "neat", "neat_config": str(INI / ini), **strategy},
            "budget": {"generations": 2}, "backend": {"name": "local"}, "output": OUT}


@pytest.mark.parametrize("ini", list(EXAMPLES))
def test_every_neat_python_example_runs_unmodified(ini):
    decoder = {"name": "neat", "recurrent": ini in RECURRENT}
    config = validate(apply_overrides(raw_config(ini, EXAMPLES[ini], decoder), ["strategy.popsize=40"]))
    search = build_search(config, None)
    strategy = search.strategy
    text = (INI / ini).read_text()
    assert strategy.popsize == 40 and "pop_size = 40" in strategy.ini_text    # --set overrides the INI item
    gc = strategy.config.genome_config
    assert gc.feed_forward == (ini not in RECURRENT) and f"{gc.activation_default}" in text   # the rest is the file's
    for _ in range(2):
        record = search.step()
        assert record.evaluations > 0 and record.best == record.best    # finite
    search.backend.close()


def test_an_ini_with_functions_neat_python_cannot_batch_is_a_config_error():
    """memory-fixed registers its own my_sinc_function / my_l2norm_function in Python: no batched version."""
    with pytest.raises(ConfigError, match="my_sinc_function"):
        validate(raw_config("memory-fixed-config", {"name": "xor"}, {"name": "neat", "recurrent": True}))


def test_an_explicit_option_replaces_the_ini_item_and_nothing_else():
    config = validate(raw_config("xor-config-feedforward", {"name": "xor"}, node_add_prob=0.5, weight_max=4.0))
    s = config.components().strategy
    gc = s.config.genome_config
    assert gc.node_add_prob == 0.5 and gc.weight_max_value == 4.0 and gc.weight_min_value == -4.0
    assert gc.conn_add_prob == 0.5 and s.popsize == 150            # from the file
    assert s.config.no_fitness_termination and s.config.seed is None


@pytest.mark.parametrize("raw, key, match", [
    (raw_config("xor-config-feedforward", {"name": "cartpole"}), "strategy",
     r"num_inputs=2, num_outputs=1; the decoder needs num_inputs=4, num_outputs=1"),
    (raw_config("memory-variable-config", {"name": "gym", "env": "Pendulum-v1"}), "strategy",
     "feed_forward = False, the decoder runs feed_forward = True"),
    (raw_config("xor-config-feedforward", {"name": "xor"}, {"name": "direct"}), "decoder.name",
     "decoders it can drive: es_hyperneat, hyperneat, neat"),
    ({**raw_config("xor-config-feedforward", {"name": "xor"}), "strategy": {"name": "cmaes"}}, "decoder.name",
     "decoder 'neat' decodes 'neat' genotypes"),
    (raw_config("xor-config-feedforward", {"name": "digits"}, {"name": "neat", "recurrent": "yes"}),
     "decoder.recurrent", "got 'yes', expected bool"),
    ({**raw_config("xor-config-feedforward", {"name": "digits"}), "network": {"type": "conv"}}, "decoder", "ConvSpec"),
    (raw_config("xor-config-feedforward", {"name": "digits"}, {"name": "neat"}, popsize=1), "strategy.popsize",
     r"^strategy\.popsize: 1; allowed: an integer in \[2, 1000000\]$"),
])
def test_misuse_is_a_config_error_naming_the_problem(raw, key, match):
    with pytest.raises(ConfigError, match=match) as info:
        validate(raw)
    assert str(info.value).startswith(key)


def test_cli_reports_a_mismatch_in_one_line_with_exit_code_2(tmp_path, capsys):
    import yaml

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw_config("xor-config-feedforward", {"name": "cartpole"})))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "num_inputs=2" in err and "num_inputs=4" in err and "Traceback" not in err
