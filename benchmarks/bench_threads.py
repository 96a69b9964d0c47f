"""The engine's default thread policy vs hand-picked thread counts (issue 21, item 1).

For each case, every setting builds its own search (so the backend applies that setting after the
components are built, as in a user's run) and times ``search.run()`` alone (build and Ray actor start-up
excluded). Settings: the **default** policy (no ``backend:`` thread keys), and the grid (1, 2) BLAS
threads x (1, 2) torch threads, given to both the driver and the evaluators (``driver_blas_threads``,
``driver_threads``, ``evaluator_blas_threads``, ``evaluator_torch_threads``). Cases, each local and on 2
Ray actors (budgets shortened so the section takes minutes):

* ``cmaes`` on a 535-parameter MLP (task ``digits``, hidden [7], 64-7-10), 20 generations;
* ``snes`` on ``search_spaces/cartpole_snes.yaml`` (popsize 64, 5 episodes of up to 500 steps), 2 generations;
* ``pgpe`` on ``search_spaces/pendulum_pgpe.yaml`` (popsize 32, 2 episodes), 2 generations.

Repeats are interleaved (each round runs every setting once, in a rotated order), medians of
``REPEATS`` rounds. Same computation: every setting of a case must reach the same best fitness as the
default (same seed) to ``REL_TOL`` relative, or the section stops. Target: default within 1.2x of the
fastest grid setting.
"""
from __future__ import annotations

import itertools
import os
import time
from pathlib import Path
from typing import Any

from benchmarks.report import add_summary
from benchmarks.timing import Timing, fmt_ms, fmt_ratio, met, progress, require_same, table
from evohyper.config import apply_overrides, load_raw, validate
from evohyper.engine import threads
from evohyper.engine.runner import build_search

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 5
REL_TOL = 1e-6     # thread counts change float summation order at most; the searches must agree to this
TARGET = 1.2
GRID = list(itertools.product((1, 2), (1, 2)))   # (BLAS, torch)
SETTINGS: list[tuple[int, int] | None] = [None, *GRID]   # None: the default policy
QUIET = ["output.progress=false", "output.tensorboard=false"]


def _mlp(backend: str) -> Any:
    return validate({"name": "threads-cmaes-mlp", "seed": 0, "task": {"name": "digits"},
                     "network": {"hidden": [7]}, "decoder": {"name": "direct"}, "strategy": {"name": "cmaes"},
                     "budget": {"generations": 20}, "backend": {"name": backend, "num_actors": 2}})


def _yaml(path: str, sets: list[str]) -> Any:
    raw = load_raw(ROOT / path)
    raw["budget"] = {}
    return validate(apply_overrides(raw, [*sets, "budget.generations=2"]))


CASES = {
    "cmaes, 535-parameter MLP (digits, hidden [7]), 20 generations": lambda backend: _mlp(backend),
    "snes, cartpole_snes.yaml, 2 generations": lambda backend: _yaml(
        "search_spaces/cartpole_snes.yaml", [f"backend.name={backend}", "backend.num_actors=2"]),
    "pgpe, pendulum_pgpe.yaml, 2 generations": lambda backend: _yaml(
        "search_spaces/pendulum_pgpe.yaml", [f"backend.name={backend}", "backend.num_actors=2"]),
}


def _with_setting(config: Any, setting: tuple[int, int] | None) -> Any:
    if setting is None:
        return config
    raw = config.to_dict()
    raw["budget"] = {k: v for k, v in raw["budget"].items() if v is not None}
    blas, torch_threads = setting
    raw["backend"].update(driver_blas_threads=blas, driver_threads=torch_threads, evaluator_blas_threads=blas,
                          evaluator_torch_threads=torch_threads)
    return validate(raw)


def _load() -> float:
    return float(open("/proc/loadavg").read().split()[0])


def _case(make: Any, backend: str) -> dict[str, Any]:
    """Every setting, ``REPEATS`` interleaved rounds: times, best fitness, load before each run."""
    base = make(backend)
    configs = {s: _with_setting(base, s) for s in SETTINGS}
    times: dict[Any, list[float]] = {s: [] for s in SETTINGS}
    best: dict[Any, float] = {}
    loads: list[float] = []
    for r in range(REPEATS):
        order = SETTINGS[r % len(SETTINGS):] + SETTINGS[:r % len(SETTINGS)]
        for s in order:
            search = build_search(configs[s], None, observers=False)
            loads.append(_load())
            t0 = time.perf_counter()
            result = search.run()
            times[s].append(time.perf_counter() - t0)
            best.setdefault(s, result.best_fitness)
    ref = best[None]
    for s in GRID:
        require_same(f"{backend}: best fitness of setting {s} vs default", abs(best[s] - ref) / max(1.0, abs(ref)),
                     REL_TOL)
    policy = threads.choose(base.backend)
    return {"timings": {s: Timing.of(v) for s, v in times.items()}, "best": ref, "loads": loads,
            "policy": policy}


def _cases(backend: str) -> tuple[list[list[Any]], list[float]]:
    rows, results = [], []
    for label, make in CASES.items():
        progress(f"threads: {label}, {backend}")
        res = _case(make, backend)
        t = res["timings"]
        fastest = min(GRID, key=lambda s: t[s].median)
        ratio = t[None].median / t[fastest].median
        p = res["policy"]
        default = (f"driver {p.driver.blas}/{p.driver.torch}, evaluator {p.evaluator.blas}/{p.evaluator.torch}"
                   if backend == "ray" else f"{p.evaluator.blas}/{p.evaluator.torch}")
        results.append(ratio)
        rows.append([label, backend, default, fmt_ms(t[None].median), t[None].spread_ms(),
                     *[fmt_ms(t[s].median) for s in GRID], f"{fastest[0]}/{fastest[1]}", fmt_ratio(ratio),
                     met(ratio <= TARGET), f"{min(res['loads']):.2f}–{max(res['loads']):.2f}",
                     f"{res['best']:.6g}"])
    return rows, results


def section() -> str:
    from evohyper.engine.backends.ray import runtime

    rows, results = [], []
    for backend in ("local", "ray"):
        owns = backend == "ray" and runtime.connect(None, num_cpus=2)   # one local Ray for every Ray case
        try:
            rows_, results_ = _cases(backend)
        finally:
            if owns:
                runtime.disconnect()
        rows += rows_
        results += results_
    rows.sort(key=lambda row: list(CASES).index(row[0]))
    worst = max(results)
    add_summary("thread policy: default vs best of (1,2) BLAS x (1,2) torch threads", f"≤ {TARGET}x",
                f"worst {fmt_ratio(worst)}", worst <= TARGET)
    cores = threads.available_cores()
    header = ["case", "backend", "default (BLAS/torch)", "default", "default spread",
              *[f"{b}/{t}" for b, t in GRID], "fastest grid", "default / fastest", f"≤ {TARGET}x?",
              "load (1-min) during", "best fitness (all settings)"]
    return "\n\n".join([
        "## Thread policy: default vs hand-picked BLAS/torch threads",
        f"`benchmarks/bench_threads.py`. {cores} cores available (`os.sched_getaffinity`"
        f"{', OMP_NUM_THREADS=' + os.environ['OMP_NUM_THREADS'] if 'OMP_NUM_THREADS' in os.environ else ''}). "
        "Each cell: median wall time of `search.run()` over "
        f"{REPEATS} interleaved rounds (build and actor start-up excluded); grid columns give BLAS/torch threads, "
        "set for the driver and for each evaluator. Ray: 2 actors, 1 CPU each, on the embedded local Ray. "
        f"Every setting reached the same best fitness as the default (relative tolerance {REL_TOL:g}; the "
        "section stops otherwise). Load: the 1-minute load average before each timed run (min–max).",
        table(header, rows),
        f"**Reading.** Worst default / fastest-grid ratio {fmt_ratio(worst)} (target ≤ {TARGET}x: "
        f"{met(worst <= TARGET)}).",
    ])
