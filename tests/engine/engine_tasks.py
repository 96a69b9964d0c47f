"""Test-only tasks with deliberate misbehaviour (NaN fitness, exceptions, wrong shapes)."""
import torch

from evohyper import EvalResult, Task, VectorSpec
from evohyper.api.registry import tasks


class _Base(Task):
    def __init__(self, dim: int = 4):
        self.dim = dim

    def target(self, network):
        return VectorSpec(self.dim)


@tasks.register("test-nan")
class NanTask(_Base):
    """-|x|^2, but NaN when x0 > 0.8 and +inf when x0 < -0.8 (must rank worst, never best)."""

    def evaluate(self, phenotypes, seed):
        x = phenotypes.x
        f = -(x ** 2).sum(1)
        f = torch.where(x[:, 0] > 0.8, torch.nan, f)
        f = torch.where(x[:, 0] < -0.8, torch.inf, f)
        return EvalResult(f, {"x0": x[:, 0]})


@tasks.register("test-raise")
class RaisingTask(_Base):
    """Raises whenever an individual has x0 > 0.5 in the batch."""

    def evaluate(self, phenotypes, seed):
        x = phenotypes.x
        if (x[:, 0] > 0.5).any():
            raise RuntimeError("simulator exploded")
        return EvalResult(-(x ** 2).sum(1))


@tasks.register("test-shape")
class WrongShapeTask(_Base):
    """Returns one fitness too many."""

    def evaluate(self, phenotypes, seed):
        return EvalResult(torch.zeros(len(phenotypes) + 1))


@tasks.register("test-always-raise")
class AlwaysRaisingTask(_Base):
    """Raises for every individual (a broken simulator): a lenient run must stop, not score None."""

    def evaluate(self, phenotypes, seed):
        raise ValueError(f"broken simulator for {len(phenotypes)} individuals")


@tasks.register("test-metrics")
class ManyMetricsTask(_Base):
    """-|x|^2 with several metrics, named out of alphabetical order."""

    def evaluate(self, phenotypes, seed):
        x = phenotypes.x
        return EvalResult(-(x ** 2).sum(1), {"zeta": x[:, 0], "alpha": x[:, 1], "mid": x.sum(1)})
