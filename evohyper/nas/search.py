"""Search over cells: random search and regularized evolution (Real et al. 2019, aging evolution).

``fitness(graphs) -> Tensor[P]`` scores a whole batch at once (e.g. validation accuracy with
GHN-predicted weights, ``training.ghn_accuracy``). Both searches return a ``SearchResult`` with every
evaluated cell in order, its fitness, and the wall-clock seconds. Regularized evolution runs in
rounds: each round draws ``batch`` tournaments of ``sample`` members from the population (no
replacement within a tournament), mutates each winner (``CellSpace.mutate``), scores the ``batch``
children in one call, appends them and removes the ``batch`` oldest members.
"""
from __future__ import annotations

import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import networkx as nx
import torch

from evohyper.nas.space import CellSpace, encoding

Fitness = Callable[[list[nx.DiGraph]], torch.Tensor]


@dataclass
class SearchResult:
    graphs: list[nx.DiGraph] = field(default_factory=list)
    fitness: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def top(self, k: int) -> list[tuple[nx.DiGraph, float]]:
        """The k best distinct cells (by exact canonical encoding), best first."""
        seen, out = set(), []
        for i in sorted(range(len(self.graphs)), key=lambda i: -self.fitness[i]):
            key = encoding(self.graphs[i])
            if key not in seen:
                seen.add(key)
                out.append((self.graphs[i], self.fitness[i]))
            if len(out) == k:
                break
        return out


def _check(name: str, value: int, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ValueError(f"search: option {name!r} must be an integer >= {lo}, got {value!r}")
    return value


def random_search(space: CellSpace, fitness: Fitness, evaluations: int, seed: int = 0) -> SearchResult:
    _check("evaluations", evaluations, 1)
    start = time.perf_counter()
    rng = random.Random(seed)
    graphs = [space.sample(rng) for _ in range(evaluations)]
    fit = fitness(graphs)
    return SearchResult(graphs, [float(f) for f in fit], time.perf_counter() - start)


def regularized_evolution(space: CellSpace, fitness: Fitness, evaluations: int, population: int = 20,
                          sample: int = 5, batch: int = 10, seed: int = 0) -> SearchResult:
    _check("population", population, 2)
    _check("sample", sample, 1)
    _check("batch", batch, 1)
    _check("evaluations", evaluations, population)
    if sample > population:
        raise ValueError(f"search: option 'sample' ({sample}) must be <= 'population' ({population})")
    start = time.perf_counter()
    rng = random.Random(seed)
    res = SearchResult()
    init = [space.sample(rng) for _ in range(population)]
    fit = [float(f) for f in fitness(init)]
    res.graphs += init
    res.fitness += fit
    pop = deque(zip(init, fit))
    while len(res.graphs) < evaluations:
        n = min(batch, evaluations - len(res.graphs))
        children = []
        for _ in range(n):                                   # tournaments: cheap bookkeeping, no evaluation
            contenders = rng.sample(list(pop), sample)
            parent = max(contenders, key=lambda gf: gf[1])[0]
            children.append(space.mutate(parent, rng)[0])
        cfit = [float(f) for f in fitness(children)]         # one batched evaluation per round
        res.graphs += children
        res.fitness += cfit
        pop.extend(zip(children, cfit))
        for _ in range(n):
            pop.popleft()                                    # aging: the oldest die
    res.seconds = time.perf_counter() - start
    return res
