"""Equality of strategy states as checkpoints hold them (nested dicts and lists of tensors and plain values), for
tests of exact resume and of backends that must agree: ``==`` is ambiguous on tensors, ``torch.equal`` ignores
dtype and fails on NaN."""
from __future__ import annotations

from typing import Any

import torch


def same_data(a: Any, b: Any) -> bool:
    """Are two states equal: tensors bit for bit (dtype, shape, NaN where NaN), dicts and lists item by item?"""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)) or a.dtype != b.dtype \
                or a.shape != b.shape:
            return False
        if a.is_floating_point():
            nan = torch.isnan(a)
            return torch.equal(nan, torch.isnan(b)) and torch.equal(a[~nan], b[~nan])
        return torch.equal(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_data(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_data(x, y) for x, y in zip(a, b))
    return a == b or (a != a and b != b)
