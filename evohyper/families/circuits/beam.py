"""Beam search over the designer's (kind, value) steps, batched over targets and beams.

Every step scores all 6 x 36 (kind, value) continuations and STOP of every live beam from one fused
head, keeps the ``beams`` best per target, and masks what no training circuit has: STOP before
``min_length``, and a component that breaks the canonical order of its run (inside a run of series,
or of parallel, components the elements strictly ascend: ``canonical.py`` sorts them so and reduced
circuits never repeat an element). ``beams=1`` is greedy decoding.
"""
from __future__ import annotations

import torch

from evohyper.families.circuits.designer import START, Designer, select_state
from evohyper.families.circuits.simulator import EMPTY
from evohyper.families.circuits.space import N_KINDS, N_VALUES

_OPTIONS = N_KINDS * N_VALUES + 1          # every (kind, value), then STOP / "already stopped"


def _order_mask(prev_k: torch.Tensor) -> torch.Tensor:
    """``[B, 6]`` bool: kinds allowed after ``prev_k`` (canonical order inside a run; START allows all)."""
    kinds = torch.arange(N_KINDS, device=prev_k.device)
    prev = prev_k.unsqueeze(1)
    same_run = (kinds // 3 == prev // 3) & (prev < N_KINDS)
    return ~(same_run & (kinds % 3 <= prev % 3))


@torch.no_grad()
def beam_search(model: Designer, resp: torch.Tensor, beams: int = 1,
                lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Designs for every target response in ``resp`` ``[B, 2, K]``: ``(kinds, value_index)``
    ``[B, beams, L]`` (EMPTY after the end) and their log-probabilities ``[B, beams]``, best first.
    ``lengths`` is only read by the ``gru_per_length`` oracle (its designs have exactly the true length)."""
    b, k, n_len, dev = resp.shape[0], int(beams), model.max_length, resp.device
    state = select_state(model.start_state(resp, lengths), torch.arange(b, device=dev).repeat_interleave(k))
    oracle = lengths.repeat_interleave(k) if model.variant == "gru_per_length" and lengths is not None else None
    score = torch.full((b, k), float("-inf"), device=dev)
    score[:, 0] = 0.0                                        # one live beam per target at the start
    prev_k = torch.full((b * k,), START, dtype=torch.long, device=dev)
    prev_v = torch.zeros((b * k,), dtype=torch.long, device=dev)
    done = torch.zeros((b * k,), dtype=torch.bool, device=dev)
    kinds = torch.full((b * k, n_len), EMPTY, dtype=torch.long, device=dev)
    index = torch.zeros((b * k, n_len), dtype=torch.long, device=dev)
    for t in range(n_len):
        state, kind_lp, value_lp = model.step_logits(state, prev_k, prev_v)
        comp = kind_lp[:, :N_KINDS, None] + value_lp                          # [Bk, 6, 36]
        comp = comp.masked_fill(~_order_mask(prev_k).unsqueeze(2), float("-inf")).flatten(1)
        stop = kind_lp[:, N_KINDS].clone()
        if t < model.min_length:
            stop.fill_(float("-inf"))
        if oracle is not None:                                                # the oracle knows the length
            stop = torch.where(t >= oracle, torch.zeros_like(stop), torch.full_like(stop, float("-inf")))
            comp = comp.masked_fill((t >= oracle).unsqueeze(1), float("-inf"))
        comp = comp.masked_fill(done.unsqueeze(1), float("-inf"))
        stop = torch.where(done, torch.zeros_like(stop), stop)                # a finished beam stays as it is
        total = score.unsqueeze(2) + torch.cat([comp, stop.unsqueeze(1)], 1).view(b, k, _OPTIONS)
        score, pick = total.flatten(1).topk(k, dim=1)
        parent = (pick // _OPTIONS + torch.arange(b, device=dev).unsqueeze(1) * k).flatten()
        option = (pick % _OPTIONS).flatten()
        ends = option == _OPTIONS - 1
        kind, value = (option // N_VALUES).clamp(max=N_KINDS - 1), option % N_VALUES
        kinds, index, done = kinds[parent], index[parent], done[parent] | ends
        kinds[:, t] = torch.where(done, EMPTY, kind)
        index[:, t] = torch.where(done, 0, value)
        state = select_state(state, parent)
        if oracle is not None:
            oracle = oracle[parent]
        prev_k, prev_v = torch.where(done, START, kind), value      # a finished beam peels nothing more
    return kinds.view(b, k, n_len), index.view(b, k, n_len), score
