"""What a task's ``evaluate`` returns, against what the task declares: the shape checks of ``TaskContract``.

A mixin of ``TaskContract`` (its own module so the contract stays readable): fitness ``[P]``/``[P, k]``,
or ``[P, m]``/``[P, k, m]`` for a task declaring m objectives (``Task.objective_space``); behaviour
descriptors ``[P, d]``/``[P, k, d]`` exactly when declared (``Task.descriptor_space``), finite, chunk-invariant
and seed-deterministic; the declarations themselves well formed (``Descriptor``/``Objective`` entries,
unique names, finite bounds, ``maximize`` = the first objective's direction, a reference point of m values).
Objectives are fitness columns, so the fitness checks of ``TaskContract`` (chunk invariance, same seed)
cover them too. The helpers it calls (``ready_task``, ``make_phenotypes``, ``evaluate``, ``assert_close``)
are ``TaskContract``'s.
"""
from __future__ import annotations

import math
import unittest
from typing import Any

import torch

from evohyper.api.task import Descriptor, EvalResult, Objective, Task


def _skip(reason: str) -> None:
    """Skip the check (pytest's skip, or unittest's when run by unittest)."""
    try:
        import pytest
    except ImportError:  # run by unittest: its own skip exception
        raise unittest.SkipTest(reason) from None
    pytest.skip(reason)


def _names_unique(kind: str, entries: tuple[Any, ...]) -> None:
    names = [e.name for e in entries]
    assert all(isinstance(n, str) and n for n in names), f"{kind} names must be non-empty strings, got {names}"
    assert len(set(names)) == len(names), f"{kind} names must be unique, got {names}"


class ShapeChecks:
    """``TaskContract``'s checks of ``evaluate``'s shapes and of the task's declarations."""

    population: int

    # helpers provided by TaskContract
    def ready_task(self) -> Task: ...  # pragma: no cover - TaskContract's
    def make_task(self) -> Task: ...  # pragma: no cover
    def make_phenotypes(self, task: Task, population: int | None = None, seed: int = 0) -> Any: ...  # pragma: no cover
    def evaluate(self, task: Task, phenotypes: Any, seed: int | None = None) -> EvalResult: ...  # pragma: no cover
    def assert_close(self, actual: torch.Tensor, expected: torch.Tensor, what: str) -> None: ...  # pragma: no cover

    @staticmethod
    def descriptors_of(result: EvalResult) -> torch.Tensor:
        """The descriptors ``[P, d]`` or ``[P, k, d]`` as float64 on the CPU."""
        return torch.as_tensor(result.descriptors).detach().to(torch.float64).cpu()

    # ------------------------------------------------------------------ declarations
    def test_descriptor_space_is_well_formed(self) -> None:
        task = self.make_task()
        space = task.descriptor_space()
        assert isinstance(space, tuple), f"descriptor_space() must return a tuple, got {type(space).__name__}"
        for entry in space:
            assert isinstance(entry, Descriptor), (
                f"descriptor_space() entries must be evohyper.api.task.Descriptor, got {type(entry).__name__}")
            low, high = entry.low, entry.high
            assert isinstance(low, (int, float)) and isinstance(high, (int, float)) and math.isfinite(low) \
                and math.isfinite(high) and low < high, (
                f"descriptor {entry.name!r} must have finite bounds low < high, got [{low!r}, {high!r}]")
        _names_unique("descriptor", space)

    def test_objective_space_is_well_formed(self) -> None:
        task = self.make_task()
        space, point = task.objective_space(), task.reference_point()
        assert isinstance(space, tuple), f"objective_space() must return a tuple, got {type(space).__name__}"
        for entry in space:
            assert isinstance(entry, Objective) and isinstance(entry.maximize, bool), (
                f"objective_space() entries must be evohyper.api.task.Objective with a bool maximize, got {entry!r}")
        _names_unique("objective", space)
        if space:
            assert space[0].maximize is type(task).maximize, (
                f"{type(task).__name__}.maximize is {type(task).maximize!r}, but its first objective "
                f"{space[0].name!r} has maximize={space[0].maximize!r}: a multi-objective task's fitness is its "
                "first objective, in that objective's direction")
        if point is not None:
            assert space, "reference_point() is declared, but the task declares no objectives (objective_space)"
            assert len(point) == len(space) and all(isinstance(v, (int, float)) and math.isfinite(v)
                                                    for v in point), (
                f"reference_point() must be {len(space)} finite numbers (one per objective), got {point!r}")

    # ------------------------------------------------------------------ evaluate
    def test_evaluate_returns_eval_result_of_the_right_shapes(self) -> None:
        task = self.ready_task()
        P = self.population
        m = len(task.objective_space())
        result = self.evaluate(task, self.make_phenotypes(task))
        assert isinstance(result, EvalResult), f"evaluate must return EvalResult, got {type(result).__name__}"
        f = result.fitness
        assert torch.is_tensor(f), f"fitness must be a tensor, got {type(f).__name__}"
        assert f.is_floating_point(), f"fitness must be floating point, got {f.dtype}"
        if m:
            assert f.dim() in (2, 3) and f.shape[0] == P and f.shape[-1] == m, (
                f"the task declares {m} objectives: fitness must be [P, {m}] or [P, k, {m}] with P={P}, "
                f"got {tuple(f.shape)}")
        else:
            assert f.dim() in (1, 2) and f.shape[0] == P, (
                f"fitness must be [P] or [P, k] with P={P}, got {tuple(f.shape)}")
        assert f.numel() > 0 and bool(torch.isfinite(f).all()), f"non-finite fitness for random phenotypes: {f}"
        for name, value in result.metrics.items():
            assert isinstance(name, str) and name, f"metric names must be non-empty strings, got {name!r}"
            assert torch.is_tensor(value) and value.shape == (P,), (
                f"metric {name!r} must be a tensor [P]=[{P}], got {getattr(value, 'shape', type(value))}")
        for name in ("sample_forwards", "env_steps"):
            value = getattr(result, name)
            assert value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0), (
                f"{name} must be None or an int >= 0, got {value!r}")

    def test_descriptors_are_returned_exactly_when_declared(self) -> None:
        task = self.ready_task()
        P, d = self.population, len(task.descriptor_space())
        result = self.evaluate(task, self.make_phenotypes(task))
        if not d:
            assert result.descriptors is None, (
                f"evaluate returned descriptors of shape {tuple(torch.as_tensor(result.descriptors).shape)}, but "
                f"{type(task).__name__} declares none (Task.descriptor_space)")
            return
        value = result.descriptors
        assert torch.is_tensor(value) and value.is_floating_point(), (
            f"the task declares {d} descriptors: descriptors must be a floating-point tensor, got "
            f"{type(value).__name__ if not torch.is_tensor(value) else value.dtype}")
        assert value.dim() in (2, 3) and value.shape[0] == P and value.shape[-1] == d, (
            f"the task declares {d} descriptors: descriptors must be [P, {d}] or [P, k, {d}] with P={P}, "
            f"got {tuple(value.shape)}")
        assert bool(torch.isfinite(value).all()), f"non-finite descriptors for random phenotypes: {value}"

    def _descriptors_or_skip(self, task: Task) -> None:
        if not task.descriptor_space():
            _skip(f"{type(task).__name__} declares no behaviour descriptors")

    def test_descriptors_are_chunk_invariant(self) -> None:
        task = self.ready_task()
        self._descriptors_or_skip(task)
        P, half = self.population, self.population // 2
        ph = self.make_phenotypes(task)
        whole = self.descriptors_of(self.evaluate(task, ph))
        parts = [self.evaluate(task, ph.select(slice(0, half))), self.evaluate(task, ph.select(slice(half, P)))]
        self.assert_close(torch.cat([self.descriptors_of(p) for p in parts]), whole,
                          "descriptors of two halves vs. the whole population (an individual's descriptors "
                          "must not depend on which individuals share a call)")
        order = torch.arange(P - 1, -1, -1)
        self.assert_close(self.descriptors_of(self.evaluate(task, ph.select(order))), whole[order],
                          "descriptors of the population in reversed order")

    def test_same_seed_gives_identical_descriptors(self) -> None:
        task = self.ready_task()
        self._descriptors_or_skip(task)
        ph = self.make_phenotypes(task)
        torch.manual_seed(1)  # a task must not draw from the global RNG: move it between the calls
        first = self.descriptors_of(self.evaluate(task, ph))
        torch.manual_seed(2)
        torch.rand(17)
        second = self.descriptors_of(self.evaluate(task, ph))
        assert torch.equal(first, second), (
            f"same seed, different descriptors (use a local torch.Generator seeded from `seed`):\n"
            f"  {first}\n  {second}")
