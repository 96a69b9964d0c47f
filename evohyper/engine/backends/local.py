"""In-process backend: one evaluator, one batched call per generation."""
from __future__ import annotations

from typing import Any

from evohyper.engine.evaluation import ChunkResult, ComponentsSpec, Evaluator


class LocalBackend:
    def __init__(self, spec: ComponentsSpec, device: str = "cpu"):
        self.evaluator = Evaluator(spec, device)

    def evaluate(self, genotypes: Any, seed: int) -> ChunkResult:
        return self.evaluator.evaluate(genotypes, seed)

    def close(self) -> None:
        pass
