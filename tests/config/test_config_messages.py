"""Issue 21 item 12: config error messages a user reads: plurals, "did you mean", one name per component."""
from __future__ import annotations

import copy

import pytest

from evohyper.api import registry
from evohyper.api.task import NotDifferentiableError
from evohyper.config import ConfigError, validate
from evohyper.config.build import ComponentsSpec, build

BASE = {"name": "m", "task": {"name": "sphere", "dim": 3}, "strategy": {"name": "snes", "popsize": 4},
        "budget": {"generations": 1}}
XOR = {**BASE, "task": {"name": "xor"}}


def _error(raw) -> str:
    with pytest.raises(ConfigError) as err:
        validate(copy.deepcopy(raw))
    text = str(err.value)
    assert "\n" not in text
    return text


@pytest.mark.parametrize("kind", ["strategy", "task", "decoder"])
def test_plurals_are_english(kind):
    text = _error({**BASE, kind: {"nam": "x"}})
    assert "strategys" not in text and "strategies" in text or kind != "strategy", text
    reg = {"task": registry.tasks, "strategy": registry.strategies, "decoder": registry.decoders}[kind]
    with pytest.raises(registry.UnknownComponentError) as err:
        reg.get("nonexistent")
    assert "strategys" not in str(err.value)
    assert reg.plural in str(err.value)
    assert registry.strategies.plural == "strategies" and registry.tasks.plural == "tasks"


@pytest.mark.parametrize("raw,where,suggestion", [
    ({**BASE, "strategy": {"name": "snes", "popsze": 4}}, "strategy.popsze", "popsize"),
    ({**BASE, "task": {"name": "sphere", "dimm": 3}}, "task.dimm", "dim"),
    ({**BASE, "budgt": {"generations": 1}}, "budgt", "budget"),
    ({**BASE, "output": {"checkpoint_evry": 3}}, "output.checkpoint_evry", "checkpoint_every"),
    ({**BASE, "strategy": {"name": "snse"}}, "strategy.name", "snes"),
    ({**BASE, "task": {"name": "spere"}}, "task.name", "sphere"),
    ({**XOR, "network": {"hiden": [3]}}, "network.hiden", "hidden"),
])
def test_an_unknown_key_or_name_gets_a_did_you_mean(raw, where, suggestion):
    text = _error(raw)
    assert text.startswith(where + ":"), text
    assert f"did you mean {suggestion!r}?" in text, text


def test_no_suggestion_when_nothing_is_close():
    text = _error({**BASE, "strategy": {"name": "snes", "zzzzqqq": 4}})
    assert "did you mean" not in text and "allowed keys" in text, text


def test_a_task_is_named_by_its_registered_name_everywhere():
    """The build's refusal, the network-key error and the task's own errors all say 'cartpole' (the name a
    config uses), never its class name."""
    cartpole = {**BASE, "task": {"name": "cartpole"}}
    cls_name = registry.tasks.get("cartpole").__name__
    texts = [_error({**cartpole, "strategy": {"name": "gradient"}}), _error({**cartpole, "network": {"zzzz": 1}})]
    task = build(ComponentsSpec(task={"name": "cartpole"}, decoder={"name": "direct"})).task
    for call in (lambda: task.loss(None, None), lambda: task.train_batches(4, 0)):
        with pytest.raises(NotDifferentiableError) as err:
            call()
        texts.append(str(err.value))
    for text in texts:
        assert "'cartpole'" in text, text
        assert cls_name not in text, text
    sphere = build(ComponentsSpec(task={"name": "sphere"}, decoder={"name": "direct"})).task
    with pytest.raises(NotImplementedError) as err:
        sphere.replay(None, 0, 1)
    assert "'sphere'" in str(err.value) and type(sphere).__name__ not in str(err.value), str(err.value)
