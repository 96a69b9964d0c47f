"""The one option-check toolkit (issue 25): one line naming the key path, the value and what is allowed, the same
whether a component is built in Python or from a config, and located at that key by the build."""
from __future__ import annotations

import math
import pickle

import pytest

from evohyper.api.checks import Checks, OptionError
from evohyper.config import ConfigError
from evohyper.config.validate import load_config

strategy = Checks("strategy")


@pytest.mark.parametrize(("call", "message"), [
    (lambda: strategy.integer("popsize", 1, 2), "strategy.popsize: 1; allowed: an integer >= 2"),
    (lambda: strategy.integer("popsize", True, 2), "strategy.popsize: True; allowed: an integer >= 2"),
    (lambda: strategy.integer("k", 7, 1, 6, optional=True), "strategy.k: 7; allowed: an integer in [1, 6] or null"),
    (lambda: strategy.real("lr", math.nan, 0.0, 1.0, low_open=True),
     "strategy.lr: nan; allowed: a finite number in (0, 1]"),
    (lambda: strategy.boolean("symmetric", "yes"), "strategy.symmetric: 'yes'; allowed: true or false"),
    (lambda: strategy.one_of("optimizer", "adamw", ("adam", "sgd")),
     "strategy.optimizer: 'adamw'; allowed: one of 'adam', 'sgd'"),
    (lambda: strategy.one_of("flag", True, (1, 2)), "strategy.flag: True; allowed: one of 1, 2"),
    (lambda: Checks("network").sizes("hidden", [4, 0]),
     "network.hidden: [4, 0]; allowed: a list of at most 64 integers >= 1"),
    (lambda: Checks("network").keys({"hiden": [4]}, ("hidden", "bias")),
     "network.hiden: unknown key; allowed keys: hidden, bias"),
    (lambda: Checks("decoder").at("cppn").size("hidden", 0), "decoder.cppn.hidden: 0; allowed: an integer >= 1"),
])
def test_a_refusal_is_one_line_naming_path_value_and_allowed(call, message):
    with pytest.raises(OptionError) as err:
        call()
    assert str(err.value) == message and "\n" not in message
    assert isinstance(err.value, ValueError)


def test_accepted_values_come_back_as_their_type():
    assert strategy.integer("n", 3, 1) == 3 and strategy.real("x", 2, 0.0) == 2.0
    assert strategy.integer("n", None, 1, optional=True) is None
    assert Checks("network").sizes("hidden", (4, 2)) == [4, 2]


def test_a_long_value_is_cut_in_the_message():
    with pytest.raises(OptionError) as err:
        Checks("network").sizes("hidden", [0] * 200)
    assert len(str(err.value)) < 200 and "..." in str(err.value)


def test_an_option_error_crosses_processes_whole():
    err = OptionError("task.episodes", "0; allowed: an integer in [1, 1000]")
    again = pickle.loads(pickle.dumps(err))
    assert (again.path, again.detail, str(again)) == (err.path, err.detail, str(err))


def test_the_build_reports_a_refusal_at_its_key_with_the_same_text():
    with pytest.raises(ConfigError) as err:
        load_config("search_spaces/cartpole_snes.yaml", ["task.episodes=0"])
    assert err.value.path == "task.episodes"
    assert str(err.value) == "task.episodes: 0; allowed: an integer in [1, 1000]"
