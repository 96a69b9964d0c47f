"""ES-HyperNEAT's quadtree information extraction (Risi & Stanley 2012), batched over genomes and sources.

Why batched this way: the reference algorithm (and PUREPLES) builds one quadtree per (CPPN, source node)
and calls the CPPN once per point, so a generation costs millions of Python calls. Here the quadtree of
*every* genome and *every* source node is held as dense tensors, one grid per level
(``[G, S, n, n]``, ``n = 2^(L-1)`` cells at level ``L``): the CPPN is queried at every cell of every level
(plus the ring of neighbours band pruning needs) in one batched call, and the tree's shape is a set of
boolean masks computed level by level:

* **Division and initialisation.** The root (level 1) is divided. A divided cell's four children exist;
  a child is divided in turn when its parent is above ``initial_depth`` or, above ``max_depth``, when the
  variance of the parent's four children exceeds ``division_threshold`` (2x2 pooling of the children).
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


def _up(t: torch.Tensor, times: int = 1) -> torch.Tensor:
    """Each cell of the last two axes repeated into its ``2^times x 2^times`` descendants."""
    k = 2 ** times
    return t.repeat_interleave(k, dim=-2).repeat_interleave(k, dim=-1) if times else t


def _pool(t: torch.Tensor, times: int = 1) -> torch.Tensor:
    """Sum over ``2^times x 2^times`` blocks of the last two axes (the inverse of ``_up``'s layout)."""
    if not times:
        return t
    k, n = 2 ** times, t.shape[-1] // 2 ** times
    return t.reshape(*t.shape[:-2], n, k, n, k).sum(dim=(-3, -1))


def _variance4(children: torch.Tensor) -> torch.Tensor:
    """Population variance of each 2x2 block (a parent's four children), two-pass like ``numpy.var``."""
    n = children.shape[-1] // 2
    blocks = children.reshape(*children.shape[:-2], n, 2, n, 2)
    mean = blocks.mean(dim=(-3, -1), keepdim=True)
    return (blocks - mean).square().mean(dim=(-3, -1))


def _subtree_variance(values: dict[int, torch.Tensor], leaf: dict[int, torch.Tensor],
                      divided: dict[int, torch.Tensor], deepest: int) -> dict[int, torch.Tensor]:
    """Variance over the leaves of each cell's subtree (0 for a leaf), two-pass: the mean of every cell's
    leaves first (bottom-up sums), then the squared deviations of the leaves at each deeper level."""
    count, total = {}, {}
    for level in range(deepest, 1, -1):
        c, s = leaf[level].to(values[level].dtype), torch.where(leaf[level], values[level], 0.0)
        if level < deepest:
            below = divided[level]
            c = c + torch.where(below, _pool(count[level + 1]), 0.0)
            s = s + torch.where(below, _pool(total[level + 1]), 0.0)
        count[level], total[level] = c, s
    out = {}
    for level in range(2, deepest + 1):
        mean = total[level] / count[level].clamp(min=1.0)
        dev = torch.zeros_like(mean)
        for deeper in range(level + 1, deepest + 1):  # a divided cell's leaves all lie below it
            d = values[deeper] - _up(mean, deeper - level)
            dev += _pool(torch.where(leaf[deeper], d.square(), 0.0), deeper - level)
        out[level] = torch.where(divided[level], dev / count[level].clamp(min=1.0), 0.0)
    return out


def explore(values: CPPNValues, sources: torch.Tensor, outgoing: bool, grid: QuadGrid,
            opts: QuadtreeOptions) -> torch.Tensor:
    """Connections discovered from (``outgoing``) or into each source, for every genome: weights
    ``[G, S, C]`` over the candidate positions (0 = no connection).

    One CPPN call covers every level of every source's quadtree (dense; cells the tree does not reach
    are computed and masked out)."""
    S, device = sources.shape[0], sources.device
    per_level = [grid.ring_points(level).to(device=device, dtype=sources.dtype) for level in grid.levels]
    cells = torch.cat(per_level)                                          # [R, 2]
    R = cells.shape[0]
    src = sources[:, None, :].expand(S, R, 2).reshape(-1, 2)
    cell = cells[None, :, :].expand(S, R, 2).reshape(-1, 2)
    raw = values(src, cell) if outgoing else values(cell, src)            # [G, S * R]
    G = raw.shape[0]
    raw = raw.view(G, S, R)

    ring, start = {}, 0
    for level in grid.levels:
        m = grid.cells(level) + 2
        ring[level] = raw[:, :, start:start + m * m].reshape(G, S, m, m)
        start += m * m
    inner = {level: ring[level][..., 1:-1, 1:-1] for level in grid.levels}
    deepest = grid.levels[-1]

    # division and initialisation: which cells exist and which are divided (have children)
    divided_parent = torch.ones(G, S, 1, 1, dtype=torch.bool, device=device)  # the root
    exist, divided = {}, {}
    for parent_level in range(1, deepest):
        level = parent_level + 1
        exist[level] = _up(divided_parent)
        split = torch.full_like(divided_parent, parent_level < opts.initial_depth)
        if parent_level < opts.max_depth:
            split |= _variance4(inner[level]) > opts.division_threshold
        # the parent's condition decides whether its children are divided in turn
        divided[level] = _up(divided_parent & split) if level < deepest else torch.zeros_like(exist[level])
        divided_parent = divided[level]
    leaf = {level: exist[level] & ~divided[level] for level in grid.levels}
    variance = _subtree_variance(inner, leaf, divided, deepest)

    # pruning and extraction: descend while the subtree's variance is high, else test the band
    out = torch.zeros(G, S, grid.num_candidates, dtype=raw.dtype, device=device)
    visit = exist[2]
    for level in grid.levels:
        descend = visit & (variance[level] > opts.variance_threshold)
        r = ring[level]
        w = inner[level]
        d_left, d_right = (w - r[..., 1:-1, :-2]).abs(), (w - r[..., 1:-1, 2:]).abs()
        d_up, d_down = (w - r[..., :-2, 1:-1]).abs(), (w - r[..., 2:, 1:-1]).abs()
        band = torch.maximum(torch.minimum(d_up, d_down), torch.minimum(d_left, d_right))
        keep = visit & ~descend & (band > opts.band_threshold) & (w.abs() > opts.weight_threshold)
        weight = express(torch.where(keep, w, 0.0), opts.weight_threshold, opts.max_weight)
        n = grid.cells(level)
        out[:, :, grid.offsets[level]:grid.offsets[level] + n * n] = weight.reshape(G, S, n * n)
        if level < deepest:
            visit = _up(descend)
    return out
