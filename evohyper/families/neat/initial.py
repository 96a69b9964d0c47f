"""The initial population, batched: neat-python 2.0's ``DefaultReproduction.create_new`` and
``DefaultGenome.configure_new`` with every ``initial_connection`` form (S12, S13; docs/neat_engine.md, 3.4).

Why templates: every new genome has the same structure up to its hidden node ids and its random picks,
so the candidate connections are built once as ``(in, out)`` pairs in *slot space* (inputs ``-1..-I``,
outputs ``0..O-1``, hidden slot ``O + h``) in neat's ``compute_full_connections`` order, and each row maps
its hidden slots to its own ids by arithmetic: neat hands genome ``j`` of a new population the hidden ids
``first + j*H + h`` (S12 quirk: initial genomes share no hidden node). The random parts are per-row draws
from stream ``init``: ``fs_neat*`` one float64 uniform choice of input per row, ``partial_* p`` the
``int(round(L*p))`` candidates with the smallest of ``L`` uniforms per row (a uniform random subset, as
neat's ``shuffle`` + prefix), then the node attributes ``[P*(O+H)]`` and the connection attributes
``[P*L]`` (``attributes.new_nodes`` / ``new_connections``).

Innovation numbers: neat numbers ``initial_connection`` genes with a per-generation table keyed by
``(in, out, type)``, so genomes share a number exactly when they share the key (input->output links, and
every key when ``num_hidden == 0``). ``Counters.shared_innovations`` gives the same equivalence classes
(one number per distinct key, ascending key order); its table is cleared before (the table is untyped:
an ``add_connection`` of the same generation must not lend its number) and after (neat's
``reset_generation`` in the next ``reproduce``).
"""
from __future__ import annotations

import torch

from evohyper.families.neat.attributes import new_connections, new_nodes
from evohyper.families.neat.config import NEATConfig
from evohyper.families.neat.counters import Counters
from evohyper.families.neat.genome import GenomeBatch, pack_key
from evohyper.families.neat.streams import Streams

Tensor = torch.Tensor

OP = "init"
FORMS = ("unconnected", "fs_neat_nohidden", "fs_neat", "fs_neat_hidden", "full_nodirect", "full",
         "full_direct", "partial_nodirect", "partial", "partial_direct")


def full_template(cfg: NEATConfig, direct: bool) -> list[tuple[int, int]]:
    """neat's ``compute_full_connections`` in slot space (hidden slot ``O + h``), in neat's order:
    inputs->hidden and hidden->outputs when there are hidden nodes, inputs->outputs when ``direct`` or
    there are none, and a self-loop on every node for recurrent genomes."""
    inputs = [-i - 1 for i in range(cfg.num_inputs)]
    outputs = list(range(cfg.num_outputs))
    hidden = [cfg.num_outputs + h for h in range(cfg.num_hidden)]
    pairs = [(i, h) for i in inputs for h in hidden] + [(h, o) for h in hidden for o in outputs]
    if direct or not hidden:
        pairs += [(i, o) for i in inputs for o in outputs]
    if not cfg.feed_forward:
        pairs += [(n, n) for n in outputs + hidden]
    return pairs


def _slot_pairs(cfg: NEATConfig, n: int, streams: Streams, device: torch.device) -> tuple[Tensor, Tensor]:
    """``(in, out)`` ``[n, L]`` int64 in slot space: each row's initial connections (unsorted)."""
    form, n_out, n_hid = cfg.initial_connection, cfg.num_outputs, cfg.num_hidden
    if form not in FORMS:
        raise ValueError(f"unknown initial_connection {form!r}; allowed: {list(FORMS)}")
    if form.startswith("fs_neat"):
        width = n_out + n_hid if form == "fs_neat_hidden" else n_out
        targets = torch.arange(width, dtype=torch.int64, device=device)
        pick = Streams.choice(streams.uniform(OP, n), cfg.num_inputs)  # neat: choice(input_keys)
        ins = (-pick - 1)[:, None].expand(n, targets.numel())
        return ins, targets.expand(n, -1)
    if form == "unconnected":
        pairs = []
    else:
        # neat 2.0: 'full' and 'partial' are the *_nodirect forms (with a warning when H > 0)
        pairs = full_template(cfg, direct=form in ("full_direct", "partial_direct"))
    t = torch.tensor(pairs, dtype=torch.int64, device=device).reshape(-1, 2)
    ins, outs = t[:, 0].expand(n, -1), t[:, 1].expand(n, -1)
    if form.startswith("partial"):
        keep = int(round(len(pairs) * cfg.connection_fraction))  # Python round, as neat
        u = streams.uniform(OP, n, len(pairs))
        chosen = _subset(u, keep)
        ins, outs = ins.gather(1, chosen), outs.gather(1, chosen)
    return ins, outs


def _subset(u: Tensor, keep: int) -> Tensor:
    """Per row the (ascending) columns of the ``keep`` smallest uniforms: a uniform random ``keep``-subset."""
    return torch.sort(torch.argsort(u, dim=1, stable=True)[:, :keep], dim=1).values


def initial_population(cfg: NEATConfig, n: int, streams: Streams, counters: Counters, *,
                       dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> GenomeBatch:
    """``n`` new genomes as neat's ``create_new(n)``: gids from ``counters.gids``, node rows
    ``[0..O-1] ++ hidden ids`` (the node counter started at ``O`` as neat's ``get_new_node_key``, only
    when ``num_hidden > 0``), connections of ``cfg.initial_connection`` with ``initial_connection``
    innovations, attributes initialised. Widths are exactly ``O + H`` and the row's connection count."""
    device = torch.device(device)
    n_out, n_hid = cfg.num_outputs, cfg.num_hidden
    gid = counters.gids(n).to(device)
    if n_hid > 0:
        hidden = counters.node_ids(n * n_hid, first_free=n_out).to(device).reshape(n, n_hid)
    else:
        hidden = torch.zeros(n, 0, dtype=torch.int64, device=device)
    outputs = torch.arange(n_out, dtype=torch.int64, device=device).expand(n, n_out)
    node_id = torch.cat([outputs, hidden], dim=1)

    ins, outs = _slot_pairs(cfg, n, streams, device)
    offset = (hidden[:, :1] - n_out) if n_hid > 0 else torch.zeros(n, 1, dtype=torch.int64, device=device)
    ins = torch.where(ins >= n_out, ins + offset, ins)  # hidden slot O+h -> first + j*H + h
    outs = torch.where(outs >= n_out, outs + offset, outs)
    keys = torch.sort(pack_key(ins, outs), dim=1).values
    counters.reset_generation()
    innovation = counters.shared_innovations(keys)
    counters.reset_generation()

    L = keys.shape[1]
    nodes = new_nodes(n * (n_out + n_hid), cfg, streams, OP, dtype)
    conns = new_connections(n * L, cfg, streams, OP, dtype)
    return GenomeBatch(
        gid=gid, n_nodes=torch.full((n,), n_out + n_hid, dtype=torch.int32, device=device),
        n_conns=torch.full((n,), L, dtype=torch.int32, device=device),
        node_id=node_id.to(torch.int32).contiguous(),
        **{k: v.reshape(n, n_out + n_hid) for k, v in nodes.items()},
        conn_key=keys.contiguous(), innovation=innovation,
        **{k: v.reshape(n, L) for k, v in conns.items()})
