"""The contract's checks of declared behaviour descriptors and objectives (issue 23): a conforming
quality-diversity/multi-objective toy passes them, and each check fails on a task breaking its rule."""
import pytest
import torch

from evohyper.api.phenotypes import VectorSpec
from evohyper.api.task import Descriptor, EvalResult, Objective, Task
from evohyper.testing import TaskContract
from evohyper_tasks.sphere import SphereTask


class QDToyTask(Task):
    """Two objectives (-|x|^2 maximised, |x - 1|^2 minimised) over k=2 episodes, two descriptors."""

    maximize = True

    def __init__(self, dim: int = 3) -> None:
        self.dim = dim

    def target(self, network):
        return VectorSpec(self.dim)

    def descriptor_space(self):
        return Descriptor("x0", -3.0, 3.0), Descriptor("x1", -3.0, 3.0)

    def objective_space(self):
        return Objective("closeness", True), Objective("distance_to_one", False)

    def reference_point(self):
        return -10.0, 10.0

    def objectives(self, x):
        return torch.stack([-(x ** 2).sum(1), ((x - 1) ** 2).sum(1)], 1)

    def descriptors(self, x):
        return x[:, :2].double()

    def evaluate(self, phenotypes, seed):
        x = phenotypes.x.double()
        two = self.objectives(x)
        return EvalResult(torch.stack([two, two], 1), descriptors=self.descriptors(x))


class TestQDToyConforms(TaskContract):
    def make_task(self):
        return QDToyTask()


class TestSphereWithDescriptorsAndObjectives(TaskContract):
    genotype_scale = 4.0   # some coordinates beyond 5.12: pyribs' folding is exercised

    def make_task(self):
        return SphereTask(dim=6, descriptors=True, objectives=2)


def contract(task_cls):
    return type("Contract", (TaskContract,), {"make_task": lambda self: task_cls()})()


# ------------------------------------------------------------------ broken, one rule each
class NotADescriptor(QDToyTask):
    def descriptor_space(self):
        return ("x0", "x1")


class InvertedBounds(QDToyTask):
    def descriptor_space(self):
        return Descriptor("x0", 1.0, -1.0), Descriptor("x1", -3.0, 3.0)


class InfiniteBounds(QDToyTask):
    def descriptor_space(self):
        return Descriptor("x0", -float("inf"), 1.0), Descriptor("x1", -3.0, 3.0)


class DuplicateDescriptorNames(QDToyTask):
    def descriptor_space(self):
        return Descriptor("x", -3.0, 3.0), Descriptor("x", -3.0, 3.0)


class DuplicateObjectiveNames(QDToyTask):
    def objective_space(self):
        return Objective("o", True), Objective("o", False)


class FirstObjectiveAgainstMaximize(QDToyTask):
    def objective_space(self):
        return Objective("closeness", False), Objective("distance_to_one", False)


class ShortReferencePoint(QDToyTask):
    def reference_point(self):
        return (-10.0,)


class ReferencePointWithoutObjectives(QDToyTask):
    def objective_space(self):
        return ()

    def reference_point(self):
        return (1.0,)

    def evaluate(self, phenotypes, seed):
        r = super().evaluate(phenotypes, seed)
        return EvalResult(r.fitness[:, 0, 0], descriptors=r.descriptors)


class OneColumnFitness(QDToyTask):
    def evaluate(self, phenotypes, seed):
        r = super().evaluate(phenotypes, seed)
        return EvalResult(r.fitness[:, 0, 0], descriptors=r.descriptors)


class ThreeObjectiveColumns(QDToyTask):
    def evaluate(self, phenotypes, seed):
        x = phenotypes.x.double()
        return EvalResult(torch.cat([self.objectives(x), x[:, :1]], 1), descriptors=self.descriptors(x))


class MissingDescriptors(QDToyTask):
    def evaluate(self, phenotypes, seed):
        return EvalResult(self.objectives(phenotypes.x.double()))


class WrongDescriptorCount(QDToyTask):
    def descriptors(self, x):
        return x[:, :3].double()


class UndeclaredDescriptors(QDToyTask):
    def descriptor_space(self):
        return ()


class NanDescriptors(QDToyTask):
    def descriptors(self, x):
        return torch.full((len(x), 2), float("nan"), dtype=torch.float64)


class IntegerDescriptors(QDToyTask):
    def descriptors(self, x):
        return (x[:, :2] * 10).long()


class CallDependentDescriptors(QDToyTask):
    def descriptors(self, x):
        return x[:, :2] - x[:, :2].mean(0)   # depends on who else is in the call


class GlobalRngDescriptors(QDToyTask):
    def descriptors(self, x):
        return x[:, :2] + torch.randn(2, dtype=torch.float64)


BROKEN = [
    (NotADescriptor, "test_descriptor_space_is_well_formed"),
    (InvertedBounds, "test_descriptor_space_is_well_formed"),
    (InfiniteBounds, "test_descriptor_space_is_well_formed"),
    (DuplicateDescriptorNames, "test_descriptor_space_is_well_formed"),
    (DuplicateObjectiveNames, "test_objective_space_is_well_formed"),
    (FirstObjectiveAgainstMaximize, "test_objective_space_is_well_formed"),
    (ShortReferencePoint, "test_objective_space_is_well_formed"),
    (ReferencePointWithoutObjectives, "test_objective_space_is_well_formed"),
    (OneColumnFitness, "test_evaluate_returns_eval_result_of_the_right_shapes"),
    (ThreeObjectiveColumns, "test_evaluate_returns_eval_result_of_the_right_shapes"),
    (MissingDescriptors, "test_descriptors_are_returned_exactly_when_declared"),
    (WrongDescriptorCount, "test_descriptors_are_returned_exactly_when_declared"),
    (UndeclaredDescriptors, "test_descriptors_are_returned_exactly_when_declared"),
    (NanDescriptors, "test_descriptors_are_returned_exactly_when_declared"),
    (IntegerDescriptors, "test_descriptors_are_returned_exactly_when_declared"),
    (CallDependentDescriptors, "test_descriptors_are_chunk_invariant"),
    (GlobalRngDescriptors, "test_same_seed_gives_identical_descriptors"),
]


@pytest.mark.parametrize(("task_cls", "check"), BROKEN, ids=[f"{c.__name__}-{m}" for c, m in BROKEN])
def test_each_check_fails_on_the_task_that_breaks_its_rule(task_cls, check):
    with pytest.raises(AssertionError):
        getattr(contract(task_cls), check)()


@pytest.mark.parametrize(("task_cls", "check"), BROKEN, ids=[f"{c.__name__}-{m}" for c, m in BROKEN])
def test_the_same_check_passes_on_the_conforming_toy(task_cls, check):
    getattr(contract(QDToyTask), check)()


def test_descriptor_checks_skip_a_task_without_descriptors():
    plain = contract(lambda: SphereTask(dim=4))
    for check in ("test_descriptors_are_chunk_invariant", "test_same_seed_gives_identical_descriptors"):
        with pytest.raises(pytest.skip.Exception, match="declares no behaviour descriptors"):
            getattr(plain, check)()
    plain.test_descriptors_are_returned_exactly_when_declared()
    plain.test_objective_space_is_well_formed()
