"""``TaskContract``: the conformance tests every evohyper task must pass, shipped for user tasks.

Subclass it in a pytest module and say how to build your task::

    from evohyper.testing import TaskContract
    from mypkg.tasks import MyTask

    class TestMyTask(TaskContract):
        network = {"hidden": [8]}      # optional: the YAML ``network:`` block to test with
        population = 8                 # optional: population size used by the tests

        def make_task(self):
            return MyTask(some_option=3)

        def loss_batch(self, task):    # optional: a batch for task.loss (default: the first batch
            return torch.randn(16, 3)  # of task.train_batches(batch_size=32, seed=0), else None)

pytest collects ``TestMyTask`` (it matches ``Test*``) but never ``TaskContract`` itself, so
importing it into a test module adds no tests of its own. Phenotypes are random direct-encoded
genotypes (``DirectDecoder``), evaluated under ``torch.no_grad()`` as the engine does.
"""
from __future__ import annotations

import ast
import inspect
import itertools
import sys
import types
from typing import Any, ClassVar

import torch

from evohyper.api import training
from evohyper.api.evaluation_state import merge_evaluation_state
from evohyper.api.phenotypes import Phenotypes, TargetSpec
from evohyper.api.task import EvalResult, Task
from evohyper.decoders.direct import DirectDecoder
from evohyper.testing._task_contract_shapes import ShapeChecks, _skip


def _is_ray(module_name: object) -> bool:
    return isinstance(module_name, str) and (module_name == "ray" or module_name.startswith("ray."))


def _ray_imports(source: str) -> list[int]:
    """Line numbers of ``import ray…`` / ``from ray… import`` / ``import_module("ray…")`` in ``source``
    (anywhere: module level or inside a function; text in strings and comments is not code)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import) and any(_is_ray(a.name) for a in node.names):
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _is_ray(node.module):
            lines.append(node.lineno)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if fname in ("import_module", "__import__") and _is_ray(node.args[0].value):
                lines.append(node.lineno)
    return sorted(lines)


def _task_modules(cls: type) -> list[str]:
    """The modules that make up a task: those defining its class and base classes (evohyper's own
    API excepted), plus the modules of the same top-level package they import from (helpers such as
    an environment module)."""
    names = {c.__module__ for c in cls.__mro__} - {"builtins", "abc", "evohyper.api.task"}
    found = set()
    for name in names:
        module = sys.modules.get(name)
        if module is None:
            continue
        found.add(name)
        top = name.split(".")[0]
        for value in vars(module).values():
            other = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
            if isinstance(other, str) and other.split(".")[0] == top and other in sys.modules:
                found.add(other)
    return sorted(found)


def _same(a: Any, b: Any) -> bool:
    """Equal batches: tensors (and arrays) element for element, containers member for member."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape and bool(
            torch.equal(a, b))
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return bool(a == b) if not hasattr(a, "shape") else bool((a == b).all())
    except Exception:  # noqa: BLE001 - incomparable values are different
        return False


class TaskContract(ShapeChecks):
    """Base class of a task's conformance tests. Subclass as ``class TestMyTask(TaskContract)``
    and implement :meth:`make_task`; every ``test_*`` method below then runs against your task, and
    those of ``ShapeChecks`` (``_task_contract_shapes.py``: shapes of ``evaluate``'s result against the
    task's declared objectives and behaviour descriptors)."""

    #: the YAML ``network:`` block passed to ``task.target``
    network: ClassVar[dict[str, Any]] = {}
    #: population size of the test populations (even, so that it splits in two halves)
    population: ClassVar[int] = 8
    #: standard deviation of the random genotypes
    genotype_scale: ClassVar[float] = 0.5
    #: device the task is set up on
    device: ClassVar[str] = "cpu"
    #: seed passed to ``evaluate``
    seed: ClassVar[int] = 1234
    #: tolerance of chunk-invariance comparisons (batched GEMMs of another size may round differently)
    rtol: ClassVar[float] = 1e-5
    atol: ClassVar[float] = 1e-6
    #: ``batch_size`` given to ``train_batches`` by the training-data checks
    train_batch_size: ClassVar[int] = 32

    # ------------------------------------------------------------------ hooks a user may override
    def make_task(self) -> Task:
        """Return a new instance of the task under test (required)."""
        raise NotImplementedError(f"{type(self).__name__} must implement make_task() returning a Task instance")

    def loss_batch(self, task: Task) -> Any:
        """The ``batch`` given to ``task.loss`` by the gradient test: by default the first batch of
        ``task.train_batches(batch_size=32, seed=0)`` if the task has that method, else ``None``."""
        batches = getattr(task, "train_batches", None)
        if batches is None or getattr(type(task), "train_batches", None) is Task.train_batches:
            return None  # the base class's placeholder, which only raises NotDifferentiableError
        return next(iter(batches(batch_size=32, seed=0)))

    # ------------------------------------------------------------------ helpers
    def ready_task(self) -> Task:
        task = self.make_task()
        assert isinstance(task, Task), f"make_task() must return an evohyper Task, got {type(task).__name__}"
        task.setup(self.device)
        return task

    def make_phenotypes(self, task: Task, population: int | None = None, seed: int = 0) -> Phenotypes:
        """Random direct-encoded phenotypes for ``task`` (deterministic in ``seed``)."""
        decoder = DirectDecoder(task.target(dict(self.network)))
        gen = torch.Generator().manual_seed(seed)
        genotypes = torch.randn(population or self.population, decoder.genome_size, generator=gen)
        return decoder.decode(genotypes * self.genotype_scale, device=self.device)

    def evaluate(self, task: Task, phenotypes: Phenotypes, seed: int | None = None) -> EvalResult:
        with torch.no_grad():
            return task.evaluate(phenotypes, self.seed if seed is None else seed)

    @staticmethod
    def fitness_of(result: EvalResult) -> torch.Tensor:
        """The fitness ``[P]`` or ``[P, k]`` (``[P, m]``/``[P, k, m]`` with m objectives) as float64 on the CPU."""
        return torch.as_tensor(result.fitness).detach().to(torch.float64).cpu()

    def assert_close(self, actual: torch.Tensor, expected: torch.Tensor, what: str) -> None:
        actual, expected = actual.to(torch.float64).cpu(), expected.to(torch.float64).cpu()
        if actual.shape != expected.shape or not torch.allclose(actual, expected, rtol=self.rtol, atol=self.atol,
                                                                equal_nan=True):
            raise AssertionError(f"{what}: results differ\n  expected {expected}\n  got      {actual}")

    # ------------------------------------------------------------------ declaration
    def test_maximize_is_a_bool_class_attribute(self) -> None:
        task = self.make_task()
        declared = getattr(type(task), "maximize", None)
        assert isinstance(declared, bool), (
            f"{type(task).__name__}.maximize must be a bool class attribute, got {declared!r}")
        assert task.maximize is declared, "maximize must be declared once, on the class, not changed per instance"

    def test_target_is_a_target_spec(self) -> None:
        task = self.make_task()
        spec = task.target(dict(self.network))
        assert isinstance(spec, TargetSpec), f"target() must return a TargetSpec, got {type(spec).__name__}"
        assert spec.num_params > 0, f"target() describes a phenotype with {spec.num_params} parameters"
        shapes = spec.shapes()
        assert shapes and all(all(int(d) > 0 for d in s) for s in shapes.values()), f"bad shapes {shapes}"
        ph = self.make_phenotypes(task, population=2)
        assert isinstance(ph, Phenotypes) and len(ph) == 2

    def test_module_does_not_import_ray(self) -> None:
        task = self.make_task()
        for name in _task_modules(type(task)):
            module = sys.modules[name]
            for key, value in vars(module).items():
                if isinstance(value, types.ModuleType):
                    imported = value.__name__
                else:
                    imported = getattr(value, "__module__", None)
                    imported = imported if isinstance(imported, str) else ""
                assert not _is_ray(imported), (
                    f"module {name} holds {key!r} from {imported!r}: a task must never import Ray")
            try:
                source = inspect.getsource(module)
            except (OSError, TypeError):
                continue
            found = _ray_imports(source)
            assert not found, f"module {name} imports Ray (line {found[0]}); a task must never import Ray"

    # ------------------------------------------------------------------ evaluate
    def test_evaluate_does_not_change_the_phenotypes(self) -> None:
        task = self.ready_task()
        ph = self.make_phenotypes(task)
        before = {k: v.clone() for k, v in ph.tensors.items()}
        self.evaluate(task, ph)
        for k, v in ph.tensors.items():
            assert torch.equal(v, before[k]), f"evaluate modified phenotype tensor {k!r} in place"

    def test_same_seed_gives_identical_results(self) -> None:
        task = self.ready_task()
        ph = self.make_phenotypes(task)
        torch.manual_seed(1)  # a task must not draw from the global RNG: move it between the calls
        first = self.evaluate(task, ph)
        torch.manual_seed(2)
        torch.rand(17)
        second = self.evaluate(task, ph)
        assert torch.equal(first.fitness, second.fitness), (
            f"same seed, different fitness (use a local torch.Generator seeded from `seed`):\n"
            f"  {first.fitness}\n  {second.fitness}")
        assert first.metrics.keys() == second.metrics.keys()
        for name in first.metrics:
            a, b = first.metrics[name], second.metrics[name]   # NaN (a metric not measured) equals NaN
            assert a.shape == b.shape and torch.equal(a.nan_to_num(0.5), b.nan_to_num(0.5)) and torch.equal(
                a.isnan(), b.isnan()), f"same seed, different metric {name!r}"

    def test_seed_dependent_fitness_is_declared_stochastic(self) -> None:
        """A task whose fitness depends on the seed declares ``stochastic = True``: re-evaluation on fresh
        episodes (``evaluation.reevaluate``) is on by default only for such tasks, so otherwise ``best/``
        would hold the luckiest single evaluation."""
        task = self.ready_task()
        assert isinstance(task.stochastic, bool), f"{type(task).__name__}.stochastic must be a bool, " \
                                                  f"got {task.stochastic!r}"
        ph = self.make_phenotypes(task)
        first, second = self.evaluate(task, ph, self.seed), self.evaluate(task, ph, self.seed + 1)
        if not torch.equal(self.fitness_of(first), self.fitness_of(second)):
            assert task.stochastic, (
                f"{type(task).__name__}'s fitness depends on the evaluate seed (seeds {self.seed} and "
                f"{self.seed + 1} differ), so it must declare stochastic = True (a class attribute, or set on "
                "the instance from its options)")

    def test_chunk_invariance(self) -> None:
        task = self.ready_task()
        P = self.population
        ph = self.make_phenotypes(task)
        whole = self.evaluate(task, ph)
        half = P // 2
        parts = [self.evaluate(task, ph.select(slice(0, half))), self.evaluate(task, ph.select(slice(half, P)))]
        self.assert_close(torch.cat([self.fitness_of(p) for p in parts]), self.fitness_of(whole),
                          "fitness of two halves vs. the whole population (fitness must not depend on "
                          "which individuals share a call)")
        for name in whole.metrics:
            self.assert_close(torch.cat([p.metrics[name].detach() for p in parts]), whole.metrics[name].detach(),
                              f"metric {name!r} of two halves vs. the whole population")
        order = torch.arange(P - 1, -1, -1)
        reversed_ = self.evaluate(task, ph.select(order))
        self.assert_close(self.fitness_of(reversed_), self.fitness_of(whole)[order],
                          "fitness of the population in reversed order")
        single = self.evaluate(task, ph.select([P - 1]))
        self.assert_close(self.fitness_of(single), self.fitness_of(whole)[P - 1:], "fitness of one individual alone")

    def test_evaluation_state_is_one_row_per_individual(self) -> None:
        """What a task learns while evaluating (``EvalResult.state``) comes as one row of sums per
        individual, from that individual alone: the rows of two halves are the rows of the whole, bit
        for bit, so the engine's exact merge gives the same state on 1 or N actors. The merged state
        loads back into the task (``load_evaluation_state``)."""
        task = self.ready_task()
        P, half = self.population, self.population // 2
        ph = self.make_phenotypes(task)
        whole = self.evaluate(task, ph)
        if not whole.state:
            _skip(f"{type(task).__name__} learns nothing while evaluating (EvalResult.state is empty)")
        parts = [self.evaluate(task, ph.select(slice(0, half))), self.evaluate(task, ph.select(slice(half, P)))]
        for name, rows in whole.state.items():
            assert torch.is_tensor(rows) and rows.dim() >= 1 and rows.shape[0] == P, (
                f"evaluation state {name!r} must be rows [P, ...] with P={P}, got {getattr(rows, 'shape', rows)}")
            assert torch.equal(torch.cat([p.state[name] for p in parts]).cpu(), rows.cpu()), (
                f"evaluation state {name!r}: the rows of two halves differ from the rows of the whole "
                f"(an individual's row must come from its own evaluation only)")
        task.load_evaluation_state(merge_evaluation_state(None, whole.state))
        task.load_evaluation_state(None)

    def test_setup_is_idempotent(self) -> None:
        task = self.ready_task()
        ph = self.make_phenotypes(task)
        first = self.evaluate(task, ph)
        task.setup(self.device)
        task.setup(self.device)
        again = self.evaluate(task, ph)
        assert torch.equal(first.fitness, again.fitness), "calling setup() again changed the fitness"
        fresh = self.ready_task()
        assert torch.equal(self.evaluate(fresh, ph).fitness, first.fitness), (
            "a second instance of the task scores the same phenotypes differently")

    # ------------------------------------------------------------------ gradients
    def _loss_or_skip(self, task: Task) -> None:
        if type(task).loss is Task.loss:
            _skip(f"{type(task).__name__} defines no differentiable loss()")

    def _batches_or_skip(self, task: Task) -> None:
        if not type(task).differentiable():
            _skip(f"{type(task).__name__} defines no loss() and train_batches() (not trainable by gradient)")

    def _epoch(self, task: Task, seed: int = 0) -> Any:
        """One epoch of ``train_batches``, read as gradient training reads it (bounded, lazily)."""
        return training.epoch(task, self.train_batch_size, seed)

    def test_train_batches_is_one_finite_epoch(self) -> None:
        task = self.ready_task()
        self._batches_or_skip(task)
        try:
            training.epoch_length(task, self.train_batch_size, 0)
        except ValueError as exc:
            raise AssertionError(str(exc)) from None

    def test_train_batches_are_deterministic_under_a_seed(self) -> None:
        task = self.ready_task()
        self._batches_or_skip(task)
        torch.manual_seed(1)  # batches must come from the seed, not from the global RNG
        first = self._epoch(task)
        torch.manual_seed(2)
        second = self._epoch(self.ready_task())
        for i, (a, b) in enumerate(itertools.zip_longest(first, second)):
            assert _same(a, b), (f"train_batches(batch_size={self.train_batch_size}, seed=0) gave a different batch "
                                 f"{i} for the same seed (draw the order from a generator seeded by `seed`)")

    def test_loss_takes_every_batch(self) -> None:
        task = self.ready_task()
        self._batches_or_skip(task)
        ph = self.make_phenotypes(task)
        P = self.population
        for i, batch in enumerate(self._epoch(task)):
            with torch.no_grad():
                try:
                    loss = task.loss(ph, batch)
                except Exception as exc:
                    raise AssertionError(f"loss(phenotypes, batch {i} of train_batches) raised {type(exc).__name__}: "
                                         f"{exc}") from exc
            assert torch.is_tensor(loss) and loss.shape == (P,), (
                f"loss on batch {i} of train_batches must be a tensor [P]=[{P}], got "
                f"{getattr(loss, 'shape', type(loss))}")
            assert bool(torch.isfinite(loss).all()), f"non-finite loss on batch {i}: {loss}"

    def _leaf_phenotypes(self, task: Task) -> Phenotypes:
        ph = self.make_phenotypes(task)
        leaves = {k: v.detach().clone().requires_grad_(True) for k, v in ph.tensors.items()}
        return ph.spec.build(leaves)

    def _loss(self, task: Task, phenotypes: Phenotypes, batch: Any) -> torch.Tensor:
        try:
            return task.loss(phenotypes, batch)
        except Exception as exc:
            if batch is None and getattr(type(task), "train_batches", Task.train_batches) is Task.train_batches:
                raise AssertionError(
                    f"{type(task).__name__}.loss(phenotypes, None) raised {type(exc).__name__}: {exc}. "
                    f"The contract has no batch to give it: define train_batches(batch_size, seed) on the "
                    f"task, or override loss_batch(self, task) in {type(self).__name__} to return one"
                ) from exc
            raise

    def test_loss_gradients_reach_the_phenotypes(self) -> None:
        task = self.ready_task()
        self._loss_or_skip(task)
        ph = self._leaf_phenotypes(task)
        loss = self._loss(task, ph, self.loss_batch(task))
        P = self.population
        assert torch.is_tensor(loss) and loss.shape == (P,), (
            f"loss must be a tensor [P]=[{P}], got {getattr(loss, 'shape', type(loss))}")
        assert bool(torch.isfinite(loss).all()), f"non-finite loss: {loss}"
        assert loss.requires_grad, "loss() is not differentiable w.r.t. the phenotype tensors"
        loss.sum().backward()
        total = 0.0
        for name, t in ph.tensors.items():
            assert t.grad is not None, f"no gradient reaches phenotype tensor {name!r}"
            assert bool(torch.isfinite(t.grad).all()), f"non-finite gradient for phenotype tensor {name!r}"
            total += float(t.grad.abs().sum())
        assert total > 0, "all gradients of the loss w.r.t. the phenotypes are zero"

    def test_loss_is_per_individual(self) -> None:
        task = self.ready_task()
        self._loss_or_skip(task)
        ph = self._leaf_phenotypes(task)
        batch = self.loss_batch(task)
        loss = self._loss(task, ph, batch)
        loss[0].backward()
        for name, t in ph.tensors.items():
            if t.grad is not None:
                assert not bool(t.grad[1:].abs().sum() > 0), (
                    f"loss of individual 0 depends on other individuals (tensor {name!r})")
        with torch.no_grad():
            half = self.population // 2
            parts = torch.cat([task.loss(ph.select(slice(0, half)), batch),
                               task.loss(ph.select(slice(half, None)), batch)])
        self.assert_close(parts, loss.detach(), "loss of two halves vs. the whole population")
