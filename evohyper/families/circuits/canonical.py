"""Canonical form: one representative for circuits that are provably the same two-port.

Two series components commute (``[[1,-Z1],[0,1]] [[1,-Z2],[0,1]] = [[1,-(Z1+Z2)],[0,1]]``), and so do
two parallel ones (admittances add); empty slots are the identity. So the canonical form (a) drops
empty slots, keeping order, and (b) sorts each maximal run of same-placement components by
(element, value). Circuits with equal canonical forms have identical transfer matrices. It is
computed for a whole population at once with stable sorts along the chain (no loop over circuits).
"""
from __future__ import annotations

import torch

from evohyper.families.circuits.simulator import EMPTY, element_of, is_parallel


def _reorder(order: torch.Tensor, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return tuple(t.gather(1, order) for t in tensors)


def canonicalize(kinds: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(kinds, values)`` ``[N, L]`` -> their canonical form (values: indices or physical values)."""
    empty = kinds == EMPTY
    kinds, values, empty = _reorder(torch.sort(empty.to(torch.int8), dim=1, stable=True).indices,
                                    kinds, values, empty)
    par = is_parallel(kinds).to(torch.long)
    change = torch.ones_like(par)
    change[:, 1:] = (par[:, 1:] != par[:, :-1]).to(torch.long)
    run = torch.cumsum(change, 1)
    run = torch.where(empty, torch.full_like(run, kinds.shape[1] + 1), run)
    # lexicographic (run, element, value) by stable sorts from the least significant key
    # each key is called in its own iteration, after the previous sort: late binding is the point
    for key in (lambda: values, lambda: element_of(kinds), lambda: run):  # noqa: B023
        order = torch.sort(key(), dim=1, stable=True).indices
        kinds, values, run = _reorder(order, kinds, values, run)
    values = torch.where(kinds == EMPTY, torch.zeros_like(values), values)
    return kinds, values


def same_kinds(kinds_a: torch.Tensor, kinds_b: torch.Tensor) -> torch.Tensor:
    """``[N]`` bool: same component types and placements up to equivalence (values ignored)."""
    zeros_a, zeros_b = torch.zeros_like(kinds_a, dtype=torch.float64), torch.zeros_like(kinds_b, dtype=torch.float64)
    ka, _ = canonicalize(kinds_a, zeros_a)
    kb, _ = canonicalize(kinds_b, zeros_b)
    return (ka == kb).all(1)


def same_circuit(kinds_a: torch.Tensor, values_a: torch.Tensor, kinds_b: torch.Tensor, values_b: torch.Tensor,
                 rtol: float = 1e-6) -> torch.Tensor:
    """``[N]`` bool: equal canonical forms (kinds exactly, values within ``rtol``)."""
    ka, va = canonicalize(kinds_a, values_a.to(torch.float64))
    kb, vb = canonicalize(kinds_b, values_b.to(torch.float64))
    close = (va - vb).abs() <= rtol * torch.maximum(va.abs(), vb.abs())
    return ((ka == kb) & close).all(1)
