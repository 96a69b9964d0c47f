"""TrainingJob: the "genotype population" a gradient strategy asks for, and the data order of training.

Why a job rather than a vector: gradient training must run where the task's data and the decoder
live (the evaluator, i.e. a Ray actor on its GPU), and its state (parameters, optimizer moments) must
travel there and back each generation. A job is plain data (tensors + JSON), so it crosses process
boundaries and checkpoints like any genotype; it slices by rows like a ``[P, D]`` tensor, so backends
split it without knowing what it is.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from evohyper.api.task import Task


def _rows(obj: Any, index: slice, size: int) -> Any:
    """Slice every tensor whose first axis is the population (optimizer moments); keep the rest."""
    if isinstance(obj, torch.Tensor):
        return obj[index] if obj.dim() >= 1 and obj.shape[0] == size else obj
    if isinstance(obj, dict):
        return {k: _rows(v, index, size) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_rows(v, index, size) for v in obj)
    return obj


def _cat(parts: list[Any], size: int) -> Any:
    first = parts[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(parts) if first.dim() >= 1 and first.shape[0] == size else first
    if isinstance(first, dict):
        return {k: _cat([p[k] for p in parts], size) for k in first}
    if isinstance(first, (list, tuple)):
        return type(first)(_cat([p[i] for p in parts], size) for i in range(len(first)))
    return first


@dataclass
class TrainingJob:
    """Train ``size`` genotypes for ``steps`` optimizer steps, then score them with ``task.evaluate``.

    genotypes: ``[size, D]``, or None to start from ``decoder.initial_genotype`` (seeded by ``data_seed``).
    optimizer / options: a ``torch.optim`` class name (``Adam``, ``AdamW``, ``SGD``) and its keywords.
    optimizer_state: ``optimizer.state_dict()`` from the previous generation (None at the start).
    step: optimizer steps done so far; minibatches are a function of (``data_seed``, step) only.
    clip_grad_norm: if set, each row's gradient is rescaled to at most this L2 norm before a step.
    """

    genotypes: torch.Tensor | None
    size: int
    optimizer: str
    options: dict[str, Any]
    optimizer_state: dict[str, Any] | None
    steps: int
    batch_size: int
    data_seed: int
    step: int = 0
    clip_grad_norm: float | None = None

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: slice) -> TrainingJob:
        if not isinstance(index, slice):
            raise TypeError("a TrainingJob is indexed by row slices only")
        start, stop, _ = index.indices(self.size)
        rows = slice(start, stop)
        return replace(self, size=max(0, stop - start),
                       genotypes=None if self.genotypes is None else self.genotypes[rows],
                       optimizer_state=_rows(self.optimizer_state, rows, self.size))

    @staticmethod
    def concat(parts: list[TrainingJob]) -> TrainingJob:
        size = sum(p.size for p in parts)
        first = parts[0]
        if len(parts) == 1:
            return first
        return replace(first, size=size, genotypes=torch.cat([p.genotypes for p in parts]),
                       optimizer_state=_cat([p.optimizer_state for p in parts], first.size))


# ----------------------------------------------------------------------------- data order
# Minibatches and per-step randomness are functions of (data seed, global step) only, so training is
# identical on any backend and after a resume.

def epoch_seed(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence([int(seed), 7, int(epoch)]).generate_state(1, dtype=np.uint64)[0] >> 1)


#: the most minibatches one call of ``Task.train_batches`` may yield. The rule: one finite epoch (the
#: training data split into minibatches, in an order drawn from the seed); a generator that yields
#: more is taken for an endless stream and stopped with an error naming the rule.
MAX_EPOCH_BATCHES = 100_000


def epoch(task: Task, batch_size: int, seed: int) -> Iterator[Any]:
    """One epoch of ``task.train_batches(batch_size, seed)``, read lazily and bounded (see ``MAX_EPOCH_BATCHES``)."""
    for n, batch in enumerate(task.train_batches(batch_size, seed)):
        if n == MAX_EPOCH_BATCHES:
            raise ValueError(f"task {type(task).__name__}.train_batches(batch_size={batch_size}, seed={seed}) "
                             f"yielded more than {MAX_EPOCH_BATCHES:,} batches; it must yield one finite epoch "
                             "(the training data split into minibatches, shuffled from the seed), not an endless "
                             "stream; raise strategy.batch_size if the data set is that large")
        yield batch


def epoch_length(task: Task, batch_size: int, seed: int) -> int:
    """How many minibatches one epoch has (counted, not kept)."""
    n = sum(1 for _ in epoch(task, batch_size, seed))
    if n == 0:
        raise ValueError(f"task {type(task).__name__}.train_batches(batch_size={batch_size}, seed={seed}) yielded "
                         "no batches; it must yield one finite, non-empty epoch")
    return n


def minibatches(task: Task, batch_size: int, seed: int, start: int, count: int) -> Iterator[Any]:
    """``count`` minibatches from global step ``start``: step s is batch ``s % n`` of epoch ``s // n``
    (n = the length of epoch 0). Epochs are read lazily, so memory holds one batch at a time."""
    n = epoch_length(task, batch_size, epoch_seed(seed, 0))
    e, i = divmod(start, n)
    produced = 0
    while produced < count:
        for batch in itertools.islice(epoch(task, batch_size, epoch_seed(seed, e)), i, None):
            yield batch
            produced += 1
            if produced == count:
                return
        e, i = e + 1, 0


def batch_len(batch: Any) -> int:
    first = batch[0] if isinstance(batch, (tuple, list)) else batch
    return int(first.shape[0]) if hasattr(first, "shape") else len(first)


def step_generator(seed: int, step: int) -> torch.Generator:
    """The generator of global step ``step`` (noise, sampled graphs): a function of (seed, step) only."""
    state = np.random.SeedSequence([int(seed), 11, int(step)]).generate_state(1, dtype=np.uint64)[0] >> 1
    return torch.Generator().manual_seed(int(state))
