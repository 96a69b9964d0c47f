"""Materialise and run cells from a graph plus weight tensors, batched over individuals per architecture.

``node_shapes(g, channels, in_channels, n_out)`` lists the tensors each node needs:

* ``stem``: ``[C, C_img, 3, 3]``; ``conv3x3``/``conv5x5``: ``[C, C, k, k]``; ``dwconv3x3``: ``[C, 1, 3, 3]``;
* ``head``: ``w`` ``[n_out, 4C]`` and ``b`` ``[n_out]``; pools and identity have no weights.

``CellGroup(g, params)`` holds G individuals that share the architecture ``g`` (params ``[G, ...]`` per
tensor) and runs all of them in one pass: the activations of the G nets are stacked on the channel axis
(``[B, G*C, H, W]``) and every conv is one grouped convolution (``groups=G``, depthwise ``groups=G*C``).
Semantics: each op node sums its inputs, convs see ``relu(sum)`` (ReLU-conv, no bias, no batch norm), pools
(3x3, stride 1, padding 1) and identity see the sum; the head computes ``relu(sum)``, average-pools it
to 2x2 (channel-major features), then ``w @ . + b``. With every weight zero the stem outputs zeros, so
every node does, and the logits equal the head bias for every input.

``evaluate_graphs`` groups a mixed population by exact canonical encoding (one pass per architecture).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import networkx as nx
import torch
import torch.nn.functional as F

from evohyper.families.nas.space import encoding

POOL = 2  # the head average-pools to POOL x POOL (keeps coarse position, which digits needs)
KERNEL = {"stem": 3, "conv3x3": 3, "conv5x5": 5, "dwconv3x3": 3}


def node_shapes(g: nx.DiGraph, channels: int, in_channels: int = 1, n_out: int = 10) -> dict[str, tuple[int, ...]]:
    """``{"<node>" | "<node>.b": shape}`` for the tensors a canonical-form cell needs."""
    out: dict[str, tuple[int, ...]] = {}
    for v in range(len(g)):
        op = g.nodes[v]["op"]
        if op == "stem":
            out[str(v)] = (channels, in_channels, 3, 3)
        elif op in ("conv3x3", "conv5x5"):
            out[str(v)] = (channels, channels, KERNEL[op], KERNEL[op])
        elif op == "dwconv3x3":
            out[str(v)] = (channels, 1, 3, 3)
        elif op == "head":
            out[str(v)] = (n_out, channels * POOL * POOL)
            out[f"{v}.b"] = (n_out,)
    return out


class CellGroup:
    """G individuals with one architecture; ``forward(x [B, C_img, H, W]) -> logits [G, B, n_out]``."""

    def __init__(self, g: nx.DiGraph, params: dict[str, torch.Tensor]) -> None:
        self.g = g
        self.params = params
        self.order = list(range(len(g)))
        self.preds = {v: sorted(g.predecessors(v)) for v in self.order}
        stem_w = params["0"]
        self.G, self.C = stem_w.shape[0], stem_w.shape[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        G, C = self.G, self.C
        outs: dict[int, torch.Tensor] = {}
        for v in self.order:
            op = self.g.nodes[v]["op"]
            if op == "stem":
                w = self.params[str(v)]  # [G, C, C_img, 3, 3]
                outs[v] = F.conv2d(x, w.reshape(G * C, *w.shape[2:]), padding=1)  # [B, G*C, H, W]
                continue
            s = outs[self.preds[v][0]]
            for u in self.preds[v][1:]:
                s = s + outs[u]
            if op in ("conv3x3", "conv5x5"):
                w = self.params[str(v)]
                k = w.shape[-1]
                outs[v] = F.conv2d(F.relu(s), w.reshape(G * C, C, k, k), padding=k // 2, groups=G)
            elif op == "dwconv3x3":
                w = self.params[str(v)]
                outs[v] = F.conv2d(F.relu(s), w.reshape(G * C, 1, 3, 3), padding=1, groups=G * C)
            elif op == "maxpool3x3":
                outs[v] = F.max_pool2d(s, 3, stride=1, padding=1)
            elif op == "avgpool3x3":
                outs[v] = F.avg_pool2d(s, 3, stride=1, padding=1, count_include_pad=False)
            elif op == "identity":
                outs[v] = s
            elif op == "head":
                feat = F.adaptive_avg_pool2d(F.relu(s), POOL)  # [B, G*C, 2, 2]
                feat = feat.reshape(-1, G, C * POOL * POOL)  # [B, G, 4C]
                w, b = self.params[str(v)], self.params[f"{v}.b"]  # [G, n_out, 4C], [G, n_out]
                return torch.einsum("bgc,goc->gbo", feat, w) + b[:, None, :]
            else:
                raise ValueError(f"unknown op {op!r} at node {v}")
        raise ValueError("cell has no head node")


def group_indices(graphs: list[nx.DiGraph]) -> dict[str, list[int]]:
    """Population indices grouped by exact canonical encoding (insertion order = first appearance)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(graphs):
        groups[encoding(g)].append(i)
    return dict(groups)


def evaluate_graphs(
    graphs: list[nx.DiGraph],
    params: Callable[[list[int]], dict[str, torch.Tensor]] | list[dict[str, torch.Tensor]],
    x: torch.Tensor,
    y: torch.Tensor,
) -> torch.Tensor:
    """Accuracy ``[P]`` of each individual on ``(x, y)``; one batched pass per distinct architecture.

    ``params(idx)`` returns the stacked tensors of individuals ``idx`` (all one architecture)."""
    acc = torch.empty(len(graphs))
    for idx in group_indices(graphs).values():
        p = params(idx)
        with torch.no_grad():
            logits = CellGroup(graphs[idx[0]], p).forward(x)
        acc[idx] = (logits.argmax(-1) == y).float().mean(-1)
    return acc
