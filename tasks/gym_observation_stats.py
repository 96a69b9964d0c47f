"""The gym task's observation statistics: the evaluation state its workers merge (count, sum, sum of squares
per observation) and the normaliser read from it. Their own module so ``gym.py`` stays the task."""
from __future__ import annotations

from typing import Any

import torch

#: the evaluation state (``EvalResult.state`` rows, merged sums), all float64: the number of observations,
#: their sum and their sum of squares (``[obs_dim]``)
STATS_KEYS = ("obs_count", "obs_sum", "obs_sumsq")
#: variance floor of the normaliser (EvoTorch's RunningNorm default), so constant inputs stay finite
MIN_VARIANCE = 1e-2


def check_observation_stats(stats: Any, obs_dim: int) -> dict[str, torch.Tensor]:
    """Merged observation statistics (the engine's evaluation state for this task), checked: count
    ``[]`` and sum, sumsq ``[obs_dim]``, finite, count >= 0."""
    if not isinstance(stats, dict) or set(stats) != set(STATS_KEYS):
        got = sorted(stats) if isinstance(stats, dict) else type(stats).__name__
        raise ValueError(f"observation stats must be a dict with keys {list(STATS_KEYS)}, got {got}")
    out = {k: torch.as_tensor(stats[k]).detach().to("cpu", torch.float64) for k in STATS_KEYS}
    if out["obs_count"].shape != () or out["obs_sum"].shape != (obs_dim,) or out["obs_sumsq"].shape != (obs_dim,):
        raise ValueError(f"observation stats must be obs_count [] and obs_sum, obs_sumsq [{obs_dim}], got "
                         f"{ {k: tuple(v.shape) for k, v in out.items()} }")
    if not all(bool(torch.isfinite(v).all()) for v in out.values()) or float(out["obs_count"]) < 0:
        raise ValueError("observation stats must be finite with obs_count >= 0")
    return out


def normalizer(stats: dict[str, torch.Tensor] | None) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(mean, std)`` to normalise with, or None while no observation has been counted."""
    count = 0.0 if stats is None else float(stats["obs_count"])
    if count <= 0:
        return None
    mean = stats["obs_sum"] / count
    var = (stats["obs_sumsq"] / count - mean * mean).clamp_min(MIN_VARIANCE)
    return mean, var.sqrt()
