"""neat-python's activation and aggregation functions, re-expressed as batched torch ops.

Why a copy of the *formulas* (not of NEAT): the batched CPPN decoder must produce the very numbers
neat-python's ``FeedForwardNetwork`` produces, including its scalings and clamps (sigmoid of 5z,
tanh of 2.5z, gauss exp(-5 z^2) with z clamped to +-3.4, ...). Each function here mirrors the one of the
same name in ``neat/activations.py`` / ``neat/aggregations.py``; the property test in
``tests/families/neat/test_compile.py`` checks them against neat-python on random genomes.

Aggregations take ``x [R, D, Q]`` (R nodes, up to D incoming links, Q queries) and a boolean
``mask [R, D]`` of real links; an empty link list gives neat-python's value for ``[]`` (1 for
``product``, 0 otherwise).
"""
from __future__ import annotations

from collections.abc import Callable

import torch

Tensor = torch.Tensor

_LAM = 1.0507009873554804934193349852946
_ALPHA = 1.6732632423543772848170429916717


def _clamp60(z: Tensor, scale: float) -> Tensor:
    return (z * scale).clamp_(-60.0, 60.0)


def _inv(z: Tensor) -> Tensor:
    # Python raises ZeroDivisionError for 1/0.0, which neat-python maps to 0.0.
    out = torch.reciprocal(z)
    return torch.where(z == 0, torch.zeros_like(z), out)


ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "sigmoid": lambda z: torch.sigmoid(_clamp60(z, 5.0)),
    "tanh": lambda z: torch.tanh(_clamp60(z, 2.5)),
    "sin": lambda z: torch.sin(_clamp60(z, 5.0)),
    "gauss": lambda z: torch.exp(-5.0 * z.clamp(-3.4, 3.4) ** 2),
    "relu": lambda z: torch.where(z > 0, z, torch.zeros_like(z)),
    "elu": lambda z: torch.where(z > 0, z, torch.expm1(z)),
    "lelu": lambda z: torch.where(z > 0, z, 0.005 * z),
    "selu": lambda z: torch.where(z > 0, _LAM * z, _LAM * _ALPHA * torch.expm1(z)),
    "softplus": lambda z: 0.2 * torch.log1p(torch.exp(_clamp60(z, 5.0))),
    "identity": lambda z: z,
    "clamped": lambda z: z.clamp(-1.0, 1.0),
    "inv": _inv,
    "log": lambda z: torch.log(z.clamp(min=1e-7)),
    "exp": lambda z: torch.exp(z.clamp(-60.0, 60.0)),
    "abs": torch.abs,
    "hat": lambda z: (1.0 - z.abs()).clamp(min=0.0),
    "square": lambda z: z * z,
    "cube": lambda z: z * z * z,
}


def _count(mask: Tensor) -> Tensor:
    return mask.sum(dim=1)  # [R]


def _agg_sum(x: Tensor, mask: Tensor) -> Tensor:
    return torch.where(mask[..., None], x, torch.zeros((), dtype=x.dtype, device=x.device)).sum(dim=1)


def _agg_product(x: Tensor, mask: Tensor) -> Tensor:
    return torch.where(mask[..., None], x, torch.ones((), dtype=x.dtype, device=x.device)).prod(dim=1)


def _empty_to_zero(out: Tensor, mask: Tensor) -> Tensor:
    return torch.where((_count(mask) > 0)[:, None], out, torch.zeros((), dtype=out.dtype, device=out.device))


def _agg_max(x: Tensor, mask: Tensor) -> Tensor:
    return _empty_to_zero(x.masked_fill(~mask[..., None], float("-inf")).amax(dim=1), mask)


def _agg_min(x: Tensor, mask: Tensor) -> Tensor:
    return _empty_to_zero(x.masked_fill(~mask[..., None], float("inf")).amin(dim=1), mask)


def _agg_maxabs(x: Tensor, mask: Tensor) -> Tensor:
    # max(x, key=abs): the FIRST link whose |value| is largest (torch.argmax returns the first maximum).
    a = x.abs().masked_fill(~mask[..., None], -1.0)
    idx = a.argmax(dim=1, keepdim=True)
    return _empty_to_zero(x.gather(1, idx).squeeze(1), mask)


def _agg_mean(x: Tensor, mask: Tensor) -> Tensor:
    n = _count(mask).clamp(min=1).to(x.dtype)[:, None]
    return _agg_sum(x, mask) / n


def _agg_median(x: Tensor, mask: Tensor) -> Tensor:
    # neat.math_util.median2: mean of the two middle values for an even count (and for n <= 2).
    s = x.masked_fill(~mask[..., None], float("inf")).sort(dim=1).values
    n = _count(mask)
    hi = (n // 2).clamp(max=x.shape[1] - 1)
    lo = torch.where(n % 2 == 1, hi, (hi - 1).clamp(min=0))
    q = x.shape[2]
    v_hi = s.gather(1, hi.view(-1, 1, 1).expand(-1, 1, q)).squeeze(1)
    v_lo = s.gather(1, lo.view(-1, 1, 1).expand(-1, 1, q)).squeeze(1)
    return _empty_to_zero((v_lo + v_hi) * 0.5, mask)


AGGREGATIONS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "sum": _agg_sum,
    "product": _agg_product,
    "max": _agg_max,
    "min": _agg_min,
    "maxabs": _agg_maxabs,
    "median": _agg_median,
    "mean": _agg_mean,
}

ACTIVATION_NAMES: tuple[str, ...] = tuple(ACTIVATIONS)
AGGREGATION_NAMES: tuple[str, ...] = tuple(AGGREGATIONS)
