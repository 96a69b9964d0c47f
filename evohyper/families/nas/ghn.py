"""A graph hypernetwork (GHN-2 style) that predicts every node's weights for a batch of cells.

1. **Node embeddings** from the op type (one-hot over stem, ``OPS``, head) and the node's weight shape
   (``C_out``, ``C_in``, ``k`` as normalised features), through a linear layer.
2. **Gated message passing forward and backward along the DAG** (GHN-2, Knyazev et al. 2021): nodes
   are visited in topological order; node v receives ``m_v = sum_{u -> v} MLP(h_u)`` and updates
   ``h_v = GRUCell(m_v, h_v)``; then the same in reverse order over successors (a second MLP). All cells
   of a batch have the same node count and are in canonical form (inputs precede a node), so a step
   handles node position i of every cell at once: ``m = A[:, i, :] @ MLP(h)``.
3. **Shape-aware head**: a linear decoder emits a ``[C, C, 5, 5]`` kernel block per node, sliced to the
   node's shape (conv3x3/stem/dwconv take the centre 3x3, depthwise/stem the first input channel),
   and a separate linear decoder emits the classifier ``[n_out, 4C]`` and bias, as GHN-2 does.
4. **GHN-2 normalisation** of predicted weights: fan-in scaling ``w * sqrt(beta / fan_in)`` with
   beta = 2 for convs followed by ReLU-consumers and beta = 1 for the classifier, so predicted nets start
   at He-like scale whatever the architecture (GHN-2's operation-dependent normalisation).
5. Optional, from GHN-2: **virtual edges** (``virtual_edges = s >= 2``): besides its direct inputs, node v
   also receives messages from every node u with a directed shortest path u -> v of length 2..s (and,
   in the backward pass, from such descendants), through a separate MLP and weighted 1/distance:
   ``m_v = sum_{u -> v} MLP(h_u) + sum_{2 <= d(u, v) <= s} MLP_sp(h_u) / d(u, v)``. ``passes`` repeats
   the forward + backward sweep (multiple message-passing rounds, one set of weights).

``predict(graphs)`` returns ``{"<node>": Tensor[P, ...]}`` rows aligned with ``graphs`` per group.
"""
from __future__ import annotations

import math

import networkx as nx
import torch
from torch import nn

from evohyper.families.nas.executor import POOL, node_shapes
from evohyper.families.nas.space import OPS

ALL_OPS = ("stem",) + OPS + ("head",)


class GHN(nn.Module):
    """Options: ``channels`` (the cells' width), ``nodes`` (cell size), ``hidden`` (embedding width),
    ``n_out`` (classes), ``in_channels`` (image channels), ``seed`` (parameter initialisation),
    ``virtual_edges`` (0 = off, else the longest shortest-path distance s >= 2 joined by a virtual edge;
    at most ``nodes - 1``), ``passes`` (forward + backward sweeps, 1..8). With the defaults (0, 1) the
    parameters and outputs are those of the GHN without these options (same seed, same numbers)."""

    def __init__(self, channels: int = 16, nodes: int = 6, hidden: int = 32, n_out: int = 10,
                 in_channels: int = 1, seed: int = 0, virtual_edges: int = 0, passes: int = 1) -> None:
        super().__init__()
        for name, val, lo in (("channels", channels, 1), ("nodes", nodes, 3), ("hidden", hidden, 1),
                              ("n_out", n_out, 2), ("in_channels", in_channels, 1)):
            if isinstance(val, bool) or not isinstance(val, int) or val < lo:
                raise ValueError(f"GHN: option {name!r} must be an integer >= {lo}, got {val!r}")
        if (isinstance(virtual_edges, bool) or not isinstance(virtual_edges, int)
                or not (virtual_edges == 0 or 2 <= virtual_edges <= nodes - 1)):
            raise ValueError(f"GHN: option 'virtual_edges' must be 0 (off) or an integer in 2..{nodes - 1} "
                             f"(nodes - 1), got {virtual_edges!r}")
        if isinstance(passes, bool) or not isinstance(passes, int) or not 1 <= passes <= 8:
            raise ValueError(f"GHN: option 'passes' must be an integer in 1..8, got {passes!r}")
        self.C, self.N, self.H, self.n_out, self.c_in = channels, nodes, hidden, n_out, in_channels
        self.virtual_edges, self.passes = virtual_edges, passes
        self.F = channels * POOL * POOL                                     # classifier features
        gen_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        self.embed = nn.Linear(len(ALL_OPS) + 3, hidden)
        self.msg_fw = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        self.msg_bw = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        self.gru = nn.GRUCell(hidden, hidden)
        self.ln = nn.LayerNorm(hidden)
        self.dec_conv = nn.Linear(hidden, channels * channels * 25)
        self.dec_cls = nn.Linear(hidden, n_out * self.F + n_out)
        if virtual_edges:   # created last, so the other parameters keep their values for a given seed
            self.msg_sp_fw = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
            self.msg_sp_bw = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        torch.random.set_rng_state(gen_state)

    # ------------------------------------------------------------------ graph tensors
    def encode(self, graphs: list[nx.DiGraph]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Node features ``[P, N, F]``, adjacency ``[P, N, N]`` (A[p, v, u] = 1 for u -> v), op ids ``[P, N]``."""
        P, N = len(graphs), self.N
        if any(len(g) != N for g in graphs):
            raise ValueError(f"GHN: every cell must have nodes={N}, got sizes {sorted({len(g) for g in graphs})}")
        op_id = torch.tensor([[ALL_OPS.index(g.nodes[v]["op"]) for v in range(N)] for g in graphs])
        adj = torch.zeros(P, N, N)
        src = [(p, v, u) for p, g in enumerate(graphs) for u, v in g.edges]
        if src:
            pi, vi, ui = torch.tensor(src).T
            adj[pi, vi, ui] = 1.0
        shape_tab = torch.tensor([self._shape_feat(op) for op in ALL_OPS])
        feats = torch.cat([nn.functional.one_hot(op_id, len(ALL_OPS)).float(), shape_tab[op_id]], -1)
        dev = self.embed.weight.device
        return feats.to(dev), adj.to(dev), op_id.to(dev)

    def _shape_feat(self, op: str) -> list[float]:
        c = self.C / 64
        return {"stem": [c, self.c_in / 64, 3 / 5], "conv3x3": [c, c, 3 / 5], "conv5x5": [c, c, 1.0],
                "dwconv3x3": [c, 1 / 64, 3 / 5], "head": [self.n_out / 64, self.F / 64, 0.0]}.get(op, [0.0, 0.0, 0.0])

    @staticmethod
    def virtual_adjacency(adj: torch.Tensor, s: int) -> torch.Tensor:
        """``V[p, v, u] = 1 / d`` where the directed shortest path u -> v has length 2 <= d <= s, else 0
        (``adj[p, v, u] = 1`` for an edge u -> v, as ``encode`` returns it)."""
        virt = torch.zeros_like(adj)
        seen = adj > 0
        reach = adj
        for d in range(2, s + 1):
            reach = (reach @ adj).clamp(max=1.0)                             # paths of length d
            new = (reach > 0) & ~seen
            virt = virt + new.float() / d
            seen = seen | new
        return virt

    def embeddings(self, graphs: list[nx.DiGraph]) -> torch.Tensor:
        feats, adj, _ = self.encode(graphs)
        virt = self.virtual_adjacency(adj, self.virtual_edges) if self.virtual_edges else None
        h = list(self.embed(feats).unbind(1))                                # N x [P, H]
        for _ in range(self.passes):
            for i in range(1, self.N):                                       # forward along the DAG
                prev = torch.stack(h[:i], 1)                                 # [P, i, H]
                m = torch.einsum("pu,puh->ph", adj[:, i, :i], self.msg_fw(prev))
                if virt is not None:
                    m = m + torch.einsum("pu,puh->ph", virt[:, i, :i], self.msg_sp_fw(prev))
                h[i] = self.gru(m, h[i])
            for i in reversed(range(self.N - 1)):                            # backward along the DAG
                nxt = torch.stack(h[i + 1:], 1)
                m = torch.einsum("pu,puh->ph", adj[:, i + 1:, i], self.msg_bw(nxt))
                if virt is not None:
                    m = m + torch.einsum("pu,puh->ph", virt[:, i + 1:, i], self.msg_sp_bw(nxt))
                h[i] = self.gru(m, h[i])
        return self.ln(torch.stack(h, 1))                                    # [P, N, H]

    # ------------------------------------------------------------------ weights
    def predict(self, graphs: list[nx.DiGraph]) -> list[dict[str, torch.Tensor]]:
        """Per cell, ``{"<node>": weights}`` with the shapes ``node_shapes`` lists (GHN-2-normalised)."""
        h = self.embeddings(graphs)
        return [self.weights(g, h[p]) for p, g in enumerate(graphs)]

    def predict_stacked(self, graphs: list[nx.DiGraph]) -> dict[str, torch.Tensor]:
        """Weights of cells that share one architecture, stacked ``[P, ...]`` (one decoder call per node)."""
        return self.weights(graphs[0], self.embeddings(graphs))

    def weights(self, g: nx.DiGraph, h: torch.Tensor) -> dict[str, torch.Tensor]:
        """Decode node embeddings ``h`` (``[N, H]``, one cell, or ``[P, N, H]``, P cells with g's
        architecture) into the weights ``node_shapes(g)`` lists; one decoder call per weighted node."""
        C, out = self.C, {}
        lead = h.shape[:-2]
        for name, shape in node_shapes(g, C, self.c_in, self.n_out).items():
            if name.endswith(".b"):
                continue
            v = int(name)
            op = g.nodes[v]["op"]
            if op == "head":
                raw = self.dec_cls(h[..., v, :])
                w = raw[..., : self.n_out * self.F].reshape(*lead, self.n_out, self.F) * math.sqrt(1.0 / self.F)
                out[name], out[f"{v}.b"] = w, raw[..., self.n_out * self.F:] * 0.1
                continue
            block = self.dec_conv(h[..., v, :]).reshape(*lead, C, C, 5, 5)
            k = shape[-1]
            lo = (5 - k) // 2
            w = block[..., : shape[1], lo: lo + k, lo: lo + k]
            fan_in = shape[1] * k * k
            out[name] = w * math.sqrt(2.0 / fan_in)
        return out
