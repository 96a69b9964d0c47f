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
import functools
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
            return torch.full((n,), _fixed_value(attr, dtype), dtype=dtype, device=device)
        z = streams.normal(op, n, dtype=dtype)
        return _clamp(attr.init_mean + z * attr.init_stdev, attr)
    if attr.init_type == "uniform":
        lo = max(attr.min_value, attr.init_mean - 2 * attr.init_stdev)
        hi = min(attr.max_value, attr.init_mean + 2 * attr.init_stdev)
        if lo == hi:
            return torch.full((n,), lo, dtype=dtype, device=device)
        return lo + (hi - lo) * streams.uniform(op, n, dtype=dtype)
    raise ValueError(f"unknown init_type {attr.init_type!r}; allowed: gaussian, normal, uniform")


@functools.lru_cache(maxsize=256)
def _fixed_value(attr: FloatAttr, dtype: torch.dtype) -> float:
    """The value of a gaussian init with ``stdev == 0``: ``clamp(mean)`` in ``dtype`` (computed once)."""
    return _clamp(torch.tensor(attr.init_mean, dtype=dtype), attr).item()


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
#: when the rows hold at most ``PADDED_RATIO`` slots per live gene (P-NEAT), attributes whose genes change at
#: least ``DENSE_RATE`` of the time (float: mutate + replace rate; bool and string: their rate) are mutated on
#: the padded ``[K, W]`` rows as they are (draws placed with ``masked_scatter``, one ``where``: no index of 2
#: million genes); otherwise only the changed genes are read and written (1-D, located through the live genes'
#: flat positions, or, when every attribute of the kind is rare, through a search in the rows' gene offsets)
DENSE_RATE = 0.2
PADDED_RATIO = 1.5


def mutate_float(values: Tensor, attr: FloatAttr, streams: Streams, op: str = OP) -> Tensor:
    """``FloatAttribute.mutate_value`` of every value of the 1-D ``values`` (a new tensor): one ``r`` each;
    ``r < mutate_rate``: ``clamp(v + gauss(0, power))``; else ``r < replace_rate + mutate_rate``:
    ``init_value``; else unchanged. Normals and replacements are drawn only for the values that take them."""
    out = _float_dense(values, None, values.numel(), attr, streams, op, values.dtype)
    return values if out is None else out


def mutate_bool(values: Tensor, attr: BoolAttr, streams: Streams, op: str = OP,
                dtype: torch.dtype = torch.float64) -> Tensor:
    """``BoolAttribute.mutate_value`` of the 1-D ``values``: rate ``mutate_rate + rate_to_false_add`` for
    true values, ``+ rate_to_true_add`` for false ones; where the rate is positive one ``r``, and if
    ``r < rate`` the value becomes ``random() < 0.5`` (neat's quirk: the effective flip rate is rate/2)."""
    out = _bool_dense(values, None, values.numel(), attr, streams, op, dtype)
    return values if out is None else out


def mutate_string(values: Tensor, attr: StringAttr, streams: Streams, op: str = OP,
                  dtype: torch.dtype = torch.float64) -> Tensor:
    """``StringAttribute.mutate_value`` of the 1-D int8 codes: if ``mutate_rate > 0`` one ``r`` each, and
    ``r < mutate_rate`` takes ``choice(options)`` (which may be the same value)."""
    out = _string_dense(values, None, values.numel(), attr, streams, op, dtype)
    return values if out is None else out


class _Live:
    """The live genes of padded rows: row ``k``'s first ``counts[k]`` slots (a prefix mask, ``mask [K, W]``).

    Why: spreading a 1-D stream of draws onto such rows is one copy per row (``pad_sequence`` over ``split``:
    6x faster than ``masked_scatter_`` for a bool on CPU, where ``masked_scatter_`` walks the mask element by
    element); the values are the same."""

    def __init__(self, counts: Tensor, width: int):
        self.counts, self.width = counts, int(width)
        self.mask = torch.arange(width, device=counts.device) < counts[:, None]
        self._sizes: list[int] | None = None

    def spread(self, draws: Tensor, fill: float | bool) -> Tensor:
        if draws.device.type != "cpu":
            return torch.full(self.mask.shape, fill, dtype=draws.dtype, device=draws.device).masked_scatter_(
                self.mask, draws)
        if self._sizes is None:
            self._sizes = self.counts.tolist()
        rows = [*torch.split(draws, self._sizes), draws.new_full((self.width,), fill)]  # (the last: full width)
        return torch.nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=fill)[:-1]


def _spread(draws: Tensor, mask: Tensor | _Live | None, fill: float | bool) -> Tensor:
    """``draws`` (1-D, one per True of ``mask`` in row-major order) at their places, ``fill`` elsewhere."""
    if mask is None:
        return draws
    if isinstance(mask, _Live):
        return mask.spread(draws, fill)
    return torch.full(mask.shape, fill, dtype=draws.dtype, device=draws.device).masked_scatter_(mask, draws)


def _float_dense(values: Tensor, live: Tensor | _Live | None, n: int, attr: FloatAttr, streams: Streams, op: str,
                 dtype: torch.dtype) -> Tensor | None:
    """New ``values`` (any shape; ``live`` marks the genes, row-major = draw order; None: all) or None."""
    if attr.mutate_rate <= 0.0 and attr.replace_rate <= 0.0:
        return None
    # the comparisons run on the 1-D draws and only their bool results are spread (a float64 spread is 8x the
    # bytes); normals are scaled before they are spread (``z * power`` is the same number either way) and the
    # replacements are scattered in place (``masked_scatter_`` places them in row-major order, as ``_spread``)
    r = streams.uniform(op, n, dtype=dtype)
    hit = r < attr.mutate_rate
    out = values
    if attr.mutate_rate > 0.0:
        mutated = _spread(hit, live, False)  # padding never fires
        z = streams.normal(op, int(torch.count_nonzero(hit)), dtype=dtype).mul_(attr.mutate_power)
        t = values + _spread(z, mutated, 0.0)  # v + z*power, as neat
        out = torch.where(mutated, _clamp(t, attr, out=t), values, out=t)
    if attr.replace_rate > 0.0:
        fresh_hit = ~hit & (r < attr.replace_rate + attr.mutate_rate)
        fresh = init_float(attr, int(torch.count_nonzero(fresh_hit)), streams, op, dtype)
        out = (values.clone() if out is values else out).masked_scatter_(_spread(fresh_hit, live, False), fresh)
    return out


def _bool_rates(attr: BoolAttr) -> tuple[float, float]:
    return attr.mutate_rate + attr.rate_to_false_add, attr.mutate_rate + attr.rate_to_true_add  # neat's order


def _bool_dense(values: Tensor, live: Tensor | _Live | None, n: int, attr: BoolAttr, streams: Streams, op: str,
                dtype: torch.dtype) -> Tensor | None:
    rate_true, rate_false = _bool_rates(attr)
    if rate_true <= 0.0 and rate_false <= 0.0:
        return None
    if rate_true > 0.0 and rate_false > 0.0:  # every gene draws
        r = _spread(streams.uniform(op, n, dtype=dtype), live, float("inf"))
        rate = _threshold(rate_true, dtype) if rate_true == rate_false else \
            torch.where(values, _threshold(rate_true, dtype), _threshold(rate_false, dtype))
    else:  # only the genes holding the value with a positive rate draw
        eligible = values == (rate_true > 0.0)
        if live is not None:
            eligible &= live.mask if isinstance(live, _Live) else live
        r = _spread(streams.uniform(op, int(torch.count_nonzero(eligible)), dtype=dtype), eligible, float("inf"))
        rate = _threshold(max(rate_true, rate_false), dtype)
    fire = r < rate
    flips = streams.uniform(op, int(torch.count_nonzero(fire)), dtype=dtype) < 0.5
    return _spread(flips, fire, False) | (values & ~fire)  # (= where(fire, ...): a bool where is 20x slower)


def _string_dense(values: Tensor, live: Tensor | _Live | None, n: int, attr: StringAttr, streams: Streams, op: str,
                  dtype: torch.dtype) -> Tensor | None:
    if attr.mutate_rate <= 0.0:
        return None
    fire = _spread(streams.uniform(op, n, dtype=dtype), live, float("inf")) < attr.mutate_rate
    return torch.where(fire, _spread(_choose(attr, int(torch.count_nonzero(fire)), streams, op), fire, 0), values)


def _updates(full: Tensor, place: Callable[[Tensor], Tensor], n: int, attr: FloatAttr | BoolAttr | StringAttr,
             streams: Streams, dtype: torch.dtype) -> list[tuple[Tensor, Tensor]]:
    """The same draws as the dense kernels, touching only the changed genes: ``[(flat positions in full, new
    values)]``; ``place`` maps genes (draw order) to flat positions of ``full``."""
    flat = full.view(-1)
    if isinstance(attr, FloatAttr):
        r = streams.uniform(OP, n, dtype=dtype)
        mutated = r < attr.mutate_rate
        out = []
        if attr.mutate_rate > 0.0:
            at = place(mutated.nonzero().squeeze(1))
            z = streams.normal(OP, at.numel(), dtype=dtype)
            out.append((at, _clamp(z.mul_(attr.mutate_power).add_(flat.index_select(0, at)), attr)))  # v + z*power
        if attr.replace_rate > 0.0:
            at = place((~mutated & (r < attr.replace_rate + attr.mutate_rate)).nonzero().squeeze(1))
            out.append((at, init_float(attr, at.numel(), streams, OP, dtype)))
        return out
    if isinstance(attr, BoolAttr):
        rate_true, rate_false = _bool_rates(attr)
        if rate_true > 0.0 and rate_false > 0.0:
            r = streams.uniform(OP, n, dtype=dtype)
            if rate_true == rate_false:
                at = place((r < _threshold(rate_true, dtype)).nonzero().squeeze(1))
            else:
                every = place(torch.arange(n, device=r.device))
                rate = torch.where(flat.index_select(0, every), _threshold(rate_true, dtype),
                                   _threshold(rate_false, dtype))
                at = every[(r < rate).nonzero().squeeze(1)]
        else:
            every = place(torch.arange(n, device=full.device))
            eligible = every[flat.index_select(0, every) == (rate_true > 0.0)]
            r = streams.uniform(OP, eligible.numel(), dtype=dtype)
            at = eligible[(r < _threshold(max(rate_true, rate_false), dtype)).nonzero().squeeze(1)]
        return [(at, streams.uniform(OP, at.numel(), dtype=dtype) < 0.5)]
    r = streams.uniform(OP, n, dtype=dtype)
    at = place((r < attr.mutate_rate).nonzero().squeeze(1))
    return [(at, _choose(attr, at.numel(), streams, OP))]


@functools.lru_cache(maxsize=256)
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
        if not any(_rate(a) > 0.0 for a in attrs):
            continue
        width = getattr(batch, names[0]).shape[1]
        counts = counts.index_select(0, rows)
        dense = [_rate(a) >= DENSE_RATE for a in attrs]
        n = int(counts.sum())
        padded = any(dense) and rows.numel() * width <= PADDED_RATIO * n  # rows nearly full: use them as they are
        slots = torch.arange(width, device=batch.device)
        live = _Live(counts, width) if padded or any(dense) else None
        # rows ascending (the engine's children) and the batch's own rows nearly full too: the padded kernels
        # run on the whole batch, the other rows' genes masked off like padding (same draw order: row-major
        # over ``rows``), which saves gathering ``rows`` and writing them back
        whole = padded and len(batch) * width <= PADDED_RATIO * n and _ascending(rows)
        if whole:
            mine = torch.zeros(len(batch), dtype=torch.bool, device=batch.device).index_fill_(0, rows, True)
            live_all = _Live(torch.where(mine, getattr(batch, "n_conns" if names is CONN_ATTRIBUTES else "n_nodes"), 0),
                             width)
        if any(dense) and not padded:  # the live genes of rows, row-major (= draw order), as flat positions
            flat = (rows[:, None] * width + slots).masked_select(live.mask)

            def place(idx: Tensor, flat: Tensor = flat) -> Tensor:
                return flat.index_select(0, idx)
        else:  # rare changes: the row of each changed gene by a search in the rows' gene offsets
            start = torch.nn.functional.pad(torch.cumsum(counts, 0), (1, 0))

            def place(idx: Tensor, start: Tensor = start, width: int = width) -> Tensor:
                k = torch.searchsorted(start, idx, right=True) - 1
                return rows.index_select(0, k) * width + (idx - start.index_select(0, k))
        for name, attr, fast in zip(names, attrs, dense):
            if _rate(attr) <= 0.0:
                continue
            full = getattr(batch, name)
            if padded and fast and whole:
                out[name] = _KERNELS[type(attr)](full, live_all, n, attr, streams, OP, dtype)  # a new tensor
                continue
            target = full if inplace else out.setdefault(name, full.clone())
            if padded and fast:
                target.index_copy_(0, rows, _KERNELS[type(attr)](full.index_select(0, rows), live, n, attr, streams,
                                                                 OP, dtype))
                continue
            for at, new in _updates(target, place, n, attr, streams, dtype):
                target.view(-1).scatter_(0, at, new.to(target.dtype))  # (at distinct; 3x faster than index_copy_)
    return dataclasses.replace(batch, **out)


_KERNELS = {FloatAttr: _float_dense, BoolAttr: _bool_dense, StringAttr: _string_dense}


def _ascending(rows: Tensor) -> bool:
    """Whether ``rows`` strictly ascend (one host sync)."""
    return rows.numel() < 2 or bool((rows[1:] > rows[:-1]).all())


def _rate(attr: FloatAttr | BoolAttr | StringAttr) -> float:
    """How often a gene's value changes at most (0: never, nothing is drawn)."""
    if isinstance(attr, FloatAttr):
        return max(0.0, attr.mutate_rate) + max(0.0, attr.replace_rate)
    if isinstance(attr, BoolAttr):
        return max(0.0, max(_bool_rates(attr)))
    return max(0.0, attr.mutate_rate)


# ---------------------------------------------------------------------------------------------- helpers
def _clamp(v: Tensor, attr: FloatAttr, out: Tensor | None = None) -> Tensor:
    """neat's ``max(min(v, max_value), min_value)`` (one ``clamp`` when ``min_value <= max_value``: the same);
    ``out``: written in place (may be ``v``)."""
    if attr.min_value <= attr.max_value:
        return torch.clamp(v, min=attr.min_value, max=attr.max_value, out=out)
    return torch.clamp(torch.clamp(v, max=attr.max_value), min=attr.min_value, out=out)


def _choose(attr: StringAttr, n: int, streams: Streams, op: str) -> Tensor:
    """``n`` codes of ``choice(options)``: a float64 uniform index into the option list (repeats kept)."""
    codes = torch.tensor(attr.options, dtype=torch.int8, device=streams.device)
    return codes[Streams.choice(streams.uniform(op, n), len(attr.options))]
