"""In-process backend: one evaluator, one batched call per generation."""
from __future__ import annotations

from typing import Any

from evohyper.api.training import TrainingJob
from evohyper.config.build import Components, ComponentsSpec
from evohyper.engine import threads as thread_policy
from evohyper.engine.evaluation import ChunkResult, Evaluator


class LocalBackend:
    """Evaluates in this process, reusing the components the driver built (``components``) if given.

    threads: this process's BLAS and torch threads while the backend is open (default: the engine's thread
    policy for ``backend: local``); set once the evaluator is built, restored by :meth:`close`."""

    def __init__(self, spec: ComponentsSpec, device: str = "cpu", components: Components | None = None,
                 threads: thread_policy.Threads | None = None):
        self.evaluator = Evaluator(spec, device, components)
        if threads is None:
            from evohyper.config.sections import BackendConfig
            threads = thread_policy.choose(BackendConfig(name="local")).evaluator
        self.threads = threads
        self._restore_threads = thread_policy.apply(threads)

    def evaluate(self, genotypes: Any, seed: int, state: dict[str, Any] | None = None) -> ChunkResult:
        return self.evaluator.evaluate(genotypes, seed, state)

    def train(self, job: TrainingJob, seed: int) -> tuple[ChunkResult, TrainingJob]:
        return self.evaluator.train(job, seed)

    def close(self) -> None:
        self._restore_threads()
