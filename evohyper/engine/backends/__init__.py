"""Where evaluation runs: in-process (`local`) or on a pool of Ray actors (`ray`)."""
from __future__ import annotations

from typing import Any, Protocol

from evohyper.engine.evaluation import ChunkResult


class Backend(Protocol):
    """Scores a whole population; results must not depend on how the work was split."""

    def evaluate(self, genotypes: Any, seed: int) -> ChunkResult: ...

    def close(self) -> None: ...
