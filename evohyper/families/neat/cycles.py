"""Batched ``neat.graphs.creates_cycle`` for NEAT's feed-forward add-connection (docs/neat_engine.md, 3.2).

Why a frontier expansion and not matrix powers: neat asks "is ``src`` reachable from ``dst`` over every
connection gene (disabled ones included)?", and answers it with a breadth-first expansion from ``dst``.
Batched, that is one ``gather`` + one ``scatter_reduce(amax)`` over the ``[R, C]`` connection slots per
level, so the cost is ``O(R * C * depth)``; powers of ``[R, N, N]`` adjacency matrices would cost
``O(R * N^3 log N)``. neat's function computes plain reachability (it returns True as soon as an edge out
of the visited set reaches ``src``), so the result is the same on any graph, cyclic or not.
"""
from __future__ import annotations

import torch

from evohyper.families.neat.genome import GenomeBatch, unpack_key

Tensor = torch.Tensor


def creates_cycle(batch: GenomeBatch, rows: Tensor, src: Tensor, dst: Tensor) -> Tensor:
    """``[R]`` bool: would the link ``src[r] -> dst[r]`` close a cycle in genome ``rows[r]``?

    Exactly ``neat.graphs.creates_cycle(all connection keys of the genome, (src, dst))``: True iff
    ``src == dst`` or ``src`` is reachable from ``dst`` over the live connection genes, enabled or not.
    ``dst`` is a node gene of the row (neat never links into an input); edges out of inputs can then
    never be walked (nothing links into an input), so inputs need no slots. Edges at an id that is
    neither an input nor a node gene of the row (impossible in a valid genome) are ignored.
    """
    rows = torch.as_tensor(rows, device=batch.device).to(torch.int64).reshape(-1)
    return rows_create_cycle(batch.node_id[rows], batch.n_nodes[rows], batch.conn_key[rows], batch.n_conns[rows],
                             src, dst)


def rows_create_cycle(node_id: Tensor, n_nodes: Tensor, conn_key: Tensor, n_conns: Tensor, src: Tensor,
                      dst: Tensor) -> Tensor:
    """``creates_cycle`` on gathered rows: ``node_id [R, N]``, ``conn_key [R, C]`` with their live counts."""
    r, n = node_id.shape
    device = node_id.device
    src = torch.as_tensor(src, device=device).to(torch.int64).reshape(r)
    dst = torch.as_tensor(dst, device=device).to(torch.int64).reshape(r)
    same = src == dst
    if r == 0 or n == 0 or conn_key.shape[1] == 0:
        return same
    ids = node_id.to(torch.int64)  # sorted rows, pad INT32_MAX after the live ids
    cin, cout = unpack_key(conn_key)
    s_slot, s_ok = _slot(ids, n_nodes, cin)
    d_slot, d_ok = _slot(ids, n_nodes, cout)
    edge = (torch.arange(conn_key.shape[1], device=device) < n_conns[:, None]) & s_ok & d_ok
    dump = torch.full_like(s_slot, n)  # slot n is never reached: masked edges read and write only it
    s_slot, d_slot = torch.where(edge, s_slot, dump), torch.where(edge, d_slot, dump)
    start, start_ok = _slot(ids, n_nodes, dst[:, None])
    goal, goal_ok = _slot(ids, n_nodes, src[:, None])
    reach = torch.zeros(r, n + 1, dtype=torch.uint8, device=device)
    reach.scatter_(1, torch.where(start_ok, start, n), 1)
    reach[:, n] = 0
    goal = torch.where(goal_ok, goal, n)
    while True:  # one level per pass; at most the longest path of the genome
        grown = reach.scatter_reduce(1, d_slot, reach.gather(1, s_slot), "amax")
        found = grown.gather(1, goal)[:, 0].bool()
        if bool((grown == reach).all() | found.all()):  # one host sync per level
            break
        reach = grown
    return same | found


def _slot(ids: Tensor, count: Tensor, key: Tensor) -> tuple[Tensor, Tensor]:
    """Node slots of ``key`` (``[R, W]`` int64 ids) in the sorted ``ids`` rows, and whether each was found."""
    j = torch.searchsorted(ids, key.contiguous()).clamp(max=ids.shape[1] - 1)
    return j, (ids.gather(1, j) == key) & (j < count[:, None].to(torch.int64))
