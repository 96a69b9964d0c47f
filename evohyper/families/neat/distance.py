"""Genomic distance of NEAT genomes, batched: neat-python's ``DefaultGenome.distance`` (S16) for every pair
(representative, genome) at once (docs/neat_engine.md, sections 1 S16 and 3.3).

Why an alignment through the representatives' key set: speciation compares a few representatives (tens)
with the whole population. The keys of all representatives are collected into one sorted set ``U``
(``unique``); every genome gene is located in ``U`` once (independent of the representative), and a dense
``[R, |U| + 1]`` table holds each representative's attributes by key. Matching gene ``j`` of genome ``p``
against representative ``r`` is then one gather, the pairwise work itself, with no loop over
representatives or genomes (representatives are processed in chunks only to bound memory).
``PopulationDistances`` prepares the population side once, so speciation's repeated calls (one per round)
pay only for the representatives. The tables and the sparse pairing live in ``distance_pairs``.

Layout of the population side, per kind of gene: *padded* (``[P, W]`` slots, a row sum per genome) when
the rows are nearly full, *flat* (the live genes only, summed per genome with ``index_add``) when the
widest genome makes most slots padding (the XOR example at ``P = 10,000``: widths 40, 3.7 genes per
genome). Locating a gene in ``U`` is a ``searchsorted``, or, for large populations whose node ids are
few (P-NEAT: 2.2 million connection genes over 242 ids), a lookup in a dense table indexed by
``(in, out)`` (``searchsorted`` costs ~50 ns per gene, the lookup ~2). Small populations (at most
``JOINT_SLOTS`` gene slots) run node and connection genes through one pass (node ids keyed apart from every
connection key, connections carrying zeros for the node-only attributes, each kind summed on its own): half
the tensor ops, which is what a small population's time is.

Float semantics: every per-gene term is computed in ``float64`` with neat's own order of operations
(``((|db| + |dr|) + |dtc| + [act!=] + [agg!=]) * cw`` for nodes, ``(|dw| + [en!=]) * cw`` for connections;
``|a - b|`` is symmetric in IEEE arithmetic, so the direction of the comparison does not matter); only the
order of the sum over matched genes differs from neat's dict order. Values are therefore equal to neat's bit
for bit when the terms are dyadic (the sums are then exact in any order) and within a few ulp otherwise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from evohyper.families.neat import distance_pairs
from evohyper.families.neat.config import NEATConfig
from evohyper.families.neat.distance_pairs import Dense
from evohyper.families.neat.genome import GenomeBatch, KeyCells

Tensor = torch.Tensor

#: elements of one ``[R_chunk, genes]`` temporary (float64: 32 MB); bounds the memory of a call
CHUNK_ELEMENTS = 1 << 22
#: the dense ``(in, out)`` lookup replaces ``searchsorted`` from this many genes on, if its table has at most
#: ``TABLE_RATIO`` cells per gene (filling it then costs less than the lookups)
TABLE_MIN_GENES = 1 << 16
TABLE_RATIO = 1
#: the flat (live genes only) layout is used when the padded one would hold more than this many slots per gene
FLAT_RATIO = 1.5
#: populations with at most this many node + connection slots take both kinds in one pass
JOINT_SLOTS = 1 << 14
#: in the joint pass node id ``i`` is keyed ``NODE_KEY + i``: below every packed connection key
NODE_KEY = -(2**62)

#: ``keys [n, W]`` int64, ``count [n]`` int64, ``floats [n, W, F]`` float64, ``codes [n, W, K]``
Fields = tuple[Tensor, Tensor, Tensor, Tensor]


def distances(reps: GenomeBatch, genomes: GenomeBatch, cfg: NEATConfig) -> Tensor:
    """``[R, P]`` float64: ``d[r, p]`` = neat's ``reps[r].distance(genomes[p])`` (S16)."""
    return PopulationDistances(genomes, cfg)(reps)


def _node_fields(b: GenomeBatch, rows: Tensor | None) -> Fields:
    def take(t: Tensor) -> Tensor:
        return t if rows is None else t.index_select(0, rows)
    floats = torch.stack([take(b.bias), take(b.response), take(b.time_constant)], dim=-1).to(torch.float64)
    codes = torch.stack([take(b.activation), take(b.aggregation)], dim=-1)
    return take(b.node_id).to(torch.int64), take(b.n_nodes).to(torch.int64), floats, codes


def _conn_fields(b: GenomeBatch, rows: Tensor | None) -> Fields:
    def take(t: Tensor) -> Tensor:
        return t if rows is None else t.index_select(0, rows)
    return (take(b.conn_key), take(b.n_conns).to(torch.int64), take(b.weight).to(torch.float64)[..., None],
            take(b.enabled)[..., None])


@dataclass
class _Genes:
    """Genes of some genomes, padded rows: ``keys``/``live [n, W]``, ``floats [n, W, F]`` float64,
    ``codes [n, W, K]``, ``count [n, k]`` live genes per kind (``k = 2`` for the joint pass), ``kinds [W]`` the
    kind of each slot (joint pass) or None."""

    keys: Tensor
    live: Tensor
    floats: Tensor
    codes: Tensor
    count: Tensor
    kinds: Tensor | None = None

    def rows(self, index: Tensor) -> _Genes:
        return _Genes(*(t.index_select(0, index) for t in (self.keys, self.live, self.floats, self.codes, self.count)),
                      self.kinds)

    @classmethod
    def single(cls, f: Fields) -> _Genes:
        keys, count, floats, codes = f
        live = torch.arange(keys.shape[1], device=keys.device) < count[:, None]
        return cls(keys, live, floats, codes, count[:, None])

    @classmethod
    def joint(cls, nodes: Fields, conns: Fields) -> _Genes:
        """Both kinds in one row: node slots then connection slots; connections carry ``weight, 0, 0`` and
        ``enabled, 0`` so that each per-gene term is computed exactly as the connection's own."""
        nk, nc, nf, ncode = nodes
        ck, cc, cf, ccode = conns
        device = nk.device
        N, C = nk.shape[1], ck.shape[1]
        keys = torch.cat([nk + NODE_KEY, ck], dim=1)
        live = torch.cat([torch.arange(N, device=device) < nc[:, None], torch.arange(C, device=device) < cc[:, None]],
                         dim=1)
        floats = torch.cat([nf, torch.nn.functional.pad(cf, (0, nf.shape[-1] - cf.shape[-1]))], dim=1)
        codes = torch.cat([ncode, torch.nn.functional.pad(ccode.to(ncode.dtype), (0, ncode.shape[-1] - 1))], dim=1)
        kinds = torch.cat([torch.zeros(N, dtype=torch.int64, device=device),
                           torch.ones(C, dtype=torch.int64, device=device)])
        return cls(keys, live, floats, codes, torch.stack([nc, cc], dim=1), kinds)


class _Side:
    """Genes of the population, rows in a given order: ``keys [X]``, ``floats [X, F]``, ``codes [X, K]``,
    ``count [n, k]``; padded (``X = n * width``: padding slots hold padding keys, which match nothing) or flat
    (live genes only, ``seg [X]`` = ``genome * k + kind`` of each gene, ``start`` gene offsets on the host).
    ``cells [X]``: table cells of the keys when the dense lookup is used (``space``), else None."""

    def __init__(self, genes: _Genes, space: KeyCells | None, kind: str, order: Tensor | None = None):
        n, width = genes.keys.shape
        self.width, self.kind = width, kind
        self.k = int(genes.count.shape[1])
        total = int(genes.count.sum()) if n else 0
        self.flat = genes.kinds is not None or (n * width > FLAT_RATIO * max(total, 1) and total < n * width)
        # a flat side is built in ``order``; a padded one keeps the batch's rows (no copy of P-NEAT's 2.5 million
        # slots) and puts its results in ``order`` instead (``self.order``)
        self.order = None if self.flat else order
        if self.flat and order is not None:
            genes = genes.rows(order)
        self.n, self.count = n, genes.count
        if self.flat:
            pick = genes.live.view(-1).nonzero().squeeze(1)
            self.keys = genes.keys.reshape(-1).index_select(0, pick)
            self.floats = genes.floats.reshape(-1, genes.floats.shape[-1]).index_select(0, pick)
            self.codes = genes.codes.reshape(-1, genes.codes.shape[-1]).index_select(0, pick)
            row = torch.div(pick, max(width, 1), rounding_mode="floor")
            self.seg = row if genes.kinds is None else row * self.k + genes.kinds.index_select(0, pick - row * width)
            self.start = [0] + torch.cumsum(genes.count.sum(dim=1), 0).tolist()
        else:
            self.keys = genes.keys.reshape(-1)
            self.floats = genes.floats.reshape(n * width, genes.floats.shape[-1])
            self.codes = genes.codes.reshape(n * width, genes.codes.shape[-1])
            self.seg = self.start = None
        self.size = int(self.keys.shape[0])
        self.space = space if space is not None and self.size >= TABLE_MIN_GENES and \
            space.size[kind] <= TABLE_RATIO * self.size else None
        self.cells = None
        if self.space is not None:
            cells = self.space.own_cells(kind, self.keys if self.flat else genes.keys)
            self.cells = cells.reshape(-1)

    def columns(self) -> tuple[Tensor, Tensor]:
        """``floats [F, X]`` and ``codes [K, X]``, one attribute per row (made once per side)."""
        if getattr(self, "_columns", None) is None:
            self._columns = self.floats.T.contiguous(), self.codes.T.contiguous()
        return self._columns

    def segments(self, R: int) -> Tensor:
        """``[X]`` ``(genome * k + kind) * R`` of each gene (padding slots: their row's)."""
        if self.flat:
            return self.seg * R
        return torch.div(torch.arange(self.size, device=self.keys.device), max(self.width, 1),
                         rounding_mode="floor").mul_(R)

    def suffix(self, first: int) -> _Side:
        """The genomes from position ``first`` (of ``order``) on, in ``order``."""
        if first == 0:
            return self
        out = object.__new__(_Side)
        out.__dict__.update(self.__dict__)
        out._columns = None
        out.n = self.n - first
        if self.order is not None:  # padded in the batch's rows: take the rows, in order
            rows, w = self.order[first:], self.width
            out.order = None
            out.count = self.count.index_select(0, rows)
            out.keys = self.keys.view(self.n, w).index_select(0, rows).view(-1)
            out.floats = self.floats.view(self.n, w, -1).index_select(0, rows).view(out.n * w, -1)
            out.codes = self.codes.view(self.n, w, -1).index_select(0, rows).view(out.n * w, -1)
            out.cells = None if self.cells is None else self.cells.view(self.n, w).index_select(0, rows).view(-1)
            out.size = int(out.keys.shape[0])
            return out
        lo = self.start[first] if self.flat else first * self.width
        out.count = self.count[first:]
        out.keys, out.floats, out.codes = self.keys[lo:], self.floats[lo:], self.codes[lo:]
        out.cells = None if self.cells is None else self.cells[lo:]
        if self.flat:
            out.seg, out.start = self.seg[lo:] - first * self.k, [s - lo for s in self.start[first:]]
        out.size = int(out.keys.shape[0])
        return out

    def reduce(self, values: Tensor) -> Tensor:
        """``[X, r]`` per-gene float64 values -> ``[n, r, k]`` sums per genome and kind, added one gene after the
        other in slot order in every layout (padding adds zeros), so layouts and widths never change a value."""
        r = values.shape[1]
        if not self.flat:
            if not self.width:
                return values.new_zeros(self.n, r, 1)
            return values.view(self.n, self.width, r).cumsum(dim=1)[:, -1, :, None]
        if values.device.type == "cpu":  # index_add_ adds in index order on CPU
            out = torch.zeros(self.n * self.k, r, dtype=values.dtype, device=values.device)
            out.index_add_(0, self.seg, values)
        else:  # CUDA's index_add_ uses atomics (order not fixed): a segment sum over the genes' runs instead
            out = torch.segment_reduce(values, "sum", lengths=self.count.reshape(-1), axis=0, unsafe=True)
        return out.view(self.n, self.k, r).transpose(1, 2)

    def count_matches(self, matched: Tensor) -> Tensor:
        """``[X, r]`` bool -> ``[n, r, k]`` float64 matched genes per genome and kind (exact integers)."""
        r = matched.shape[1]
        if not self.flat:
            return matched.view(self.n, self.width, r).sum(dim=1).to(torch.float64)[..., None]  # (an int sum: faster)
        out = torch.zeros(self.n * self.k, r, dtype=torch.float64, device=matched.device)
        return out.index_add_(0, self.seg, matched.to(torch.float64)).view(self.n, self.k, r).transpose(1, 2)


class PopulationDistances:
    """Distances from any representatives to one population (its side prepared once).

    ``order`` (optional, a permutation of the rows): the order in which ``ranked`` returns the columns (speciation
    uses ascending genome id, so that "the genomes from the ``first``-th on" is a suffix)."""

    def __init__(self, genomes: GenomeBatch, cfg: NEATConfig, order: Tensor | None = None):
        self.cw = float(cfg.compatibility_weight_coefficient)
        self.cd = float(cfg.compatibility_disjoint_coefficient)
        self.genomes, self.size, self.device = genomes, len(genomes), genomes.device
        self.order = order
        self.joint = len(genomes) * (genomes.node_width + genomes.conn_width) <= JOINT_SLOTS
        nodes, conns = _node_fields(genomes, None), _conn_fields(genomes, None)
        if self.joint:  # (``_genes``: the padded rows in batch order, representatives are taken from them)
            self._genes = [_Genes.joint(nodes, conns)]
            self.sides = [_Side(self._genes[0], None, "joint", order)]
            return
        space = None
        if max(nodes[0].numel(), conns[0].numel()) >= TABLE_MIN_GENES:
            live = torch.arange(nodes[0].shape[1], device=self.device) < nodes[1][:, None]
            most = int(torch.where(live, nodes[0], -1).max()) if nodes[0].numel() else -1
            space = KeyCells(int(cfg.num_inputs), most + 1)
        self._genes = [_Genes.single(nodes), _Genes.single(conns)]
        self.sides = [_Side(self._genes[0], space, "node", order), _Side(self._genes[1], space, "conn", order)]

    def _reps(self, nodes: Fields, conns: Fields) -> list[_Genes]:
        if self.joint:
            return [_Genes.joint(nodes, conns)]
        return [_Genes.single(nodes), _Genes.single(conns)]

    def __call__(self, reps: GenomeBatch) -> Tensor:
        """``[R, P]`` float64 from the genomes ``reps`` (columns in row order)."""
        return self._unorder(self.ranked_batch(reps))

    def rows(self, index: Tensor, columns: Tensor | None = None) -> Tensor:
        """``[len(index), P]`` float64 from the population's own rows ``index`` (to the rows ``columns`` only,
        ``[len(index), len(columns)]``, when given)."""
        d = self._unorder(self.ranked(index))
        return d if columns is None else d.index_select(1, columns)

    def ranked(self, index: Tensor, first: int = 0) -> Tensor:
        """``[len(index), P - first]`` float64 from the population's rows ``index`` to the genomes at
        positions ``first, first + 1, ...`` of ``order``."""
        return self._pairwise([genes.rows(index) for genes in self._genes], first)

    def ranked_batch(self, reps: GenomeBatch) -> Tensor:
        """``[R, P]`` float64 from the genomes ``reps``, columns in ``order``."""
        if reps.device != self.device:
            reps = reps.to(self.device)
        return self._pairwise(self._reps(_node_fields(reps, None), _conn_fields(reps, None)), 0)

    def _unorder(self, d: Tensor) -> Tensor:
        if self.order is None:
            return d
        out = torch.empty_like(d)
        out[:, self.order] = d
        return out

    def _pairwise(self, reps: list[_Genes], first: int) -> Tensor:
        R = int(reps[0].keys.shape[0])
        sides = [side.suffix(first) for side in self.sides]
        size = sides[0].n
        if R == 0 or size == 0:
            return torch.zeros(R, size, dtype=torch.float64, device=self.device)
        parts = [(Dense(rep, side), side, rep.count) for rep, side in zip(reps, sides)]
        step = max(1, CHUNK_ELEMENTS // max(1, sum(side.size * side.floats.shape[-1] for side in sides)))
        out = []
        for lo in range(0, R, step):
            hi = min(R, lo + step)
            total = None
            for dense, side, count in parts:  # gene-major: [X, r] (each gene's representatives contiguous)
                pairs = distance_pairs.pairs(dense) if lo == 0 and hi == R else None
                if pairs is not None:  # few matched pairs: those alone (the same bits, distance_pairs)
                    part = _component(*distance_pairs.sums(pairs, side, R, self.cw), count, side.count, self.cd)
                    if side.order is not None:
                        part = part.index_select(0, side.order)
                    total = part if total is None else total + part
                    continue
                scaled = self.cw > 0.0 and math.isfinite(self.cw)
                part = self._dense(dense, side, count, lo, hi, scaled)
                if scaled and bool(torch.isnan(part).any()):  # a non-finite term of an unmatched pair: the where
                    part = self._dense(dense, side, count, lo, hi, False)
                if side.order is not None:  # a padded side in the batch's rows: its genomes into ``order``
                    part = part.index_select(0, side.order)
                total = part if total is None else total + part
            out.append(total.T)
        return out[0] if len(out) == 1 else torch.cat(out)


    def _dense(self, dense: Dense, side: _Side, count: Tensor, lo: int, hi: int, scaled: bool) -> Tensor:
        """``[n, hi - lo]`` component of one kind of gene through the dense ``[X, r]`` pairs. ``scaled`` (``cw > 0``):
        the presence table holds ``cw`` (else 0.0), so ``term * cw`` and the zeros of unmatched pairs are one
        multiplication (a ``where`` costs 3 of them): the same bits for finite terms (``+0.0`` either way; a
        non-finite one gives nan, and the caller then takes the ``where``)."""
        matched, floats, codes = dense.take(lo, hi, self.cw if scaled else None)  # [X, r], [X, F, r], [X, K, r]
        diff = (floats - side.floats[:, :, None]).abs_()  # (broadcast along the last dim: vectorised)
        term = diff[:, 0]
        for f in range(1, diff.shape[1]):
            term = term + diff[:, f]
        unequal = (codes != side.codes[:, :, None]).to(torch.float64)  # (1.0 / 0.0: as the bool's promotion,
        for k in range(unequal.shape[1]):  # which a float64 + bool add does 3x slower)
            term = term + unequal[:, k]
        if scaled:
            term, matched = term * matched, matched > 0.0
        else:
            term = torch.where(matched, term * self.cw, 0.0)
        return _component(side.reduce(term), side.count_matches(matched), count[lo:hi], side.count, self.cd)


def _component(total: Tensor, n_match: Tensor, n_rep: Tensor, n_gen: Tensor, cd: float) -> Tensor:
    """``[n, r]``: per kind ``(sum of matched terms + cd * disjoint) / max(n1, n2)`` (0 where both genomes have
    no gene of the kind), the kinds added (nodes + connections, as neat)."""
    nr, ng = n_rep[None, :, :], n_gen[:, None, :]
    disjoint = (nr + ng).to(torch.float64) - 2 * n_match
    most = torch.maximum(nr, ng)
    value = torch.where(most > 0, (total + cd * disjoint) / most.clamp(min=1).to(torch.float64), 0.0)
    return value[..., 0] if value.shape[-1] == 1 else value[..., 0] + value[..., 1]
