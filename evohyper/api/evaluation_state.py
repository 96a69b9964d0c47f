"""State a task learns while it evaluates (observation statistics for normalisation), merged exactly.

Why per-individual sums: the state must not depend on how a population was split over actors (1 or N
actors give bit-identical runs). A task therefore reports what it learned as one row of sums per
individual (``EvalResult.state``: ``{name: Tensor[P, ...]}``), each computed from that individual's own
episodes only; the driver adds all rows of a generation to the running total with ``math.fsum``,
which returns the correctly rounded exact sum whatever the order of its terms. So the merged state is
the same number for any chunking and any order in which actors answer, and a checkpoint holds it
exactly (resume is bit-identical).
"""
from __future__ import annotations

import math

import torch

#: merged state: ``{name: Tensor[...]}`` (float64 sums); rows: ``{name: Tensor[P, ...]}``, one per individual
State = dict[str, torch.Tensor]


def _as_rows(rows: State) -> tuple[int, State]:
    if not isinstance(rows, dict) or not all(isinstance(k, str) for k in rows):
        raise ValueError(f"evaluation state rows must be a mapping of names to tensors [P, ...], got {type(rows)}")
    out = {k: torch.as_tensor(v).detach().to("cpu", torch.float64) for k, v in rows.items()}
    sizes = {v.shape[0] if v.dim() else -1 for v in out.values()}
    if len(sizes) != 1 or -1 in sizes:
        raise ValueError(f"evaluation state rows need one leading population axis of the same size, got shapes "
                         f"{ {k: tuple(v.shape) for k, v in out.items()} }")
    return sizes.pop(), out


def merge_evaluation_state(total: State | None, rows: State) -> State | None:
    """``total`` plus every individual's row of ``rows``, summed exactly (``math.fsum`` per element).

    Individuals with a non-finite value in any of their rows (a diverged simulation) are left out, so one
    bad episode cannot poison every later evaluation. With no rows the total is returned unchanged."""
    if not rows:
        return total
    n, rows = _as_rows(rows)
    if total is not None and set(total) != set(rows):
        raise ValueError(f"evaluation state names {sorted(rows)} differ from the merged state's {sorted(total)}")
    finite = torch.ones(n, dtype=torch.bool)
    for v in rows.values():
        finite &= torch.isfinite(v.reshape(n, math.prod(v.shape[1:]))).all(dim=1)
    merged: State = {}
    for name in sorted(rows):
        value = rows[name][finite]
        shape = rows[name].shape[1:]
        base = torch.zeros(shape, dtype=torch.float64) if total is None else torch.as_tensor(total[name])
        if tuple(base.shape) != tuple(shape):
            raise ValueError(f"evaluation state {name!r} rows have shape {tuple(shape)}, the merged state "
                             f"{tuple(base.shape)}")
        columns = value.reshape(value.shape[0], math.prod(shape)).T.tolist()
        sums = [math.fsum([b, *col]) for b, col in zip(base.to(torch.float64).reshape(-1).tolist(), columns)]
        merged[name] = torch.tensor(sums, dtype=torch.float64).reshape(shape)
    return merged
