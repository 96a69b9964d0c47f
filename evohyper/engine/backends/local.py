"""In-process backend: one evaluator, one batched call per generation."""
from __future__ import annotations

from typing import Any

from evohyper.api.training import TrainingJob
from evohyper.config.build import Components, ComponentsSpec
from evohyper.engine.evaluation import ChunkResult, Evaluator


class LocalBackend:
    """Evaluates in this process, reusing the components the driver built (``components``) if given."""

    def __init__(self, spec: ComponentsSpec, device: str = "cpu", components: Components | None = None):
        self.evaluator = Evaluator(spec, device, components)

    def evaluate(self, genotypes: Any, seed: int, state: dict[str, Any] | None = None) -> ChunkResult:
        return self.evaluator.evaluate(genotypes, seed, state)

    def train(self, job: TrainingJob, seed: int) -> tuple[ChunkResult, TrainingJob]:
        return self.evaluator.train(job, seed)

    def close(self) -> None:
        pass
