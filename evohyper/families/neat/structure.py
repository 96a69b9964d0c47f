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

Packed records: while the operators run, the mutated rows' genes are held as one integer record per slot
(``[rows, width, fields]``: node id, the float attributes' bit patterns, the codes; connection key,
innovation, weight bits, enabled), so inserting, deleting and moving a gene is one ``gather``/``scatter``
of one tensor per kind instead of one per field; rows are packed once (only those where some operator
fires) and written back once. At small populations a call is a few hundred tensor ops, so the op count is
its time.

Picks: neat's ``choice(list)`` over a dict's insertion order is replaced by ``floor(u * n)`` over the
sorted row (``Streams.choice``, float64 uniforms); both are uniform, and the exact tests make neat pick
the same gene. Draw shapes depend only on how many rows an operator runs on.
"""
from __future__ import annotations

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

#: integer type of a float's bit pattern
_BITS = {torch.float16: torch.int16, torch.bfloat16: torch.int16, torch.float32: torch.int32,
         torch.float64: torch.int64}
#: record columns
_ID, _KEY, _INNOVATION, _WEIGHT, _ENABLED = 0, 0, 1, 2, 3


class _Codec:
    """One kind of gene's fields packed into integer records: column ``i`` holds field ``names[i]`` (floats as
    their bit patterns, exact both ways)."""

    def __init__(self, batch: GenomeBatch, names: tuple[str, ...], itype: torch.dtype):
        self.names, self.itype = names, itype
        self.dtypes = {n: getattr(batch, n).dtype for n in names}
        self.pad = self.encode({n: torch.full((1,), PAD[n], dtype=self.dtypes[n], device=batch.device)
                                for n in names})  # [1, F]

    def column(self, name: str, t: Tensor) -> Tensor:
        """``t`` (any dtype convertible to the field's) as a record column."""
        dtype = self.dtypes[name]
        if t.dtype != dtype:
            t = t.to(dtype)
        if t.is_floating_point():
            t = t.view(_BITS[dtype])
        return t if t.dtype == self.itype else t.to(self.itype)

    def encode(self, fields: dict[str, Tensor]) -> Tensor:
        return torch.stack([self.column(n, fields[n]) for n in self.names], dim=-1)

    def decode(self, rec: Tensor, i: int) -> Tensor:
        dtype = self.dtypes[self.names[i]]
        col = rec[..., i]
        if dtype.is_floating_point:
            bits = _BITS[dtype]
            return (col if col.dtype == bits else col.to(bits)).view(dtype)
        return col if col.dtype == dtype else col.to(dtype)


@dataclass
class _Run:
    """One ``mutate_structure`` call: its inputs and the packed records of the rows being mutated (local row
    ``i`` = batch row ``rows[i]``). Operators gather the local rows they work on, change them and write them
    back (``get`` / ``put``); counts are int64 here."""

    cfg: NEATConfig
    streams: Streams
    counters: Counters
    new_nodes: Initialiser
    new_connections: Initialiser
    nodes: _Codec
    conns: _Codec
    node: Tensor  # [S, N, 6]
    n_nodes: Tensor  # [S]
    conn: Tensor  # [S, C, 4]
    n_conns: Tensor  # [S]

    def get(self, loc: Tensor, *kinds: str) -> list[Tensor]:
        return [getattr(self, k).index_select(0, loc) for k in kinds]

    def put(self, loc: Tensor, **values: Tensor) -> None:
        for k, v in values.items():
            getattr(self, k).index_copy_(0, loc, v)


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
    loc = fire.any(dim=1).nonzero().squeeze(1)  # rows where some operator fires: the only ones packed
    if loc.numel() < rows.numel():
        rows, fire = rows.index_select(0, loc), fire.index_select(0, loc)
    # a pass adds at most one node and three connections to a row (add node's two + add connection's
    # one, or add connection twice where add node fell back to it): one growth, before anything is inserted
    n_nodes, n_conns = batch.n_nodes.index_select(0, rows), batch.n_conns.index_select(0, rows)
    wide = batch
    if rows.numel():
        most = torch.stack([n_nodes.max(), n_conns.max()]).tolist()
        wide = batch.ensure_capacity(most[0] + 1, most[1] + 3)
    itype = torch.int64 if _BITS.get(batch.dtype, torch.int64) == torch.int64 else torch.int32
    nodes, conns = _Codec(wide, NODE_FIELDS, itype), _Codec(wide, CONN_FIELDS, torch.int64)
    run = _Run(cfg, streams, counters, new_nodes, new_connections, nodes, conns,
               nodes.encode({n: getattr(wide, n).index_select(0, rows) for n in NODE_FIELDS}),
               n_nodes.to(torch.int64), conns.encode({n: getattr(wide, n).index_select(0, rows) for n in CONN_FIELDS}),
               n_conns.to(torch.int64))
    _add_node(run, fire[:, 0])
    _delete_node(run, fire[:, 1])
    _add_connection(run, fire[:, 2])
    _delete_connection(run, fire[:, 3])
    if rows.numel() == 0:  # nothing fired (the operators still made their draws, of no rows)
        return batch
    own = inplace or wide is not batch  # a grown batch's tensors are already this call's own
    out = {"gid": wide.gid}
    for codec, rec, count, name in ((nodes, run.node, run.n_nodes, "n_nodes"),
                                    (conns, run.conn, run.n_conns, "n_conns")):
        for i, field in enumerate(codec.names):
            out[field] = _write(getattr(wide, field), rows, codec.decode(rec, i), own)
        out[name] = _write(getattr(wide, name), rows, count.to(torch.int32), own)
    return GenomeBatch(**out)


def _write(target: Tensor, rows: Tensor, values: Tensor, own: bool) -> Tensor:
    return (target if own else target.clone()).index_copy_(0, rows, values)


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
def _add_node(run: _Run, fire: Tensor) -> None:
    """S8: split a uniformly chosen connection (disabled ones included) of each firing row."""
    cfg = run.cfg
    has = run.n_conns > 0
    if cfg.structural_mutation_surer:  # neat calls mutate_add_connection from inside mutate_add_node
        _add_connection(run, fire & ~has)
    loc = (fire & has).nonzero().squeeze(1)
    r = loc.numel()
    u = run.streams.uniform("add_node", r)
    if r == 0:
        return
    node, n_nodes, conn, n_conns = run.get(loc, "node", "n_nodes", "conn", "n_conns")
    device = loc.device
    k = _choice(u, n_conns)[:, None]
    split = conn.gather(1, k[..., None].expand(r, 1, conn.shape[2]))[:, 0]  # [r, 4]
    conn[..., _ENABLED].scatter_(1, k, 0)
    first_free = None if run.counters.next_node_id is not None else _first_free(node, n_nodes, cfg)
    new_id = run.counters.node_ids(r, first_free).to(device)
    attrs = _initialised(run.new_nodes(r), NODE_FIELDS[1:])
    attrs["bias"] = torch.zeros(r, dtype=run.nodes.dtypes["bias"], device=device)  # neat: "start with zero bias"
    attrs["node_id"] = new_id
    node, n_nodes = _insert(node, n_nodes, run.nodes.encode(attrs)[:, None, :])
    i, o = unpack_key(split[:, _KEY])
    _initialised(run.new_connections(2 * r), CONN_FIELDS[2:])  # drawn as neat initialises them; overwritten
    pair = torch.stack([pack_key(i, new_id), pack_key(new_id, o)], dim=1)
    one = run.conns.column("weight", torch.ones(r, dtype=run.conns.dtypes["weight"], device=device))
    rec = torch.stack([pair, run.counters.innovations(2 * r).to(device).view(r, 2),
                       torch.stack([one, split[:, _WEIGHT]], dim=1),  # (i, new) weight 1, (new, o) the split's
                       torch.ones(r, 2, dtype=torch.int64, device=device)], dim=-1)
    swap = pair[:, 0] > pair[:, 1]  # (i, new) < (new, o) unless the genome holds an id above the counter
    rec = torch.where(swap[:, None, None], rec.flip(1), rec)
    conn, n_conns = _insert(conn, n_conns, rec)
    run.put(loc, node=node, n_nodes=n_nodes, conn=conn, n_conns=n_conns)


def _first_free(node: Tensor, n_nodes: Tensor, cfg: NEATConfig) -> int:
    """neat's lazy start of the node counter (``get_new_node_key``): the largest node id of the first genome
    that asks for a new node, plus one (``num_outputs`` for a genome without nodes). Read only while the
    counter is unstarted (one host sync in a run); the engine normally starts it at the initial population."""
    n = int(n_nodes[0])
    return int(node[0, n - 1, _ID]) + 1 if n else cfg.num_outputs


def _delete_node(run: _Run, fire: Tensor) -> None:
    """S9: delete a uniformly chosen hidden node and every connection at either end of it."""
    o = run.cfg.num_outputs
    hidden = run.n_nodes - o
    loc = (fire & (hidden > 0)).nonzero().squeeze(1)
    r = loc.numel()
    u = run.streams.uniform("delete_node", r)
    if r == 0:
        return
    node, n_nodes, conn, n_conns = run.get(loc, "node", "n_nodes", "conn", "n_conns")
    slot = o + _choice(u, hidden.index_select(0, loc))[:, None]  # outputs are slots 0..O-1, hidden nodes follow
    gone = node[..., _ID].gather(1, slot).to(torch.int64)
    cin, cout = unpack_key(conn[..., _KEY])
    live = torch.arange(conn.shape[1], device=loc.device) < n_conns[:, None]
    node, n_nodes = _drop_slot(node, n_nodes, slot, run.nodes.pad)
    conn, n_conns = _keep(conn, live & (cin != gone) & (cout != gone), run.conns.pad)
    run.put(loc, node=node, n_nodes=n_nodes, conn=conn, n_conns=n_conns)


def _add_connection(run: _Run, fire: Tensor) -> None:
    """S10: ``out`` uniform over all nodes, ``in`` uniform over inputs and hidden nodes (never an output);
    an existing key is enabled iff surer; feed-forward refuses a cycle; otherwise a new gene."""
    cfg = run.cfg
    loc = fire.nonzero().squeeze(1)
    r = loc.numel()
    u = run.streams.uniform("add_connection", r, 2)
    if r == 0:
        return
    device = loc.device
    ids = run.node[..., _ID].index_select(0, loc).to(torch.int64)
    n_nodes, conn, n_conns = run.get(loc, "n_nodes", "conn", "n_conns")
    n_in, o = cfg.num_inputs, cfg.num_outputs
    dst = ids.gather(1, _choice(u[:, 0], n_nodes)[:, None])[:, 0]
    k = _choice(u[:, 1], n_in + n_nodes - o)  # inputs -1..-n_in, then hidden nodes
    hid = ids.gather(1, (o + k - n_in).clamp(0, ids.shape[1] - 1)[:, None])[:, 0]
    src = torch.where(k < n_in, -(k + 1), hid)
    key = pack_key(src, dst)
    keys = conn[..., _KEY].contiguous()
    j = torch.searchsorted(keys, key[:, None]).clamp_(max=keys.shape[1] - 1)
    exists = (keys.gather(1, j) == key[:, None])[:, 0]  # padding keys are never real keys
    if cfg.structural_mutation_surer:
        enabled = conn[..., _ENABLED]
        enabled.scatter_(1, j, torch.where(exists[:, None], 1, enabled.gather(1, j)))
    new = ~exists
    if cfg.feed_forward:  # only a hidden ``in`` can close a cycle (nothing links into an input): test those
        test = (new & (src >= 0)).nonzero().squeeze(1)
        if test.numel():
            cyc = rows_create_cycle(ids.index_select(0, test), n_nodes.index_select(0, test),
                                    keys.index_select(0, test), n_conns.index_select(0, test),
                                    src.index_select(0, test), dst.index_select(0, test))
            new.index_put_((test,), new.index_select(0, test) & ~cyc)
    chosen = new.nonzero().squeeze(1)
    a = chosen.numel()
    if a:
        attrs = _initialised(run.new_connections(a), CONN_FIELDS[2:])
        fields = {"conn_key": key.index_select(0, chosen),
                  "innovation": run.counters.shared_innovations(key.index_select(0, chosen)).to(device), **attrs}
        rec = run.conns.pad.expand(r, -1).clone().index_copy_(0, chosen, run.conns.encode(fields))
        conn, n_conns = _insert(conn, n_conns, rec[:, None, :], new[:, None])
    elif not cfg.structural_mutation_surer:
        return  # nothing changed
    run.put(loc, conn=conn, n_conns=n_conns)


def _delete_connection(run: _Run, fire: Tensor) -> None:
    """S11: delete a uniformly chosen connection (disabled ones included)."""
    loc = (fire & (run.n_conns > 0)).nonzero().squeeze(1)
    r = loc.numel()
    u = run.streams.uniform("delete_connection", r)
    if r == 0:
        return
    conn, n_conns = run.get(loc, "conn", "n_conns")
    conn, n_conns = _drop_slot(conn, n_conns, _choice(u, n_conns)[:, None], run.conns.pad)
    run.put(loc, conn=conn, n_conns=n_conns)


# ---------------------------------------------------------------------------------------------- layout
def _choice(u: Tensor, n: Tensor) -> Tensor:
    """``Streams.choice`` for ``n >= 1`` (every caller here): ``floor(u * n)`` clamped to ``n - 1``."""
    return torch.minimum((u * n).to(torch.int64), n - 1)


def _initialised(attrs: dict[str, Tensor], names: tuple[str, ...]) -> dict[str, Tensor]:
    missing = [name for name in names if name not in attrs]
    if missing:
        raise ValueError(f"attribute initialiser returned no {missing}; expected: {list(names)}")
    return {name: attrs[name] for name in names}


def _insert(rec: Tensor, count: Tensor, new: Tensor, valid: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Insert ``m`` genes per row at their sorted places: ``rec [R, W, F]`` records (column 0 the key),
    ``new [R, m, F]`` records whose keys are not yet in their row, ascending along ``m``. ``valid [R, 1]`` (one
    gene per row only) marks the rows that get theirs; ``None``: every row gets all ``m``. The row must have
    room (widths ensured beforehand). One gather: output slot ``s`` holds new gene ``t`` where ``s`` is its
    final place, else the old slot ``s - (new genes placed before s)``."""
    r, width, f = rec.shape
    m = new.shape[1]
    if valid is not None and m != 1:
        raise ValueError(f"_insert with a valid mask takes one gene per row, not {m}")
    at = torch.searchsorted(rec[..., 0].contiguous(), new[..., 0].contiguous())  # old genes before each new one
    place = (at + torch.arange(m, device=rec.device)).clamp_(max=width - 1)  # final slot of each new gene
    s = torch.arange(width, device=rec.device)[None, :]
    before = place[:, :1] < s
    if valid is not None:
        before &= valid
    before = before.to(torch.int64)
    for t in range(1, m):
        before += place[:, t:t + 1] < s
    out = rec.gather(1, (s - before).clamp_(min=0)[..., None].expand(r, width, f))
    at = place[..., None].expand(r, m, f)
    if valid is not None:  # a row without a new gene rewrites the value already at ``place``
        new = torch.where(valid[..., None], new, out.gather(1, at))
    out.scatter_(1, at, new)
    return out, count + (m if valid is None else valid[:, 0])


def _drop_slot(rec: Tensor, count: Tensor, slot: Tensor, pad: Tensor) -> tuple[Tensor, Tensor]:
    """Remove slot ``slot [R, 1]`` (a live one) of each row: later genes move up one, padding fills the end."""
    r, width, f = rec.shape
    s = torch.arange(width, device=slot.device)[None, :]
    out = rec.gather(1, (s + (s >= slot)).clamp_(max=width - 1)[..., None].expand(r, width, f))
    last = (count - 1)[:, None, None].expand(r, 1, f)  # the old last live slot becomes padding (slots after
    out.scatter_(1, last, pad.expand(r, 1, f))           # it already read padding, except in a full row)
    return out, count - 1


def _keep(rec: Tensor, keep: Tensor, pad: Tensor) -> tuple[Tensor, Tensor]:
    """Keep the marked slots of each row in their order (live genes first, padding after)."""
    r, width, f = rec.shape
    kept = torch.cumsum(keep, dim=1)
    s = torch.arange(width, device=keep.device)
    src = torch.searchsorted(kept, (s + 1).expand_as(kept).contiguous()).clamp_(max=width - 1)  # (s+1)-th kept
    n = kept[:, -1]
    live = s[None, :] < n[:, None]
    return torch.where(live[..., None], rec.gather(1, src[..., None].expand(r, width, f)), pad), n
