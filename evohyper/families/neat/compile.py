"""Batched compile: a ``GenomeBatch`` -> the ``CompiledNetworks`` runtime, with no loop over genomes or genes.

Why: neat-python plans each network in Python (``FeedForwardNetwork.create``: sets, dicts, a scan of every
connection per node), which cost more than the query for a HyperNEAT population and dominated P-NEAT's
decode. Here the whole population is one graph of ``P * (n_in + N)`` vertices (row ``p``: its inputs, then
its node slots) and its connections are edges; neat-python's planning becomes a few passes over edge tensors
(docs/neat_engine.md, section 5.3). Loops run over graph depth and over layers / activation kinds only.

1. ``required`` (``neat.graphs.required_for_output``): backward reachability from the outputs over the
   enabled links (feed-forward) or all links (recurrent, as ``RecurrentNetwork.create`` passes
   ``genome.connections``); inputs excluded.
2. Feed-forward layers (``feed_forward_layers``), neat-python's own iteration run on every genome at once:
   the ready set starts as the inputs and the *bias neurons* (required nodes without an enabled incoming
   link, layer 0 when a genome has any); each round, a required node whose enabled sources are all ready
   joins the next layer. A node downstream of a cycle is never ready, as in neat-python. Kept links:
   enabled, into an evaluated node. Recurrent: links enabled with a required end; evaluated nodes are their
   destinations, all in one layer.
3. Rows of the value buffer ordered by one sort of ``(layer, activation code, genome, slot)`` (neat-python's
   order within a genome: layer, then node id, since slots ascend by id); the dense input/bias matrix,
   each layer's CSR, the gather lists of non-``sum`` aggregations and the activation slices follow by index
   arithmetic, activation input scales folded in (``runtime.FOLDED``).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

from evohyper.families.neat.activations import ACTIVATION_NAMES, AGGREGATION_NAMES
from evohyper.families.neat.genome import GenomeBatch, unpack_key
from evohyper.families.neat.runtime import FOLDED, CompiledNetworks, Gather, Layer

Tensor = torch.Tensor
_SUM = AGGREGATION_NAMES.index("sum")
_A = len(ACTIVATION_NAMES)
_SCALE = [FOLDED[name][0] if name in FOLDED else 1.0 for name in ACTIVATION_NAMES]


@dataclass
class NetworkPlan:
    """What neat-python evaluates in each genome of a batch: node layers and the links used."""

    num_inputs: int
    num_outputs: int
    recurrent: bool
    layer: Tensor   # [P, N] int64: layer of each node slot, -1 = never evaluated
    kept: Tensor    # [P, C] bool: a live connection the network reads
    src: Tensor     # [P, C] int64: source column, 0..n_in-1 an input, n_in + slot a node (meaningful where kept)
    dst: Tensor     # [P, C] int64: destination node slot (meaningful where kept)
    n_layers: int


@dataclass
class Plan:
    """One genome as neat-python evaluates it: node layers and each node's incoming ``(source, weight)``
    (node ids as neat-python keys them; what ``NEATModule`` builds an exported network from)."""

    layers: list[list[int]]
    incoming: dict[int, list[tuple[int, float]]]


def plan_networks(batch: GenomeBatch, num_inputs: int, num_outputs: int, *, recurrent: bool = False) -> NetworkPlan:
    """neat-python's ``FeedForwardNetwork.create`` / ``RecurrentNetwork.create`` planning, for every row at once."""
    P, N, n_in, n_out = len(batch), batch.node_width, int(num_inputs), int(num_outputs)
    L, dev = n_in + N, batch.device
    src, dst, live = _endpoints(batch, n_in, n_out)
    enabled = live & batch.enabled
    base = (torch.arange(P, device=dev) * L)[:, None]
    vsrc, vdst = base + src, base + n_in + dst
    outputs = (base + n_in + torch.arange(n_out, device=dev)).reshape(-1)
    req = _required(P * L, outputs, vsrc[live if recurrent else enabled], vdst[live if recurrent else enabled])
    req.view(P, L)[:, :n_in] = False
    if recurrent:
        kept = enabled & (req[vdst] | req[vsrc])
        layer = torch.full((P * L,), -1, dtype=torch.int64, device=dev)
        layer[vdst[kept]] = 0
    else:
        layer = _layers(P, L, n_in, req, vsrc[enabled], vdst[enabled])
        kept = enabled & (layer[vdst] >= 0)
    node_layer = layer.view(P, L)[:, n_in:]
    n_layers = int(node_layer.max()) + 1 if node_layer.numel() else 0
    return NetworkPlan(n_in, n_out, recurrent, node_layer.contiguous(), kept, src, dst, max(n_layers, 0))


def _endpoints(batch: GenomeBatch, n_in: int, n_out: int) -> tuple[Tensor, Tensor, Tensor]:
    """Source columns and destination slots of every connection; raises on a key naming no node."""
    N = batch.node_width
    live = batch.conn_live
    ids = batch.node_id.to(torch.int64).contiguous()
    a, b = unpack_key(batch.conn_key)
    if n_out > N or bool((batch.n_nodes < n_out).any()) or \
            not bool((ids[:, :n_out] == torch.arange(n_out, device=batch.device)).all()):
        raise ValueError(f"every genome needs the output nodes 0..{n_out - 1} (num_outputs={n_out})")
    s_slot = torch.searchsorted(ids, a.clamp(min=0).contiguous())
    d_slot = torch.searchsorted(ids, b.clamp(min=0).contiguous())
    found_s = ids.gather(1, s_slot.clamp(max=N - 1)) == a
    found_d = ids.gather(1, d_slot.clamp(max=N - 1)) == b
    ok = torch.where(a < 0, a >= -n_in, found_s & (s_slot < batch.n_nodes[:, None])) & \
        (b >= 0) & found_d & (d_slot < batch.n_nodes[:, None])
    bad = live & ~ok
    if bool(bad.any()):
        p, c = (int(x) for x in bad.nonzero()[0])
        raise ValueError(f"genome {int(batch.gid[p])}: connection ({int(a[p, c])}, {int(b[p, c])}) does not join "
                         f"an input (-1..-{n_in}) or one of its nodes to one of its nodes")
    s_slot, d_slot = s_slot.clamp(max=N - 1), d_slot.clamp(max=N - 1)   # padding slots point somewhere harmless
    return torch.where(a < 0, (-a - 1).clamp(max=n_in - 1), n_in + s_slot), d_slot, live


def _required(V: int, outputs: Tensor, src: Tensor, dst: Tensor) -> Tensor:
    """Vertices with a path to an output (outputs included): backward reachability, one pass per depth."""
    req = torch.zeros(V, dtype=torch.bool, device=outputs.device)
    req[outputs] = True
    count = int(req.sum())
    while True:
        req[src[req[dst]]] = True
        new = int(req.sum())
        if new == count:
            return req
        count = new


def _layers(P: int, L: int, n_in: int, req: Tensor, src: Tensor, dst: Tensor) -> Tensor:
    """neat-python's ``feed_forward_layers`` for every row: ``[P * L]`` layer index, -1 = not evaluated."""
    dev = req.device
    into = req[dst]                                  # enabled links into required nodes (sources: required or inputs)
    src, dst = src[into], dst[into]
    indegree = torch.zeros(P * L, dtype=torch.int64, device=dev).index_add_(0, dst, torch.ones_like(dst))
    bias = req & (indegree == 0)
    b = bias.view(P, L).any(dim=1).to(torch.int64)  # a genome with bias neurons puts them in layer 0
    layer = torch.full((P * L,), -1, dtype=torch.int64, device=dev)
    layer[bias] = 0
    ready = bias.clone()
    ready.view(P, L)[:, :n_in] = True
    offset = b.repeat_interleave(L) - 1              # layer of round t in row p: t + b[p] - 1
    t = 1
    while True:
        done = torch.zeros(P * L, dtype=torch.int64, device=dev).index_add_(0, dst, ready[src].to(torch.int64))
        new = req & ~ready & (done == indegree)
        if not bool(new.any()):
            return layer
        layer = torch.where(new, offset + t, layer)
        ready |= new
        t += 1


def compile_networks(batch: GenomeBatch, num_inputs: int, num_outputs: int, *, recurrent: bool = False,
                     shared_inputs: bool = True, dtype: torch.dtype = torch.float32,
                     device: torch.device | str = "cpu") -> CompiledNetworks:
    """A population of genomes as one ``CompiledNetworks`` (``shared_inputs``: one input batch for all)."""
    device = torch.device(device)
    G = len(batch)
    if G == 0:
        raise ValueError("cannot compile an empty population of networks")
    batch = batch.to(device)
    plan = plan_networks(batch, num_inputs, num_outputs, recurrent=recurrent)
    n_in, n_out, N, L = plan.num_inputs, plan.num_outputs, batch.node_width, plan.num_inputs + batch.node_width
    input_rows = n_in if shared_inputs else G * n_in
    zero_row, base = input_rows + 1, input_rows + 2   # row input_rows holds the bias
    n_dense = n_in + 1 if shared_inputs else 1

    # rows of the evaluated nodes: one sort of (layer, activation, genome, slot)
    ev = (plan.layer >= 0).reshape(-1).nonzero().squeeze(1)          # p * N + slot
    p_of, slot_of = ev // N, ev % N
    act = batch.activation.reshape(-1)[ev].to(torch.int64)
    lay = plan.layer.reshape(-1)[ev]
    order = torch.argsort((lay * _A + act) * (G * N) + ev)
    ev, p_of, slot_of, act, lay = ev[order], p_of[order], slot_of[order], act[order], lay[order]
    n = ev.numel()
    num_rows = base + n
    row_of = torch.full((G * L,), zero_row, dtype=torch.int64, device=device)
    row_of[p_of * L + n_in + slot_of] = base + torch.arange(n, device=device)
    inputs = torch.arange(n_in, device=device)
    row_of.view(G, L)[:, :n_in] = inputs if shared_inputs else torch.arange(G, device=device)[:, None] * n_in + inputs
    per_layer = torch.bincount(lay, minlength=plan.n_layers).tolist() if n else [0] * plan.n_layers
    per_act = torch.bincount(lay * _A + act, minlength=plan.n_layers * _A).view(plan.n_layers, _A).tolist() \
        if n else []

    scale_of = torch.tensor(_SCALE, dtype=torch.float64, device=device)
    scale = scale_of[act]
    agg = batch.aggregation.reshape(-1)[ev].to(torch.int64)
    bias = batch.bias.reshape(-1)[ev].to(torch.float64) * scale
    response = batch.response.reshape(-1)[ev].to(torch.float64) * scale
    is_sum = agg == _SUM
    dense = torch.zeros(n, n_dense, dtype=torch.float64, device=device)
    dense[:, n_dense - 1] = torch.where(is_sum, bias, torch.zeros_like(bias))

    # the links read, as (destination row, source row, weight); sum nodes fold response and scale in
    p_c, c_c = plan.kept.nonzero(as_tuple=True)
    d_row = row_of[p_c * L + n_in + plan.dst[p_c, c_c]]
    s_row = row_of[p_c * L + plan.src[p_c, c_c]]
    d_idx = d_row - base
    w = batch.weight[p_c, c_c].to(torch.float64)
    link_sum = is_sum[d_idx]
    to_dense = link_sum & (plan.src[p_c, c_c] < n_in) if shared_inputs else torch.zeros_like(link_sum)
    dense.index_put_((d_idx[to_dense], s_row[to_dense]), (response[d_idx] * w)[to_dense], accumulate=True)
    sparse = link_sum & ~to_dense
    hidden = _per_layer_csr(d_row[sparse], s_row[sparse], (response[d_idx] * w)[sparse], per_layer, base,
                            num_rows, recurrent, dtype)
    gather = _per_layer_gather(d_row[~link_sum], s_row[~link_sum], w[~link_sum], ~is_sum, agg, bias, response,
                               per_layer, base, zero_row, dtype)

    layers, start = [], base
    for li, count in enumerate(per_layer):
        acts, a = [], 0
        for code, k in enumerate(per_act[li]):
            if k:
                acts.append((ACTIVATION_NAMES[code], a, a + k))
                a += k
        layers.append(Layer(start, start + count, num_rows if recurrent else start, hidden[li], acts, gather[li]))
        start += count
    output_rows = row_of.view(G, L)[:, n_in:n_in + n_out].reshape(-1)
    stats = {"layers": plan.n_layers, "nodes": n, "rows": num_rows, "hidden_links": int(sparse.sum()),
             "gather_nodes": int((~is_sum).sum())}
    return CompiledNetworks(n_in, n_out, G, num_rows, shared_inputs, recurrent, dense.to(dtype), layers, output_rows,
                            dtype, device, stats)


def _per_layer_csr(d_row: Tensor, s_row: Tensor, w: Tensor, per_layer: list[int], base: int, num_rows: int,
                   recurrent: bool, dtype: torch.dtype) -> list[Tensor | None]:
    """Each layer's sparse links as a CSR ``[rows of the layer, columns read]``, entries sorted like ``coalesce``."""
    order = torch.argsort(d_row * num_rows + s_row)
    d_row, s_row, w = d_row[order], s_row[order], w[order]
    bounds = torch.searchsorted(d_row, torch.tensor([base + sum(per_layer[:i]) for i in range(len(per_layer) + 1)],
                                                    device=d_row.device)).tolist()
    out: list[Tensor | None] = []
    start = base
    for li, count in enumerate(per_layer):
        lo, hi = bounds[li], bounds[li + 1]
        if hi == lo:
            out.append(None)
        else:
            local = d_row[lo:hi] - start
            crow = torch.zeros(count + 1, dtype=torch.int64, device=d_row.device)
            crow[1:] = torch.cumsum(torch.bincount(local, minlength=count), 0)
            with warnings.catch_warnings():  # "sparse CSR support is in beta": addmm_ with CSR is what we use
                warnings.simplefilter("ignore")
                out.append(torch.sparse_csr_tensor(crow, s_row[lo:hi], w[lo:hi].to(dtype),
                                                   (count, num_rows if recurrent else start)))
        start += count
    return out


def _per_layer_gather(d_row: Tensor, s_row: Tensor, w: Tensor, is_gather: Tensor, agg: Tensor, bias: Tensor,
                      response: Tensor, per_layer: list[int], base: int, zero_row: int,
                      dtype: torch.dtype) -> list[Gather | None]:
    """Nodes aggregated otherwise than by ``sum``, per layer: padded link lists (link order: the genome's key order)."""
    dev = d_row.device
    nodes = is_gather.nonzero().squeeze(1)                        # evaluated-node index, ascending = by row
    out: list[Gather | None] = [None] * len(per_layer)
    if not nodes.numel():
        return out
    index_of = torch.full_like(is_gather, -1, dtype=torch.int64)
    index_of[nodes] = torch.arange(nodes.numel(), device=dev)
    gi = index_of[d_row - base]
    order = torch.sort(gi, stable=True).indices                   # stable: keeps the genome's key order
    gi, s_row, w = gi[order], s_row[order], w[order]
    count = torch.bincount(gi, minlength=nodes.numel())
    pos = torch.arange(gi.numel(), device=dev) - (torch.cumsum(count, 0) - count)[gi]
    bounds = torch.searchsorted(nodes, torch.tensor([sum(per_layer[:i]) for i in range(len(per_layer) + 1)],
                                                    device=dev)).tolist()
    start = 0
    for li in range(len(per_layer)):
        lo, hi = bounds[li], bounds[li + 1]
        if hi > lo:
            R, D = hi - lo, max(1, int(count[lo:hi].max()))
            mine = (gi >= lo) & (gi < hi)
            at = (gi[mine] - lo, pos[mine])
            src = torch.full((R, D), zero_row, dtype=torch.int64, device=dev)
            weight = torch.zeros(R, D, dtype=torch.float64, device=dev)
            mask = torch.zeros(R, D, dtype=torch.bool, device=dev)
            src[at], weight[at], mask[at] = s_row[mine], w[mine], True
            rows = nodes[lo:hi]
            codes = agg[rows]
            groups = [(AGGREGATION_NAMES[c], (codes == c).nonzero().squeeze(1))
                      for c in sorted(set(codes.tolist()), key=lambda c: AGGREGATION_NAMES[c])]
            out[li] = Gather(rows - start, src, weight.to(dtype), mask, bias[rows, None].to(dtype),
                             response[rows, None].to(dtype), groups)
        start += per_layer[li]
    return out


def compile_cppns(batch: GenomeBatch, num_inputs: int, num_outputs: int, *, dtype: torch.dtype = torch.float32,
                  device: torch.device | str = "cpu") -> CompiledNetworks:
    """Compile CPPNs (feed-forward genomes whose inputs, the coordinates, every genome shares)."""
    return compile_networks(batch, num_inputs, num_outputs, dtype=dtype, device=device)


def row_plan(plan: NetworkPlan, batch: GenomeBatch, i: int) -> Plan:
    """Genome ``i`` of a planned batch as a ``Plan`` of node ids (one genome: what an export needs)."""
    n = int(batch.n_nodes[i])
    ids, layer = batch.node_id[i, :n].tolist(), plan.layer[i, :n].tolist()
    layers: list[list[int]] = [[] for _ in range(plan.n_layers)]
    for k, li in zip(ids, layer):
        if li >= 0:
            layers[li].append(k)
    incoming: dict[int, list[tuple[int, float]]] = {}
    kept = plan.kept[i].nonzero().squeeze(1)
    n_in = plan.num_inputs
    for s, d, w in zip(plan.src[i, kept].tolist(), plan.dst[i, kept].tolist(), batch.weight[i, kept].tolist()):
        incoming.setdefault(ids[d], []).append((-s - 1 if s < n_in else ids[s - n_in], w))
    return Plan([sorted(x) for x in layers if x], incoming)


__all__ = ["CompiledNetworks", "NetworkPlan", "Plan", "compile_cppns", "compile_networks", "plan_networks", "row_plan"]
