"""Every registered strategy, built-in or plug-in, must pass the same contract (evosax-style).

Parametrised over ``registry.strategies.names()``, so a newly registered strategy is tested for free.
"""
import inspect
import io
import random
import types
import typing

import numpy as np
import pytest
import torch

from evohyper.api.phenotypes import MLPSpec
from evohyper.api.strategy import Strategy, TrainingStrategy
from evohyper.decoders import DirectDecoder
from evohyper.api.registry import strategies

# Strategies over flat real vectors; others (NEAT genomes, gradient training) have their own suites.
NAMES = [n for n in strategies.names() if strategies.get(n).genotype_kind == "vector"
         and not issubclass(strategies.get(n), TrainingStrategy)]
D = 10


def sphere(x: torch.Tensor) -> torch.Tensor:
    """Maximum 0 at x = 0.5; higher is better."""
    return -((x.double() - 0.5) ** 2).sum(1)


XOR_DECODER = DirectDecoder(MLPSpec([2, 4, 1]))
XOR_X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = torch.tensor([0.0, 1.0, 1.0, 0.0])


def xor(genotypes: torch.Tensor) -> torch.Tensor:
    """-MSE of the whole population's 2-4-1 MLPs on XOR, in one batched forward."""
    out = XOR_DECODER.decode(genotypes).forward(XOR_X)[..., 0]  # [P, 4]
    return -((out - XOR_Y) ** 2).mean(1).double()


def make(name: str, genome_size: int = D, seed: int = 0, **options) -> Strategy:
    return strategies.get(name)(genome_size, seed, **options)


def run(strategy: Strategy, fitness_fn, generations: int, between=None) -> list[torch.Tensor]:
    asked = []
    for _ in range(generations):
        x = strategy.ask()
        asked.append(x.clone())
        strategy.tell(fitness_fn(x))
        if between is not None:
            between()
    return asked


# ------------------------------------------------------------------------------------ contract
@pytest.mark.parametrize("name", NAMES)
def test_signature_is_a_valid_config_schema(name):
    cls = strategies.get(name)
    assert issubclass(cls, Strategy)
    assert (inspect.getdoc(cls) or "").strip(), "first docstring line is the `evohyper list` description"
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [p.name for p in params[:2]] == ["genome_size", "seed"]
    hints = typing.get_type_hints(cls.__init__)
    scalar = {int, float, bool, str}
    for p in params[2:]:
        assert p.kind is p.KEYWORD_ONLY, f"{name}.{p.name} must be keyword-only"
        assert p.default is not p.empty, f"{name}.{p.name} needs a default"
        hint = hints[p.name]
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        ok = (hint in scalar or origin is typing.Literal
              or (origin in (typing.Union, types.UnionType) and set(args) - {type(None)} <= scalar)
              or (origin is list and args in ((float,), (int,))))
        assert ok, f"{name}.{p.name}: annotation {hint!r} is not one the config validator understands"


@pytest.mark.parametrize("name", NAMES)
def test_asks_float32_population_of_popsize(name):
    s = make(name)
    x = s.ask()
    assert isinstance(x, torch.Tensor) and x.dtype == torch.float32
    assert x.shape == (s.popsize, D) and torch.isfinite(x).all()


# ------------------------------------------------------------------------------------ (a), (b) it optimises
@pytest.mark.parametrize("name", NAMES)
def test_improves_on_sphere(name):
    s = make(name)
    asked = run(s, sphere, 40)
    first_error = -float(sphere(asked[0]).max())
    assert -s.best_fitness <= 0.5 * first_error, f"error {-s.best_fitness:.4g} vs first {first_error:.4g}"


@pytest.mark.parametrize("name", NAMES)
def test_improves_on_xor_neuroevolution(name):
    s = make(name, genome_size=XOR_DECODER.genome_size)
    asked = run(s, xor, 80)
    first_error = -float(xor(asked[0]).max())
    assert -s.best_fitness <= 0.9 * first_error, f"MSE {-s.best_fitness:.4g} vs first {first_error:.4g}"


# ------------------------------------------------------------------------------------ (c) determinism
@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_run_other_seed_other_run(name):
    a, b, c = run(make(name, seed=3), sphere, 3), run(make(name, seed=3), sphere, 3), run(make(name, seed=4), sphere, 3)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[0], c[0])


# ------------------------------------------------------------------------------------ (d) checkpoint replay
@pytest.mark.parametrize("name", NAMES)
def test_state_dict_replay_continues_bit_identically(name):
    s = make(name, seed=5)
    run(s, sphere, 4)
    buf = io.BytesIO()
    torch.save(s.state_dict(), buf)  # what a checkpoint stores must load without executing code
    buf.seek(0)
    state = torch.load(buf, weights_only=True)
    resumed = make(name, seed=5)
    resumed.load_state_dict(state)
    assert resumed.generation == s.generation == 4
    assert resumed.best_fitness == s.best_fitness
    x, y = s.ask(), resumed.ask()
    assert torch.equal(x, y)
    s.tell(sphere(x)), resumed.tell(sphere(y))
    assert torch.equal(s.ask(), resumed.ask())


# ------------------------------------------------------------------------------------ (e) protocol errors
@pytest.mark.parametrize("name", NAMES)
def test_ask_twice_without_tell_raises(name):
    s = make(name)
    s.ask()
    with pytest.raises(RuntimeError):
        s.ask()


@pytest.mark.parametrize("name", NAMES)
def test_non_finite_fitness_is_survivable(name):
    s = make(name)
    x = s.ask()
    f = sphere(x)
    f[0], f[1] = float("nan"), float("inf")
    s.tell(f)
    assert torch.isfinite(s.ask()).all()
    assert np.isfinite(s.best_fitness) and s.best_fitness < 0  # inf is never chosen as best


# ------------------------------------------------------------------------------------ (f) global RNGs
def _global_states():
    return random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state().clone()


def _disturb_global_rngs():
    random.random(), np.random.rand(), torch.rand(1)
    random.seed(99), np.random.seed(99), torch.manual_seed(99)


@pytest.mark.parametrize("name", NAMES)
def test_independent_of_global_rngs_and_leaves_them_alone(name):
    quiet = run(make(name, seed=1), sphere, 4)
    noisy = run(make(name, seed=1), sphere, 4, between=_disturb_global_rngs)
    assert all(torch.equal(x, y) for x, y in zip(quiet, noisy))

    s = make(name, seed=1)
    before = _global_states()
    run(s, sphere, 3)
    after = _global_states()
    assert before[0] == after[0], "python's global random was consumed"
    assert np.array_equal(before[1], after[1]), "numpy's global random was consumed"
    assert torch.equal(before[2], after[2]), "torch's global generator was consumed"


# ------------------------------------------------------------------------------------ (g) bad options
def _bad_value(hint):
    """A value no sane validator accepts for an option of this annotation."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Literal:
        return "no-such-choice"
    if origin in (typing.Union, types.UnionType):
        hint = next(a for a in args if a is not type(None))
    if origin is list:
        return ["not-a-number"]
    return {bool: "yes", int: -10**6, float: float("nan")}.get(hint)


@pytest.mark.parametrize("name", NAMES)
def test_every_bad_option_raises_value_error_naming_it(name):
    cls = strategies.get(name)
    hints = typing.get_type_hints(cls.__init__)
    params = list(inspect.signature(cls.__init__).parameters.values())[3:]
    checked = 0
    for p in params:
        bad = _bad_value(hints[p.name])
        if bad is None:
            continue  # free-text str options have no universally bad value
        with pytest.raises(ValueError, match=p.name):
            cls(D, 0, **{p.name: bad})
        checked += 1
    assert checked == len([p for p in params if _bad_value(hints[p.name]) is not None])
    with pytest.raises(ValueError, match="genome_size"):
        cls(0, 0)
