"""Training for NAS: the GHN over architectures sampled from a space, and cells from scratch (the check).

Data: the digits task's fixed split (``evohyper_tasks.digits.load_split``) as ``[n, 1, 8, 8]`` images.
Minibatches are a function of (seed, step) only. GHN training: each step samples ``graphs_per_step``
cells, predicts their weights, runs each on the step's minibatch and backpropagates the mean
cross-entropy into the GHN's parameters (Adam). From-scratch training: He-initialised weights
(``init_params``) trained with Adam; several seeds of one architecture train as one batched group.
"""
from __future__ import annotations

import math
import random

import networkx as nx
import torch
import torch.nn.functional as F

from evohyper.nas.executor import CellGroup, evaluate_graphs, group_indices, node_shapes
from evohyper.nas.ghn import GHN
from evohyper.nas.space import CellSpace


def digits_tensors() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    from evohyper_tasks.digits import load_split

    return {k: (torch.from_numpy(x.copy()).view(-1, 1, 8, 8), torch.from_numpy(y.copy()))
            for k, (x, y) in load_split().items()}


def _batch(n: int, size: int, seed: int, step: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
    return torch.randperm(n, generator=gen)[:size]


def cell_loss(g: nx.DiGraph, params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the G individuals in ``params`` (stacked ``[G, ...]``)."""
    logits = CellGroup(g, params).forward(x)                                  # [G, B, n_out]
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.repeat(logits.shape[0]))


def ghn_loss(ghn: GHN, graphs: list[nx.DiGraph], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean task loss of the GHN's predicted weights over ``graphs`` (one pass per architecture)."""
    groups = group_indices(graphs)
    h = ghn.embeddings(graphs)                                               # one GNN pass for all cells
    total = x.new_zeros(())
    for idx in groups.values():
        params = ghn.weights(graphs[idx[0]], h[idx])
        total = total + cell_loss(graphs[idx[0]], params, x, y) * len(idx)
    return total / len(graphs)


def ghn_accuracy(ghn: GHN, graphs: list[nx.DiGraph], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Accuracy ``[P]`` of each cell with GHN-predicted weights."""
    with torch.no_grad():
        h = ghn.embeddings(graphs)
        return evaluate_graphs(graphs, lambda idx: ghn.weights(graphs[idx[0]], h[idx]), x, y)


def train_ghn(ghn: GHN, space: CellSpace, steps: int = 300, graphs_per_step: int = 8, batch: int = 64,
              lr: float = 3e-3, seed: int = 0) -> list[float]:
    """Train ``ghn`` in place on cells sampled from ``space``; returns the loss of every step."""
    if steps < 0 or graphs_per_step < 1 or batch < 1:
        raise ValueError(f"train_ghn: steps >= 0, graphs_per_step >= 1 and batch >= 1 required, got "
                         f"{steps}, {graphs_per_step}, {batch}")
    x, y = digits_tensors()["train"]
    rng = random.Random(seed)
    opt = torch.optim.Adam(ghn.parameters(), lr=lr)
    losses = []
    for step in range(steps):
        graphs = [space.sample(rng) for _ in range(graphs_per_step)]
        idx = _batch(len(y), batch, seed, step)
        loss = ghn_loss(ghn, graphs, x[idx], y[idx])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(ghn.parameters(), 5.0)
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def init_params(g: nx.DiGraph, channels: int, n: int = 1, seed: int = 0) -> dict[str, torch.Tensor]:
    """He-normal weights (fan-in, gain 2 for convs, 1 for the classifier), zero bias, ``[n, ...]``."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for name, shape in node_shapes(g, channels).items():
        if name.endswith(".b"):
            out[name] = torch.zeros(n, *shape)
            continue
        fan_in = math.prod(shape[1:])
        gain = 1.0 if len(shape) == 2 else 2.0
        out[name] = torch.randn(n, *shape, generator=gen) * math.sqrt(gain / fan_in)
    return out


def train_from_scratch(g: nx.DiGraph, channels: int, steps: int = 200, batch: int = 64, lr: float = 1e-2,
                       seeds: int = 1, seed: int = 0) -> dict[str, float]:
    """Train ``seeds`` independent copies of cell ``g`` (one batched group); mean val/test accuracy."""
    data = digits_tensors()
    x, y = data["train"]
    params = {k: v.requires_grad_() for k, v in init_params(g, channels, seeds, seed).items()}
    opt = torch.optim.Adam(params.values(), lr=lr)
    for step in range(steps):
        idx = _batch(len(y), batch, seed, step)
        loss = cell_loss(g, params, x[idx], y[idx]) * seeds    # each copy gets its own mean-loss gradient
        opt.zero_grad()
        loss.backward()
        opt.step()
    res = {}
    with torch.no_grad():
        for split in ("val", "test"):
            xs, ys = data[split]
            logits = CellGroup(g, params).forward(xs)
            res[f"{split}_acc"] = float((logits.argmax(-1) == ys).float().mean())
    return res
