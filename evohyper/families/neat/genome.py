"""``GenomeBatch``: a population of NEAT genomes as padded tensors (docs/neat_engine.md, section 2).

Why padded rows sorted by key: every operator of the batched engine (alignment, crossover, distance,
mutation, compilation) is then one tensor op over the whole population; two rows align with one
``searchsorted`` (no global innovation table that grows with every add-node). Row ``r`` holds one genome:
node genes sorted by node id, connection genes sorted by the packed key of ``(in, out)`` (that order is
neat-python's tuple order), its live genes first, padding after. Widths are population-wide and grow
geometrically; nothing ever caps them. Every method here is batched: no loop over genomes.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

Tensor = torch.Tensor

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
NODE_FIELDS = ("node_id", "bias", "response", "time_constant", "activation", "aggregation")
CONN_FIELDS = ("conn_key", "innovation", "weight", "enabled")
#: what a padding slot holds (keys sort after every real key, so a row stays sorted with its padding)
PAD = {"node_id": INT32_MAX, "bias": 0.0, "response": 0.0, "time_constant": 0.0, "activation": 0,
       "aggregation": 0, "conn_key": INT64_MAX, "innovation": -1, "weight": 0.0, "enabled": False}
_FLOAT = ("bias", "response", "time_constant", "weight")
_INT_DTYPE = {"node_id": torch.int32, "activation": torch.int8, "aggregation": torch.int8,
              "conn_key": torch.int64, "innovation": torch.int64, "enabled": torch.bool}


def pack_key(i: Tensor, o: Tensor) -> Tensor:
    """``in * 2^32 + (out + 2^31)`` as int64: ascending keys = ascending ``(in, out)`` tuples for all int32 ids."""
    return i.to(torch.int64) * 2**32 + (o.to(torch.int64) + 2**31)


def unpack_key(key: Tensor) -> tuple[Tensor, Tensor]:
    """``(in, out)`` (int64) of packed keys: one shift and one mask."""
    return key >> 32, (key & 0xFFFFFFFF) - 2**31


#: widths from this many slots on grow by 1/8 instead of 1/2: a P-NEAT row (14,762 connections) grown by half
#: would make every row operation a third padding, for a reallocation saved once in thousands of generations
LARGE_WIDTH = 1024


class KeyCells:
    """Dense cells of gene keys whose node ids are below ``ids``: node id ``i`` -> cell ``i``; connection
    ``(in, out)`` with ``in >= -inputs`` -> ``(in + inputs) * ids + out``; any other key (padding, an id not
    below ``ids``) -> the cell ``size[kind]``. For populations with few node ids (P-NEAT: 242 ids, 2.2 million
    connection genes) a lookup in a table of cells replaces a binary search over sorted keys."""

    def __init__(self, inputs: int, ids: int):
        self.inputs, self.ids = int(inputs), int(ids)
        self.size = {"node": self.ids, "conn": (self.inputs + self.ids) * self.ids}

    def cells(self, kind: str, keys: Tensor) -> Tensor:
        """The cells of any keys (int64; ids outside the space -> ``size[kind]``)."""
        if kind == "node":
            return torch.where(keys < self.ids, keys, self.size[kind])
        i, o = unpack_key(keys)
        ok = (i < self.ids) & (o < self.ids) & (i >= -self.inputs)
        return torch.where(ok, (i + self.inputs) * self.ids + o, self.size[kind])

    def own_cells(self, kind: str, keys: Tensor) -> Tensor:
        """``cells`` of keys that are live keys inside the space or padding (the population's own keys: fewer
        ops, no check). Remembered on ``keys`` itself while it is not written to (speciation computes them for
        the new population, the next generation's crossover reads the same tensor: six passes over P-NEAT's
        2.5 million slots saved)."""
        sig = (kind, self.inputs, self.ids, keys._version)
        memo = getattr(keys, "_neat_cells", None)
        if memo is not None and memo[0] == sig:
            return memo[1]
        size = self.size[kind]
        if kind == "node":
            out = keys.to(torch.int64).clamp(max=size)
        else:
            out = (keys >> 32).mul_(self.ids)
            out += keys & 0xFFFFFFFF
            out += self.inputs * self.ids - 2**31
            out.clamp_(max=size)  # padding: in = INT32_MAX >= ids, so its cell is beyond the table
        if keys.numel() >= 1 << 16:
            keys._neat_cells = (sig, out)
        return out


def grown_width(width: int, need: int) -> int:
    """``max(need, ceil(1.5 * width))`` (``1.125 * width`` from ``LARGE_WIDTH`` slots on) rounded up to a multiple
    of 8 (amortised O(1) per gene either way)."""
    factor = 1.5 if width < LARGE_WIDTH else 1.125
    return -(-max(need, math.ceil(factor * width)) // 8) * 8


@dataclass(eq=False)
class GenomeBatch:
    """``P`` genomes in population order; node tensors ``[P, N]``, connection tensors ``[P, C]``."""

    gid: Tensor  # [P] int64, neat's genome key
    n_nodes: Tensor  # [P] int32, live node genes (slots 0..n_nodes-1)
    n_conns: Tensor  # [P] int32, live connection genes
    node_id: Tensor  # [P, N] int32, ascending, pad INT32_MAX
    bias: Tensor  # [P, N] float
    response: Tensor
    time_constant: Tensor
    activation: Tensor  # [P, N] int8, code = index into activations.ACTIVATION_NAMES
    aggregation: Tensor  # [P, N] int8, code = index into activations.AGGREGATION_NAMES
    conn_key: Tensor  # [P, C] int64, pack_key(in, out), ascending, pad INT64_MAX
    innovation: Tensor  # [P, C] int64
    weight: Tensor  # [P, C] float
    enabled: Tensor  # [P, C] bool

    # ------------------------------------------------------------------ shape
    def __len__(self) -> int:
        return int(self.gid.shape[0])

    @property
    def node_width(self) -> int:
        return int(self.node_id.shape[1])

    @property
    def conn_width(self) -> int:
        return int(self.conn_key.shape[1])

    @property
    def dtype(self) -> torch.dtype:
        return self.weight.dtype

    @property
    def device(self) -> torch.device:
        return self.gid.device

    @property
    def node_live(self) -> Tensor:
        """``[P, N]`` bool: the live node slots."""
        return torch.arange(self.node_width, device=self.device) < self.n_nodes[:, None]

    @property
    def conn_live(self) -> Tensor:
        """``[P, C]`` bool: the live connection slots."""
        return torch.arange(self.conn_width, device=self.device) < self.n_conns[:, None]

    @property
    def conn_in(self) -> Tensor:
        return unpack_key(self.conn_key)[0]

    @property
    def conn_out(self) -> Tensor:
        return unpack_key(self.conn_key)[1]

    def nbytes(self) -> int:
        return sum(t.element_size() * t.numel() for t in self._tensors().values())

    def _tensors(self) -> dict[str, Tensor]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def _replace(self, **tensors: Tensor) -> GenomeBatch:
        return dataclasses.replace(self, **tensors)

    # ------------------------------------------------------------------ construction
    @classmethod
    def empty(cls, rows: int, node_width: int, conn_width: int, *, dtype: torch.dtype = torch.float32,
              device: torch.device | str | None = None) -> GenomeBatch:
        """``rows`` genomes without genes (every slot padding), gid 0."""
        tensors = {"gid": torch.zeros(rows, dtype=torch.int64, device=device),
                   "n_nodes": torch.zeros(rows, dtype=torch.int32, device=device),
                   "n_conns": torch.zeros(rows, dtype=torch.int32, device=device)}
        for names, width in ((NODE_FIELDS, node_width), (CONN_FIELDS, conn_width)):
            for name in names:
                tensors[name] = _full(rows, width, name, dtype, device)
        return cls(**tensors)

    @classmethod
    def from_ragged(cls, gid: Tensor, n_nodes: Tensor, n_conns: Tensor, nodes: dict[str, Tensor],
                    conns: dict[str, Tensor], *, dtype: torch.dtype = torch.float32,
                    node_width: int | None = None, conn_width: int | None = None) -> GenomeBatch:
        """A batch from genes concatenated row after row, in any order within a row (sorted here).

        ``nodes`` maps every name of ``NODE_FIELDS`` to a ``[sum n_nodes]`` tensor, ``conns`` those of
        ``CONN_FIELDS`` to ``[sum n_conns]``; widths default to the largest count. This is the layout of
        the checkpoint (section 5.5) and of converters from Python objects.
        """
        device = gid.device
        n_nodes, n_conns = n_nodes.to(torch.int32), n_conns.to(torch.int32)
        ids = nodes["node_id"].to(torch.int64)
        if ids.numel() and (int(ids.max()) >= INT32_MAX or int(ids.min()) < 0):
            raise ValueError(f"node id {int(ids.max()) if int(ids.max()) >= INT32_MAX else int(ids.min())} "
                             f"out of range; allowed: 0 <= id < {INT32_MAX}")
        if "conn_key" not in conns:
            raise ValueError("conns needs 'conn_key' (use pack_key(in, out))")
        out = cls.empty(len(gid), _width(n_nodes, node_width, "node_width"),
                        _width(n_conns, conn_width, "conn_width"), dtype=dtype, device=device)
        out.gid, out.n_nodes, out.n_conns = gid.to(torch.int64).clone(), n_nodes.clone(), n_conns.clone()
        for names, key, counts in ((NODE_FIELDS, "node_id", n_nodes), (CONN_FIELDS, "conn_key", n_conns)):
            values = nodes if names is NODE_FIELDS else conns
            missing = [n for n in names if n not in values]
            if missing:
                raise ValueError(f"missing gene field(s) {missing}; allowed: {list(names)}")
            row = torch.repeat_interleave(torch.arange(len(gid), device=device), counts.to(torch.int64))
            order = torch.sort(values[key].to(torch.int64), stable=True).indices
            order = order[torch.sort(row[order], stable=True).indices]  # by row, then by key
            start = torch.cumsum(counts.to(torch.int64), 0) - counts.to(torch.int64)
            slot = torch.arange(len(row), device=device) - start[row]
            for name in names:
                target = getattr(out, name)
                target[row, slot] = values[name][order].to(target.dtype)
        return out

    def to_ragged(self) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """The live genes concatenated row after row (inverse of ``from_ragged``): ``(nodes, conns)``."""
        nl, cl = self.node_live, self.conn_live
        return ({n: getattr(self, n)[nl] for n in NODE_FIELDS}, {n: getattr(self, n)[cl] for n in CONN_FIELDS})

    # ------------------------------------------------------------------ rows
    def __getitem__(self, index: int | slice | Sequence[int] | Tensor) -> GenomeBatch:
        """Rows (a Ray chunk, the elites, one genome as a one-row batch); widths are kept."""
        if isinstance(index, int):
            index = slice(index, index + 1 if index != -1 else None)
        elif not isinstance(index, (slice, Tensor)):
            index = torch.as_tensor(index, dtype=torch.int64, device=self.device)
        if isinstance(index, Tensor):
            if index.dtype == torch.bool:
                index = torch.nonzero(index).reshape(-1)
            index = index.to(device=self.device, dtype=torch.int64)  # index_select: ~10x advanced indexing on CPU
            return self._replace(**{k: t.index_select(0, index) for k, t in self._tensors().items()})
        return self._replace(**{k: t[index] for k, t in self._tensors().items()})

    @classmethod
    def cat(cls, batches: Sequence[GenomeBatch]) -> GenomeBatch:
        """The rows of ``batches`` in order, at the widest widths among them."""
        if not batches:
            raise ValueError("GenomeBatch.cat of no batches")
        n = max(b.node_width for b in batches)
        c = max(b.conn_width for b in batches)
        wide = [b.with_widths(n, c) for b in batches]
        return cls(**{f.name: torch.cat([getattr(b, f.name) for b in wide]) for f in dataclasses.fields(cls)})

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> GenomeBatch:
        """On another device, and/or with float attributes of another dtype."""
        moved = {k: t.to(device) for k, t in self._tensors().items()}
        if dtype is not None:
            moved.update({k: moved[k].to(dtype) for k in _FLOAT})
        return self._replace(**moved)

    # ------------------------------------------------------------------ capacity
    def with_widths(self, node_width: int, conn_width: int) -> GenomeBatch:
        """The same genomes at exactly these widths (padding added or dropped; never a live gene)."""
        if node_width < _most(self.n_nodes) or conn_width < _most(self.n_conns):
            raise ValueError(f"widths ({node_width}, {conn_width}) below the live genes "
                             f"({_most(self.n_nodes)}, {_most(self.n_conns)})")
        if (node_width, conn_width) == (self.node_width, self.conn_width):
            return self
        out = GenomeBatch.empty(len(self), node_width, conn_width, dtype=self.dtype, device=self.device)
        out.gid, out.n_nodes, out.n_conns = self.gid.clone(), self.n_nodes.clone(), self.n_conns.clone()
        for names, w in ((NODE_FIELDS, min(node_width, self.node_width)),
                         (CONN_FIELDS, min(conn_width, self.conn_width))):
            for name in names:
                getattr(out, name)[:, :w] = getattr(self, name)[:, :w]
        return out

    def ensure_capacity(self, nodes: int, conns: int) -> GenomeBatch:
        """Widths of at least ``nodes`` and ``conns``, grown geometrically (``grown_width``) where short."""
        n = self.node_width if nodes <= self.node_width else grown_width(self.node_width, nodes)
        c = self.conn_width if conns <= self.conn_width else grown_width(self.conn_width, conns)
        return self.with_widths(n, c)

    def trim(self) -> GenomeBatch:
        """The narrowest widths that hold every live gene."""
        return self.with_widths(_most(self.n_nodes), _most(self.n_conns))

    def shrink(self) -> GenomeBatch:
        """Widths cut to ``1.25 * max`` (multiple of 8) where the largest genome uses under a third of them."""
        widths = []
        for width, counts in ((self.node_width, self.n_nodes), (self.conn_width, self.n_conns)):
            most = _most(counts)
            widths.append(width if 3 * most >= width else max(8, -(-math.ceil(1.25 * most) // 8) * 8))
        return self.with_widths(min(widths[0], self.node_width), min(widths[1], self.conn_width))

    # ------------------------------------------------------------------ compaction
    def compact(self, node_keep: Tensor | None = None, conn_keep: Tensor | None = None) -> GenomeBatch:
        """Restore the invariant after operators: keep the marked slots, sort each row, pad the rest.

        ``node_keep [P, N]`` / ``conn_keep [P, C]`` mark the slots that stay (default: the live ones); kept
        slots may be anywhere and in any order (appended genes, holes left by deletions).
        """
        out = {}
        for names, key, keep, count in ((NODE_FIELDS, "node_id", node_keep, "n_nodes"),
                                        (CONN_FIELDS, "conn_key", conn_keep, "n_conns")):
            keep = self.node_live if keep is None and key == "node_id" else \
                self.conn_live if keep is None else keep
            pad_key = torch.full_like(getattr(self, key), PAD[key])
            order = torch.sort(torch.where(keep, getattr(self, key), pad_key), dim=1, stable=True).indices
            n = keep.sum(dim=1, dtype=torch.int32)
            live = torch.arange(keep.shape[1], device=self.device) < n[:, None]
            for name in names:
                t = getattr(self, name)
                out[name] = torch.where(live, t.gather(1, order), torch.full_like(t, PAD[name]))
            out[count] = n
        return self._replace(**out)

    # ------------------------------------------------------------------ RowBatch (evohyper.api.rows)
    def __iter__(self) -> Iterator[GenomeBatch]:
        """One-row batches in order (without it, iteration would call ``__getitem__`` with ever larger
        ints, which slice to empty batches and never raise IndexError: an endless loop)."""
        return (self[i] for i in range(len(self)))

    def to_arrays(self) -> dict[str, Tensor]:
        """Every field as a tensor, at the narrowest widths that hold the live genes (what the wire ships:
        a chunk of small genomes does not carry the population's widest row)."""
        return self.trim()._tensors()

    def meta(self) -> dict[str, Any]:
        """Nothing beyond the arrays: codes index the global activation/aggregation tables."""
        return {}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, Tensor], meta: Mapping[str, Any] | None = None) -> GenomeBatch:
        """The batch of ``to_arrays`` (dtypes as sent; the float attributes keep theirs)."""
        names = [f.name for f in dataclasses.fields(cls)]
        missing = [n for n in names if n not in arrays]
        if missing:
            raise ValueError(f"GenomeBatch.from_arrays: missing array(s) {missing}; needs {names}")
        return cls(**{n: torch.as_tensor(arrays[n]) for n in names})

    # ------------------------------------------------------------------ checks
    def row_equal(self, other: GenomeBatch) -> Tensor:
        """``[P]`` bool: same gid and the same live genes, attribute for attribute (widths may differ)."""
        if len(self) != len(other):
            raise ValueError(f"row_equal of {len(self)} rows and {len(other)} rows")
        n, c = max(self.node_width, other.node_width), max(self.conn_width, other.conn_width)
        a, b = self.with_widths(n, c), other.to(self.device).with_widths(n, c)
        same = (a.gid == b.gid) & (a.n_nodes == b.n_nodes) & (a.n_conns == b.n_conns)
        for names, live in ((NODE_FIELDS, a.node_live), (CONN_FIELDS, a.conn_live)):
            for name in names:
                x, y = getattr(a, name), getattr(b, name)
                same &= ((x == y.to(x.dtype)) | ~live).all(dim=1)
        return same

    def equal(self, other: GenomeBatch) -> bool:
        return len(self) == len(other) and bool(self.row_equal(other).all())

    def check(self) -> None:
        """Raise ValueError where the layout invariant does not hold (sorted unique keys, padding)."""
        for names, key, live, count in ((NODE_FIELDS, "node_id", self.node_live, self.n_nodes),
                                        (CONN_FIELDS, "conn_key", self.conn_live, self.n_conns)):
            k = getattr(self, key)
            if bool((count < 0).any()) or bool((count > k.shape[1]).any()):
                raise ValueError(f"{key}: live counts outside 0..{k.shape[1]}")
            if k.shape[1] > 1 and not bool(((k[:, 1:] > k[:, :-1]) | ~live[:, 1:]).all()):
                raise ValueError(f"{key}: live genes not strictly ascending")
            for name in names:
                if not bool((getattr(self, name)[~live] == PAD[name]).all()):
                    raise ValueError(f"{name}: padding slot holds a value other than {PAD[name]!r}")


def _full(rows: int, width: int, name: str, dtype: torch.dtype, device: torch.device | str | None) -> Tensor:
    target = dtype if name in _FLOAT else _INT_DTYPE[name]
    try:
        return torch.full((rows, width), PAD[name], dtype=target, device=device)
    except RuntimeError as exc:  # torch.OutOfMemoryError included
        if "memory" not in str(exc).lower():
            raise
        size = rows * width * torch.empty((), dtype=target).element_size()
        raise MemoryError(f"GenomeBatch of {rows} genomes at width {width} ({name}): cannot allocate "
                          f"{size} bytes on {device or 'cpu'}") from None


def _width(counts: Tensor, width: int | None, name: str) -> int:
    most = _most(counts)
    if width is None:
        return most
    if width < most:
        raise ValueError(f"{name}={width} below the largest genome ({most} genes)")
    return width


def _most(counts: Tensor) -> int:
    return int(counts.max()) if counts.numel() else 0
