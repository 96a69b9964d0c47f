"""``reports/ghn_nas.md``: does a graph hypernetwork rank cells like training does, and does search with it pay?

Everything runs through the engine with the shipped configs (local backend):

1. ``search_spaces/ghn_train_digits.yaml``: the ``gradient`` strategy trains the ``ghn`` decoder; its
   ``best/decoder_weights.pt`` is copied to ``search_spaces/weights/ghn_digits.pt``.
2. Over ``n_corr`` cells sampled with ``corr_seed``: the digits task's validation accuracy and
   cross-entropy with GHN-predicted weights (one ``decode`` + ``evaluate``) vs validation accuracy after
   training from scratch (``seeds_per_cell`` He-initialised copies, averaged); Kendall's tau and
   Spearman's rho (scipy).
3. ``nas_regularized_evolution_digits.yaml`` and ``nas_random_digits.yaml`` with the trained GHN,
   ``search_evals`` cells each, top-``k`` distinct cells retrained from scratch; against the best of ``k``
   random cells trained from scratch (same number of trainings), over ``search_seeds``. Compute =
   evaluations and seconds (the engine's counters).
4. Pictures: the best cells found (networkx drawings) and the GHN-vs-trained scatter.
"""
from __future__ import annotations

import random
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from evohyper.config import load_config
from evohyper.engine.evaluation import Evaluator
from evohyper.engine.runner import build_search
from evohyper.engine.runner import run as run_search
from evohyper.families.nas.finetune import finetune
from evohyper.families.nas.phenotypes import CellArchitecture, CellPhenotypes
from evohyper.families.nas.space import encoding, graph_from_json, graph_to_json
from evohyper.families.nas.training import init_params, train_from_scratch
from evohyper_tasks.digits import image_split

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class GhnNasSettings:
    train_config: str = "search_spaces/ghn_train_digits.yaml"
    evolution_config: str = "search_spaces/nas_regularized_evolution_digits.yaml"
    random_config: str = "search_spaces/nas_random_digits.yaml"
    weights_out: str = "search_spaces/weights/ghn_digits.pt"
    n_corr: int = 60
    scratch_steps: int = 150
    seeds_per_cell: int = 3
    ref_repeats: int = 2     # correlation set: independent from-scratch runs (training seeds 0..r-1) averaged
    search_evals: int = 300
    top_k: int = 5
    search_seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    corr_seed: int = 1000
    finetune_steps: list[int] = field(default_factory=lambda: [20, 50])   # exploratory: see the report
    finetune_lr: float = 1e-3
    overrides: list[str] = field(default_factory=list)         # `--set` overrides for all three configs
    train_overrides: list[str] = field(default_factory=list)   # e.g. ["budget.generations=2"] for a smoke run
    search_overrides: dict[str, list[str]] = field(default_factory=dict)  # per method: evolution / ghn_random
    selection: str | None = "experiments/ghn_selection.json"   # variants compared on other cells (disclosed)
    threads: int = 1   # torch threads: the tiny convs here run faster on one thread than on two shared ones


class _Recorder:
    """Wraps a backend to keep every evaluated cell and its fitness (the report needs the top-k)."""

    def __init__(self, inner: Any):
        self.inner, self.cells, self.fitness = inner, [], []

    def evaluate(self, genotypes: Any, seed: int, state: Any = None) -> Any:
        result = self.inner.evaluate(genotypes, seed, state)
        self.cells += list(genotypes)
        self.fitness += [float(f) for f in result.fitness]
        return result

    def close(self) -> None:
        self.inner.close()


def _top(cells: list[dict], fitness: list[float], k: int) -> list[tuple[dict, float]]:
    seen, out = set(), []
    for i in sorted(range(len(cells)), key=lambda i: -fitness[i]):
        key = encoding(graph_from_json(cells[i]))
        if key not in seen:
            seen.add(key)
            out.append((cells[i], fitness[i]))
        if len(out) == k:
            break
    return out


def _scratch(cells: list, channels: int, s: GhnNasSettings, seed: int = 0) -> tuple[list[dict], float]:
    start = time.perf_counter()
    data = image_split()
    res = [
        train_from_scratch(
            graph_from_json(c) if isinstance(c, dict) else c,
            channels,
            data=data,
            steps=s.scratch_steps,
            seeds=s.seeds_per_cell,
            seed=seed,
        )
        for c in cells
    ]
    return res, time.perf_counter() - start


def run(s: GhnNasSettings) -> dict:
    saved = torch.get_num_threads()
    torch.set_num_threads(s.threads)
    try:
        return _run(s)
    finally:
        torch.set_num_threads(saved)


def _train_ghn(s: GhnNasSettings, tmp: Path) -> dict:
    config = load_config(ROOT / s.train_config, [f"output.runs_dir={tmp}", *s.overrides, *s.train_overrides])
    result, run_dir = run_search(config)
    weights = ROOT / s.weights_out
    weights.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run_dir / "best" / "decoder_weights.pt", weights)
    import csv

    rows = list(csv.DictReader((run_dir / "metrics.csv").open()))
    return {
        "config": s.train_config,
        "overrides": [*s.overrides, *s.train_overrides],
        "seed": config.seed,
        "decoder": config.decoder,
        "strategy": config.strategy,
        "generations": result.generations,
        "steps": result.generations * config.strategy.get("steps_per_generation", 10),
        "seconds": result.counters.seconds,
        "sample_forwards": result.counters.sample_forwards,
        "loss": [float(r["train_task_loss_of_best"]) for r in rows],
        "score_accuracy": [float(r["best"]) for r in rows],
    }


def _finetune_rows(decoder: Any, task: Any, cells: list, val: list[float], s: GhnNasSettings) -> list[dict]:
    """Tau after k training steps from GHN-predicted weights (lr ``finetune_lr``) and, for scale, from
    He-initialised weights (lr 1e-2, as from scratch): does the GHN's start beat k steps from nothing?"""
    from scipy.stats import kendalltau

    with torch.no_grad():
        ghn = decoder.decode(cells)
    he = CellPhenotypes(
        ghn.spec,
        ghn.in_shape,
        [
            CellArchitecture(a.graph, a.members, init_params(a.graph, decoder.space.channels, 1, seed=7))
            for a in ghn.architectures
        ],
    )
    rows = []
    for k in s.finetune_steps:
        for start, phen, lr in (("ghn", ghn, s.finetune_lr), ("he", he, 1e-2)):
            t0 = time.perf_counter()
            tuned = finetune(phen, task, k, lr=lr, seed=123)
            with torch.no_grad():
                acc = task.evaluate(tuned, 0).metrics["val_accuracy"].tolist()
            rows.append(
                {
                    "start": start,
                    "steps": k,
                    "lr": lr,
                    "tau": float(kendalltau(acc, val)[0]),
                    "seconds": time.perf_counter() - t0,
                }
            )
    return rows


def _run(s: GhnNasSettings) -> dict:
    from scipy.stats import kendalltau, spearmanr

    with tempfile.TemporaryDirectory() as tmp:
        ghn = _train_ghn(s, Path(tmp))
    weights = [*s.overrides, "decoder.weights=" + str(ROOT / s.weights_out)]
    evo_config = load_config(ROOT / s.evolution_config, weights)
    evaluator = Evaluator(evo_config.spec(), components=evo_config.components())
    decoder, task = evaluator.decoder, evaluator.task
    channels = decoder.space.channels
    rng = random.Random(s.corr_seed)
    cells = [decoder.space.sample(rng) for _ in range(s.n_corr)]
    t0 = time.perf_counter()
    with torch.no_grad():
        pred = task.evaluate(decoder.decode(cells), 0).metrics
    pred_seconds = time.perf_counter() - t0
    pred_acc, pred_ce = pred["val_accuracy"].tolist(), pred["val_loss"].tolist()
    runs, scratch_seconds = [], 0.0
    for rep in range(s.ref_repeats):  # independent reference runs (training seed = rep)
        trained, secs = _scratch(cells, channels, s, seed=rep)
        runs.append(trained)
        scratch_seconds += secs
    val = [sum(r[i]["val_acc"] for r in runs) / len(runs) for i in range(len(cells))]
    corr: dict[str, Any] = {
        "pred": pred_acc,
        "pred_loss": pred_ce,
        "val": val,
        "test": [sum(r[i]["test_acc"] for r in runs) / len(runs) for i in range(len(cells))],
        "val_runs": [[r[i]["val_acc"] for i in range(len(cells))] for r in runs],
        "pred_seconds": pred_seconds,
        "scratch_seconds": scratch_seconds,
        "cells": [graph_to_json(g) for g in cells],
    }
    # the reference's own noise: tau between its independent runs, and the GHN against each single run
    corr["tau_runs"] = [float(kendalltau(pred_acc, v)[0]) for v in corr["val_runs"]]
    if len(runs) > 1:
        corr["tau_ref_vs_ref"] = float(kendalltau(corr["val_runs"][0], corr["val_runs"][1])[0])
    for name, x in (("", pred_acc), ("_loss", [-v for v in pred_ce])):
        tau, tau_p = kendalltau(x, val)
        rho, rho_p = spearmanr(x, val)
        corr.update(
            {
                f"tau{name}": float(tau),
                f"tau{name}_p": float(tau_p),
                f"rho{name}": float(rho),
                f"rho{name}_p": float(rho_p),
            }
        )
    corr["finetune"] = _finetune_rows(decoder, task, cells, val, s)
    import json

    sel_path = ROOT / s.selection if s.selection else None
    out = {
        "settings": asdict(s),
        "ghn": ghn,
        "corr": corr,
        "search": [],
        "selection": json.loads(sel_path.read_text()) if sel_path and sel_path.is_file() else None,
        "search_fitness": evo_config.task.get("fitness", "neg_cross_entropy"),
    }
    for seed in s.search_seeds:
        row: dict[str, Any] = {"seed": seed}
        for name, path in (("evolution", s.evolution_config), ("ghn_random", s.random_config)):
            config = load_config(
                ROOT / path,
                [*weights, f"seed={seed}", f"budget.evaluations={s.search_evals}", *s.search_overrides.get(name, [])],
            )
            search = build_search(config, None)
            search.backend = recorder = _Recorder(search.backend)
            result = search.run()
            top = _top(recorder.cells, recorder.fitness, s.top_k)
            tr, secs = _scratch([c for c, _ in top], channels, s, seed=seed)
            best = max(range(len(tr)), key=lambda i: tr[i]["val_acc"])
            row[name] = {
                "config": path,
                "strategy": config.strategy,
                "evaluations": result.counters.evaluations,
                "generations": result.generations,
                "search_seconds": result.counters.seconds,
                "trainings": len(tr),
                "train_seconds": secs,
                "best_val": tr[best]["val_acc"],
                "best_test": tr[best]["test_acc"],
                "best_pred": top[best][1],
                "best_cell": top[best][0],
            }
        rrng = random.Random(50_000 + seed)
        rand = [decoder.space.sample(rrng) for _ in range(s.top_k)]
        tr, secs = _scratch(rand, channels, s, seed=seed)
        best = max(range(len(tr)), key=lambda i: tr[i]["val_acc"])
        row["random_trained"] = {
            "evaluations": 0,
            "search_seconds": 0.0,
            "trainings": len(tr),
            "train_seconds": secs,
            "best_val": tr[best]["val_acc"],
            "best_test": tr[best]["test_acc"],
            "best_cell": graph_to_json(rand[best]),
        }
        out["search"].append(row)
    return out
