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
from evohyper.families.neat.cycles import creates_cycle, rows_create_cycle
from evohyper.families.neat.genome import CONN_FIELDS, NODE_FIELDS, PAD, GenomeBatch, pack_key, unpack_key
from evohyper.families.neat.streams import Streams

Tensor = torch.Tensor
Initialiser = Callable[[int], dict[str, Tensor]]

__all__ = ["creates_cycle", "mutate_structure"]  # creates_cycle lives in cycles.py, re-exported here

_FIELDS = tuple(f.name for f in dataclasses.fields(GenomeBatch))


@dataclass
class _Run:
    """One ``mutate_structure`` call: its inputs and the population's tensors as the operators leave them.

    ``t`` starts as the (widened) input's tensors; a field is cloned the first time an operator writes to
    it (copy on write), so the input is never modified and fields no operator touched are shared with it,
    as ``GenomeBatch``'s own methods share unchanged tensors. Operators gather the rows they work on
    (``get``), change them, and write them back (``put``): only the fields they change, only their rows.
    """

    cfg: NEATConfig
    streams: Streams
    counters: Counters
    new_nodes: Initialiser
    new_connections: Initialiser
    rows: Tensor  # [K] batch rows being mutated, in neat's order
    t: dict[str, Tensor]
    owned: set[str] = dataclasses.field(default_factory=set)

    def get(self, idx: Tensor, names: tuple[str, ...]) -> dict[str, Tensor]:
        return {n: self.t[n].index_select(0, idx) for n in names}

    def put(self, idx: Tensor, values: dict[str, Tensor]) -> None:
        for n, v in values.items():
            if n not in self.owned:
                self.t[n] = self.t[n].clone()
                self.owned.add(n)
            self.t[n].index_copy_(0, idx, v)

    def firing(self, mask: Tensor, op: str, *draw_shape: int) -> tuple[Tensor, Tensor, Tensor]:
        """The mutated rows where ``mask [K]`` holds: ``(local [R] positions in rows, idx [R] batch rows,
        u [R, *draw_shape] uniforms of stream op)``. The stream is drawn from even when ``R = 0``, so each
        operator's call sequence (and every later draw) never depends on whether it fired."""
        local = mask.nonzero().squeeze(1)
        idx = self.rows.index_select(0, local)
        return local, idx, self.streams.uniform(op, idx.numel(), *draw_shape)

    def count(self, name: str) -> Tensor:
        """``[K]`` live counts (``n_nodes`` / ``n_conns``) of the mutated rows, as they are now."""
        return self.t[name].index_select(0, self.rows)


def mutate_structure(batch: GenomeBatch, rows: Tensor, cfg: NEATConfig, streams: Streams, counters: Counters,
                     new_nodes: Initialiser, new_connections: Initialiser, *, inplace: bool = False) -> GenomeBatch:
    """The structural part of ``DefaultGenome.mutate`` (S7) applied to ``batch[rows]``; other rows untouched.

    ``rows`` (distinct) are mutated as if neat mutated them in this order (new node ids follow it).
    ``new_nodes(n)`` returns ``bias, response, time_constant, activation, aggregation`` (``[n]`` each, codes
    for the strings) for ``n`` new node genes, ``new_connections(n)`` returns ``weight, enabled``; both are
    only called with ``n > 0``. The result is compact (``check()`` holds), its widths grown with
    ``ensure_capacity`` where a row needs more room, never capped. The input batch is not modified unless
    ``inplace``: then its tensors are written where the widths suffice (the engine's freshly built children
    need no copy; at P-NEAT's size the copy is most of a quiet pass's time).
    """
    rows = torch.as_tensor(rows, device=batch.device).reshape(-1)
    if rows.dtype != torch.int64:
        rows = rows.to(torch.int64)
    fire = _firing(cfg, streams, rows.numel(), batch.device)
    if rows.numel() == 0:
        return batch
    # a pass adds at most one node and three connections to a row (add node's two + add connection's
    # one, or add connection twice where add node fell back to it): one growth, before anything is appended
    most = torch.stack([batch.n_nodes.index_select(0, rows).max(), batch.n_conns.index_select(0, rows).max()]).tolist()
    wide = batch.ensure_capacity(most[0] + 1, most[1] + 3)
    run = _Run(cfg, streams, counters, new_nodes, new_connections, rows, {f: getattr(wide, f) for f in _FIELDS})
    if inplace or wide is not batch:  # a grown batch's tensors are already this call's own
        run.owned.update(_FIELDS)
    _add_node(run, fire[:, 0])
    _delete_node(run, fire[:, 1])
    _add_connection(run, fire[:, 2])
    _delete_connection(run, fire[:, 3])
    return GenomeBatch(**run.t)


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
_NODES = (*NODE_FIELDS, "n_nodes")
_CONNS = (*CONN_FIELDS, "n_conns")


def _add_node(run: _Run, fire: Tensor) -> None:
    """S8: split a uniformly chosen connection (disabled ones included) of each firing row."""
    cfg = run.cfg
    has = run.count("n_conns") > 0
    if cfg.structural_mutation_surer:  # neat calls mutate_add_connection from inside mutate_add_node
        _add_connection(run, fire & ~has)
    _, idx, u = run.firing(fire & has, "add_node")
    r = idx.numel()
    if r == 0:
        return
    p = run.get(idx, _NODES + _CONNS)
    device = idx.device
    k = Streams.choice(u, p["n_conns"])[:, None]
    key, w = p["conn_key"].gather(1, k)[:, 0], p["weight"].gather(1, k)
    p["enabled"].scatter_(1, k, False)
    first_free = None if run.counters.next_node_id is not None else _first_free(p, cfg)  # (a host sync)
    new_id = run.counters.node_ids(r, first_free).to(device)
    nodes = _values(run.new_nodes(r), r, NODE_FIELDS[1:], p)
    nodes["bias"] = torch.zeros_like(nodes["bias"])  # neat: "start with zero bias"
    nodes["node_id"] = new_id.to(torch.int32)[:, None]
    _insert(p, NODE_FIELDS, "n_nodes", nodes)
    i, o = unpack_key(key)
    conns = _values(run.new_connections(2 * r), 2 * r, CONN_FIELDS[2:], p)  # initialised, then overwritten
    conns = {n: v.reshape(r, 2) for n, v in conns.items()}
    conns["weight"] = torch.cat([torch.ones_like(w), w], dim=1)  # (i, new) weight 1, (new, o) the split's
    conns["enabled"] = torch.ones(r, 2, dtype=torch.bool, device=device)
    conns["conn_key"] = torch.stack([pack_key(i, new_id), pack_key(new_id, o)], dim=1)
    conns["innovation"] = run.counters.innovations(2 * r).to(device).reshape(r, 2)
    order = conns["conn_key"].argsort(dim=1)  # (i, new) < (new, o) unless i > new: keep the pair sorted
    conns = {n: v.gather(1, order) for n, v in conns.items()}
    _insert(p, CONN_FIELDS, "n_conns", conns)
    run.put(idx, p)


def _first_free(p: dict[str, Tensor], cfg: NEATConfig) -> int:
    """neat's lazy start of the node counter (``get_new_node_key``): the largest node id of the first genome
    that asks for a new node, plus one (``num_outputs`` for a genome without nodes). Read only while the
    counter is unstarted (one host sync in a run); the engine normally starts it at the initial population."""
    n = int(p["n_nodes"][0])
    return int(p["node_id"][0, n - 1]) + 1 if n else cfg.num_outputs


def _delete_node(run: _Run, fire: Tensor) -> None:
    """S9: delete a uniformly chosen hidden node and every connection at either end of it."""
    o = run.cfg.num_outputs
    hidden = run.count("n_nodes").to(torch.int64) - o
    local, idx, u = run.firing(fire & (hidden > 0), "delete_node")
    if idx.numel() == 0:
        return
    p = run.get(idx, _NODES + _CONNS)
    slot = o + Streams.choice(u, hidden.index_select(0, local))[:, None]  # outputs: slots 0..O-1, hidden after
    gone = p["node_id"].gather(1, slot).to(torch.int64)
    cin, cout = unpack_key(p["conn_key"])
    live = torch.arange(p["conn_key"].shape[1], device=idx.device) < p["n_conns"][:, None]
    _drop_slot(p, NODE_FIELDS, "n_nodes", slot)
    _keep(p, CONN_FIELDS, "n_conns", live & (cin != gone) & (cout != gone))
    run.put(idx, p)


def _add_connection(run: _Run, fire: Tensor) -> None:
    """S10: ``out`` uniform over all nodes, ``in`` uniform over inputs and hidden nodes (never an output);
    an existing key is enabled iff surer; feed-forward refuses a cycle; otherwise a new gene."""
    cfg = run.cfg
    _, idx, u = run.firing(fire, "add_connection", 2)
    r = idx.numel()
    if r == 0:
        return
    p = run.get(idx, ("node_id", "n_nodes") + _CONNS)
    ids, n_nodes = p.pop("node_id").to(torch.int64), p.pop("n_nodes")
    n_in, o = cfg.num_inputs, cfg.num_outputs
    dst = ids.gather(1, Streams.choice(u[:, 0], n_nodes)[:, None])[:, 0]
    k = Streams.choice(u[:, 1], n_in + n_nodes.to(torch.int64) - o)  # inputs -1..-n_in, then hidden nodes
    hid = ids.gather(1, (o + k - n_in).clamp(0, ids.shape[1] - 1)[:, None])[:, 0]
    src = torch.where(k < n_in, -(k + 1), hid)
    key = pack_key(src, dst)
    keys = p["conn_key"]
    j = torch.searchsorted(keys, key[:, None]).clamp(max=keys.shape[1] - 1)
    exists = (keys.gather(1, j) == key[:, None])[:, 0]  # padding keys are never real keys
    if cfg.structural_mutation_surer:
        p["enabled"].scatter_(1, j, p["enabled"].gather(1, j) | exists[:, None])
    new = ~exists
    if cfg.feed_forward:  # only a hidden ``in`` can close a cycle (nothing links into an input): test those
        test = (new & (src >= 0)).nonzero().squeeze(1)
        if test.numel():
            cyc = rows_create_cycle(*(t.index_select(0, test) for t in (ids, n_nodes, keys, p["n_conns"], src, dst)))
            new.index_put_((test,), new.index_select(0, test) & ~cyc)
    chosen = new.nonzero().squeeze(1)
    a = chosen.numel()
    if a:
        conns = {n: torch.full((r, 1), PAD[n], dtype=p[n].dtype, device=idx.device) for n in CONN_FIELDS}
        for n, v in _values(run.new_connections(a), a, CONN_FIELDS[2:], p).items():
            conns[n][chosen] = v
        conns["conn_key"] = key[:, None]
        conns["innovation"][chosen, 0] = run.counters.shared_innovations(key[chosen]).to(idx.device)
        _insert(p, CONN_FIELDS, "n_conns", conns, new[:, None])
    elif not cfg.structural_mutation_surer:
        return  # nothing changed
    run.put(idx, p)


def _delete_connection(run: _Run, fire: Tensor) -> None:
    """S11: delete a uniformly chosen connection (disabled ones included)."""
    n_conns = run.count("n_conns")
    local, idx, u = run.firing(fire & (n_conns > 0), "delete_connection")
    if idx.numel() == 0:
        return
    p = run.get(idx, _CONNS)
    _drop_slot(p, CONN_FIELDS, "n_conns", Streams.choice(u, n_conns.index_select(0, local))[:, None])
    run.put(idx, p)


# ---------------------------------------------------------------------------------------------- layout
def _values(attrs: dict[str, Tensor], n: int, names: tuple[str, ...], like: dict[str, Tensor]) -> dict[str, Tensor]:
    """An initialiser's ``[n]`` attributes as ``[n, 1]`` columns in the batch's dtypes."""
    missing = [name for name in names if name not in attrs]
    if missing:
        raise ValueError(f"attribute initialiser returned no {missing}; expected: {list(names)}")
    out = {}
    for name in names:
        v, target = attrs[name], like[name]
        if not isinstance(v, Tensor):
            v = torch.as_tensor(v)
        if v.dtype != target.dtype or v.device != target.device:
            v = v.to(device=target.device, dtype=target.dtype)
        out[name] = v.view(n, 1) if v.is_contiguous() else v.reshape(n, 1)
    return out


def _insert(p: dict[str, Tensor], names: tuple[str, ...], count: str, new: dict[str, Tensor],
            valid: Tensor | None = None) -> None:
    """Insert ``m`` genes per row at their sorted places (in place on the dict ``p`` of row tensors).

    ``new[name]`` is ``[R, m]``: keys not yet in their row, ascending along ``m``. ``valid [R, 1]`` (one gene
    per row only) marks the rows that get theirs; ``None``: every row gets all ``m``. The row must have room
    (widths ensured beforehand). One gather per field: output slot ``s`` holds new gene ``t`` where ``s`` is
    its final place, else the old slot ``s - (new genes placed before s)``.
    """
    keys = p[names[0]]
    r, width, m = keys.shape[0], keys.shape[1], new[names[0]].shape[1]
    if valid is not None and m != 1:
        raise ValueError(f"_insert with a valid mask takes one gene per row, not {m}")
    ok = torch.ones(r, m, dtype=torch.bool, device=keys.device) if valid is None else valid
    at = torch.searchsorted(keys, new[names[0]].to(keys.dtype).contiguous())  # old genes before each new one
    place = (at + torch.arange(m, device=keys.device)).clamp(max=width - 1)  # final slot of each new gene
    s = torch.arange(width, device=keys.device)[None, :]
    before = (ok[:, :1] & (place[:, :1] < s)).to(torch.int64)
    for t in range(1, m):
        before += place[:, t:t + 1] < s
    src = (s - before).clamp(min=0)
    for name in names:
        out = p[name].gather(1, src)
        values = new[name].to(out.dtype)
        if valid is not None:  # a row without a new gene rewrites the value already at ``place``
            values = torch.where(valid, values, out.gather(1, place))
        p[name] = out.scatter_(1, place, values)
    p[count] = p[count] + ok.sum(dim=1, dtype=torch.int32)


def _drop_slot(p: dict[str, Tensor], names: tuple[str, ...], count: str, slot: Tensor) -> None:
    """Remove slot ``slot [R, 1]`` (a live one) of each row: later genes move up one, padding fills the end."""
    width = p[names[0]].shape[1]
    s = torch.arange(width, device=slot.device)[None, :]
    src = (s + (s >= slot)).clamp(max=width - 1)
    last = (p[count].to(torch.int64) - 1)[:, None]  # the old last live slot becomes padding (slots after it
    for name in names:                                # already read padding, except in a full row)
        p[name] = p[name].gather(1, src).scatter_(1, last, PAD[name])
    p[count] = p[count] - 1


def _keep(p: dict[str, Tensor], names: tuple[str, ...], count: str, keep: Tensor) -> None:
    """Keep the marked slots of each row in their order (live genes first, padding after), in place."""
    width = keep.shape[1]
    if width == 0:
        return
    kept = torch.cumsum(keep, dim=1)
    s = torch.arange(width, device=keep.device)
    src = torch.searchsorted(kept, (s + 1).expand_as(kept).contiguous()).clamp(max=width - 1)  # (s+1)-th kept
    n = kept[:, -1]
    live = s[None, :] < n[:, None]
    for name in names:
        t = p[name]
        p[name] = torch.where(live, t.gather(1, src), torch.full_like(t, PAD[name]))
    p[count] = n.to(torch.int32)
