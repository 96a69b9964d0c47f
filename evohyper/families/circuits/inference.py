"""Designing with a trained designer: beams, value refinement through the simulator, scoring.

``design`` is the paper's inference with the simulator in the loop, batched over all targets and
beams: beam search proposes ``beams`` chains per target; ``refine`` tunes every proposal's values as
continuous log-values by Adam through the differentiable simulator (complex64) and snaps them to E12;
``polish`` then moves single values one E12 step while that lowers the error (coordinate descent,
every neighbour of every circuit simulated in one call); the proposal with the lowest response error
is the design. ``score`` gives the report's per-target metrics (complex128).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from evohyper.families.circuits.beam import beam_search
from evohyper.families.circuits.canonical import same_circuit, same_kinds
from evohyper.families.circuits.designer import Designer
from evohyper.families.circuits.simulator import EMPTY, log_ratio
from evohyper.families.circuits.space import DEFAULT_SPACE, N_VALUES, CircuitSpace


def response_error(space: CircuitSpace, kinds: torch.Tensor, values: torch.Tensor, target: torch.Tensor,
                   dtype: torch.dtype = torch.complex128) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and max ``|log(r / r_target)|`` per circuit (``target``: responses ``[N, 2, K]``)."""
    d = log_ratio(space.response(kinds, values, dtype), target.to(dtype)).abs()
    return d.mean((1, 2)).double(), d.amax((1, 2)).double()


def refine(kinds: torch.Tensor, index: torch.Tensor, target: torch.Tensor, space: CircuitSpace = DEFAULT_SPACE,
           steps: int = 100, lr: float = 0.05) -> torch.Tensor:
    """Tune every circuit's values at once through the differentiable simulator (complex64), snap to
    E12; returns value indices (a circuit keeps its old ones unless the snapped error is lower)."""
    if steps <= 0:
        return index
    start = space.values(kinds, index)
    log_v = start.log().float().clone().requires_grad_(True)
    opt = torch.optim.Adam([log_v], lr=lr)
    t64 = target.to(torch.complex64)
    for _ in range(steps):
        d = log_ratio(space.response(kinds, log_v.exp(), torch.complex64), t64)
        loss = (d.real ** 2 + d.imag ** 2).mean((1, 2)).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    snapped = space.nearest_index(kinds, log_v.detach().double().exp())
    with torch.no_grad():
        before, _ = response_error(space, kinds, start, target, torch.complex64)
        after, _ = response_error(space, kinds, space.values(kinds, snapped), target, torch.complex64)
    better = (after < before).unsqueeze(1) & (kinds != EMPTY)
    return torch.where(better, snapped, index)


@torch.no_grad()
def polish(kinds: torch.Tensor, index: torch.Tensor, target: torch.Tensor, space: CircuitSpace = DEFAULT_SPACE,
           rounds: int = 4, chunk: int = 4096) -> torch.Tensor:
    """Coordinate descent on the E12 indices: each round, every circuit takes its best single +-1 step
    if that lowers the mean response error (all 2L neighbours of all circuits simulated at once)."""
    n, n_len = kinds.shape
    moves = torch.cat([torch.eye(n_len, dtype=torch.long), -torch.eye(n_len, dtype=torch.long)])   # [2L, L]
    err, _ = response_error(space, kinds, space.values(kinds, index), target, torch.complex64)
    for _ in range(rounds):
        cand = (index.unsqueeze(1) + moves).clamp(0, N_VALUES - 1)                         # [N, 2L, L]
        ck = kinds.unsqueeze(1).expand_as(cand).reshape(-1, n_len)
        ct = target.repeat_interleave(2 * n_len, 0)
        flat = cand.reshape(-1, n_len)
        errs = torch.cat([response_error(space, ck[i:i + chunk], space.values(ck[i:i + chunk], flat[i:i + chunk]),
                                         ct[i:i + chunk], torch.complex64)[0] for i in range(0, len(flat), chunk)])
        errs = errs.view(n, 2 * n_len).masked_fill((kinds == EMPTY).repeat(1, 2), float("inf"))
        best, which = errs.min(1)
        improve = best < err
        if not improve.any():
            break
        index = torch.where(improve.unsqueeze(1), cand[torch.arange(n), which], index)
        err = torch.where(improve, best, err)
    return index


@dataclass
class DesignConfig:
    """Inference settings: beams per target, Adam refinement steps, polish rounds (0 = off)."""

    beams: int = 16
    refine_steps: int = 100
    polish_rounds: int = 4


def design(model: Designer, target: torch.Tensor, space: CircuitSpace = DEFAULT_SPACE,
           cfg: DesignConfig | None = None, lengths: torch.Tensor | None = None
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Designs for target responses ``[B, 2, K]``: the best refined proposal per target ``(kinds, index)``
    ``[B, L]``, and all refined proposals ``[B, beams, L]`` ordered by response error."""
    cfg = cfg if cfg is not None else DesignConfig()
    kinds, index, _ = beam_search(model, target, cfg.beams, lengths)
    b, k, n_len = kinds.shape
    fk, fi = kinds.reshape(-1, n_len), index.reshape(-1, n_len)
    ft = target.repeat_interleave(k, 0)
    with torch.enable_grad():
        fi = refine(fk, fi, ft, space, cfg.refine_steps)
    if cfg.polish_rounds:
        fi = polish(fk, fi, ft, space, cfg.polish_rounds)
    err, _ = response_error(space, fk, space.values(fk, fi), ft, torch.complex64)
    order = err.view(b, k).argsort(1)
    kinds = kinds.gather(1, order.unsqueeze(2).expand(-1, -1, n_len))
    index = fi.view(b, k, n_len).gather(1, order.unsqueeze(2).expand(-1, -1, n_len))
    return kinds[:, 0], index[:, 0], kinds, index


def score(kinds: torch.Tensor, index: torch.Tensor, targets, space: CircuitSpace = DEFAULT_SPACE,
          tol: float = 0.01) -> dict[str, torch.Tensor]:
    """Per target: ``exact``, ``kinds_match``, ``equivalent`` (bool) and ``error`` (the task's metrics)."""
    values = space.values(kinds, index)
    with torch.no_grad():
        err, max_err = response_error(space, kinds, values, targets.response)
    return {
        "exact": same_circuit(kinds, values, targets.kinds, targets.values),
        "kinds_match": same_kinds(kinds, targets.kinds),
        "equivalent": max_err < tol,
        "error": err,
    }
