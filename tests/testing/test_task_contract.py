"""The contract suite itself: a conforming toy task passes it, and every check fails on a task that
breaks the rule it guards (a contract test that cannot fail proves nothing)."""
import sys
import textwrap
import unittest

import pytest
import torch

from evohyper.api.phenotypes import VectorSpec
from evohyper.api.task import EvalResult, Task
from evohyper.testing import TaskContract

pytest_plugins = ["pytester"]


class ToyTask(Task):
    """A conforming toy: minus a noisy sphere, the noise drawn from the seed and shared by everyone;
    it "learns" the sum of the genotypes it saw (one row per individual)."""

    maximize = True
    stochastic = True   # the noise comes from the seed

    def __init__(self, dim: int = 3) -> None:
        self.dim = dim

    def target(self, network):
        return VectorSpec(self.dim)

    def evaluate(self, phenotypes, seed):
        x = phenotypes.x
        noise = torch.randn(self.dim, generator=torch.Generator().manual_seed(seed)).to(x.device)
        value = ((x - noise) ** 2).sum(dim=1)
        return EvalResult(fitness=-value, metrics={"norm": x.norm(dim=1)}, state={"x_sum": x.double()})

    def loss(self, phenotypes, batch):
        return (phenotypes.x ** 2).sum(dim=1)


class TestToyTaskConforms(TaskContract):
    """A user's subclass, exactly as documented: collected and run by pytest."""

    def make_task(self):
        return ToyTask()


def contract(task_cls, **attrs):
    """A contract instance for ``task_cls`` (the test methods are called directly)."""
    return type("Contract", (TaskContract,), {"make_task": lambda self: task_cls(), **attrs})()


# ------------------------------------------------------------------ broken tasks, one rule each
class WrongShapeTask(ToyTask):
    def evaluate(self, phenotypes, seed):
        return EvalResult(fitness=torch.zeros(len(phenotypes) + 1))


class NotAResultTask(ToyTask):
    def evaluate(self, phenotypes, seed):
        return torch.zeros(len(phenotypes))


class NanTask(ToyTask):
    def evaluate(self, phenotypes, seed):
        return EvalResult(fitness=torch.full((len(phenotypes),), float("nan")))


class BadMetricTask(ToyTask):
    def evaluate(self, phenotypes, seed):
        r = super().evaluate(phenotypes, seed)
        r.metrics["bad"] = torch.zeros(len(phenotypes), 2)
        return r


class GlobalRngTask(ToyTask):
    def evaluate(self, phenotypes, seed):
        x = phenotypes.x
        return EvalResult(fitness=-(x - torch.randn(self.dim)).pow(2).sum(dim=1))


class ChunkDependentTask(ToyTask):
    def evaluate(self, phenotypes, seed):
        f = -phenotypes.x.pow(2).sum(dim=1)
        return EvalResult(fitness=f - f.mean())  # depends on who else is in the call


class PerCallNoiseTask(ToyTask):
    """Draws noise of shape [P, dim] from the seed: reproducible, but not chunk-invariant."""

    def evaluate(self, phenotypes, seed):
        x = phenotypes.x
        noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))
        return EvalResult(fitness=-(x - noise).pow(2).sum(dim=1))


class EpisodeOrderTask(ToyTask):
    """Returns [P, 2] scores whose column order depends on the population size (same mean)."""

    def evaluate(self, phenotypes, seed):
        f = -phenotypes.x.pow(2).sum(dim=1)
        k = torch.stack([f, 2 * f], dim=1)
        return EvalResult(fitness=k.flip(1) if len(phenotypes) % 2 else k)


class SharedStateTask(ToyTask):
    """Its state rows depend on the other individuals of the call (a population mean)."""

    def evaluate(self, phenotypes, seed):
        r = super().evaluate(phenotypes, seed)
        return EvalResult(r.fitness, r.metrics, state={"x_sum": r.state["x_sum"] - r.state["x_sum"].mean(0)})


class ScalarStateTask(ToyTask):
    def evaluate(self, phenotypes, seed):
        r = super().evaluate(phenotypes, seed)
        return EvalResult(r.fitness, r.metrics, state={"x_sum": r.state["x_sum"].sum()})


class MutatingTask(ToyTask):
    def evaluate(self, phenotypes, seed):
        phenotypes.x.mul_(0.5)
        return super().evaluate(phenotypes, seed)


class StatefulSetupTask(ToyTask):
    def setup(self, device="cpu"):
        super().setup(device)
        self.offset = getattr(self, "offset", 0.0) + 1.0

    def evaluate(self, phenotypes, seed):
        r = super().evaluate(phenotypes, seed)
        return EvalResult(fitness=r.fitness + self.offset)


class IntMaximizeTask(ToyTask):
    maximize = 1


class InstanceMaximizeTask(ToyTask):
    def __init__(self):
        super().__init__()
        self.maximize = False


class EmptyTargetTask(ToyTask):
    def target(self, network):
        return VectorSpec(0)


class DetachedLossTask(ToyTask):
    def loss(self, phenotypes, batch):
        return phenotypes.x.detach().pow(2).sum(dim=1)


class ZeroGradLossTask(ToyTask):
    def loss(self, phenotypes, batch):
        return phenotypes.x.sum(dim=1) * 0.0


class NanLossTask(ToyTask):
    def loss(self, phenotypes, batch):
        return phenotypes.x.sum(dim=1) * float("nan")


class MixingLossTask(ToyTask):
    def loss(self, phenotypes, batch):
        per = phenotypes.x.pow(2).sum(dim=1)
        return per + per.mean()


class ScalarLossTask(ToyTask):
    def loss(self, phenotypes, batch):
        return phenotypes.x.pow(2).sum()


class UndeclaredNoiseTask(ToyTask):
    stochastic = False   # but its noise comes from the seed


class NonBoolStochasticTask(ToyTask):
    stochastic = 1


class RandomMetricTask(ToyTask):
    """Its fitness is reproducible, one of its metrics is not (drawn from the global RNG)."""

    def evaluate(self, phenotypes, seed):
        r = super().evaluate(phenotypes, seed)
        r.metrics["noise"] = torch.rand(len(phenotypes))
        return r


class NanMetricTask(ToyTask):
    """A metric measured for some individuals only (NaN elsewhere, as double_pole's generalisation)."""

    def evaluate(self, phenotypes, seed):
        r = super().evaluate(phenotypes, seed)
        x = phenotypes.x
        r.metrics["sometimes"] = torch.where(x[:, 0] > 0, x.norm(dim=1), torch.full_like(x[:, 0], float("nan")))
        return r


BROKEN = [
    (WrongShapeTask, "test_evaluate_returns_eval_result_of_the_right_shapes"),
    (NotAResultTask, "test_evaluate_returns_eval_result_of_the_right_shapes"),
    (NanTask, "test_evaluate_returns_eval_result_of_the_right_shapes"),
    (BadMetricTask, "test_evaluate_returns_eval_result_of_the_right_shapes"),
    (GlobalRngTask, "test_same_seed_gives_identical_results"),
    (RandomMetricTask, "test_same_seed_gives_identical_results"),
    (ChunkDependentTask, "test_chunk_invariance"),
    (PerCallNoiseTask, "test_chunk_invariance"),
    (EpisodeOrderTask, "test_chunk_invariance"),
    (SharedStateTask, "test_evaluation_state_is_one_row_per_individual"),
    (ScalarStateTask, "test_evaluation_state_is_one_row_per_individual"),
    (MutatingTask, "test_evaluate_does_not_change_the_phenotypes"),
    (StatefulSetupTask, "test_setup_is_idempotent"),
    (IntMaximizeTask, "test_maximize_is_a_bool_class_attribute"),
    (InstanceMaximizeTask, "test_maximize_is_a_bool_class_attribute"),
    (EmptyTargetTask, "test_target_is_a_target_spec"),
    (DetachedLossTask, "test_loss_gradients_reach_the_phenotypes"),
    (ZeroGradLossTask, "test_loss_gradients_reach_the_phenotypes"),
    (NanLossTask, "test_loss_gradients_reach_the_phenotypes"),
    (ScalarLossTask, "test_loss_gradients_reach_the_phenotypes"),
    (MixingLossTask, "test_loss_is_per_individual"),
    (UndeclaredNoiseTask, "test_seed_dependent_fitness_is_declared_stochastic"),
    (NonBoolStochasticTask, "test_seed_dependent_fitness_is_declared_stochastic"),
]


@pytest.mark.parametrize(("task_cls", "check"), BROKEN, ids=[f"{c.__name__}-{m}" for c, m in BROKEN])
def test_each_check_fails_on_the_task_that_breaks_its_rule(task_cls, check):
    with pytest.raises(AssertionError):
        getattr(contract(task_cls), check)()


@pytest.mark.parametrize(("task_cls", "check"), BROKEN, ids=[f"{c.__name__}-{m}" for c, m in BROKEN])
def test_the_same_check_passes_on_the_conforming_toy(task_cls, check):
    getattr(contract(ToyTask), check)()


class BatchLossTask(ToyTask):
    """loss() needs a real batch (here: a weight vector) and the task has no train_batches()."""

    def loss(self, phenotypes, batch):
        return (phenotypes.x ** 2 * batch).sum(dim=1)


def test_a_metric_that_is_nan_where_not_measured_is_reproducible():
    checks = contract(NanMetricTask)
    checks.test_same_seed_gives_identical_results()
    checks.test_chunk_invariance()


def test_a_loss_that_needs_a_batch_asks_for_loss_batch():
    with pytest.raises(AssertionError, match="override loss_batch"):
        contract(BatchLossTask).test_loss_gradients_reach_the_phenotypes()
    with_batch = contract(BatchLossTask, loss_batch=lambda self, task: torch.ones(task.dim))
    with_batch.test_loss_gradients_reach_the_phenotypes()
    with_batch.test_loss_is_per_individual()


class TrainBatchesTask(BatchLossTask):
    def train_batches(self, batch_size, seed):
        yield torch.full((self.dim,), float(batch_size + seed))


def test_loss_batch_defaults_to_the_first_train_batch():
    c = contract(TrainBatchesTask)
    assert torch.equal(c.loss_batch(TrainBatchesTask()), torch.full((3,), 32.0))
    c.test_loss_gradients_reach_the_phenotypes()


def test_make_task_is_required():
    with pytest.raises(NotImplementedError, match="make_task"):
        TaskContract().test_maximize_is_a_bool_class_attribute()


def test_make_task_must_return_a_task():
    c = type("C", (TaskContract,), {"make_task": lambda self: object()})()
    with pytest.raises(AssertionError, match="Task"):
        c.test_setup_is_idempotent()


class NoLossTask(ToyTask):
    loss = Task.loss


def test_gradient_checks_skip_a_task_without_loss():
    for check in ("test_loss_gradients_reach_the_phenotypes", "test_loss_is_per_individual"):
        with pytest.raises((pytest.skip.Exception, unittest.SkipTest), match="no differentiable loss"):
            getattr(contract(NoLossTask), check)()


RAY_IMPORTS = ["import ray", "from ray import tune", "import numpy, ray.util",
               "import importlib; importlib.import_module('ray.tune')"]


@pytest.mark.parametrize("forbidden", RAY_IMPORTS)
def test_ray_import_is_detected_in_source(tmp_path, monkeypatch, forbidden):
    # The module imports Ray only inside a function that is never called: the source check finds it
    # without ray ever being imported here.
    name = f"ray_using_task_mod_{RAY_IMPORTS.index(forbidden)}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent("""
        import torch
        from evohyper.api.phenotypes import VectorSpec
        from evohyper.api.task import EvalResult, Task

        # a comment or a string that says "import ray" is not an import:
        NOTE = "import ray"

        class RayUsingTask(Task):
            maximize = True

            def target(self, network):
                return VectorSpec(2)

            def evaluate(self, phenotypes, seed):
                return EvalResult(fitness=phenotypes.x.sum(dim=1))

            def never_called(self):
                FORBIDDEN
    """).replace("FORBIDDEN", forbidden))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = __import__(name)
    assert "ray" not in vars(module)
    with pytest.raises(AssertionError, match="Ray"):
        contract(module.RayUsingTask).test_module_does_not_import_ray()


def test_ray_import_in_a_helper_module_of_the_same_package_is_detected(tmp_path, monkeypatch):
    pkg = tmp_path / "ray_helper_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "env.py").write_text("def make_env():\n    import ray.util\n    return ray.util\n")
    (pkg / "task.py").write_text(textwrap.dedent("""
        from evohyper.api.phenotypes import VectorSpec
        from evohyper.api.task import EvalResult, Task
        from ray_helper_pkg.env import make_env

        class HelperTask(Task):
            def target(self, network):
                return VectorSpec(2)

            def evaluate(self, phenotypes, seed):
                return EvalResult(fitness=phenotypes.x.sum(dim=1))
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    from ray_helper_pkg.task import HelperTask

    with pytest.raises(AssertionError, match="ray_helper_pkg.env imports Ray"):
        contract(HelperTask).test_module_does_not_import_ray()


def test_ray_in_module_globals_is_detected(monkeypatch):
    fake_ray = type(sys)("ray")
    monkeypatch.setattr(sys.modules[ToyTask.__module__], "ray", fake_ray, raising=False)
    with pytest.raises(AssertionError, match="Ray"):
        contract(ToyTask).test_module_does_not_import_ray()
    fake_tune = type(sys)("ray.tune")
    monkeypatch.setattr(sys.modules[ToyTask.__module__], "ray", fake_tune, raising=False)
    with pytest.raises(AssertionError, match="Ray"):
        contract(ToyTask).test_module_does_not_import_ray()


def test_base_class_is_not_collected_only_subclasses(pytester):
    pytester.makepyfile(test_user_task="""
        import torch
        from evohyper.api.phenotypes import VectorSpec
        from evohyper.api.task import EvalResult, Task
        from evohyper.testing import TaskContract

        class MyTask(Task):
            maximize = False

            def target(self, network):
                return VectorSpec(4)

            def evaluate(self, phenotypes, seed):
                return EvalResult(fitness=phenotypes.x.pow(2).sum(dim=1))

        class TestMyTask(TaskContract):
            population = 6

            def make_task(self):
                return MyTask()
    """)
    result = pytester.runpytest_inprocess("-v", "-p", "no:cacheprovider")
    n_checks = len([m for m in dir(TaskContract) if m.startswith("test_")])
    n_gradient = len([m for m in dir(TaskContract) if m.startswith("test_") and ("loss" in m or "batches" in m)])
    n_descriptor = len(["test_descriptors_are_chunk_invariant", "test_same_seed_gives_identical_descriptors"])
    # Only the subclass is collected (the base would fail: it has no make_task); a task without
    # loss() skips the gradient checks, one that learns nothing while evaluating the state check, one
    # without behaviour descriptors the descriptor checks that need some.
    skipped = n_gradient + 1 + n_descriptor
    result.assert_outcomes(passed=n_checks - skipped, skipped=skipped)
    out = result.stdout.str()
    assert "TestMyTask::test_chunk_invariance PASSED" in out
    assert "TaskContract::" not in out


# ------------------------------------------------------------------ train_batches (issue 13, item 1)
class DataToyTask(ToyTask):
    """A conforming differentiable toy: one epoch = 4 minibatches of weights drawn from the seed."""

    def loss(self, phenotypes, batch):
        return (phenotypes.x ** 2 * batch).sum(dim=(1, 2)) if batch.dim() == 2 else (phenotypes.x ** 2 * batch).sum(1)

    def train_batches(self, batch_size, seed):
        g = torch.Generator().manual_seed(seed)
        for _ in range(4):
            yield torch.rand(self.dim, generator=g)


class EndlessBatchesTask(DataToyTask):
    def train_batches(self, batch_size, seed):
        while True:
            yield torch.ones(self.dim)


class NoBatchesTask(DataToyTask):
    def train_batches(self, batch_size, seed):
        return iter(())


class GlobalRngBatchesTask(DataToyTask):
    def train_batches(self, batch_size, seed):
        for _ in range(3):
            yield torch.rand(self.dim)


class MisshapedBatchTask(DataToyTask):
    """The last batch of the epoch has a shape loss() cannot take."""

    def train_batches(self, batch_size, seed):
        yield from super().train_batches(batch_size, seed)
        yield torch.ones(self.dim + 1)


TRAIN_BATCHES_BROKEN = [
    (EndlessBatchesTask, "test_train_batches_is_one_finite_epoch", "one finite epoch"),
    (NoBatchesTask, "test_train_batches_is_one_finite_epoch", "no batches"),
    (GlobalRngBatchesTask, "test_train_batches_are_deterministic_under_a_seed", "same seed"),
    (MisshapedBatchTask, "test_loss_takes_every_batch", "batch 4"),
]


@pytest.mark.parametrize(("task_cls", "check", "says"), TRAIN_BATCHES_BROKEN,
                         ids=[f"{c.__name__}-{m}" for c, m, _ in TRAIN_BATCHES_BROKEN])
def test_train_batches_checks_fail_on_the_task_that_breaks_their_rule(task_cls, check, says, monkeypatch):
    from evohyper.api import training
    monkeypatch.setattr(training, "MAX_EPOCH_BATCHES", 1000)   # the endless task fails after 1,000 batches
    with pytest.raises(AssertionError, match=says):
        getattr(contract(task_cls), check)()
    getattr(contract(DataToyTask), check)()


def test_train_batches_checks_skip_a_task_without_them():
    for check in ("test_train_batches_is_one_finite_epoch", "test_train_batches_are_deterministic_under_a_seed",
                  "test_loss_takes_every_batch"):
        with pytest.raises((pytest.skip.Exception, unittest.SkipTest), match="train_batches"):
            getattr(contract(ToyTask), check)()
