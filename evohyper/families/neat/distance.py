"""Genomic distance of NEAT genomes, batched: neat-python's ``DefaultGenome.distance`` (S16) for every pair
(representative, genome) at once (docs/neat_engine.md, sections 1 S16 and 3.3).

Why an alignment through the representatives' key set: speciation compares a few representatives (tens)
with the whole population. The keys of all representatives are collected into one sorted set ``U``
(``unique``); every genome gene is located in ``U`` once (independent of the representative), and a dense
``[R, |U| + 1]`` table holds each representative's attributes by key. Matching gene ``j`` of genome ``p``
against representative ``r`` is then one gather, the pairwise work itself, with no loop over
representatives or genomes (representatives are processed in chunks only to bound memory).
``PopulationDistances`` prepares the population side once, so speciation's repeated calls (one per round)
pay only for the representatives.

Layout of the population side, per kind of gene: *padded* (``[P, W]`` slots, a row sum per genome) when
the rows are nearly full, *flat* (the live genes only, summed per genome with ``index_add``) when the
widest genome makes most slots padding (the XOR example at ``P = 10,000``: widths 40, 3.7 genes per
genome). Locating a gene in ``U`` is a ``searchsorted``, or, for large populations whose node ids are
few (P-NEAT: 2.2 million connection genes over 242 ids), a lookup in a dense table indexed by
``(in, out)`` (``searchsorted`` costs ~50 ns per gene, the lookup ~2).

Float semantics: every per-gene term is computed in ``float64`` with neat's own order of operations
(``((|db| + |dr|) + |dtc| + [act!=] + [agg!=]) * cw`` for nodes, ``(|dw| + [en!=]) * cw`` for connections;
``|a - b|`` is symmetric in IEEE arithmetic, so the direction of the comparison does not matter); only the
order of the sum over matched genes differs from neat's dict order. Values are therefore equal to neat's bit
for bit when the terms are dyadic (the sums are then exact in any order) and within a few ulp otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from evohyper.families.neat.config import NEATConfig
from evohyper.families.neat.genome import GenomeBatch, KeyCells

Tensor = torch.Tensor

#: elements of one ``[R_chunk, genes]`` temporary (float64: 32 MB); bounds the memory of a call
CHUNK_ELEMENTS = 1 << 22
#: the dense ``(in, out)`` lookup replaces ``searchsorted`` from this many genes on, if its table has at most
#: as many cells as there are genes (filling it then costs less than the lookups)
TABLE_MIN_GENES = 1 << 16
TABLE_RATIO = 1
#: the flat (live genes only) layout is used when the padded one would hold more than this many slots per gene
FLAT_RATIO = 1.5


def distances(reps: GenomeBatch, genomes: GenomeBatch, cfg: NEATConfig) -> Tensor:
    """``[R, P]`` float64: ``d[r, p]`` = neat's ``reps[r].distance(genomes[p])`` (S16)."""
    return PopulationDistances(genomes, cfg)(reps)


@dataclass
class _Reps:
    """One kind of gene of the representatives, padded: ``keys``/``live [R, W]``, ``floats [R, W, F]`` float64,
    ``codes [R, W, K]``, ``count [R]`` int64."""

    keys: Tensor
    live: Tensor
    floats: Tensor
    codes: Tensor
    count: Tensor


def _node_fields(b: GenomeBatch, rows: Tensor | None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    def take(t: Tensor) -> Tensor:
        return t if rows is None else t.index_select(0, rows)
    count = take(b.n_nodes).to(torch.int64)
    floats = torch.stack([take(b.bias), take(b.response), take(b.time_constant)], dim=-1).to(torch.float64)
    codes = torch.stack([take(b.activation), take(b.aggregation)], dim=-1)
    return take(b.node_id).to(torch.int64), count, floats, codes


def _conn_fields(b: GenomeBatch, rows: Tensor | None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    def take(t: Tensor) -> Tensor:
        return t if rows is None else t.index_select(0, rows)
    return (take(b.conn_key), take(b.n_conns).to(torch.int64), take(b.weight).to(torch.float64)[..., None],
            take(b.enabled)[..., None])


def _reps(fields: tuple[Tensor, Tensor, Tensor, Tensor]) -> _Reps:
    keys, count, floats, codes = fields
    live = torch.arange(keys.shape[1], device=keys.device) < count[:, None]
    return _Reps(keys, live, floats, codes, count)


class _Side:
    """One kind of gene of the population, rows in a given order: ``keys [X]``, ``floats [X, F]``,
    ``codes [X, K]``, ``count [n]``; padded (``X = n * width``, dead slots keyed by ``dead`` so they match
    nothing) or flat (live genes only, ``seg [X]`` = genome of each gene, ``start`` gene offsets on the host).
    ``cells [X]``: table cells of the keys when the dense lookup is used (``space``), else None."""

    def __init__(self, fields: tuple[Tensor, Tensor, Tensor, Tensor], space: KeyCells | None, kind: str):
        keys, count, floats, codes = fields
        n, width = keys.shape
        device = keys.device
        self.n, self.count, self.width = n, count, width
        genes = int(count.sum()) if n else 0
        self.flat = n * width > FLAT_RATIO * max(genes, 1) and genes < n * width
        live = torch.arange(width, device=device) < count[:, None]
        if self.flat:
            pick = live.view(-1).nonzero().squeeze(1)
            self.keys = keys.reshape(-1).index_select(0, pick)
            self.floats = floats.reshape(-1, floats.shape[-1]).index_select(0, pick)
            self.codes = codes.reshape(-1, codes.shape[-1]).index_select(0, pick)
            self.seg = torch.div(pick, max(width, 1), rounding_mode="floor")
            self.start = [0] + torch.cumsum(count, 0).tolist()
            self.live = None
        else:
            self.keys, self.live = keys.reshape(-1), live.view(-1)
            self.floats = floats.reshape(n * width, floats.shape[-1])
            self.codes = codes.reshape(n * width, codes.shape[-1])
            self.seg = self.start = None
        self.size = int(self.keys.shape[0])
        self.space = space if space is not None and self.size >= TABLE_MIN_GENES and \
            space.size[kind] <= TABLE_RATIO * self.size else None
        self.cells = None if self.space is None else self.space.own_cells(kind, self.keys)
        self.kind = kind

    def suffix(self, first: int) -> _Side:
        """The genomes from position ``first`` on (a view of this side)."""
        if first == 0:
            return self
        out = object.__new__(_Side)
        out.__dict__.update(self.__dict__)
        lo = self.start[first] if self.flat else first * self.width
        out.n, out.count = self.n - first, self.count[first:]
        out.keys, out.floats, out.codes = self.keys[lo:], self.floats[lo:], self.codes[lo:]
        out.cells = None if self.cells is None else self.cells[lo:]
        if self.flat:
            out.seg, out.start = self.seg[lo:] - first, [s - lo for s in self.start[first:]]
        else:
            out.live = self.live[lo:]
        out.size = int(out.keys.shape[0])
        return out

    def reduce(self, values: Tensor) -> Tensor:
        """``[r, X]`` per-gene float64 values -> ``[r, n]`` per-genome sums, added one gene after the other in
        slot order in both layouts (padding adds zeros), so the layout and the widths never change a value."""
        r = values.shape[0]
        if not self.flat:
            return values.view(r, self.n, self.width).cumsum(dim=2)[..., -1] if self.width else \
                values.new_zeros(r, self.n)
        if values.device.type == "cpu":  # index_add_ adds in index order on CPU
            out = torch.zeros(r, self.n, dtype=values.dtype, device=values.device)
            return out.index_add_(1, self.seg, values)
        # CUDA's index_add_ uses atomics (order not fixed): a segment sum over the genomes' runs instead
        return torch.segment_reduce(values, "sum", lengths=self.count.expand(r, self.n), axis=1, unsafe=True)

    def count_matches(self, matched: Tensor) -> Tensor:
        """``[r, X]`` bool -> ``[r, n]`` float64 matched genes per genome (exact integers)."""
        r = matched.shape[0]
        if not self.flat:
            return matched.view(r, self.n, self.width).sum(dim=2).to(torch.float64)
        out = torch.zeros(r, self.n, dtype=torch.int64, device=matched.device)
        return out.index_add_(1, self.seg, matched.to(torch.int64)).to(torch.float64)


class PopulationDistances:
    """Distances from any representatives to one population (its side prepared once).

    ``order`` (optional, a permutation of the rows): the order in which ``ranked`` returns the columns (speciation
    uses ascending genome id, so that "the genomes from the ``first``-th on" is a suffix)."""

    def __init__(self, genomes: GenomeBatch, cfg: NEATConfig, order: Tensor | None = None):
        self.cw = float(cfg.compatibility_weight_coefficient)
        self.cd = float(cfg.compatibility_disjoint_coefficient)
        self.genomes, self.size, self.device = genomes, len(genomes), genomes.device
        self.order = order
        nodes, conns = _node_fields(genomes, order), _conn_fields(genomes, order)
        space = None
        if conns[0].numel() >= TABLE_MIN_GENES or nodes[0].numel() >= TABLE_MIN_GENES:
            live = torch.arange(nodes[0].shape[1], device=self.device) < nodes[1][:, None]
            most = int(torch.where(live, nodes[0], -1).max()) if nodes[0].numel() else -1
            space = KeyCells(int(cfg.num_inputs), most + 1)
        self.node, self.conn = _Side(nodes, space, "node"), _Side(conns, space, "conn")

    def __call__(self, reps: GenomeBatch) -> Tensor:
        """``[R, P]`` float64 from the genomes ``reps`` (columns in row order)."""
        if reps.device != self.device:
            reps = reps.to(self.device)
        return self._unorder(self._pairwise(_reps(_node_fields(reps, None)), _reps(_conn_fields(reps, None)), 0))

    def rows(self, index: Tensor, columns: Tensor | None = None) -> Tensor:
        """``[len(index), P]`` float64 from the population's own rows ``index`` (to the rows ``columns`` only,
        ``[len(index), len(columns)]``, when given)."""
        d = self._unorder(self.ranked(index))
        return d if columns is None else d.index_select(1, columns)

    def ranked(self, index: Tensor, first: int = 0) -> Tensor:
        """``[len(index), P - first]`` float64 from the population's rows ``index`` to the genomes at
        positions ``first, first + 1, ...`` of ``order``."""
        g = self.genomes
        return self._pairwise(_reps(_node_fields(g, index)), _reps(_conn_fields(g, index)), first)

    def ranked_batch(self, reps: GenomeBatch) -> Tensor:
        """``[R, P]`` float64 from the genomes ``reps``, columns in ``order``."""
        if reps.device != self.device:
            reps = reps.to(self.device)
        return self._pairwise(_reps(_node_fields(reps, None)), _reps(_conn_fields(reps, None)), 0)

    def _unorder(self, d: Tensor) -> Tensor:
        if self.order is None:
            return d
        out = torch.empty_like(d)
        out[:, self.order] = d
        return out

    def _pairwise(self, rep_node: _Reps, rep_conn: _Reps, first: int) -> Tensor:
        R = int(rep_node.count.shape[0])
        node, conn = self.node.suffix(first), self.conn.suffix(first)
        size = node.n
        if R == 0 or size == 0:
            return torch.zeros(R, size, dtype=torch.float64, device=self.device)
        parts = [(_Dense(rep_node, node), node, rep_node.count), (_Dense(rep_conn, conn), conn, rep_conn.count)]
        step = max(1, CHUNK_ELEMENTS // max(1, node.size * 3 + conn.size))
        out = []
        for lo in range(0, R, step):
            hi = min(R, lo + step)
            total = None
            for dense, genes, count in parts:
                matched, floats, codes = dense.take(lo, hi)  # [r, X], [r, X, F], [r, X, K]
                diff = (floats - genes.floats).abs_()
                term = diff[..., 0]
                for f in range(1, diff.shape[-1]):
                    term = term + diff[..., f]
                unequal = codes != genes.codes
                for k in range(unequal.shape[-1]):
                    term = term + unequal[..., k]
                term = torch.where(matched, term * self.cw, 0.0)
                n_match = genes.count_matches(matched)
                part = _component(genes.reduce(term), n_match, count[lo:hi], genes.count, self.cd)
                total = part if total is None else total + part
            out.append(total)
        return out[0] if len(out) == 1 else torch.cat(out)


class _Dense:
    """The representatives' genes laid out by key: ``u [X]`` is the index of each population gene's key in
    the sorted union of the representatives' live keys (``U`` = in no representative); ``present``,
    ``floats``, ``codes`` are ``[R, U + 1, ...]`` tables (column ``U`` and absent keys: not present)."""

    def __init__(self, reps: _Reps, genomes: _Side):
        R = reps.keys.shape[0]
        space = genomes.space
        if space is None:
            union = torch.unique(reps.keys[reps.live])  # sorted
            U = int(union.numel())
            self.u = _locate(union, genomes.keys, genomes.live)
            at = _locate(union, reps.keys, reps.live)  # [R, W]; dead slots go to column U and write nothing real
        else:  # the keys' cells in a dense table: a lookup instead of a binary search
            size = space.size[genomes.kind]
            cells = torch.where(reps.live, space.cells(genomes.kind, reps.keys), size)
            union = torch.unique(cells)  # every cell < size is a key some population gene may have
            U = int(union.numel())
            lut = torch.full((size + 1,), U, dtype=torch.int64, device=union.device)
            lut[union] = torch.arange(U, device=union.device)
            lut[size] = U
            self.u = lut.index_select(0, genomes.cells)
            at = lut.index_select(0, cells.view(-1)).view(cells.shape)
        self.U = U
        present = torch.zeros((R, U + 1), dtype=torch.bool, device=at.device).scatter_(1, at, reps.live)
        present[:, U] = False
        self.present = present
        self.floats = _scatter(reps.floats, at, U)
        self.codes = _scatter(reps.codes, at, U)

    def take(self, lo: int, hi: int) -> tuple[Tensor, Tensor, Tensor]:
        if hi - lo == 1:
            idx = self.u + lo * (self.U + 1)
        else:
            idx = (torch.arange(lo, hi, device=self.u.device)[:, None] * (self.U + 1) + self.u).view(-1)
        shape = (hi - lo, self.u.shape[0])
        return (self.present.view(-1).index_select(0, idx).view(shape),
                self.floats.view(-1, self.floats.shape[-1]).index_select(0, idx).view(*shape, -1),
                self.codes.view(-1, self.codes.shape[-1]).index_select(0, idx).view(*shape, -1))


def _locate(union: Tensor, keys: Tensor, live: Tensor | None) -> Tensor:
    """Index of each (live) key in the sorted ``union`` (``len(union)`` where it is absent or not live)."""
    U = int(union.numel())
    if U == 0:
        return torch.zeros_like(keys)
    pos = torch.searchsorted(union, keys).clamp_(max=U - 1)
    hit = union.index_select(0, pos.view(-1)).view(pos.shape) == keys
    return torch.where(hit if live is None else live & hit, pos, U)


def _scatter(values: Tensor, at: Tensor, U: int) -> Tensor:
    """``values [R, W, K]`` laid out as ``[R, U + 1, K]`` by key index ``at [R, W]`` (column ``U``: zeros)."""
    out = values.new_zeros((values.shape[0], U + 1, values.shape[-1]))
    out.scatter_(1, at[..., None].expand_as(values), values)  # live keys are unique per row
    out[:, U] = 0
    return out


def _component(total: Tensor, n_match: Tensor, n_rep: Tensor, n_gen: Tensor, cd: float) -> Tensor:
    """``(sum of matched terms + cd * disjoint) / max(n1, n2)``, 0 where both genomes have no genes."""
    disjoint = (n_rep[:, None] + n_gen[None, :]).to(torch.float64) - 2 * n_match
    most = torch.maximum(n_rep[:, None], n_gen[None, :])
    value = (total + cd * disjoint) / most.clamp(min=1).to(torch.float64)
    return torch.where(most > 0, value, 0.0)
