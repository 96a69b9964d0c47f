"""``reports/ghn_nas.md``: does a graph hypernetwork rank cells like training does, and does search with it pay?

1. Train a GHN on cells sampled from the space (digits train split).
2. Over ``n_corr`` cells sampled with a separate seed: validation accuracy with GHN-predicted weights vs
   validation accuracy after training from scratch (``seeds_per_cell`` He-initialised copies, averaged);
   Kendall's tau and Spearman's rho (scipy).
3. Search: regularized evolution and random search with GHN fitness, ``search_evals`` cells each, top-``k``
   retrained from scratch; against the best of ``k`` randomly sampled cells trained from scratch (same
   number of trainings), each over ``search_seeds``. Compute = evaluations and seconds.
4. Pictures: the best cells found (networkx drawings), and the GHN-vs-trained scatter.
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from evohyper.nas.ghn import GHN
from evohyper.nas.search import random_search, regularized_evolution
from evohyper.nas.space import CellSpace, graph_to_json
from evohyper.nas.training import digits_tensors, ghn_accuracy, train_from_scratch, train_ghn


@dataclass
class GhnNasSettings:
    nodes: int = 6
    channels: int = 8
    hidden: int = 32
    ghn_steps: int = 800
    graphs_per_step: int = 8
    ghn_lr: float = 3e-3
    n_corr: int = 60
    scratch_steps: int = 150
    seeds_per_cell: int = 3
    search_evals: int = 300
    top_k: int = 5
    search_seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    ghn_seed: int = 0
    corr_seed: int = 1000
    threads: int = 1   # torch threads: the tiny convs here run faster on one thread than on two shared ones


def _scratch(cells, s: GhnNasSettings, seed: int = 0) -> tuple[list[dict], float]:
    start = time.perf_counter()
    res = [train_from_scratch(g, s.channels, steps=s.scratch_steps, seeds=s.seeds_per_cell, seed=seed) for g in cells]
    return res, time.perf_counter() - start


def run(s: GhnNasSettings) -> dict:
    saved = torch.get_num_threads()
    torch.set_num_threads(s.threads)
    try:
        return _run(s)
    finally:
        torch.set_num_threads(saved)


def _run(s: GhnNasSettings) -> dict:
    from scipy.stats import kendalltau, spearmanr

    space = CellSpace(nodes=s.nodes, channels=s.channels)
    xv, yv = digits_tensors()["val"]
    ghn = GHN(channels=s.channels, nodes=s.nodes, hidden=s.hidden, seed=s.ghn_seed)
    t0 = time.perf_counter()
    losses = train_ghn(ghn, space, steps=s.ghn_steps, graphs_per_step=s.graphs_per_step, lr=s.ghn_lr, seed=s.ghn_seed)
    ghn_seconds = time.perf_counter() - t0
    ghn.eval()

    def fitness(graphs):
        return ghn_accuracy(ghn, graphs, xv, yv)

    rng = random.Random(s.corr_seed)
    cells = [space.sample(rng) for _ in range(s.n_corr)]
    t0 = time.perf_counter()
    pred = fitness(cells).tolist()
    pred_seconds = time.perf_counter() - t0
    trained, scratch_seconds = _scratch(cells, s)
    val = [r["val_acc"] for r in trained]
    tau, tau_p = kendalltau(pred, val)
    rho, rho_p = spearmanr(pred, val)
    out = {"settings": asdict(s), "ghn_seconds": ghn_seconds, "ghn_loss_first": float(np.mean(losses[:20])),
           "ghn_loss_last": float(np.mean(losses[-20:])),
           "corr": {"pred": pred, "val": val, "test": [r["test_acc"] for r in trained], "tau": float(tau),
                    "tau_p": float(tau_p), "rho": float(rho), "rho_p": float(rho_p),
                    "pred_seconds": pred_seconds, "scratch_seconds": scratch_seconds,
                    "cells": [graph_to_json(g) for g in cells]},
           "search": []}
    for seed in s.search_seeds:
        row = {"seed": seed}
        for name, fn in (("evolution", lambda: regularized_evolution(space, fitness, s.search_evals, seed=seed)),
                         ("ghn_random", lambda: random_search(space, fitness, s.search_evals, seed=seed))):
            res = fn()
            top = res.top(s.top_k)
            tr, secs = _scratch([g for g, _ in top], s, seed=seed)
            best = max(range(len(tr)), key=lambda i: tr[i]["val_acc"])
            row[name] = {"evaluations": len(res.graphs), "search_seconds": res.seconds, "trainings": len(tr),
                         "train_seconds": secs, "best_val": tr[best]["val_acc"], "best_test": tr[best]["test_acc"],
                         "best_pred": top[best][1], "best_cell": graph_to_json(top[best][0])}
        rrng = random.Random(50_000 + seed)
        rand = [space.sample(rrng) for _ in range(s.top_k)]
        tr, secs = _scratch(rand, s, seed=seed)
        best = max(range(len(tr)), key=lambda i: tr[i]["val_acc"])
        row["random_trained"] = {"evaluations": 0, "search_seconds": 0.0, "trainings": len(tr), "train_seconds": secs,
                                 "best_val": tr[best]["val_acc"], "best_test": tr[best]["test_acc"],
                                 "best_cell": graph_to_json(rand[best])}
        out["search"].append(row)
    return out
