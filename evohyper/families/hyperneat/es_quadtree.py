"""ES-HyperNEAT's quadtree information extraction (Risi & Stanley 2012), batched over genomes and sources.

Why batched this way: the reference algorithm (and PUREPLES) builds one quadtree per (CPPN, source node)
and calls the CPPN once per point, so a generation costs millions of Python calls. Here the quadtree of
*every* genome and *every* source node is held as dense tensors, one grid per level
(``[G, S, n, n]``, ``n = 2^(L-1)`` cells at level ``L``): the CPPN is queried at every cell of every level
(plus the ring of neighbours band pruning needs) in one batched call, and the tree's shape is a set of
boolean masks computed level by level:

* **Division and initialisation.** The root (level 1) is divided. A divided cell's four children exist;
  they are divided in turn when their parent's level is below ``initial_depth``, or below ``max_depth``
  with the variance of the four children above ``division_threshold`` (2x2 pooling of the children).
* **Pruning and extraction.** Depth-first from the root's children: a cell whose variance (over the leaves
  of its subtree, computed by pooling) exceeds ``variance_threshold`` is descended into; otherwise it is a
  candidate, expressed as a connection when its band value ``max(min(d_up, d_down), min(d_left, d_right))``
  (differences to the four neighbouring cells of its own level) exceeds ``band_threshold`` and its CPPN
  output clears the weight threshold. All levels are tensors: "descend" is one more mask.

The CPPN values used throughout are the weight output clamped to [-1, 1] (thresholds do not depend on
``max_weight``); a connection's weight is then HyperNEAT's expression of that value.

Every candidate position (a cell centre at some level) is a potential hidden node; the candidates of all
levels form one fixed list (``QuadGrid.positions``), so a connection from a source is a ``[C]`` row and a
population's exploration result is ``[G, S, C]``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from evohyper.families.hyperneat.decoder import express

#: ``values(sources [Q, 2], targets [Q, 2]) -> [G, Q]``: the clamped CPPN weight output of every genome.
CPPNValues = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class QuadtreeOptions:
    initial_depth: int
    max_depth: int
    variance_threshold: float
    band_threshold: float
    division_threshold: float
    weight_threshold: float
    max_weight: float


class QuadGrid:
    """Geometry of the quadtree over [-1, 1]^2: cell centres per level and the list of all candidates.

    Level ``L`` (root = 1) has ``2^(L-1)`` cells per axis of half-width ``2^-(L-1)``; levels ``2..max_depth+1``
    can hold connections. Centres of different levels never coincide (their x sets are disjoint)."""

    def __init__(self, max_depth: int):
        self.max_depth = int(max_depth)
        self.levels = list(range(2, self.max_depth + 2))
        self.offsets: dict[int, int] = {}
        positions, start = [], 0
        for level in self.levels:
            self.offsets[level] = start
            xs = self.axis(level)
            positions.append(torch.stack(torch.meshgrid(xs, xs, indexing="xy"), dim=-1).reshape(-1, 2))
            start += self.cells(level) ** 2
        self.positions = torch.cat(positions)  # [C, 2] (x, y), level-major, row-major within a level
        self.num_candidates = start

    @staticmethod
    def cells(level: int) -> int:
        return 2 ** (level - 1)

    @staticmethod
    def axis(level: int, ring: bool = False) -> torch.Tensor:
        """Cell-centre coordinates of one axis (float64, exact dyadic numbers); ``ring`` adds the neighbour
        centre outside each border (band pruning compares a border cell with it)."""
        n, h = 2 ** (level - 1), 2.0 ** -(level - 1)
        idx = torch.arange(-1 if ring else 0, n + 1 if ring else n, dtype=torch.float64)
        return -1.0 + h * (2.0 * idx + 1.0)

    def ring_points(self, level: int) -> torch.Tensor:
        """Centres of the level's grid with its neighbour ring, ``[(n+2)^2, 2]`` row-major (y rows, x columns)."""
        xs = self.axis(level, ring=True)
        return torch.stack(torch.meshgrid(xs, xs, indexing="xy"), dim=-1).reshape(-1, 2)

    @property
    def points_per_source(self) -> int:
        return sum((self.cells(level) + 2) ** 2 for level in self.levels)


_REPEAT: dict[tuple[int, str], torch.Tensor] = {}


def _up(t: torch.Tensor) -> torch.Tensor:
    """Each cell of the last two axes repeated into its 2x2 children (index_select: the fastest on CPU)."""
    n = t.shape[-1]
    key = (n, str(t.device))
    if key not in _REPEAT:
        _REPEAT[key] = torch.arange(n, device=t.device).repeat_interleave(2)
    idx = _REPEAT[key]
    return t.index_select(-1, idx).index_select(-2, idx)


def _pool(t: torch.Tensor) -> torch.Tensor:
    """Sum over the 2x2 blocks of the last two axes (a parent's four children)."""
    return (t[..., 0::2, 0::2] + t[..., 0::2, 1::2]) + (t[..., 1::2, 0::2] + t[..., 1::2, 1::2])


def _variance4(children: torch.Tensor) -> torch.Tensor:
    """Population variance of each 2x2 block (a parent's four children), two-pass like ``numpy.var``."""
    quads = [children[..., i::2, j::2] for i in (0, 1) for j in (0, 1)]
    mean = ((quads[0] + quads[1]) + (quads[2] + quads[3])) * 0.25
    dev = [(q - mean).square_() for q in quads]
    return ((dev[0] + dev[1]) + (dev[2] + dev[3])) * 0.25


def _subtree_variance(values: dict[int, torch.Tensor], leaf: dict[int, torch.Tensor],
                      divided: dict[int, torch.Tensor]) -> dict[int, torch.Tensor]:
    """Variance over the leaves of each divided cell's subtree (a leaf's is 0): count, sum and sum of
    squares of the leaves pooled bottom-up, ``E[w^2] - E[w]^2``. (One pass: it differs from a two-pass
    variance by rounding only, about 1e-16 in float64, 1e-7 in float32, against thresholds ~0.01.)"""
    out, below = {}, None
    for level in sorted(values, reverse=True):
        own = leaf[level].to(values[level].dtype)
        w = values[level] * own
        stats = [own, w, w * values[level]]                               # count, sum, sum of squares
        if below is not None:
            inner = divided[level].to(own.dtype)
            stats = [s.addcmul_(_pool(b), inner) for s, b in zip(stats, below)]
            n = stats[0].clamp(min=1.0)
            mean = stats[1] / n
            out[level] = (stats[2] / n).sub_(mean.square_()).clamp_(min=0.0).mul_(divided[level])
        below = stats
    return out


def _band(ring: torch.Tensor) -> torch.Tensor:
    """``max(min(d_up, d_down), min(d_left, d_right))`` of every inner cell of a ring grid ``[..., m, m]``;
    each neighbour difference is computed once and shared by the two cells it separates."""
    dx = (ring[..., 1:-1, 1:] - ring[..., 1:-1, :-1]).abs_()          # [..., n, n + 1]
    dy = (ring[..., 1:, 1:-1] - ring[..., :-1, 1:-1]).abs_()          # [..., n + 1, n]
    return torch.maximum(torch.minimum(dy[..., :-1, :], dy[..., 1:, :]), torch.minimum(dx[..., :-1], dx[..., 1:]))


def explore(values: CPPNValues, sources: torch.Tensor, outgoing: bool, grid: QuadGrid,
            opts: QuadtreeOptions) -> torch.Tensor:
    """Connections discovered from (``outgoing``) or into each source, for every genome: weights
    ``[G, S, C]`` over the candidate positions (0 = no connection).

    One CPPN call covers every level of every source's quadtree (dense; cells the tree does not reach
    are computed and masked out). Points are laid out level by level, so each level is one contiguous
    ``[G, S, n + 2, n + 2]`` block (its cells and their neighbour ring)."""
    S, device = sources.shape[0], sources.device
    src, cell = [], []
    for level in grid.levels:
        pts = grid.ring_points(level).to(device=device, dtype=sources.dtype)
        src.append(sources[:, None, :].expand(S, pts.shape[0], 2).reshape(-1, 2))
        cell.append(pts[None, :, :].expand(S, pts.shape[0], 2).reshape(-1, 2))
    src, cell = torch.cat(src), torch.cat(cell)
    raw = values(src, cell) if outgoing else values(cell, src)            # [G, S * R], finite
    G = raw.shape[0]
    ring, inner, start = {}, {}, 0
    for level in grid.levels:
        m = grid.cells(level) + 2
        ring[level] = raw[:, start:start + S * m * m].view(G, S, m, m)
        inner[level] = ring[level][..., 1:-1, 1:-1].contiguous()
        start += S * m * m

    # division and initialisation: which cells exist and which are divided (have children); a level no
    # tree reaches is dropped with everything below it
    exist = {2: torch.ones(G, S, 2, 2, dtype=torch.bool, device=device)}
    divided: dict[int, torch.Tensor] = {}
    parent = torch.ones(G, S, 1, 1, dtype=torch.bool, device=device)   # the root: divided
    for level in grid.levels:
        if level - 1 < opts.initial_depth:       # the parent's condition: are this level's cells divided?
            split = parent
        elif level - 1 < opts.max_depth:
            split = parent & (_variance4(inner[level]) > opts.division_threshold)
        else:
            split = torch.zeros_like(parent)
        divided[level] = _up(split) & exist[level]
        if level + 1 not in inner or not bool(divided[level].any()):
            break
        exist[level + 1] = _up(divided[level])
        parent = divided[level]
    levels = sorted(exist)
    leaf = {level: exist[level] & ~divided[level] for level in levels}
    variance = _subtree_variance({level: inner[level] for level in levels}, leaf, divided)

    # pruning and extraction: descend while the subtree's variance is high, else test the band
    out = torch.zeros(G, S, grid.num_candidates, dtype=raw.dtype, device=device)
    visit = exist[2]
    for level in levels:
        descend = visit & (variance[level] > opts.variance_threshold) if level in variance else None
        w = inner[level]
        keep = (visit if descend is None else visit & ~descend) & (w.abs() > opts.weight_threshold)
        keep &= _band(ring[level]) > opts.band_threshold
        n = grid.cells(level)
        target = out[:, :, grid.offsets[level]:grid.offsets[level] + n * n].view(G, S, n, n)
        target.copy_(express(w * keep, opts.weight_threshold, opts.max_weight))
        if descend is None or not bool(descend.any()):
            break
        visit = _up(descend)
    return out
