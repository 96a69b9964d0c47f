"""The engine's error types, in one module that imports nothing of ours.

Why a module of their own: the evaluator, the training step, the search loop, the checkpoints and the
Ray pool all raise or catch these, and the CLI maps them to exit codes. Defined next to any one of
them, the others had to import that module (``training.py`` imported ``evaluation.py`` for
``TaskShapeError`` while ``evaluation.py`` imported ``training.py`` to train: a circle). The old homes
(``engine.evaluation``, ``engine.checkpoint``, ``engine.backends.ray.pool``) still re-export them.
"""
from __future__ import annotations


class TaskError(RuntimeError):
    """A task misbehaved (raised in strict mode, or broke its output contract)."""


class TaskShapeError(TaskError):
    """A task's result (fitness, metrics, a training loss) has the wrong shape for the population."""


class AllFailedError(TaskError):
    """Lenient mode, but every evaluation of a generation raised: there is nothing to search with."""


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt, of an unknown schema, or fails its checksum."""


class BackendError(RuntimeError):
    """The backend could not evaluate a population (actors lost, unschedulable, retries exhausted)."""


class EvaluationTimeout(BackendError, TimeoutError):
    """A chunk produced no result within ``timeout_s``, on ``max_retries + 1`` successive actors."""
