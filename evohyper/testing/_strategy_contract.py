"""``StrategyContract``: the conformance tests every ask/tell strategy must pass, shipped for third parties.

Subclass it in a pytest module and name your strategy::

    from evohyper.testing import StrategyContract
    from mypkg.strategies import MyES

    class TestMyES(StrategyContract):
        strategy_class = MyES
        genome_size = 10              # optional (None for strategies whose genotypes are not vectors)

For genotypes other than vectors, override ``decoder_info`` (what the decoder would declare) and
``fitness`` (a fitness of your genotypes, higher is better, that the strategy should improve). A strategy
that ``consumes`` behaviour descriptors or objectives is bound to ``task_info()`` and told ``extras(population)``
(defaults for vectors: two descriptors in [-1, 1] and two higher-is-better objectives; override both for other
genotypes or other spaces).
pytest collects ``TestMyES`` but never ``StrategyContract`` itself. Gradient strategies
(``TrainingStrategy``) are trained by a backend, not told fitness of asked genotypes: they have their
own tests.
"""
from __future__ import annotations

import collections.abc
import inspect
import io
import json
import random
import types
import typing
from typing import Any, ClassVar

import numpy as np
import torch

from evohyper.api.decoder import DecoderInfo
from evohyper.api.strategy import Strategy, TrainingStrategy
from evohyper.api.task import Descriptor, Objective, TaskInfo


def validator_understands(hint: Any) -> bool:
    """Is ``hint`` an option annotation the config validator checks (scalars, literals, unions and lists
    of those, mappings)?"""
    if hint in (int, float, bool, str, type(None)):
        return True
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Literal or origin is dict or hint is dict:
        return True
    if origin in (typing.Union, types.UnionType):
        return all(validator_understands(a) for a in args)
    if origin in (list, tuple, collections.abc.Sequence):
        return not args or validator_understands(args[0])
    return False


def bad_value(hint: Any) -> Any:
    """A value no sane validator accepts for an option of this annotation (None: no such value)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Literal:
        return "no-such-choice"
    if origin in (typing.Union, types.UnionType):
        hint = next(a for a in args if a is not type(None))
        origin = typing.get_origin(hint)
    if origin is list:
        return [object()]
    return {bool: "yes", int: -10**6, float: float("nan")}.get(hint)


def _global_states() -> tuple[Any, np.ndarray, torch.Tensor]:
    return random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state().clone()


def _saved_size(state: Any) -> int:
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.tell()


def _disturb_global_rngs() -> None:
    random.random(), np.random.rand(), torch.rand(1)
    random.seed(99), np.random.seed(99), torch.manual_seed(99)


class StrategyContract:
    """Base class of a strategy's conformance tests; set ``strategy_class`` in a ``Test*`` subclass."""

    #: the strategy under test (required)
    strategy_class: ClassVar[type[Strategy]]
    #: ``genome_size`` passed to the constructor (None for non-vector genotypes)
    genome_size: ClassVar[int | None] = 10
    #: options passed to every construction (e.g. a small population)
    options: ClassVar[dict[str, Any]] = {}
    #: generations of the improvement test, and the factor the best error must shrink by
    generations: ClassVar[int] = 40
    improvement: ClassVar[float] = 0.5
    #: relative growth of the state's size (per ``state_scale``) from generation 5 to 60 still called constant
    state_size_tolerance: ClassVar[float] = 0.05

    # ------------------------------------------------------------------ hooks
    def decoder_info(self) -> DecoderInfo:
        """What the decoder would declare to the strategy (``Strategy.bind``)."""
        return DecoderInfo(genotype=self.strategy_class.genotype_kind, genome_size=self.genome_size)

    def task_info(self) -> TaskInfo:
        """What the task would declare (``Strategy.bind_task``): by default, for what the strategy
        ``consumes``, two descriptors ``d0``, ``d1`` in [-1, 1] and two maximised objectives ``f``, ``g``
        (reference point -100, -100)."""
        consumes = getattr(self.strategy_class, "consumes", ())
        descriptors = (Descriptor("d0", -1.0, 1.0), Descriptor("d1", -1.0, 1.0)) if "descriptors" in consumes else ()
        objectives = (Objective("f", True), Objective("g", True)) if "objectives" in consumes else ()
        return TaskInfo(maximize=True, descriptors=descriptors, objectives=objectives,
                        reference_point=(-100.0, -100.0) if objectives else None)

    def extras(self, population: Any) -> dict[str, torch.Tensor]:
        """What ``tell`` hands a strategy that ``consumes`` descriptors/objectives (higher is better), as a
        function of the population. Default, for vectors: descriptors ``tanh`` of the first two genes,
        objectives ``[fitness, -|x + 0.5|^2]`` (a trade-off against ``fitness``)."""
        consumes = getattr(self.strategy_class, "consumes", ())
        out: dict[str, torch.Tensor] = {}
        if "descriptors" in consumes:
            x = torch.as_tensor(population).double()
            out["descriptors"] = torch.tanh(x[:, :2]) if x.shape[1] >= 2 else torch.tanh(x[:, :1]).expand(-1, 2)
        if "objectives" in consumes:
            x = torch.as_tensor(population).double()
            out["objectives"] = torch.stack([self.fitness(population), -((x + 0.5) ** 2).sum(1)], 1)
        return out

    def tell(self, strategy: Strategy, population: Any, fitness: torch.Tensor | None = None) -> None:
        """``strategy.tell`` the fitness of ``population`` (default ``self.fitness``), with its extras; a
        given ``fitness`` (NaN/inf included) is also the first objective, and its non-finite rows have NaN
        descriptors, as an individual that raised has in a lenient run."""
        extras = self.extras(population)
        if fitness is not None:
            bad = ~torch.isfinite(torch.as_tensor(fitness, dtype=torch.float64))
            if "objectives" in extras:
                extras["objectives"] = extras["objectives"].clone()
                extras["objectives"][:, 0] = torch.as_tensor(fitness, dtype=torch.float64)
            if "descriptors" in extras:
                extras["descriptors"] = extras["descriptors"].masked_fill(bad[:, None], float("nan"))
        strategy.tell(self.fitness(population) if fitness is None else fitness, **extras)

    def make_strategy(self, seed: int = 0, **options: Any) -> Strategy:
        strategy = self.strategy_class(self.genome_size, seed, **{**self.options, **options})
        strategy.bind(self.decoder_info())
        strategy.bind_task(self.task_info())
        return strategy

    def state_scale(self, strategy: Strategy) -> float:
        """What a strategy's state is proportional to besides time (default 1: nothing). A strategy
        whose genotypes grow (NEAT's genes) returns their number, so the test compares bytes per gene."""
        return 1.0

    def fitness(self, population: Any) -> torch.Tensor:
        """Fitness ``[P]`` of a population (higher is better). Default, for vectors: a sphere with its
        maximum 0 at x = 0.5."""
        return -((torch.as_tensor(population).double() - 0.5) ** 2).sum(1)

    def same(self, a: Any, b: Any) -> bool:
        """Are two asked populations identical? (tensors bit for bit, other genotypes by their JSON)."""
        if isinstance(a, torch.Tensor):
            return isinstance(b, torch.Tensor) and torch.equal(a, b)
        strategy = self.make_strategy()
        encode = (lambda g: json.dumps(strategy.export_genotype(g), sort_keys=True, default=str)) \
            if strategy.export_genotype(a[0]) is not None else repr
        return len(a) == len(b) and all(encode(x) == encode(y) for x, y in zip(a, b))

    # ------------------------------------------------------------------ helpers
    def run(self, strategy: Strategy, generations: int, between: Any = None) -> list[Any]:
        asked = []
        for _ in range(generations):
            population = strategy.ask()
            asked.append(population.clone() if isinstance(population, torch.Tensor) else population)
            self.tell(strategy, population)
            if between is not None:
                between()
        return asked

    # ------------------------------------------------------------------ declaration
    def test_is_an_ask_tell_strategy_with_a_description(self) -> None:
        cls = self.strategy_class
        assert issubclass(cls, Strategy) and not issubclass(cls, TrainingStrategy), \
            "the contract covers ask/tell strategies (a TrainingStrategy is trained by the backend)"
        assert (inspect.getdoc(cls) or "").strip(), "the first docstring line is the `evohyper list` description"

    def test_signature_is_a_valid_config_schema(self) -> None:
        cls = self.strategy_class
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        assert [p.name for p in params[:2]] == ["genome_size", "seed"]
        hints = typing.get_type_hints(cls.__init__)
        for p in params[2:]:
            assert p.kind is p.KEYWORD_ONLY, f"{cls.__name__}.{p.name} must be keyword-only"
            assert p.default is not p.empty, f"{cls.__name__}.{p.name} needs a default"
            assert validator_understands(hints[p.name]), \
                f"{cls.__name__}.{p.name}: annotation {hints[p.name]!r} is not one the config validator checks"

    def test_mutable_options_are_options_and_can_be_set(self) -> None:
        s = self.make_strategy()
        names = list(inspect.signature(self.strategy_class.__init__).parameters)
        for name in self.strategy_class.mutable_options:
            assert name in names, f"mutable option {name!r} is not a constructor option"
            default = inspect.signature(self.strategy_class.__init__).parameters[name].default
            s.set_options(**{name: default})
        try:
            s.set_options(**{"no_such_option": 1})
        except ValueError as exc:
            assert "no_such_option" in str(exc)
        else:
            raise AssertionError("set_options accepted an option that is not mutable")

    # ------------------------------------------------------------------ ask / tell protocol
    def test_asks_a_population_of_popsize(self) -> None:
        s = self.make_strategy()
        population = s.ask()
        assert len(population) == s.popsize >= 1
        if self.strategy_class.genotype_kind == "vector":
            assert isinstance(population, torch.Tensor) and population.dtype == torch.float32
            assert population.shape == (s.popsize, self.genome_size) and torch.isfinite(population).all()

    def test_ask_twice_or_tell_first_raises(self) -> None:
        s = self.make_strategy()
        try:
            s.tell(torch.zeros(s.popsize))
        except RuntimeError:
            pass
        else:
            raise AssertionError("tell() before ask() must raise RuntimeError")
        s.ask()
        try:
            s.ask()
        except RuntimeError:
            pass
        else:
            raise AssertionError("ask() twice without tell() must raise RuntimeError")

    def test_improves_its_fitness(self) -> None:
        s = self.make_strategy()
        asked = self.run(s, self.generations)
        first = float(self.fitness(asked[0]).max())
        assert s.best_fitness >= first
        if first < 0:
            assert -s.best_fitness <= self.improvement * -first, f"error {-s.best_fitness:.4g} vs first {-first:.4g}"
        else:
            assert s.best_fitness > first, f"best {s.best_fitness:.4g} did not improve on the first {first:.4g}"

    def test_non_finite_fitness_is_survivable_and_never_best(self) -> None:
        s = self.make_strategy()
        population = s.ask()
        f = self.fitness(population)
        f[0] = float("nan")
        if len(f) > 1:
            f[1] = float("inf")
        self.tell(s, population, f)
        s.ask()
        finite = f[torch.isfinite(f)]
        if len(finite):
            assert s.best_fitness == float(finite.max()), "NaN/inf was chosen as best"

    # ------------------------------------------------------------------ determinism and state
    def test_same_seed_same_run_other_seed_other_run(self) -> None:
        a = self.run(self.make_strategy(seed=3), 3)
        b = self.run(self.make_strategy(seed=3), 3)
        c = self.run(self.make_strategy(seed=4), 3)
        assert all(self.same(x, y) for x, y in zip(a, b))
        assert not self.same(a[0], c[0])

    def test_state_dict_round_trip_continues_identically(self) -> None:
        s = self.make_strategy(seed=5)
        self.run(s, 4)
        buf = io.BytesIO()
        torch.save(s.state_dict(), buf)   # what a checkpoint stores must load without executing code
        buf.seek(0)
        resumed = self.make_strategy(seed=5)
        resumed.load_state_dict(torch.load(buf, weights_only=True))
        assert resumed.generation == s.generation == 4 and resumed.best_fitness == s.best_fitness
        x, y = s.ask(), resumed.ask()
        assert self.same(x, y)
        self.tell(s, x)
        self.tell(resumed, y)
        assert self.same(s.ask(), resumed.ask())

    def test_state_size_does_not_grow_with_the_run(self) -> None:
        """A checkpoint holds the strategy's state, not its history: its size at generation 60 is that at
        generation 5 (within ``state_size_tolerance``), so checkpoints and resumes cost the same all run."""
        s = self.make_strategy(seed=2)
        self.run(s, 5)
        small = _saved_size(s.state_dict()) / self.state_scale(s)
        self.run(s, 55)
        large = _saved_size(s.state_dict()) / self.state_scale(s)
        assert large <= small * (1 + self.state_size_tolerance) + 512 / self.state_scale(s), \
            f"state_dict grew from {small:.0f} bytes at generation 5 to {large:.0f} at generation 60 " \
            f"(per unit of state_scale)"

    def test_independent_of_global_rngs_and_leaves_them_alone(self) -> None:
        quiet = self.run(self.make_strategy(seed=1), 4)
        noisy = self.run(self.make_strategy(seed=1), 4, between=_disturb_global_rngs)
        assert all(self.same(x, y) for x, y in zip(quiet, noisy))
        s = self.make_strategy(seed=1)
        before = _global_states()
        self.run(s, 3)
        after = _global_states()
        assert before[0] == after[0], "python's global random was consumed"
        assert np.array_equal(before[1], after[1]), "numpy's global random was consumed"
        assert torch.equal(before[2], after[2]), "torch's global generator was consumed"

    # ------------------------------------------------------------------ options
    def test_every_bad_option_raises_value_error_naming_it(self) -> None:
        cls = self.strategy_class
        hints = typing.get_type_hints(cls.__init__)
        for p in list(inspect.signature(cls.__init__).parameters.values())[3:]:
            bad = bad_value(hints[p.name])
            if bad is None:
                continue  # free-text str options have no universally bad value
            try:
                self.make_strategy(**{p.name: bad})
            except ValueError as exc:
                assert p.name in str(exc), f"the error for {p.name}={bad!r} does not name it: {exc}"
            else:
                raise AssertionError(f"{cls.__name__} accepted {p.name}={bad!r}")
        if self.genome_size is not None:
            try:
                cls(0, 0, **self.options)
            except ValueError as exc:
                assert "genome_size" in str(exc)
            else:
                raise AssertionError(f"{cls.__name__} accepted genome_size=0")
