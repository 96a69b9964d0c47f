"""Test-only parts for the quality-diversity / multi-objective plumbing (issue 23): fake strategies that
record what ``tell`` hands them, and tasks that declare descriptors/objectives and then misbehave.

Registered per test (``register(monkeypatch)``), never for the whole session: the registry-driven
conformance tests must not pick them up."""
import torch

from evohyper import EvalResult, Task, VectorSpec
from evohyper.api import registry
from evohyper.api.task import Descriptor, Objective
from evohyper.strategies.random_search import RandomSearch


class _Recording(RandomSearch):
    """Random search that keeps every extra ``tell`` hands it and reports two metrics from its state."""

    state_exclude = ("told", "bound")   # the recordings are not the strategy's state

    def bind_task(self, info):
        self.bound = info
        self.told: list[dict[str, torch.Tensor]] = []

    def _tell(self, fitness, **extras):
        self.told.append({"fitness": fitness.clone(), **{k: v.clone() for k, v in extras.items()}})
        super()._tell(fitness)

    def metrics(self):
        # "a_generation" sorts before the task's columns, "zz_best" after them: the order must still be stable
        return {"a_generation": float(self.generation), "zz_best": float(self._center_fitness)}


class FakeQD(_Recording):
    consumes = ("descriptors",)


class FakeMO(_Recording):
    consumes = ("objectives",)


class FakeQDMO(_Recording):
    consumes = ("descriptors", "objectives")


class _Base(Task):
    maximize = False

    def __init__(self, dim: int = 4):
        self.dim = dim

    def target(self, network):
        return VectorSpec(self.dim)


class RaisingDescriptorTask(_Base):
    """Sphere with two descriptors (x0, x1) and two objectives; raises for any individual with x0 > 0.5."""

    def descriptor_space(self):
        return Descriptor("x0", -1.0, 1.0), Descriptor("x1", -1.0, 1.0)

    def objective_space(self):
        return Objective("f", False), Objective("g", True)

    def evaluate(self, phenotypes, seed):
        x = phenotypes.x.double()
        if (x[:, 0] > 0.5).any():
            raise RuntimeError("simulator exploded")
        f = (x ** 2).sum(1)
        return EvalResult(torch.stack([f, x[:, 1]], 1), descriptors=x[:, :2])


class WrongShapeTask(_Base):
    """Declares 2 objectives and 2 descriptors; ``mode`` picks how it breaks its declaration."""

    def __init__(self, dim: int = 4, mode: str = "fitness_1d"):
        super().__init__(dim)
        self.mode = mode

    def descriptor_space(self):
        return () if self.mode == "undeclared_descriptors" else (Descriptor("a", 0, 1), Descriptor("b", 0, 1))

    def objective_space(self):
        return Objective("f", False), Objective("g", False)

    def evaluate(self, phenotypes, seed):
        x = phenotypes.x.double()
        two = torch.stack([x[:, 0], x[:, 1]], 1)
        fitness = x.sum(1) if self.mode == "fitness_1d" else two
        descriptors = {"missing": None, "three": x[:, :3]}.get(self.mode, two)
        return EvalResult(fitness, descriptors=descriptors)


PARTS = {"strategies": {"test-qd": FakeQD, "test-mo": FakeMO, "test-qdmo": FakeQDMO},
         "tasks": {"test-qd-raise": RaisingDescriptorTask, "test-qd-shape": WrongShapeTask}}


def register(monkeypatch):
    """Add the parts to the registries for one test (removed again by ``monkeypatch``)."""
    for kind, parts in PARTS.items():
        reg = getattr(registry, kind)
        reg.names()   # entry points first
        for name, obj in parts.items():
            monkeypatch.setitem(reg._entries, name, obj)
            obj.registered_name = name
