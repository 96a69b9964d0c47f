"""Where evaluation runs: in-process (`local`) or on a pool of Ray actors (`ray`)."""
from __future__ import annotations

from typing import Any, Protocol

from evohyper.api.training import TrainingJob
from evohyper.engine.evaluation import ChunkResult


class Backend(Protocol):
    """Scores a whole population (``evaluate``) or trains a gradient strategy's job (``train``);
    results must not depend on how the work was split. ``state`` is the run's evaluation state
    (``Task.load_evaluation_state``), handed to every evaluator with the call."""

    def evaluate(self, genotypes: Any, seed: int, state: dict[str, Any] | None = None) -> ChunkResult: ...

    def train(self, job: TrainingJob, seed: int) -> tuple[ChunkResult, TrainingJob]: ...

    def close(self) -> None: ...
