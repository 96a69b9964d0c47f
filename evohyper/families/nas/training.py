"""Training cells from scratch: the ground truth a GHN's ranking is checked against.

Data: the digits task's fixed split (``evohyper_tasks.digits.load_split``) as ``[n, 1, 8, 8]`` images.
Minibatches are a function of (seed, step) only. He-initialised weights (``init_params``) trained with
Adam; several seeds of one architecture train as one batched group. (The GHN itself is trained by the
engine: the ``gradient`` strategy on the ``ghn`` decoder, ``search_spaces/ghn_train_digits.yaml``.)
"""
from __future__ import annotations

import math

import networkx as nx
import torch
import torch.nn.functional as F

from evohyper.families.nas.executor import CellGroup, node_shapes


def _batch(n: int, size: int, seed: int, step: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
    return torch.randperm(n, generator=gen)[:size]


def cell_loss(g: nx.DiGraph, params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the G individuals in ``params`` (stacked ``[G, ...]``)."""
    logits = CellGroup(g, params).forward(x)                                  # [G, B, n_out]
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.repeat(logits.shape[0]))


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


def train_from_scratch(g: nx.DiGraph, channels: int, *, data: dict[str, tuple[torch.Tensor, torch.Tensor]],
                       steps: int = 200, batch: int = 64, lr: float = 1e-2, seeds: int = 1,
                       seed: int = 0) -> dict[str, float]:
    """Train ``seeds`` independent copies of cell ``g`` (one batched group); mean val/test accuracy.

    ``data``: ``{"train"|"val"|"test": (images [n, C, H, W], labels [n])}``, e.g. the digits task's
    ``DigitsTask.image_split()``."""
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
