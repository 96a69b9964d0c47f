"""Report `circuit_design`: the GA baseline vs the hypernetwork designer, its ablations and the hybrid.

Everything is run here from fixed seeds (``python -m experiments.make_reports circuit_design``):

1. The designers: the four variants of the paper's ablation (``gru``, ``gru_per_length``,
   ``hyper_gru_only``, ``hyper`` = ours), each with our step-wise residual input, plus ours with the
   paper's input only (``residual=False``), trained by ``train_designer`` under one budget
   (``Settings.train``) and saved as safe weights under ``search_spaces/weights/`` when
   ``retrain=True``; by default (``retrain=False``) the committed weights and training logs are loaded
   (the inference part only: the trainings took 11-52 min each, 2.8 h in all, on 2 shared cores).
2. The networks on ``nn_per_length`` test targets per length: greedy (``w/o simulator``) and with the
   simulator (beams, Adam refinement of the values, E12 polish: ``inference.design``).
3. The GA (``circuit_design_ga.yaml`` through the engine), tuned on validation targets over
   ``ga_grid`` at two budgets: the designer's own per-target wall-clock (converted into evaluations at the
   GA's measured speed) and ``big_budget`` evaluations; then run on the first ``ga_per_length`` test
   targets per length, the same targets the networks are scored on.
4. The hybrid (``circuit_design_hybrid.yaml``): the GA at the small budget, its population seeded with
   ours' refined beams for the target (``decoder.designer``).
"""
from __future__ import annotations

import json
import multiprocessing
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from evohyper.config import apply_overrides, load_raw, validate
from evohyper.engine.evaluation import Evaluator
from evohyper.engine.runner import build_search
from evohyper.families.circuits.beam import beam_search
from evohyper.families.circuits.dataset import circuit_split
from evohyper.families.circuits.inference import DesignConfig, design, score
from evohyper.families.circuits.space import DEFAULT_SPACE as SPACE
from evohyper.families.circuits.training import TrainConfig, load_designer, save_designer, train_designer

ROOT = Path(__file__).resolve().parents[1]
METRICS = ("exact", "kinds_match", "equivalent", "error")
#: report rows -> (variant, residual input)
DESIGNERS = {"GRU": ("gru", True), "GRU per length": ("gru_per_length", True),
             "hypernet, GRU-only": ("hyper_gru_only", True), "ours": ("hyper", True),
             "ours, paper's input": ("hyper", False)}
GA_GRID = [  # the GA's operators tried on validation targets (DEAP: tournament, two-point crossover, mutations)
    {"popsize": 50, "tournament_size": 2, "cx_prob": 0.5, "mut_prob": 0.8, "reset_indpb": 0.05, "creep_indpb": 0.1},
    {"popsize": 20, "tournament_size": 2, "cx_prob": 0.5, "mut_prob": 1.0, "reset_indpb": 0.05, "creep_indpb": 0.2},
    {"popsize": 100, "tournament_size": 3, "cx_prob": 0.5, "mut_prob": 0.8, "reset_indpb": 0.05, "creep_indpb": 0.2},
    {"popsize": 50, "tournament_size": 4, "cx_prob": 0.2, "mut_prob": 1.0, "reset_indpb": 0.1, "creep_indpb": 0.1},
    {"popsize": 200, "tournament_size": 3, "cx_prob": 0.3, "mut_prob": 0.9, "reset_indpb": 0.03, "creep_indpb": 0.2},
    {"popsize": 100, "tournament_size": 5, "cx_prob": 0.7, "mut_prob": 0.6, "reset_indpb": 0.05, "creep_indpb": 0.3,
     "elite": 5},
]


@dataclass
class Settings:
    ga_config: str = "search_spaces/circuit_design_ga.yaml"
    hybrid_config: str = "search_spaces/circuit_design_hybrid.yaml"
    weights_dir: str = "search_spaces/weights"
    retrain: bool = False     # True: train every designer again (11-52 min each on 2 shared cores), overwrite
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=3000, batch=256, lr=3e-3, warmup=300,
                                                                   eval_every=250, patience=6, val_per_length=50))
    design: DesignConfig = field(default_factory=DesignConfig)
    nn_per_length: int = 50   # test targets per length for the networks (batched: cheap)
    ga_per_length: int = 10   # ... and for the GA and the hybrid (sized to fit ~20 min on 2 busy cores)
    tune_per_length: int = 1
    big_budget: int = 10_000
    timing_targets: int = 20
    ga_grid: list[dict] = field(default_factory=lambda: list(GA_GRID))
    designers: dict[str, tuple[str, bool]] = field(default_factory=lambda: dict(DESIGNERS))
    threads: int = 1
    workers: int = 2          # processes for the trainings and the searches (the machine has 2 cores)


def weights_path(s: Settings, variant: str, residual: bool) -> Path:
    return ROOT / s.weights_dir / f"circuit_designer_{variant}{'' if residual else '_plain'}.pt"


# ---------------------------------------------------------------------- parallel jobs
WORKERS_OF: dict[int, int] = {}
LOSS_EVERY = 10


def _pool(s: Settings) -> ProcessPoolExecutor:
    """``s.workers`` processes (spawned: no inherited torch state), one torch thread each."""
    pool = ProcessPoolExecutor(max_workers=s.workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=torch.set_num_threads, initargs=(s.threads,))
    WORKERS_OF[id(pool)] = s.workers
    return pool


def _train_one(name: str, variant: str, residual: bool, cfg: TrainConfig, path: str) -> dict:
    model, log = train_designer(variant, cfg, on_eval=lambda e: print(
        f"  {name}: step {e['step']} val loss {e['loss']:.3f} kinds {e['kinds_match']:.3f} "
        f"equivalent {e['equivalent']:.3f} ({e['seconds']:.0f} s)", flush=True))
    save_designer(model, path)
    out = {**asdict(log), "config": asdict(cfg), "weights": str(Path(path).relative_to(ROOT))}
    out["losses"] = log.losses[::LOSS_EVERY]         # the training loss every LOSS_EVERY steps (a small file)
    out["loss_every"] = LOSS_EVERY
    return out


# ---------------------------------------------------------------------- designers
def train_all(s: Settings, log_file: Path) -> tuple[dict, dict]:
    """Train (or load) every designer (trainings run in parallel processes; each is a function of its
    config and seed); returns models and training logs by report row."""
    if s.retrain:
        with _pool(s) as pool:
            jobs = {name: pool.submit(_train_one, name, variant, residual,
                                      replace(s.train, model={**s.train.model, "residual": residual}),
                                      str(weights_path(s, variant, residual)))
                    for name, (variant, residual) in s.designers.items()}
            logs = {name: job.result() for name, job in jobs.items()}
        log_file.parent.mkdir(parents=True, exist_ok=True)
        log_file.write_text(json.dumps(logs, indent=1))
    else:
        logs = json.loads(log_file.read_text())
    models = {name: load_designer(weights_path(s, variant, residual))
              for name, (variant, residual) in s.designers.items()}
    return models, logs


def _run_network(path: str, n_per_length: int, cfg: DesignConfig) -> dict:
    """One designer's greedy (no simulator) and full (beams + simulator) designs of the test targets."""
    model, test = load_designer(path), circuit_split("test", n_per_length)
    start = time.perf_counter()
    kinds, index, _ = beam_search(model, test.response, 1, test.lengths)
    greedy_s = time.perf_counter() - start
    start = time.perf_counter()
    best_k, best_i, _, _ = design(model, test.response, SPACE, cfg, test.lengths)
    full_s = time.perf_counter() - start
    return {"greedy": _floats(score(kinds[:, 0], index[:, 0], test, SPACE)), "greedy_s": greedy_s,
            "full": _floats(score(best_k, best_i, test, SPACE)), "full_s": full_s, "kinds": best_k, "index": best_i}


def run_networks(s: Settings, pool: ProcessPoolExecutor) -> dict:
    """Every designer on the test targets, designers in parallel processes."""
    jobs = {name: pool.submit(_run_network, str(weights_path(s, variant, residual)), s.nn_per_length, s.design)
            for name, (variant, residual) in s.designers.items()}
    return {name: job.result() for name, job in jobs.items()}


def time_single_target(s: Settings, model, test) -> float:
    """Median wall-clock of designing one target alone (what a user waits; the GA's time budget)."""
    times = []
    design(model, test.response[:1], SPACE, s.design, test.lengths[:1])          # warm-up (first-call costs)
    rows = torch.linspace(0, len(test) - 1, s.timing_targets).long().tolist()
    for row in rows:
        start = time.perf_counter()
        design(model, test.response[row:row + 1], SPACE, s.design, test.lengths[row:row + 1])
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _floats(scores: dict) -> dict[str, list[float]]:
    return {k: v.double().tolist() for k, v in scores.items()}


# ---------------------------------------------------------------------- searches through the engine
def run_searches(config: Path, targets: list[tuple[str, int, int]], overrides: list[str], keep: int = 2,
                 pool: ProcessPoolExecutor | None = None) -> dict:
    """One engine search per target ``(split, length, index)`` (seed = index); per-target metrics. With a
    ``pool`` the targets are split over its processes (each search depends on its target and seed only)."""
    if pool is not None and len(targets) > 1:
        n = min(WORKERS_OF.get(id(pool), 1), len(targets))
        parts = [pool.submit(run_searches, config, targets[k::n], overrides, keep) for k in range(n)]
        results = [p.result() for p in parts]
        merged: dict = {key: [None] * len(targets) for key in (*METRICS, "length", "evaluations", "seconds")}
        merged["best"] = {}
        for k, r in enumerate(results):                 # part k holds targets k, k + n, k + 2n, ...
            for key in (*METRICS, "length", "evaluations", "seconds"):
                merged[key][k::n] = r[key]
            merged["best"].update(r["best"])
        return merged
    raw = load_raw(config)
    out: dict = {m: [] for m in (*METRICS, "length", "evaluations", "seconds")}
    out["best"] = {}
    for split, length, index in targets:
        start = time.perf_counter()
        cfg = validate(apply_overrides(raw, [f"task.split={split}", f"task.target_length={length}",
                                             f"task.target_index={index}", f"seed={index}", "backend.name=local",
                                             *overrides]))
        result = build_search(cfg, None).run()
        seconds = time.perf_counter() - start        # includes the build (the hybrid's designer runs there)
        evaluator = Evaluator(cfg.spec(), components=cfg.components())
        best = result.best_genotype.unsqueeze(0)
        metrics = evaluator.evaluate(best, 0).metrics
        for m in METRICS:
            out[m].append(float(metrics[m][0]))
        out["length"].append(length)
        out["evaluations"].append(result.counters.evaluations)
        out["seconds"].append(seconds)
        if index < keep:
            ph = evaluator.decoder.decode(best)
            out["best"][(length, index)] = (ph.kinds, ph.values)
    return out


def ga_overrides(params: dict, budget: int) -> list[str]:
    return [f"strategy.{k}={v}" for k, v in params.items()] + [f"budget.evaluations={budget}"]


def seconds_per_evaluation(s: Settings) -> float:
    """The engine GA's measured cost of one circuit evaluation (one 2,000-evaluation search on a val target)."""
    res = run_searches(ROOT / s.ga_config, [("val", 7, 0)], ["budget.evaluations=2000", "budget.target_fitness=null"])
    return res["seconds"][0] / res["evaluations"][0]


def tune_ga(s: Settings, budgets: dict[str, int], pool: ProcessPoolExecutor | None = None) -> dict:
    """Each grid point at each budget on ``tune_per_length`` validation targets per length; the best per
    budget by mean response-equivalence, then mean error."""
    targets = [("val", n, i) for n in SPACE.lengths for i in range(s.tune_per_length)]
    results = {}
    for label, budget in budgets.items():
        rows = []
        for params in s.ga_grid:
            res = run_searches(ROOT / s.ga_config, targets, ga_overrides(params, budget), keep=0, pool=pool)
            rows.append({"params": params, "equivalent": float(np.mean(res["equivalent"])),
                         "error": float(np.mean(res["error"])), "seconds": float(np.mean(res["seconds"]))})
        best = max(rows, key=lambda r: (r["equivalent"], -r["error"]))
        results[label] = {"budget": budget, "rows": rows, "best": best["params"]}
    return results


# ---------------------------------------------------------------------- the report
def run(s: Settings, out_dir: Path) -> dict:
    threads = torch.get_num_threads()
    torch.set_num_threads(s.threads)   # 1 thread: faster for these small kernels on the shared 2-core machine
    try:
        t0 = time.perf_counter()
        models, logs = train_all(s, out_dir / "circuit_design_training.json")
        t_train = time.perf_counter() - t0
        test = circuit_split("test", s.nn_per_length)
        per_target = time_single_target(s, models["ours"], test)   # alone: before the parallel jobs start
        per_eval = seconds_per_evaluation(s)
        small = max(100, int(round(per_target / per_eval / 10)) * 10)
        targets = [("test", n, i) for n in SPACE.lengths for i in range(s.ga_per_length)]
        hybrid_overrides = [f"decoder.designer={weights_path(s, 'hyper', True).relative_to(ROOT)}",
                            f"decoder.beams={s.design.beams}", f"decoder.refine_steps={s.design.refine_steps}",
                            f"decoder.polish_rounds={s.design.polish_rounds}"]
        with _pool(s) as pool:
            nets = run_networks(s, pool)
            tuned = tune_ga(s, {"same wall-clock": small, "big": s.big_budget}, pool)
            ga = {label: run_searches(ROOT / s.ga_config, targets, ga_overrides(t["best"], t["budget"]), pool=pool)
                  for label, t in tuned.items()}
            hybrid = run_searches(ROOT / s.hybrid_config, targets,
                                  [*ga_overrides(tuned["same wall-clock"]["best"], small), *hybrid_overrides],
                                  pool=pool)
    finally:
        torch.set_num_threads(threads)
    return {"settings": s, "models": models, "logs": logs, "nets": nets, "test": test, "ga": ga, "tuned": tuned,
            "hybrid": hybrid, "per_target_s": per_target, "per_eval_s": per_eval, "small_budget": small,
            "train_s": t_train, "total_s": time.perf_counter() - t0}


def circuit_design_report(out_dir: Path, settings: Settings | None = None, command: str = "make reports") -> Path:
    from experiments.circuit_design_write import write

    start = time.perf_counter()
    res = run(settings or Settings(), out_dir)
    return write(res, out_dir, command, time.perf_counter() - start)
