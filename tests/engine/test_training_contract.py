"""Issue 13, item 1: gradient training reads ``train_batches`` as one bounded epoch and ``loss`` as ``[P]``:
an endless generator or a scalar loss stops the run with a message naming the rule, never a silent hang."""
import time
import tracemalloc

import pytest
import torch

from evohyper.api import training
from evohyper.api.phenotypes import VectorSpec
from evohyper.api.registry import tasks
from evohyper.api.task import EvalResult, Task
from evohyper.config import validate
from evohyper.engine.evaluation import TaskError, TaskShapeError
from evohyper.engine.runner import build_search


class _Quadratic(Task):
    maximize = False

    def __init__(self, dim: int = 3):
        self.dim = dim

    def target(self, network):
        return VectorSpec(self.dim)

    def evaluate(self, phenotypes, seed):
        return EvalResult((phenotypes.x ** 2).sum(1))

    def loss(self, phenotypes, batch):
        return ((phenotypes.x - batch) ** 2).sum(1)

    def train_batches(self, batch_size, seed):
        g = torch.Generator().manual_seed(seed)
        for _ in range(5):
            yield torch.randn(self.dim, generator=g)


@tasks.register("test-endless-batches")
class EndlessBatches(_Quadratic):
    def train_batches(self, batch_size, seed):
        while True:                                   # "a stream of data": not one epoch
            yield [0.5] * 1000                        # 8 kB of Python objects per batch


@tasks.register("test-scalar-loss")
class ScalarLoss(_Quadratic):
    def loss(self, phenotypes, batch):
        return ((phenotypes.x - batch) ** 2).sum()   # the whole population in one number


tasks.register("test-good-batches")(_Quadratic)


def _search(task):
    return build_search(validate({"name": "g", "task": {"name": task}, "strategy": {"name": "gradient"},
                                  "budget": {"generations": 2}}), None)


def test_an_endless_train_batches_stops_the_run_with_the_rule(monkeypatch):
    monkeypatch.setattr(training, "MAX_EPOCH_BATCHES", 20_000)
    _search("test-good-batches").run()             # imports (torch.optim pulls in dynamo) out of the way
    search = _search("test-endless-batches")
    tracemalloc.start()
    start = time.monotonic()
    with pytest.raises(TaskError) as err:
        search.run()
    took = time.monotonic() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "more than 20,000 batches" in str(err.value) and "one finite epoch" in str(err.value)
    assert peak < 20 * 2**20, peak          # batches are counted, not kept (20,000 x 8 kB would be 160 MB)
    assert took < 60, took


def test_a_loss_that_is_not_one_value_per_individual_is_refused():
    with pytest.raises(TaskShapeError, match=r"loss must return one value per individual.*\[1\].*got \(\)"):
        _search("test-scalar-loss").run()


def test_minibatches_follow_the_epochs_lazily():
    task = _Quadratic()
    epochs = [list(task.train_batches(4, training.epoch_seed(9, e))) for e in range(3)]
    flat = [b for e in epochs for b in e]
    for start, count in ((0, 5), (3, 4), (7, 8)):
        got = list(training.minibatches(task, 4, 9, start, count))
        assert all(torch.equal(a, b) for a, b in zip(got, flat[start:start + count], strict=True))
    assert _search("test-good-batches").run().generations == 2
