"""Sparse representative-by-gene pairing for the genomic distance (issue 22, M6): only the matched pairs.

Why: speciation of HyperNEAT's visual CPPNs compares 20-30 representatives with 15,000 population genes,
and the representatives share few keys (S12: every initial hidden node id is distinct), so the dense
``[genes, representatives]`` layout of ``distance._Dense.take`` computes mostly zeros (a third of the pairs
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


def pairs(dense: Any) -> Pairs | None:
    """The matched pairs of a ``distance._Dense`` (its ``u``, ``at``, ``inverse``, ``pos``, ``reps``, ``U``,
    ``R``), or None where they are too many for the sparse path to pay (or off the CPU, or its tables are
    indexed by dense key cells: populations with few node ids and many genes, as P-NEAT's)."""
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
