"""Genomic distance of NEAT genomes, batched: neat-python's ``DefaultGenome.distance`` (S16) for every pair
(representative, genome) at once (docs/neat_engine.md, sections 1 S16 and 3.3).

Why an alignment through the representatives' key set: speciation compares a few representatives (tens)
with the whole population. The keys of all representatives are collected into one sorted set ``U``
(``unique``); every genome gene is located in ``U`` with one ``searchsorted`` (independent of the
representative), and a dense ``[R, |U| + 1]`` table holds each representative's attributes by key. Matching
gene ``j`` of genome ``p`` against representative ``r`` is then one gather ``[R, P, W]``, the pairwise work
itself, with no loop over representatives or genomes (representatives are processed in chunks only to bound
memory). ``PopulationDistances`` prepares the population side once, so speciation's repeated calls (one per
round) pay only for the representatives.

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
from evohyper.families.neat.genome import GenomeBatch

Tensor = torch.Tensor

#: elements of one ``[R_chunk, P, W]`` temporary (float64: 32 MB); bounds the memory of a call
CHUNK_ELEMENTS = 1 << 22


def distances(reps: GenomeBatch, genomes: GenomeBatch, cfg: NEATConfig) -> Tensor:
    """``[R, P]`` float64: ``d[r, p]`` = neat's ``reps[r].distance(genomes[p])`` (S16)."""
    return PopulationDistances(genomes, cfg)(reps)


@dataclass
class _Genes:
    """One kind of gene (nodes or connections) of some genomes, ready for the distance: ``keys``/``live``
    ``[X, W]``, ``floats [X, W, F]`` float64 (differences summed left to right), ``codes [X, W, K]``
    (inequalities added after, left to right), ``count [X]`` int64 live genes."""

    keys: Tensor
    live: Tensor
    floats: Tensor
    codes: Tensor
    count: Tensor

    @classmethod
    def nodes(cls, b: GenomeBatch) -> _Genes:
        return cls(b.node_id.to(torch.int64), b.node_live,
                   torch.stack([b.bias, b.response, b.time_constant], dim=-1).to(torch.float64),
                   torch.stack([b.activation, b.aggregation], dim=-1), b.n_nodes.to(torch.int64))

    @classmethod
    def conns(cls, b: GenomeBatch) -> _Genes:
        return cls(b.conn_key, b.conn_live, b.weight.to(torch.float64)[..., None], b.enabled[..., None],
                   b.n_conns.to(torch.int64))

    def rows(self, index: Tensor) -> _Genes:
        return _Genes(self.keys[index], self.live[index], self.floats[index], self.codes[index], self.count[index])


class PopulationDistances:
    """Distances from any representatives to one population (its side prepared once)."""

    def __init__(self, genomes: GenomeBatch, cfg: NEATConfig):
        self.cw = float(cfg.compatibility_weight_coefficient)
        self.cd = float(cfg.compatibility_disjoint_coefficient)
        self.size, self.device = len(genomes), genomes.device
        self.width = genomes.node_width + genomes.conn_width
        self.node, self.conn = _Genes.nodes(genomes), _Genes.conns(genomes)

    def __call__(self, reps: GenomeBatch) -> Tensor:
        """``[R, P]`` float64 from the genomes ``reps``."""
        if reps.device != self.device:
            reps = reps.to(self.device)
        return self._pairwise(_Genes.nodes(reps), _Genes.conns(reps), len(reps))

    def rows(self, index: Tensor, columns: Tensor | None = None) -> Tensor:
        """``[len(index), P]`` float64 from the population's own rows ``index`` (to the rows ``columns`` only,
        ``[len(index), len(columns)]``, when given)."""
        node, conn = self.node, self.conn
        if columns is not None:
            node, conn = node.rows(columns), conn.rows(columns)
        return self._pairwise(self.node.rows(index), self.conn.rows(index), int(index.numel()), node, conn)

    def _pairwise(self, rep_node: _Genes, rep_conn: _Genes, R: int, node: _Genes | None = None,
                  conn: _Genes | None = None) -> Tensor:
        node = self.node if node is None else node
        conn = self.conn if conn is None else conn
        size = int(node.count.shape[0])
        out = torch.zeros(R, size, dtype=torch.float64, device=self.device)
        if R == 0 or size == 0:
            return out
        parts = [(_Dense(rep_node, node), node, rep_node.count), (_Dense(rep_conn, conn), conn, rep_conn.count)]
        step = max(1, CHUNK_ELEMENTS // max(1, size * self.width))
        for lo in range(0, R, step):
            rows = slice(lo, min(R, lo + step))
            total = None
            for dense, genes, count in parts:
                matched, floats, codes = dense.take(rows)  # [r, P, W], [r, P, W, F], [r, P, W, K]
                diff = (floats - genes.floats).abs()
                term = diff[..., 0]
                for f in range(1, diff.shape[-1]):
                    term = term + diff[..., f]
                unequal = codes != genes.codes
                for k in range(unequal.shape[-1]):
                    term = term + unequal[..., k]
                part = _component(term * self.cw, matched, count[rows], genes.count, self.cd)
                total = part if total is None else total + part
            out[rows] = total
        return out


class _Dense:
    """The representatives' genes laid out by key: ``u [P, W]`` is the index of each genome gene's key in
    the sorted union of the representatives' live keys (``U`` = in no representative); ``present``,
    ``floats``, ``codes`` are ``[R, U + 1, ...]`` tables (column ``U`` and absent keys: not present)."""

    def __init__(self, reps: _Genes, genomes: _Genes):
        union = torch.unique(reps.keys[reps.live])  # sorted
        U = int(union.numel())
        self.u = _locate(union, genomes.keys, genomes.live)
        at = _locate(union, reps.keys, reps.live)  # [R, W]; dead slots go to column U and write nothing real
        R = reps.keys.shape[0]
        self.present = torch.zeros((R, U + 1), dtype=torch.bool, device=union.device).scatter_(1, at, reps.live)
        self.present[:, U] = False
        self.floats = _scatter(reps.floats, at, U)
        self.codes = _scatter(reps.codes, at, U)

    def take(self, rows: slice) -> tuple[Tensor, Tensor, Tensor]:
        u = self.u
        return self.present[rows][:, u], self.floats[rows][:, u], self.codes[rows][:, u]


def _locate(union: Tensor, keys: Tensor, live: Tensor) -> Tensor:
    """Index of each live key in the sorted ``union`` (``len(union)`` where it is absent or not live)."""
    U = int(union.numel())
    if U == 0:
        return torch.zeros_like(keys)
    pos = torch.searchsorted(union, keys).clamp_(max=U - 1)
    return torch.where(live & (union[pos] == keys), pos, U)


def _scatter(values: Tensor, at: Tensor, U: int) -> Tensor:
    """``values [R, W, K]`` laid out as ``[R, U + 1, K]`` by key index ``at [R, W]`` (column ``U``: zeros)."""
    out = values.new_zeros((values.shape[0], U + 1, values.shape[-1]))
    out.scatter_(1, at[..., None].expand_as(values), values)  # live keys are unique per row
    out[:, U] = 0
    return out


def _component(term: Tensor, matched: Tensor, n_rep: Tensor, n_gen: Tensor, cd: float) -> Tensor:
    """``(sum of matched terms + cd * disjoint) / max(n1, n2)``, 0 where both genomes have no genes."""
    total = torch.where(matched, term, 0.0).sum(dim=2)
    n_match = matched.sum(dim=2)
    disjoint = n_rep[:, None] + n_gen[None, :] - 2 * n_match
    most = torch.maximum(n_rep[:, None], n_gen[None, :])
    value = (total + cd * disjoint.to(torch.float64)) / most.clamp(min=1).to(torch.float64)
    return torch.where(most > 0, value, 0.0)
