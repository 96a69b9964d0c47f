"""Benchmark-only tasks, registered by decorator under names starting with ``bench_``.

Ray evaluator actors run in other processes: a config naming this module under
``plugins: [benchmarks.bench_tasks]`` makes the driver and every actor import it (the backend adds
the driver's working directory, the repository root under ``make bench``, to the actors' ``sys.path``),
so the registration below also happens there.
"""
# No `from __future__ import annotations`: constructor annotations stay real types for the validator.
import math
from typing import Any, ClassVar

import torch

from evohyper.api.phenotypes import VectorPhenotypes, VectorSpec
from evohyper.api.registry import tasks
from evohyper.api.task import EvalResult, Task


@tasks.register("bench_matmul")
class MatmulTask(Task):
    """Benchmark workload: ``rounds`` of ``h <- tanh(h @ M)`` on each ``dim``-vector (fixed random M).

    The cost is real dense compute, linear in ``rounds`` and in the population size, so it can be
    sized to a wall time and split evenly between actors. ``rounds: 0`` is a near-zero-cost task
    (fitness = mean of x^2). Minimised. Each call also reports the evaluating process's torch
    intra-op thread count as the metric ``torch_threads`` (to show what Ray actors use).
    """

    maximize: ClassVar[bool] = False

    def __init__(self, dim: int = 256, rounds: int = 10, matrix_seed: int = 0) -> None:
        if dim < 1 or rounds < 0:
            raise ValueError(f"bench_matmul needs dim >= 1 and rounds >= 0, got dim={dim}, rounds={rounds}")
        self.dim, self.rounds, self.matrix_seed = int(dim), int(rounds), int(matrix_seed)
        self.device = torch.device("cpu")
        self.matrix: torch.Tensor | None = None

    def setup(self, device: Any = "cpu") -> None:
        self.device = torch.device(device)
        gen = torch.Generator().manual_seed(self.matrix_seed)
        self.matrix = (torch.randn(self.dim, self.dim, generator=gen) / math.sqrt(self.dim)).to(self.device)

    def target(self, network: dict) -> VectorSpec:
        if network:
            raise ValueError(f"bench_matmul takes no network: block, got {sorted(network)}")
        return VectorSpec(self.dim)

    def evaluate(self, phenotypes: VectorPhenotypes, seed: int) -> EvalResult:
        if self.matrix is None:
            self.setup(self.device)
        h = phenotypes.x.to(torch.float32)
        for _ in range(self.rounds):
            h = torch.tanh(h @ self.matrix)
        fitness = h.pow(2).mean(dim=1).to(torch.float64)
        threads = torch.full((h.shape[0],), float(torch.get_num_threads()))
        return EvalResult(fitness=fitness, metrics={"torch_threads": threads})
