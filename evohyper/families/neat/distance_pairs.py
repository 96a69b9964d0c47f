"""How population genes meet representative genes in the genomic distance: dense tables by key (``Dense``)
and, since issue 22's M6, sparse pairing (``pairs``, ``sums``): only the matched pairs.

``Dense``: every population gene is located once in the representatives' sorted key union (``u``), and
``[U + 1, R]`` tables hold the representatives' values by key, so matching a gene with every representative
is one row gather (``take``), with no loop over representatives or genomes.

Why the sparse pairing: speciation of HyperNEAT's visual CPPNs compares 20-30 representatives with 15,000
population genes, and the representatives share few keys (S12: every initial hidden node id is distinct), so
the dense ``[genes, representatives]`` layout of ``Dense.take`` computes mostly zeros (a third of the pairs
match). Here the matched pairs alone are enumerated, gene-major: every population gene expands into the
representatives that hold its key (a ``repeat_interleave`` over the counts per key), each pair's term is
computed with the dense path's very operations, and the sums per (genome, representative) are one
``index_add_`` in pair order.

Bits: pairs come in gene (slot) order, and CPU's ``index_add_`` and ``cumsum`` both add one value after the
other from 0.0, so every sum adds the same terms in the same order as the dense path, which adds only zeros
besides (``x + 0.0 == x`` for every running sum here: the terms are ``>= 0`` times ``cw``, so a running sum is
never ``-0.0``); match counts are exact integers. The results are therefore identical bit for bit. Only on CPU:
elsewhere the dense sums are not sequential (atomics, tree reductions), so leaving out the zeros could change
a bit.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

Tensor = torch.Tensor

#: the matched pairs alone are used when they are at most this share of all (gene, representative) pairs
SPARSE_RATIO = 0.5
#: tables are indexed by the key cells themselves when they hold at most this many cells per population gene
FOLD_RATIO = 1


class Dense:
    """The representatives' genes laid out by key: ``u [X]`` is the index of each population gene's key in
    the sorted union of the representatives' live keys (``U`` = in no representative); ``present``,
    ``floats``, ``codes`` are ``[U + 1, R, ...]`` tables (row ``U`` and absent keys: not present), key-major so
    that one row gather gives a gene all its representatives. ``folded``: where the dense key cells of the
    population (``_Side.space``) make tables no larger than the population's genes (P-NEAT: 87,846 cells, one
    or a few representatives, 2.5 million slots), the tables are indexed by the cells themselves (``U`` = the
    space's size) and ``u`` is the genes' own cells: one pass over the genes less per call."""

    def __init__(self, reps: Any, genomes: Any):
        R, W = reps.keys.shape
        pos = reps.live.view(-1).nonzero().squeeze(1)  # the representatives' live genes
        keys = reps.keys.view(-1).index_select(0, pos)
        space = genomes.space
        self.folded = space is not None and (space.size[genomes.kind] + 1) * R <= FOLD_RATIO * genomes.size
        if space is None:
            union, inverse = torch.unique(keys, return_inverse=True)  # sorted
            self.u = _locate(union, genomes.keys)
        elif self.folded:  # the tables indexed by the cells themselves: the genes' own cells are ``u``, no lookup
            size = space.size[genomes.kind]
            cells = space.cells(genomes.kind, keys)
            inside = (cells < size).nonzero().squeeze(1)  # keys outside the space (ids no population genome has)
            pos, inverse = pos.index_select(0, inside), cells.index_select(0, inside)  # match nothing: left out
            self.u = genomes.cells  # (``U = size``: padding's cell ``size`` is the absent row)
        else:  # the keys' cells in a dense table: a lookup instead of a binary search
            size = space.size[genomes.kind]
            union, inverse = torch.unique(space.cells(genomes.kind, keys), return_inverse=True)
            lut = torch.full((size + 1,), union.numel(), dtype=torch.int64, device=keys.device)
            lut[union] = torch.arange(union.numel(), device=keys.device)
            lut[size] = union.numel()  # keys outside the table (ids no population genome has) match nothing
            self.u = lut.index_select(0, genomes.cells)
        self.U = space.size[genomes.kind] if self.folded else int(union.numel())
        self.R, self.reps, self.pos, self.inverse = R, reps, pos, inverse
        self.at = inverse * R + torch.div(pos, max(W, 1), rounding_mode="floor")  # (key, representative) cells

    def _tables(self, scale: float | None) -> None:
        cells = (self.U + 1) * self.R
        dtype = torch.bool if scale is None else torch.float64
        self.present = torch.zeros(cells, dtype=dtype, device=self.at.device).index_fill_(
            0, self.at, True if scale is None else scale)
        self.scale = scale
        if not hasattr(self, "floats"):
            self.floats = _table(self.reps.floats, self.pos, self.at, cells)
            self.codes = _table(self.reps.codes, self.pos, self.at, cells)

    def take(self, lo: int, hi: int, scale: float | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """``[X, hi - lo]`` present (bool; or float64 ``scale`` / 0.0), ``[X, F, hi - lo]`` floats, ``[X, K, hi - lo]``
        codes (representatives last: per-gene values broadcast along the last dimension, which CPU kernels
        vectorise)."""
        R = self.R
        if not hasattr(self, "present") or self.scale != scale:
            self._tables(scale)
        out = []
        for t in (self.present, self.floats, self.codes):
            t = t.view(self.U + 1, R, -1).transpose(1, 2)  # [U + 1, columns, R]
            if hi - lo < R or t.shape[1] > 1:
                t = t[:, :, lo:hi].contiguous()
            if t[0].numel() == 1:  # one value per key (one representative, one column): a 1-D gather, 2x faster
                out.append(t.reshape(-1).index_select(0, self.u).view(-1, 1, 1))
            else:
                out.append(t.index_select(0, self.u))
        return out[0][:, 0], out[1], out[2]


def _locate(union: Tensor, keys: Tensor) -> Tensor:
    """Index of each key in the sorted ``union`` (``len(union)`` where it is absent; padding keys always are)."""
    U = int(union.numel())
    if U == 0:
        return torch.zeros_like(keys)
    pos = torch.searchsorted(union, keys).clamp_(max=U - 1)
    return torch.where(union.index_select(0, pos) == keys, pos, U)


def _table(values: Tensor, pos: Tensor, at: Tensor, cells: int) -> Tensor:
    """``[cells, K]``: the live genes ``pos`` of ``values [R, W, K]`` at the table cells ``at``, zeros elsewhere."""
    flat = values.reshape(-1, values.shape[-1])
    return flat.new_zeros((cells, flat.shape[-1])).index_copy_(0, at, flat.index_select(0, pos))



@dataclass
class Pairs:
    """The matched pairs, gene-major: ``gene [M]`` (population gene), ``slot [M]`` (the representatives' gene
    in (key, representative) order), ``rep [M]``; ``rep_floats [F, genes]`` and ``rep_codes [K, genes]`` the
    representatives' values in ``slot`` order."""

    gene: Tensor
    slot: Tensor
    rep: Tensor
    rep_floats: Tensor
    rep_codes: Tensor


def pairs(dense: Dense) -> Pairs | None:
    """The matched pairs of ``dense``, or None where they are too many for the sparse path to pay (or off the
    CPU, or its tables are indexed by dense key cells: populations with few node ids and many genes, as
    P-NEAT's)."""
    u, at, R, U = dense.u, dense.at, dense.R, dense.U
    if u.device.type != "cpu" or dense.folded or at.numel() > SPARSE_RATIO * U * R:
        return None  # (the representatives share most of their keys: so do the pairs, as in P-NEAT)
    count = torch.bincount(dense.inverse, minlength=U + 1)  # representatives per key; 0 at U (absent)
    per_gene = count.index_select(0, u)
    M = int(per_gene.sum())
    if M > SPARSE_RATIO * u.numel() * R:
        return None
    gene = torch.repeat_interleave(per_gene, output_size=M)  # gene-major, ascending: each pair's gene
    # the pair's representative gene: its key's first (in (key, representative) order) + its rank within the gene
    first = torch.cumsum(count, 0) - count
    delta = first.index_select(0, u) - (torch.cumsum(per_gene, 0) - per_gene)
    slot = torch.arange(M, device=gene.device) + delta.index_select(0, gene)
    cells, order = torch.sort(at)  # the representatives' genes in (key, representative) order
    pos = dense.pos.index_select(0, order)
    floats, codes = dense.reps.floats, dense.reps.codes
    return Pairs(gene, slot, (cells % R).index_select(0, slot),
                 floats.reshape(-1, floats.shape[-1]).index_select(0, pos).T.contiguous(),
                 codes.reshape(-1, codes.shape[-1]).index_select(0, pos).T.contiguous())


def sums(p: Pairs, side: Any, R: int, cw: float) -> tuple[Tensor, Tensor]:
    """``distance._Side.reduce`` of the matched terms and ``_Side.count_matches``, ``[n, R, k]`` each, of the
    population side ``side`` (a ``distance._Side``) against ``R`` representatives."""
    gene, slot = p.gene, p.slot
    floats, codes = side.columns()  # one attribute per row: 1-D gathers (a row gather of 1-3 values is slower)
    term = None
    for f in range(floats.shape[0]):  # ((|d0| + |d1|) + |d2|) + [c0 !=] + [c1 !=], then * cw: the dense order
        diff = (p.rep_floats[f].index_select(0, slot) - floats[f].index_select(0, gene)).abs_()
        term = diff if term is None else term + diff
    for k in range(codes.shape[0]):
        term = term + (p.rep_codes[k].index_select(0, slot) != codes[k].index_select(0, gene)).to(torch.float64)
    term = term * cw
    at = side.segments(R).index_select(0, gene) + p.rep  # (genome * k + kind) * R + representative
    cells = side.n * side.k * R
    total = torch.zeros(cells, dtype=torch.float64, device=gene.device).index_add_(0, at, term)  # in index order
    matches = torch.bincount(at, minlength=cells).to(torch.float64)
    return (total.view(side.n, side.k, R).transpose(1, 2), matches.view(side.n, side.k, R).transpose(1, 2))
