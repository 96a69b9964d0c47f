"""Test-only tasks for the Ray backend tests.

Imported by the evaluator actors through ``RayBackend(preload_modules=["ray_test_tasks"],
sys_path=[<this directory>])``, so the decorator registrations below also happen in the workers.

All tasks score a VectorSpec phenotype with fitness ``-sum(x**2)`` (the ``network:`` block is
ignored). The misbehaving ones trigger only on a chunk containing an individual whose first gene
equals ``MARKER``, so only that chunk is affected. "Once" behaviours use a flag file created
atomically (O_CREAT | O_EXCL): the first actor to see the marker misbehaves, the retry on a fresh
actor finds the flag and evaluates normally.
"""
from __future__ import annotations

import os
import time
from typing import Any

import torch

from evohyper.api.phenotypes import VectorSpec
from evohyper.api.registry import tasks
from evohyper.api.task import EvalResult, Task

MARKER = 12345.0


def _marked(x: torch.Tensor) -> bool:
    return bool((x[:, 0] == MARKER).any())


def _first_time(flag: str) -> bool:
    try:
        fd = os.open(flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.close(fd)
    return True


class _VectorTask(Task):
    maximize = False

    def __init__(self, dim: int = 4, flag: str = ""):
        self.dim, self.flag = int(dim), flag

    def target(self, network: dict[str, Any]) -> VectorSpec:
        return VectorSpec(self.dim)

    def score(self, x: torch.Tensor) -> EvalResult:
        fit = -(x.double() ** 2).sum(dim=1)
        return EvalResult(fitness=fit, metrics={"norm": x.norm(dim=1)})


@tasks.register("raytest_sphere")
class SphereTestTask(_VectorTask):
    """-sum(x^2); cheap and chunk-invariant."""

    def evaluate(self, phenotypes, seed: int) -> EvalResult:
        return self.score(phenotypes.x)


@tasks.register("raytest_raise")
class RaisingTestTask(_VectorTask):
    """Always raises."""

    def evaluate(self, phenotypes, seed: int) -> EvalResult:
        raise ValueError("deliberate failure from raytest_raise")


@tasks.register("raytest_die_once")
class DieOnceTestTask(_VectorTask):
    """Kills its own worker process the first time it sees the marker."""

    def evaluate(self, phenotypes, seed: int) -> EvalResult:
        if _marked(phenotypes.x) and _first_time(self.flag):
            os._exit(1)
        return self.score(phenotypes.x)


@tasks.register("raytest_hang_once")
class HangOnceTestTask(_VectorTask):
    """Sleeps (practically) forever the first time it sees the marker."""

    def evaluate(self, phenotypes, seed: int) -> EvalResult:
        if _marked(phenotypes.x) and _first_time(self.flag):
            time.sleep(3600)
        return self.score(phenotypes.x)


@tasks.register("raytest_hang_always")
class HangAlwaysTestTask(_VectorTask):
    """Sleeps (practically) forever whenever it sees the marker."""

    def evaluate(self, phenotypes, seed: int) -> EvalResult:
        if _marked(phenotypes.x):
            time.sleep(3600)
        return self.score(phenotypes.x)
