"""Crossover of NEAT genomes, batched: neat-python 2.0's ``DefaultGenome.configure_crossover`` (S6).

Why a gather of the fitter parent plus an aligned overwrite: the child's genes are exactly the fitter
parent's (genes only in the other parent are dropped, and for feed-forward genomes neat's cycle check in
this function never fires, S6), so every child row starts as a copy of its fitter parent's row and keeps
its layout (sorted, compact, same widths). Only the genes that the other parent shares get new values:
they are found with one row-wise ``searchsorted`` of the child's sorted keys in the other parent's
(docs/neat_engine.md, section 2). Connection genes match on the same key *and* the same innovation
number, which is neat's match by innovation (S14); node genes match on the id.

Per matched gene neat draws one ``random()`` per attribute, in gene attribute order, and takes the fitter
parent's value iff it is ``> 0.5``; then, for a connection gene disabled in either parent, one more
``random() < 0.75`` disables the child's. The draws here are 1-D (or ``[M, A]``) over exactly those genes,
child after child, slot after slot, from stream ``crossover``: a matched connection draws ``[M, 2]``
(``weight, enabled``), the disable rule ``[D]``, a matched node ``[M, 5]`` (``bias, response,
activation, aggregation, time_constant``).
"""
from __future__ import annotations

import dataclasses

import torch

from evohyper.families.neat.attributes import CONN_ATTRIBUTES, NODE_ATTRIBUTES
from evohyper.families.neat.config import NEATConfig
from evohyper.families.neat.genome import GenomeBatch, KeyCells
from evohyper.families.neat.streams import Streams

Tensor = torch.Tensor

OP = "crossover"
#: neat's literals: a matched attribute is the fitter parent's iff ``random() > TAKE_FITTER``; a gene disabled
#: in either parent is disabled in the child iff ``random() < DISABLE``
TAKE_FITTER = 0.5
DISABLE = 0.75
#: children x width from which the alignment looks keys up in a dense table of cells (``_table``)
TABLE_MIN_GENES = 1 << 16
#: ... if its tables hold at most this many cells per child gene (filling them then costs less than the lookups)
TABLE_RATIO = 1


def fitter_parents(p1: Tensor, p2: Tensor, fitness: Tensor) -> tuple[Tensor, Tensor]:
    """``(fitter, other)``: ``p1`` is the fitter iff ``fitness[p1] > fitness[p2]`` (ties: ``p2``, as neat)."""
    f = fitness.to(torch.float64)
    first = f[p1] > f[p2]
    return torch.where(first, p1, p2), torch.where(first, p2, p1)


def crossover(parents: GenomeBatch, p1: Tensor, p2: Tensor, fitness: Tensor, cfg: NEATConfig | None,
              streams: Streams) -> GenomeBatch:
    """``K`` children of the parent rows ``p1[k]``, ``p2[k]`` (``fitness [P]`` of ``parents``), as neat's
    ``configure_crossover(genome1=parents[p1], genome2=parents[p2])``. Children get gid 0 (the caller
    numbers them). ``cfg`` is not read (neat's crossover depends on no config item; kept for symmetry)."""
    device = parents.device
    p1 = p1.to(device=device, dtype=torch.int64)
    p2 = p2.to(device=device, dtype=torch.int64)
    fitter, other = fitter_parents(p1, p2, fitness.to(device))
    child = take_rows(parents, fitter)  # the child's genes are the fitter parent's; only matched values change
    child.gid = torch.zeros(len(fitter), dtype=torch.int64, device=device)
    cross_into(child, torch.arange(len(fitter), device=device), parents, fitter, other, streams)
    return child


def cross_into(out: GenomeBatch, rows: Tensor, parents: GenomeBatch, fitter: Tensor, other: Tensor,
               streams: Streams, num_inputs: int | None = None) -> None:
    """Crossover in place: row ``rows[k]`` of ``out`` holds a copy of ``parents`` row ``fitter[k]`` (same widths)
    and becomes the child of ``fitter[k]`` and ``other[k]``: only its genes matched in ``other[k]`` are written.
    ``num_inputs`` (the config's; else read from the keys) shapes the dense key cells of large populations, so
    that those speciation computed for these parents are reused."""
    dtype = parents.dtype
    # the fitter parent's values are read from ``out`` at ``dst`` (the copy holds them): no index of the genes
    # in the parents besides their matches'
    # connection genes: same key and same innovation
    if out.conn_width and parents.conn_width:
        flat, mate = _matches(parents.conn_key, parents.n_conns, fitter, other, parents, "conn", num_inputs)
        dst = _dst(flat, rows, parents.conn_width)
        same = parents.innovation.view(-1).index_select(0, mate) == out.innovation.view(-1).index_select(0, dst)
        if same.numel() and not bool(same.view(torch.uint8).min()):  # (all() is a slow reduction on CPU)
            keep = same.nonzero().squeeze(1)
            flat, dst, mate = flat.index_select(0, keep), dst.index_select(0, keep), mate.index_select(0, keep)
        take = streams.uniform(OP, flat.numel(), len(CONN_ATTRIBUTES), dtype=dtype) > TAKE_FITTER
        out.weight.view(-1).scatter_(0, dst, _pick(out.weight, parents.weight, dst, mate, take[:, 0]))  # (distinct)
        en_fit = out.enabled.view(-1).index_select(0, dst)
        en_mate = parents.enabled.view(-1).index_select(0, mate)
        enabled = (take[:, 1] & en_fit) | (~take[:, 1] & en_mate)  # (a bool where is 20x slower on CPU)
        disabled = (~(en_fit & en_mate)).nonzero().squeeze(1)  # disabled in either parent: 0.75 disables
        enabled[disabled[streams.uniform(OP, disabled.numel(), dtype=dtype) < DISABLE]] = False
        out.enabled.view(-1).scatter_(0, dst, enabled)
    # node genes: same id
    if out.node_width and parents.node_width:
        flat, mate = _matches(parents.node_id, parents.n_nodes, fitter, other, parents, "node", num_inputs)
        take = streams.uniform(OP, flat.numel(), len(NODE_ATTRIBUTES), dtype=dtype) > TAKE_FITTER
        dst = _dst(flat, rows, parents.node_width)
        for col, name in enumerate(NODE_ATTRIBUTES):
            mine = getattr(out, name)
            mine.view(-1).scatter_(0, dst, _pick(mine, getattr(parents, name), dst, mate, take[:, col]))


def take_rows(batch: GenomeBatch, rows: Tensor) -> GenomeBatch:
    """``batch[rows]`` through ``index_select`` (on CPU ~10x faster than advanced indexing)."""
    return dataclasses.replace(batch, **{f.name: getattr(batch, f.name).index_select(0, rows)
                                         for f in dataclasses.fields(batch)})


def _pick(mine: Tensor, theirs: Tensor, dst: Tensor, mate: Tensor, take_fitter: Tensor) -> Tensor:
    return torch.where(take_fitter, mine.view(-1).index_select(0, dst), theirs.view(-1).index_select(0, mate))


def _dst(flat: Tensor, rows: Tensor, width: int) -> Tensor:
    """Flat indices in the output (same width) of the child genes ``flat`` (``k * width + slot``)."""
    return (rows[:, None] * width + torch.arange(width, device=rows.device)).view(-1).index_select(0, flat)


def _matches(keys: Tensor, counts: Tensor, fitter: Tensor, other: Tensor, parents: GenomeBatch,
             kind: str, num_inputs: int | None = None) -> tuple[Tensor, Tensor]:
    """The child (= fitter) genes whose key is in the other parent's row, in row-major order: ``flat`` (child
    gene ``k * W + slot``) and ``mate`` (flat index into the parents' ``[P, W]`` fields of its match). A
    row-wise ``searchsorted``; for large populations with few node ids a lookup in one
    dense table of ``(in, out)`` cells per distinct other parent (P-NEAT: 2.2 million child genes)."""
    W = keys.shape[1]
    device = keys.device
    slots = torch.arange(W, device=device)
    table = _table(keys, other, parents, kind, num_inputs)
    if table is None:
        child = keys.index_select(0, fitter)
        mine = keys.index_select(0, other)
        j = torch.searchsorted(mine, child).clamp_(max=W - 1)
        hit = (slots < counts.index_select(0, fitter)[:, None]) & (mine.gather(1, j) == child)
        flat = hit.view(-1).nonzero().squeeze(1)
        mate = (other[:, None] * W + j).view(-1).index_select(0, flat)
    else:
        lut, inverse, cells = table
        at = (inverse[:, None] * lut.shape[1] + cells.index_select(0, fitter)).view(-1)
        found = lut.view(-1).index_select(0, at)  # flat index of the match in the parents, or -1
        flat = (found >= 0).nonzero().squeeze(1)  # padding and absent keys read -1
        mate = found.index_select(0, flat)
    return flat, mate


def _table(keys: Tensor, other: Tensor, parents: GenomeBatch, kind: str, num_inputs: int | None = None):
    """``(lut [U, T + 1] int64, inverse [K], cells [P, W])``: for each distinct other parent ``u`` a dense table
    of cells holding the flat index (``row * W + slot``) of its gene with that key, or -1; or None where a binary
    search is cheaper (small populations, or node ids too many for a dense table)."""
    K, W = other.shape[0], keys.shape[1]
    if K * W < TABLE_MIN_GENES:
        return None
    live = torch.arange(parents.node_width, device=keys.device) < parents.n_nodes[:, None]
    ids = int(torch.where(live, parents.node_id, -1).max()) + 1 if parents.node_width else 0
    space = KeyCells(_num_inputs(keys, kind) if num_inputs is None else num_inputs, ids)
    size = space.size[kind]
    if size + 1 > TABLE_RATIO * K * W:  # one table alone is too large
        return None
    uniq, inverse = torch.unique(other, return_inverse=True)
    if uniq.numel() * (size + 1) > TABLE_RATIO * K * W:
        return None
    cells = space.own_cells(kind, keys)  # padding -> the cell ``size`` (reset to -1 below)
    lut = torch.full((uniq.numel(), size + 1), -1, dtype=torch.int64, device=keys.device)
    flat = uniq[:, None] * W + torch.arange(W, device=keys.device)
    lut.scatter_(1, cells.index_select(0, uniq), flat)
    lut[:, size] = -1
    return lut, inverse, cells


def _num_inputs(keys: Tensor, kind: str) -> int:
    """The most negative ``in`` of the connection keys (inputs are -1..-I), for the dense cells."""
    if kind == "node" or keys.numel() == 0:
        return 0
    return max(0, -int((keys[:, 0] >> 32).min()))
