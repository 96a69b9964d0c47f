"""Pareto helpers over DEAP (and moocore, DEAP's own hypervolume backend) for tensors of objectives.

Every function takes objectives ``[n, m]`` with **every column higher-is-better** (evohyper's internal
direction: ``Strategy.tell`` hands objectives flipped that way) and returns tensors of indices or masks
into those rows, so any genotype (vectors, NEAT genome batches) can be selected with them.

Why DEAP: NSGA-II's non-dominated sorting, crowding distance, survival (``tools.selNSGA2``) and the
dominance-and-crowding parent tournament (``tools.selTournamentDCD``) are DEAP's own; these helpers only
turn rows into DEAP individuals (one per row, carrying the row index) and the chosen individuals back
into indices. ``pareto_front`` is the one helper computed here, as one batched dominance test (no DEAP
call, no loop over rows), and it is tested against DEAP's ``sortNondominated``.

Determinism (what a resumed run relies on). ``selNSGA2`` draws no random numbers: its result is a function
of the rows *and their order*. Rows with identical objectives are grouped in the order they come
(``sortNondominated`` keys on the fitness values), the first front lists them in order of first
appearance, crowding distances are computed with Python's stable sorts (ties keep the earlier row first),
and the last, partly taken front is cut by crowding distance, descending, stable (equal distances: the
earlier row wins). So the same rows in the same order give the same indices on every platform.
``selTournamentDCD`` draws from Python's ``random``: ``tournament_dcd`` runs it on the caller's own
``random.Random`` (``evohyper.api.rng.python_random``), so its picks depend on that generator only.

Hypervolume: DEAP computes it with ``moocore.hypervolume``, which assumes minimisation; ``hypervolume``
negates objectives and reference point before calling it (the volume is the same in either direction).
A point that does not strictly dominate the reference point adds nothing (moocore's rule, tested).
"""
from __future__ import annotations

import random
from functools import cache

import moocore
import numpy as np
import torch
from deap import base, tools

from evohyper.api import rng as _rng


@cache
def _fitness_class(m: int) -> type:
    """A DEAP fitness of ``m`` maximised objectives (the weights DEAP multiplies values by)."""
    return type(f"Maximize{m}", (base.Fitness,), {"weights": (1.0,) * m})


class _Row(list):
    """One row as a DEAP individual: the row index (so selections map back) and its fitness."""

    __slots__ = ("index", "fitness")


def _rows(objectives: torch.Tensor, crowding: torch.Tensor | None = None) -> list[_Row]:
    values = _check(objectives).tolist()
    fitness = _fitness_class(len(values[0]) if values else 1)
    out = []
    for i, v in enumerate(values):        # the conversion DEAP needs: one individual per row
        row = _Row()
        row.index = i
        row.fitness = fitness(v)
        out.append(row)
    if crowding is not None:
        for row, d in zip(out, torch.as_tensor(crowding, dtype=torch.float64).reshape(-1).tolist(), strict=True):
            row.fitness.crowding_dist = d
    return out


def _check(objectives: torch.Tensor) -> np.ndarray:
    o = torch.as_tensor(objectives, dtype=torch.float64)
    if o.dim() != 2:
        raise ValueError(f"objectives must be [n, m]; got shape {tuple(o.shape)}")
    if not bool(torch.isfinite(o).all()):
        raise ValueError("objectives must be finite (replace NaN/inf below the worst of each column first)")
    return o.detach().cpu().numpy()


def _indices(chosen: list[_Row]) -> torch.Tensor:
    return torch.tensor([row.index for row in chosen], dtype=torch.long)


def nsga2_survivors(objectives: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """DEAP's ``selNSGA2`` over the rows: the indices ``[k]`` of the survivors (fronts in order, the last
    one cut by crowding distance) and the crowding distance ``[k]`` (float64, ``inf`` at a front's ends)
    each survivor got within its front, as ``selTournamentDCD`` reads it afterwards."""
    if not 0 <= k <= len(objectives):
        raise ValueError(f"k must be in [0, {len(objectives)}]; got {k}")
    chosen = tools.selNSGA2(_rows(objectives), int(k))
    crowding = torch.tensor([row.fitness.crowding_dist for row in chosen], dtype=torch.float64)
    return _indices(chosen), crowding


def nsga2_select(objectives: torch.Tensor, k: int) -> torch.Tensor:
    """Indices ``[k]`` of the rows NSGA-II survival keeps (DEAP's ``selNSGA2``; deterministic, see above)."""
    return nsga2_survivors(objectives, k)[0]


def tournament_dcd(objectives: torch.Tensor, crowding: torch.Tensor, k: int, rng: random.Random) -> torch.Tensor:
    """Indices ``[k]`` of parents picked by DEAP's ``selTournamentDCD`` (binary tournaments on dominance,
    then crowding distance, then a coin from ``rng``) among rows with the given ``crowding`` distances.
    DEAP's tournaments take the rows four at a time: ``k`` must be a multiple of 4, at most n."""
    n = len(objectives)
    if k % 4 or not 0 < k <= n:
        raise ValueError(f"selTournamentDCD needs k a multiple of 4 in (0, {n}]; got k={k}")
    rows = _rows(objectives, crowding)
    with _rng.python_random(rng):
        chosen = tools.selTournamentDCD(rows, int(k))
    return _indices(chosen)


def crowding_distance(objectives: torch.Tensor) -> torch.Tensor:
    """DEAP's crowding distance ``[n]`` of the rows taken as one front (``tools.emo.assignCrowdingDist``)."""
    rows = _rows(objectives)
    tools.emo.assignCrowdingDist(rows)
    return torch.tensor([row.fitness.crowding_dist for row in rows], dtype=torch.float64)


def pareto_front(objectives: torch.Tensor) -> torch.Tensor:
    """``[n]`` bool: the rows no other row dominates (>= in every column, > in one), as one batched test."""
    o = torch.as_tensor(objectives, dtype=torch.float64)
    if o.dim() != 2:
        raise ValueError(f"objectives must be [n, m]; got shape {tuple(o.shape)}")
    ge = (o.unsqueeze(1) >= o.unsqueeze(0)).all(dim=2)   # ge[i, j]: row i >= row j everywhere
    gt = (o.unsqueeze(1) > o.unsqueeze(0)).any(dim=2)
    return ~(ge & gt).any(dim=0)


def hypervolume(objectives: torch.Tensor, reference: torch.Tensor | list[float]) -> float:
    """Volume dominated by the rows (higher is better) and bounded by ``reference`` ``[m]`` (higher is
    better too, i.e. worse than every point worth counting): moocore's hypervolume on the negated values.
    Rows that do not strictly beat the reference in every column add nothing; no rows: 0."""
    o = torch.as_tensor(objectives, dtype=torch.float64)
    ref = torch.as_tensor(reference, dtype=torch.float64).reshape(-1)
    if o.dim() != 2 or o.shape[1] != ref.numel():
        raise ValueError(f"objectives [n, {ref.numel()}] expected for a reference of {ref.numel()} values; "
                         f"got shape {tuple(o.shape)}")
    if not bool(torch.isfinite(ref).all()):
        raise ValueError(f"the reference point must be finite; got {ref.tolist()}")
    o = o[torch.isfinite(o).all(dim=1) & (o > ref).all(dim=1)]
    if not len(o):
        return 0.0
    return float(moocore.hypervolume(-o.numpy(), ref=-ref.numpy()))
