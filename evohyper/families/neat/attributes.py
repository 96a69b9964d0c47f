"""Random gene attributes, batched: neat-python 2.0's ``attributes.py`` over whole populations (S15).

Why per-gene 1-D draws: neat draws one ``random()`` per gene and attribute, and extra numbers (a normal,
a replacement value, a choice) only for the genes whose ``r`` asks for them. Drawing the ``r`` of the
*live* genes as one 1-D tensor (row after row, slot after slot) and the extras as 1-D tensors of exactly
the genes that need them, scattered back, keeps every draw's shape a function of the data (never of the
padded width: docs/neat_engine.md, 4.1), does no work on padding, and lets tests feed the very same
numbers to neat-python in its call order (shared draws). An attribute whose rates are all 0 draws nothing.

Values are computed in the gene dtype with neat's own order of operations (``v + z*power``,
``clamp = max(min(v, max), min)``, ``uniform(a, b) = a + (b - a)*u``, ``gauss(mu, s) = mu + z*s``), so in
``float64`` a shared-draw comparison with neat is exact. String attributes are codes into the global name
tables (``activations.ACTIVATION_NAMES`` / ``AGGREGATION_NAMES``); a choice picks an index into the
config's option list (repeats kept, so a repeated name weighs as in neat's ``choice``) and maps it to its code.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch

from evohyper.families.neat.config import BoolAttr, FloatAttr, NEATConfig, StringAttr
from evohyper.families.neat.genome import GenomeBatch
from evohyper.families.neat.streams import Streams

Tensor = torch.Tensor

OP = "attributes"
#: neat's ``DefaultNodeGene._gene_attributes`` / ``DefaultConnectionGene._gene_attributes`` order
NODE_ATTRIBUTES = ("bias", "response", "activation", "aggregation", "time_constant")
CONN_ATTRIBUTES = ("weight", "enabled")


# ---------------------------------------------------------------------------------------------- init
def init_float(attr: FloatAttr, n: int, streams: Streams, op: str, dtype: torch.dtype = torch.float32) -> Tensor:
    """``n`` values of ``FloatAttribute.init_value``: ``clamp(gauss(mean, stdev))`` for ``gaussian`` /
    ``normal``, ``uniform(max(min, mean - 2sd), min(max, mean + 2sd))`` (not clamped) for ``uniform``.

    No draw where the value is fixed (gaussian with ``stdev == 0``, an empty uniform interval): the result
    is the same number neat computes whatever its draw.
    """
    device = streams.device
    if attr.init_type in ("gaussian", "normal"):
        if attr.init_stdev == 0.0:
            value = _clamp(torch.tensor(attr.init_mean, dtype=dtype), attr).item()
            return torch.full((n,), value, dtype=dtype, device=device)
        z = streams.normal(op, n, dtype=dtype)
        return _clamp(attr.init_mean + z * attr.init_stdev, attr)
    if attr.init_type == "uniform":
        lo = max(attr.min_value, attr.init_mean - 2 * attr.init_stdev)
        hi = min(attr.max_value, attr.init_mean + 2 * attr.init_stdev)
        if lo == hi:
            return torch.full((n,), lo, dtype=dtype, device=device)
        return lo + (hi - lo) * streams.uniform(op, n, dtype=dtype)
    raise ValueError(f"unknown init_type {attr.init_type!r}; allowed: gaussian, normal, uniform")


def init_bool(attr: BoolAttr, n: int, streams: Streams, op: str) -> Tensor:
    """``n`` values of ``BoolAttribute.init_value``: the default, or ``random() < 0.5`` for random/none."""
    if attr.default in ("true", "false"):
        return torch.full((n,), attr.default == "true", dtype=torch.bool, device=streams.device)
    return streams.uniform(op, n) < 0.5


def init_string(attr: StringAttr, n: int, streams: Streams, op: str) -> Tensor:
    """``n`` codes (int8) of ``StringAttribute.init_value``: the default, or ``choice(options)``."""
    if attr.default is not None:
        return torch.full((n,), attr.default, dtype=torch.int8, device=streams.device)
    return _choose(attr, n, streams, op)


def new_nodes(n: int, cfg: NEATConfig, streams: Streams, op: str, dtype: torch.dtype = torch.float32
              ) -> dict[str, Tensor]:
    """The attributes of ``n`` new node genes (``init_attributes``): ``bias, response, activation,
    aggregation, time_constant``, each ``[n]``, drawn in neat's attribute order."""
    out = {}
    for name in NODE_ATTRIBUTES:
        attr = getattr(cfg, name)
        out[name] = init_float(attr, n, streams, op, dtype) if isinstance(attr, FloatAttr) else \
            init_string(attr, n, streams, op)
    return out


def new_connections(n: int, cfg: NEATConfig, streams: Streams, op: str, dtype: torch.dtype = torch.float32
                    ) -> dict[str, Tensor]:
    """The attributes of ``n`` new connection genes: ``weight`` ``[n]`` float, ``enabled`` ``[n]`` bool."""
    return {"weight": init_float(cfg.weight, n, streams, op, dtype),
            "enabled": init_bool(cfg.enabled, n, streams, op)}


# ---------------------------------------------------------------------------------------------- mutate
#: ``(positions, values)`` pairs: what a mutation writes (positions index the 1-D values it was given)
Updates = list[tuple[Tensor, Tensor]]
Getter = Callable[[Tensor], Tensor]


def mutate_float(values: Tensor, attr: FloatAttr, streams: Streams, op: str = OP) -> Tensor:
    """``FloatAttribute.mutate_value`` of every value of the 1-D ``values`` (a new tensor): one ``r`` each;
    ``r < mutate_rate``: ``clamp(v + gauss(0, power))``; else ``r < replace_rate + mutate_rate``:
    ``init_value``; else unchanged. Normals and replacements are drawn only for the values that take them."""
    return _apply(values, _float_updates(values.numel(), _getter(values), attr, streams, op, values.dtype))


def mutate_bool(values: Tensor, attr: BoolAttr, streams: Streams, op: str = OP,
                dtype: torch.dtype = torch.float64) -> Tensor:
    """``BoolAttribute.mutate_value`` of the 1-D ``values``: rate ``mutate_rate + rate_to_false_add`` for
    true values, ``+ rate_to_true_add`` for false ones; where the rate is positive one ``r``, and if
    ``r < rate`` the value becomes ``random() < 0.5`` (neat's quirk: the effective flip rate is rate/2)."""
    return _apply(values, _bool_updates(values.numel(), _getter(values), attr, streams, op, dtype))


def mutate_string(values: Tensor, attr: StringAttr, streams: Streams, op: str = OP,
                  dtype: torch.dtype = torch.float64) -> Tensor:
    """``StringAttribute.mutate_value`` of the 1-D int8 codes: if ``mutate_rate > 0`` one ``r`` each, and
    ``r < mutate_rate`` takes ``choice(options)`` (which may be the same value)."""
    return _apply(values, _string_updates(values.numel(), attr, streams, op, dtype))


def _getter(values: Tensor) -> Getter:
    return lambda idx: values.index_select(0, idx)


def _apply(values: Tensor, updates: Updates | None) -> Tensor:
    if updates is None:
        return values
    out = values.clone()
    for idx, new in updates:
        out.index_copy_(0, idx, new)
    return out


def _float_updates(n: int, get: Getter, attr: FloatAttr, streams: Streams, op: str, dtype: torch.dtype
                   ) -> Updates | None:
    if attr.mutate_rate <= 0.0 and attr.replace_rate <= 0.0:
        return None
    r = streams.uniform(op, n, dtype=dtype)
    mutated = r < attr.mutate_rate
    out = []
    if attr.mutate_rate > 0.0:
        idx = mutated.nonzero().squeeze(1)
        z = streams.normal(op, idx.numel(), dtype=dtype)
        out.append((idx, _clamp(z.mul_(attr.mutate_power).add_(get(idx)), attr)))  # v + z*power, as neat
    if attr.replace_rate > 0.0:
        idx = (~mutated & (r < attr.replace_rate + attr.mutate_rate)).nonzero().squeeze(1)
        out.append((idx, init_float(attr, idx.numel(), streams, op, dtype)))
    return out


def _bool_updates(n: int, get: Getter, attr: BoolAttr, streams: Streams, op: str, dtype: torch.dtype
                  ) -> Updates | None:
    rate_true = attr.mutate_rate + attr.rate_to_false_add  # neat: ``mutate_rate += ...`` in this order
    rate_false = attr.mutate_rate + attr.rate_to_true_add
    if rate_true <= 0.0 and rate_false <= 0.0:
        return None
    device = streams.device
    if rate_true > 0.0 and rate_false > 0.0:
        eligible = None  # every value draws
        r = streams.uniform(op, n, dtype=dtype)
        if rate_true == rate_false:
            fire = r < _threshold(rate_true, dtype)
        else:
            values = get(torch.arange(n, device=device))
            fire = r < torch.where(values, _threshold(rate_true, dtype), _threshold(rate_false, dtype))
        idx = fire.nonzero().squeeze(1)
    else:
        eligible = (get(torch.arange(n, device=device)) == (rate_true > 0.0)).nonzero().squeeze(1)
        r = streams.uniform(op, eligible.numel(), dtype=dtype)
        idx = eligible[(r < _threshold(max(rate_true, rate_false), dtype)).nonzero().squeeze(1)]
    return [(idx, streams.uniform(op, idx.numel(), dtype=dtype) < 0.5)]


def _string_updates(n: int, attr: StringAttr, streams: Streams, op: str, dtype: torch.dtype) -> Updates | None:
    if attr.mutate_rate <= 0.0:
        return None
    r = streams.uniform(op, n, dtype=dtype)
    idx = (r < attr.mutate_rate).nonzero().squeeze(1)
    return [(idx, _choose(attr, idx.numel(), streams, op))]


def _threshold(rate: float, dtype: torch.dtype) -> float:
    """A ``dtype`` number ``t`` with ``r < t`` iff ``r < rate`` (compared in float64) for every ``dtype`` value
    ``r``: the smallest ``dtype`` number not below ``rate``. torch compares a tensor with a Python float in
    the tensor's dtype (``rate`` rounded to nearest), so the plain ``r < rate`` would differ for the ``r``
    between the two."""
    t = torch.tensor(rate, dtype=torch.float64).to(dtype)
    if float(t) < rate:
        t = torch.nextafter(t, torch.tensor(float("inf"), dtype=dtype))
    return float(t)


def mutate_attributes(batch: GenomeBatch, rows: Tensor, cfg: NEATConfig, streams: Streams, *,
                      inplace: bool = False) -> GenomeBatch:
    """S7's last part on ``rows`` (distinct row indices, e.g. the children; elites excluded): every live
    connection gene (``weight``, ``enabled``), then every live node gene (``bias, response, activation,
    aggregation, time_constant``) mutates as neat's ``mutate_value``. Other rows are unchanged; the
    batch's tensors are not modified in place. Draws come from stream ``attributes``, one call per
    attribute (and one per extra kind of draw), in that order; each draw is 1-D over the live genes of
    ``rows`` taken in the order of ``rows``, slot by slot. ``inplace=True`` writes into the batch's own tensors
    (the engine's new population, which nothing else holds) instead of copies.
    """
    rows = rows.to(device=batch.device, dtype=torch.int64)
    dtype = batch.dtype
    out: dict[str, Tensor] = {}
    for names, counts in ((CONN_ATTRIBUTES, batch.n_conns), (NODE_ATTRIBUTES, batch.n_nodes)):
        attrs = [getattr(cfg, name) for name in names]
        if not any(_mutates(a) for a in attrs):
            continue
        width = getattr(batch, names[0]).shape[1]
        slots = torch.arange(width, device=batch.device)
        live = slots < counts.index_select(0, rows)[:, None]
        flat = (rows[:, None] * width + slots).masked_select(live)  # the live genes of rows, row-major
        n = flat.numel()
        for name, attr in zip(names, attrs):
            full = getattr(batch, name).view(-1)

            def get(idx: Tensor, full: Tensor = full, flat: Tensor = flat) -> Tensor:
                return full.index_select(0, flat.index_select(0, idx))
            if isinstance(attr, FloatAttr):
                updates = _float_updates(n, get, attr, streams, OP, dtype)
            elif isinstance(attr, BoolAttr):
                updates = _bool_updates(n, get, attr, streams, OP, dtype)
            else:
                updates = _string_updates(n, attr, streams, OP, dtype)
            if updates is None:
                continue
            target = full if inplace else full.clone()
            for idx, new in updates:
                target.index_copy_(0, flat.index_select(0, idx), new)
            if not inplace:
                out[name] = target.view(getattr(batch, name).shape)
    return dataclasses.replace(batch, **out)


def _mutates(attr: FloatAttr | BoolAttr | StringAttr) -> bool:
    if isinstance(attr, FloatAttr):
        return attr.mutate_rate > 0.0 or attr.replace_rate > 0.0
    if isinstance(attr, BoolAttr):
        return attr.mutate_rate + attr.rate_to_false_add > 0.0 or attr.mutate_rate + attr.rate_to_true_add > 0.0
    return attr.mutate_rate > 0.0


# ---------------------------------------------------------------------------------------------- helpers
def _clamp(v: Tensor, attr: FloatAttr) -> Tensor:
    """neat's ``max(min(v, max_value), min_value)``."""
    return torch.clamp(torch.clamp(v, max=attr.max_value), min=attr.min_value)


def _choose(attr: StringAttr, n: int, streams: Streams, op: str) -> Tensor:
    """``n`` codes of ``choice(options)``: a float64 uniform index into the option list (repeats kept)."""
    codes = torch.tensor(attr.options, dtype=torch.int8, device=streams.device)
    return codes[Streams.choice(streams.uniform(op, n), len(attr.options))]
