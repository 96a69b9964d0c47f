"""Built-in tasks are found by name through the entry-point group, declare their options the way the
config validator reads them, and run end to end through the engine's Evaluator."""
import inspect
import typing

import pytest
import torch

from evohyper.api import registry
from evohyper.config import ComponentsSpec
from evohyper.engine.evaluation import Evaluator
from evohyper.testing._strategy_contract import validator_understands
from evohyper_tasks.cartpole import CartPoleTask
from evohyper_tasks.digits import DigitsTask
from evohyper_tasks.gym import GymTask
from evohyper_tasks.sphere import SphereTask
from evohyper_tasks.xor import XorTask

BUILTINS = {"xor": XorTask, "sphere": SphereTask, "digits": DigitsTask, "cartpole": CartPoleTask, "gym": GymTask}


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_registered_under_its_name(name):
    assert registry.tasks.get(name) is BUILTINS[name]
    entry = next(e for e in registry.tasks.entries() if e.name == name)
    assert entry.description and len(entry.description) <= 100, entry.description  # one line for `evohyper list`
    assert entry.description == inspect.getdoc(BUILTINS[name]).splitlines()[0]


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_options_are_annotated_with_defaults(name):
    cls = BUILTINS[name]
    hints = typing.get_type_hints(cls.__init__)
    params = [p for p in inspect.signature(cls.__init__).parameters.values() if p.name != "self"]
    for p in params:
        assert p.kind is p.POSITIONAL_OR_KEYWORD, f"{name}.{p.name} must be a plain keyword option"
        assert p.default is not p.empty, f"option {name}.{p.name} needs a default"
        assert validator_understands(hints[p.name]), f"option {name}.{p.name} has annotation {hints[p.name]!r}"
    cls()  # the defaults are valid


def test_digits_fitness_option_is_a_literal():
    hint = typing.get_type_hints(DigitsTask.__init__)["fitness"]
    assert typing.get_origin(hint) is typing.Literal
    assert set(typing.get_args(hint)) == {"accuracy", "neg_cross_entropy"}


@pytest.mark.parametrize(("task", "network"), [
    ({"name": "xor"}, {}),
    ({"name": "sphere", "dim": 5}, {}),
    ({"name": "digits", "eval_batch": 32}, {"hidden": [8]}),
    ({"name": "cartpole", "episodes": 2}, {"hidden": []}),
])
def test_runs_through_the_evaluator(task, network):
    evaluator = Evaluator(ComponentsSpec(task=task, decoder={"name": "direct"}, network=network))
    n = evaluator.decoder.genome_size
    genotypes = torch.randn(6, n, generator=torch.Generator().manual_seed(0))
    result = evaluator.evaluate(genotypes, seed=3)
    assert result.fitness.shape == (6,) and bool(torch.isfinite(result.fitness).all())
    assert result.errors == 0 and result.sample_forwards >= 6
    chunks = [evaluator.evaluate(genotypes[:2], seed=3), evaluator.evaluate(genotypes[2:], seed=3)]
    assert torch.allclose(torch.cat([c.fitness for c in chunks]), result.fitness, rtol=1e-5, atol=1e-6)
