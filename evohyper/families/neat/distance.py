"""Genomic distance of NEAT genomes, batched: neat-python's ``DefaultGenome.distance`` (S16) for every pair
(representative, genome) at once (docs/neat_engine.md, sections 1 S16 and 3.3).

Why an alignment through the representatives' key set: speciation compares a few representatives (tens)
with the whole population. The keys of all representatives are collected into one sorted set ``U``
(``unique``); every genome gene is located in ``U`` with one ``searchsorted`` (independent of the
representative), and a dense ``[R, |U|]`` table says which slot of representative ``r`` holds key ``u``.
Matching gene ``j`` of genome ``p`` against representative ``r`` is then a gather ``[R, P, W]``, the pairwise
work itself, with no loop over representatives or genomes (representatives are processed in chunks only to
bound memory).

Float semantics: every per-gene term is computed in ``float64`` with neat's own order of operations
(``((|db| + |dr|) + |dtc| + [act!=] + [agg!=]) * cw`` for nodes, ``(|dw| + [en!=]) * cw`` for connections,
``|a - b|`` is symmetric in IEEE arithmetic, so the direction of the comparison does not matter); only the
order of the sum over matched genes differs from neat's dict order. Values are therefore equal to neat's bit
for bit when the terms are dyadic (the sums are then exact in any order) and within a few ulp otherwise.
"""
from __future__ import annotations

import torch

from evohyper.families.neat.config import NEATConfig
from evohyper.families.neat.genome import GenomeBatch

Tensor = torch.Tensor

#: elements of one ``[R_chunk, P, W]`` temporary (float64: 32 MB); bounds the memory of a call
CHUNK_ELEMENTS = 1 << 22


def distances(reps: GenomeBatch, genomes: GenomeBatch, cfg: NEATConfig) -> Tensor:
    """``[R, P]`` float64: ``d[r, p]`` = neat's ``reps[r].distance(genomes[p])`` (S16)."""
    cw = float(cfg.compatibility_weight_coefficient)
    cd = float(cfg.compatibility_disjoint_coefficient)
    device = genomes.device
    reps = reps.to(device)
    R, P = len(reps), len(genomes)
    out = torch.zeros(R, P, dtype=torch.float64, device=device)
    if R == 0 or P == 0:
        return out
    f64 = torch.float64
    node = _Aligned(reps.node_id.to(torch.int64), reps.node_live, genomes.node_id.to(torch.int64),
                    genomes.node_live)
    node_rep = {name: node.dense(getattr(reps, name).to(f64 if name in _NODE_FLOATS else torch.int64),
                                 reps.node_live) for name in _NODE_ATTRS}
    node_gen = {name: getattr(genomes, name).to(f64 if name in _NODE_FLOATS else torch.int64)
                for name in _NODE_ATTRS}
    conn = _Aligned(reps.conn_key, reps.conn_live, genomes.conn_key, genomes.conn_live)
    conn_rep = {"weight": conn.dense(reps.weight.to(f64), reps.conn_live),
                "enabled": conn.dense(reps.enabled, reps.conn_live)}
    conn_gen = {"weight": genomes.weight.to(f64), "enabled": genomes.enabled}
    width = max(1, genomes.node_width + genomes.conn_width)
    step = max(1, CHUNK_ELEMENTS // max(1, P * width))
    n_gen, c_gen = genomes.n_nodes.to(torch.int64), genomes.n_conns.to(torch.int64)
    n_rep, c_rep = reps.n_nodes.to(torch.int64), reps.n_conns.to(torch.int64)
    for lo in range(0, R, step):
        rows = slice(lo, min(R, lo + step))
        # nodes: neat's DefaultNodeGene.distance, term by term in its order of operations
        matched = node.take(node.present, rows)  # [r, P, N]
        rep = {k: node.take(v, rows) for k, v in node_rep.items()}
        term = (rep["bias"] - node_gen["bias"]).abs() + (rep["response"] - node_gen["response"]).abs()
        term = term + (rep["time_constant"] - node_gen["time_constant"]).abs()
        term = term + (rep["activation"] != node_gen["activation"]).to(f64)
        term = term + (rep["aggregation"] != node_gen["aggregation"]).to(f64)
        out[rows] = _component(term * cw, matched, n_rep[rows], n_gen, cd)
        # connections: DefaultConnectionGene.distance, homologous by key
        matched = conn.take(conn.present, rows)
        term = (conn.take(conn_rep["weight"], rows) - conn_gen["weight"]).abs()
        term = term + (conn.take(conn_rep["enabled"], rows) != conn_gen["enabled"]).to(f64)
        out[rows] = out[rows] + _component(term * cw, matched, c_rep[rows], c_gen, cd)
    return out


_NODE_FLOATS = ("bias", "response", "time_constant")
_NODE_ATTRS = (*_NODE_FLOATS, "activation", "aggregation")


class _Aligned:
    """Genome genes located among the representatives' keys: ``u [P, W]`` is the index of each genome gene's
    key in the sorted union of the representatives' live keys (``U`` = in no representative), and
    ``dense(values)`` lays a representative attribute out by that index, ``[R, U + 1]`` (column ``U`` and
    keys a representative lacks hold 0 / False; ``present`` says which are real)."""

    def __init__(self, rep_keys: Tensor, rep_live: Tensor, keys: Tensor, live: Tensor):
        union = torch.unique(rep_keys[rep_live])  # sorted
        self.U = U = int(union.numel())
        if U == 0:
            self.u = torch.zeros_like(keys)
        else:
            pos = torch.searchsorted(union, keys).clamp(max=U - 1)
            self.u = torch.where(live & (union[pos] == keys), pos, torch.full_like(pos, U))
        r, s = rep_live.nonzero(as_tuple=True)
        self._rep_live = rep_live
        self._at = (r, torch.searchsorted(union, rep_keys[r, s]) if U else s)
        self.present = self.dense(torch.ones_like(rep_live), rep_live)

    def dense(self, values: Tensor, rep_live: Tensor) -> Tensor:
        """``[R, U + 1]``: the representatives' ``values [R, W]`` by key index (0 / False where absent)."""
        out = torch.zeros((values.shape[0], self.U + 1), dtype=values.dtype, device=values.device)
        out[self._at] = values[rep_live]
        return out

    def take(self, dense: Tensor, rows: slice) -> Tensor:
        """``dense[rows]`` read at every genome gene: ``[r, P, W]``."""
        return dense[rows][:, self.u]


def _component(term: Tensor, matched: Tensor, n_rep: Tensor, n_gen: Tensor, cd: float) -> Tensor:
    """``(sum of matched terms + cd * disjoint) / max(n1, n2)``, 0 where both genomes have no genes."""
    total = torch.where(matched, term, torch.zeros_like(term)).sum(dim=2)
    n_match = matched.sum(dim=2)
    disjoint = n_rep[:, None] + n_gen[None, :] - 2 * n_match
    most = torch.maximum(n_rep[:, None], n_gen[None, :])
    value = (total + cd * disjoint.to(torch.float64)) / most.clamp(min=1).to(torch.float64)
    return torch.where(most > 0, value, torch.zeros_like(value))
