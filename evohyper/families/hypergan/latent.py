"""The generator's latent space: fitness along a straight path between two noise codes
(the "Agent Embeddings" interpolation figure). Every point of the path is decoded and scored in one
batched call."""
from __future__ import annotations

from typing import Any

import torch

from evohyper.api.task import Task


def interpolate(decoder: Any, task: Task, s0: torch.Tensor, s1: torch.Tensor, points: int = 21,
                seed: int = 0) -> dict[str, Any]:
    """``s(a) = (1 - a) s0 + a s1`` for ``points`` values of a in [0, 1]; returns
    ``{"alpha": [points], "fitness": [points], <task metrics>: [points]}`` (task direction)."""
    if isinstance(points, bool) or not isinstance(points, int) or points < 2:
        raise ValueError(f"invalid interpolation option points={points!r}; allowed: an integer >= 2")
    alpha = torch.linspace(0.0, 1.0, points)
    s = (1 - alpha[:, None]) * s0.reshape(1, -1) + alpha[:, None] * s1.reshape(1, -1)
    with torch.no_grad():
        phen = decoder.decode(s)
        result = task.evaluate(phen, seed)
        out: dict[str, Any] = {"alpha": alpha, "fitness": torch.as_tensor(result.fitness).reshape(points, -1)[:, 0]}
        out.update({k: torch.as_tensor(v) for k, v in result.metrics.items()})
        if hasattr(task, "test_metrics"):
            out.update(task.test_metrics(phen))
    return out
