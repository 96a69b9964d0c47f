"""Ensembles of networks from any source, compared the same way.

A *source* answers ``sample(n, seed) -> Phenotypes`` (n networks as one batched phenotype):

* ``GeneratorSource`` draws fresh networks from a generator (a HyperGAN: new noise s per draw);
* ``PoolSource`` picks n members of a fixed pool without replacement: the final population of any
  evolution run (``PoolSource.from_search``) or independently trained networks
  (``train_independent``: P networks of the same architecture trained at once, one batched loss).

``Ensemble`` wraps one batched phenotype and predicts by averaging the members' probabilities.
"""
from __future__ import annotations

import math
from typing import Any, Protocol

import torch

from evohyper.api.phenotypes import Phenotypes, TargetSpec
from evohyper.api.task import Task


def _count(n: Any, limit: int | None = None) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1 or (limit is not None and n > limit):
        allowed = "an integer >= 1" + (f" and <= {limit} (the pool size)" if limit is not None else "")
        raise ValueError(f"invalid ensemble size n={n!r}; allowed: {allowed}")
    return n


class Source(Protocol):
    def sample(self, n: int, seed: int = 0) -> Phenotypes: ...


class Ensemble:
    """n networks (one batched phenotype); prediction = mean of the members' softmax probabilities."""

    def __init__(self, members: Phenotypes):
        self.members = members

    @classmethod
    def from_source(cls, source: Source, n: int, seed: int = 0) -> Ensemble:
        return cls(source.sample(n, seed))

    def __len__(self) -> int:
        return len(self.members)

    @torch.no_grad()
    def member_probs(self, x: torch.Tensor) -> torch.Tensor:
        """``[n, B, C]`` class probabilities of every member (one batched forward)."""
        return torch.softmax(self.members.forward(x.to(self.members.dtype)), dim=-1)

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C]``: the members' probabilities averaged."""
        return self.member_probs(x).mean(dim=0)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.predict_proba(x).argmax(dim=-1)


class GeneratorSource:
    """Networks drawn from a generator with ``sample(n, seed)`` (e.g. ``HyperGANDecoder``)."""

    def __init__(self, generator: Any):
        self.generator = generator

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0) -> Phenotypes:
        return self.generator.sample(_count(n), seed=seed)


class PoolSource:
    """A fixed pool of networks; ``sample(n, seed)`` = n distinct members chosen by ``seed``."""

    def __init__(self, pool: Phenotypes):
        self.pool = pool

    def __len__(self) -> int:
        return len(self.pool)

    def sample(self, n: int, seed: int = 0) -> Phenotypes:
        _count(n, len(self.pool))
        pick = torch.randperm(len(self.pool), generator=torch.Generator().manual_seed(int(seed)))[:n]
        return self.pool.select(pick)

    @classmethod
    def from_genotypes(cls, decoder: Any, genotypes: Any) -> PoolSource:
        with torch.no_grad():
            return cls(decoder.decode(genotypes))

    @classmethod
    def from_search(cls, search: Any, decoder: Any) -> PoolSource:
        """The final population of a finished engine ``Search`` (vector strategies): one more ``ask``
        from the strategy's final state, decoded. The strategy is told the population is discarded."""
        genotypes = search.strategy.ask()
        search.strategy.discard()  # not evaluated: leave the strategy askable again
        return cls.from_genotypes(decoder, genotypes)


def train_independent(task: Task, target: TargetSpec, n: int, epochs: int = 30, batch_size: int = 64,
                      lr: float = 3e-3, seed: int = 0) -> PoolSource:
    """n networks of ``target``'s architecture from n independent standard initialisations, trained
    with Adam on ``task.loss``. All n train in one batched computation (the loss is their sum and Adam
    is elementwise, so this equals n separate runs); they share the minibatch order (data seed).
    Returns the trained pool (deep-ensemble members)."""
    _count(n)
    task.setup("cpu")
    gen = torch.Generator().manual_seed(int(seed))
    tensors = {}
    for name, shape in target.shapes().items():  # torch's default init, n draws at once
        fan_in = target.fan_in(name)
        init = (torch.zeros(n, *shape) if fan_in is None
                else (torch.rand(n, *shape, generator=gen) * 2 - 1) / math.sqrt(fan_in))
        tensors[name] = init.requires_grad_(True)
    opt = torch.optim.Adam(list(tensors.values()), lr=lr)
    for epoch in range(epochs):
        for batch in task.train_batches(batch_size=batch_size, seed=int(seed) * 100_003 + epoch):
            loss = task.loss(target.build(tensors), batch).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return PoolSource(target.build({k: v.detach() for k, v in tensors.items()}))
