"""NEAT's structural mutations (add/delete node, add/delete connection), batched, with neat-python 2.0's
semantics (docs/neat_engine.md, S7-S12 and section 3, step 6).

Why this shape: neat mutates one genome at a time, each running up to four operators in sequence. Here
each operator runs once over every row where it fired (a loop over the four operators, never over genomes
or genes), in neat's order, so a node added can be deleted in the same pass and a connection added can be
deleted, exactly as in ``DefaultGenome.mutate``. Each operator works on the gathered sub-batch of its rows
and keeps the layout invariant (rows sorted, live genes first, padding after) at every step: a new gene is
*inserted* at its sorted place and a removed one closes its gap, both as one ``gather`` per field (no sort,
no dead slots in flight). So "the k-th connection" and "does the key exist" mean the same at every step,
and the result never depends on the padded widths (tested with widths 8 vs 4,096).

Picks: neat's ``choice(list)`` over a dict's insertion order is replaced by ``floor(u * n)`` over the
sorted row (``Streams.choice``, float64 uniforms); both are uniform, and the exact tests make neat pick
the same gene. Draw shapes depend only on how many rows an operator runs on.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import torch

from evohyper.families.neat.config import NEATConfig
from evohyper.families.neat.counters import Counters
from evohyper.families.neat.cycles import creates_cycle, row_creates_cycle
from evohyper.families.neat.genome import CONN_FIELDS, NODE_FIELDS, PAD, GenomeBatch, pack_key, unpack_key
from evohyper.families.neat.streams import Streams

Tensor = torch.Tensor
Initialiser = Callable[[int], dict[str, Tensor]]

__all__ = ["creates_cycle", "mutate_structure"]  # creates_cycle lives in cycles.py, re-exported here

_FIELDS = tuple(f.name for f in dataclasses.fields(GenomeBatch))


@dataclass
class _Run:
    """What every operator of one ``mutate_structure`` call needs."""

    cfg: NEATConfig
    streams: Streams
    counters: Counters
    new_nodes: Initialiser
    new_connections: Initialiser


def mutate_structure(batch: GenomeBatch, rows: Tensor, cfg: NEATConfig, streams: Streams, counters: Counters,
                     new_nodes: Initialiser, new_connections: Initialiser) -> GenomeBatch:
    """The structural part of ``DefaultGenome.mutate`` (S7) applied to ``batch[rows]``; other rows untouched.

    ``rows`` (distinct) are mutated as if neat mutated them in this order (new node ids follow it).
    ``new_nodes(n)`` returns ``bias, response, time_constant, activation, aggregation`` (``[n]`` each, codes
    for the strings) for ``n`` new node genes, ``new_connections(n)`` returns ``weight, enabled``; both are
    only called with ``n > 0``. The input batch is not modified; the result is compact (``check()`` holds),
    its widths grown with ``ensure_capacity`` where a row needs more room, never capped.
    """
    rows = torch.as_tensor(rows, device=batch.device).to(torch.int64).reshape(-1)
    fire = _firing(cfg, streams, rows.numel(), batch.device)
    if rows.numel() == 0:
        return batch
    # a pass adds at most one node and three connections to a row (add node's two + add connection's
    # one, or add connection twice where add node fell back to it): one growth, before anything is appended
    most = torch.stack([batch.n_nodes[rows].max(), batch.n_conns[rows].max()]).tolist()
    wide = batch.ensure_capacity(most[0] + 1, most[1] + 3)
    g = wide[rows]
    run = _Run(cfg, streams, counters, new_nodes, new_connections)
    _add_node(g, fire[:, 0], run)
    _delete_node(g, fire[:, 1], run)
    _add_connection(g, fire[:, 2], run)
    _delete_connection(g, fire[:, 3], run)
    return GenomeBatch(**{f: getattr(wide, f).index_copy(0, rows, getattr(g, f)) for f in _FIELDS})


def _firing(cfg: NEATConfig, streams: Streams, k: int, device: torch.device) -> Tensor:
    """``[k, 4]`` bool: which of add node, delete node, add connection, delete connection fire (S7)."""
    a, b, c, d = cfg.node_add_prob, cfg.node_delete_prob, cfg.conn_add_prob, cfg.conn_delete_prob
    if cfg.single_structural_mutation:
        u = streams.uniform("structure", k)
        div = max(1, (a + b + c + d))  # neat's expressions, evaluated in the same order (Python floats)
        edges = torch.tensor([a / div, (a + b) / div, (a + b + c) / div, (a + b + c + d) / div],
                             dtype=torch.float64, device=device)
        below = u[:, None] < edges  # monotone in the column: the first True is the operator that fires
        return below & ~torch.nn.functional.pad(below[:, :-1], (1, 0))
    u = streams.uniform("structure", k, 4)
    return u < torch.tensor([a, b, c, d], dtype=torch.float64, device=device)


# ---------------------------------------------------------------------------------------------- operators
def _add_node(g: GenomeBatch, fire: Tensor, run: _Run) -> None:
    """S8: split a uniformly chosen connection (disabled ones included) of each firing row."""
    cfg = run.cfg
    has = g.n_conns > 0
    if cfg.structural_mutation_surer:  # neat calls mutate_add_connection from inside mutate_add_node
        _add_connection(g, fire & ~has, run)
    idx = (fire & has).nonzero().squeeze(1)
    r = idx.numel()
    u = run.streams.uniform("add_node", r)
    if r == 0:
        return
    part = g[idx]
    k = Streams.choice(u, part.n_conns)[:, None]
    key, w = part.conn_key.gather(1, k)[:, 0], part.weight.gather(1, k)
    part.enabled.scatter_(1, k, False)
    new_id = run.counters.node_ids(r, _first_free(part, cfg)).to(g.device)
    nodes = _values(run.new_nodes(r), r, NODE_FIELDS[1:], part)
    nodes["bias"] = torch.zeros_like(nodes["bias"])  # neat: "start with zero bias"
    nodes["node_id"] = new_id.to(torch.int32)[:, None]
    _insert(part, NODE_FIELDS, "n_nodes", nodes, torch.ones(r, 1, dtype=torch.bool, device=g.device))
    i, o = unpack_key(key)
    conns = _values(run.new_connections(2 * r), 2 * r, CONN_FIELDS[2:], part)  # initialised, then overwritten
    conns = {n: v.reshape(r, 2) for n, v in conns.items()}
    conns["weight"] = torch.cat([torch.ones_like(w), w], dim=1)  # (i, new) weight 1, (new, o) the split's
    conns["enabled"] = torch.ones(r, 2, dtype=torch.bool, device=g.device)
    conns["conn_key"] = torch.stack([pack_key(i, new_id), pack_key(new_id, o)], dim=1)
    conns["innovation"] = run.counters.innovations(2 * r).to(g.device).reshape(r, 2)
    order = conns["conn_key"].argsort(dim=1)  # (i, new) < (new, o) unless i > new: keep the pair sorted
    conns = {n: v.gather(1, order) for n, v in conns.items()}
    _insert(part, CONN_FIELDS, "n_conns", conns, torch.ones(r, 2, dtype=torch.bool, device=g.device))
    _put(g, idx, part)


def _first_free(part: GenomeBatch, cfg: NEATConfig) -> int:
    """neat's lazy start of the node counter (``get_new_node_key``): the largest node id of the first genome
    that asks for a new node, plus one (``num_outputs`` for a genome without nodes). Read only while the
    counter is unstarted (one host sync in a run); the engine normally starts it at the initial population."""
    return int(part.node_id[0, part.n_nodes[0] - 1]) + 1 if int(part.n_nodes[0]) else cfg.num_outputs


def _delete_node(g: GenomeBatch, fire: Tensor, run: _Run) -> None:
    """S9: delete a uniformly chosen hidden node and every connection at either end of it."""
    o = run.cfg.num_outputs
    hidden = g.n_nodes.to(torch.int64) - o
    idx = (fire & (hidden > 0)).nonzero().squeeze(1)
    r = idx.numel()
    u = run.streams.uniform("delete_node", r)
    if r == 0:
        return
    part = g[idx]
    slot = o + Streams.choice(u, hidden[idx])[:, None]  # outputs are slots 0..O-1, hidden nodes follow
    gone = part.node_id.gather(1, slot).to(torch.int64)
    cin, cout = unpack_key(part.conn_key)
    node_keep = part.node_live & (torch.arange(part.node_width, device=g.device) != slot)
    conn_keep = part.conn_live & (cin != gone) & (cout != gone)
    _keep(part, NODE_FIELDS, "n_nodes", node_keep)
    _keep(part, CONN_FIELDS, "n_conns", conn_keep)
    _put(g, idx, part)


def _add_connection(g: GenomeBatch, fire: Tensor, run: _Run) -> None:
    """S10: ``out`` uniform over all nodes, ``in`` uniform over inputs and hidden nodes (never an output);
    an existing key is enabled iff surer; feed-forward refuses a cycle; otherwise a new gene."""
    cfg = run.cfg
    idx = fire.nonzero().squeeze(1)
    r = idx.numel()
    u = run.streams.uniform("add_connection", r, 2)
    if r == 0:
        return
    part = g[idx]
    ids = part.node_id.to(torch.int64)
    n_in, o = cfg.num_inputs, cfg.num_outputs
    dst = ids.gather(1, Streams.choice(u[:, 0], part.n_nodes)[:, None])[:, 0]
    k = Streams.choice(u[:, 1], n_in + part.n_nodes.to(torch.int64) - o)  # inputs -1..-n_in, then hidden
    hid = ids.gather(1, (o + k - n_in).clamp(0, part.node_width - 1)[:, None])[:, 0]
    src = torch.where(k < n_in, -(k + 1), hid)
    key = pack_key(src, dst)
    j = torch.searchsorted(part.conn_key, key[:, None]).clamp(max=part.conn_width - 1)
    exists = (part.conn_key.gather(1, j) == key[:, None])[:, 0]  # padding keys are never real keys
    if cfg.structural_mutation_surer:
        part.enabled.scatter_(1, j, part.enabled.gather(1, j) | exists[:, None])
    new = ~exists
    if cfg.feed_forward:
        new &= ~row_creates_cycle(part, src, dst)
    chosen = new.nonzero().squeeze(1)
    a = chosen.numel()
    if a:
        conns = {n: torch.full((r, 1), PAD[n], dtype=getattr(part, n).dtype, device=g.device) for n in CONN_FIELDS}
        for n, v in _values(run.new_connections(a), a, CONN_FIELDS[2:], part).items():
            conns[n][chosen] = v
        conns["conn_key"] = key[:, None]
        conns["innovation"][chosen, 0] = run.counters.shared_innovations(key[chosen]).to(g.device)
        _insert(part, CONN_FIELDS, "n_conns", conns, new[:, None])
    _put(g, idx, part)


def _delete_connection(g: GenomeBatch, fire: Tensor, run: _Run) -> None:
    """S11: delete a uniformly chosen connection (disabled ones included)."""
    idx = (fire & (g.n_conns > 0)).nonzero().squeeze(1)
    r = idx.numel()
    u = run.streams.uniform("delete_connection", r)
    if r == 0:
        return
    part = g[idx]
    k = Streams.choice(u, part.n_conns)[:, None]
    _keep(part, CONN_FIELDS, "n_conns", part.conn_live & (torch.arange(part.conn_width, device=g.device) != k))
    _put(g, idx, part)


# ---------------------------------------------------------------------------------------------- layout
def _values(attrs: dict[str, Tensor], n: int, names: tuple[str, ...], like: GenomeBatch) -> dict[str, Tensor]:
    """An initialiser's ``[n]`` attributes as ``[n, 1]`` columns in the batch's dtypes."""
    missing = [name for name in names if name not in attrs]
    if missing:
        raise ValueError(f"attribute initialiser returned no {missing}; expected: {list(names)}")
    out = {}
    for name in names:
        v = torch.as_tensor(attrs[name], device=like.device).to(getattr(like, name).dtype).reshape(n)
        out[name] = v[:, None]
    return out


def _insert(part: GenomeBatch, names: tuple[str, ...], count: str, new: dict[str, Tensor], valid: Tensor) -> None:
    """Insert up to ``m`` genes per row at their sorted places, in place on ``part``.

    ``new[name]`` is ``[R, m]``; the valid ones (``valid [R, m]``) are keys not yet in their row, ascending
    along ``m``. The row must have room (widths ensured beforehand). One gather per field: output slot ``s``
    holds new gene ``t`` where ``s`` is its final place, else the old slot ``s - (new genes placed before s)``.
    """
    key = names[0]
    keys = getattr(part, key)
    width = keys.shape[1]
    p = torch.searchsorted(keys, new[key].to(keys.dtype).contiguous())  # old genes before each new one
    place = p + torch.cumsum(valid, dim=1) - 1  # final slot of each valid new gene
    s = torch.arange(width, device=part.device)[None, :]
    before = torch.zeros_like(keys, dtype=torch.int64)
    hits = []
    for t in range(valid.shape[1]):
        v, q = valid[:, t:t + 1], place[:, t:t + 1]
        before += v & (q < s)
        hits.append(v & (q == s))
    src = (s - before).clamp(0, width - 1)
    for name in names:
        out = getattr(part, name).gather(1, src)
        for t, hit in enumerate(hits):
            out = torch.where(hit, new[name][:, t:t + 1].to(out.dtype), out)
        setattr(part, name, out)
    setattr(part, count, getattr(part, count) + valid.sum(dim=1, dtype=torch.int32))


def _keep(part: GenomeBatch, names: tuple[str, ...], count: str, keep: Tensor) -> None:
    """Keep the marked slots of each row in their order (live genes first, padding after), in place."""
    width = keep.shape[1]
    if width == 0:
        return
    kept = torch.cumsum(keep, dim=1)
    s = torch.arange(width, device=part.device)
    src = torch.searchsorted(kept, (s + 1).expand_as(kept).contiguous()).clamp(max=width - 1)  # (s+1)-th kept
    n = kept[:, -1]
    live = s[None, :] < n[:, None]
    for name in names:
        t = getattr(part, name)
        setattr(part, name, torch.where(live, t.gather(1, src), torch.full_like(t, PAD[name])))
    setattr(part, count, n.to(torch.int32))


def _put(g: GenomeBatch, idx: Tensor, part: GenomeBatch) -> None:
    """Write the rows of ``part`` back into ``g`` (``g`` is this call's own copy)."""
    for f in _FIELDS:
        getattr(g, f)[idx] = getattr(part, f)
