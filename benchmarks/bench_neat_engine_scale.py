"""Sections 4 and 5 of ``bench_neat_engine``: how a NEAT generation scales with the population and with actors.

4. **Generation time vs population**, HyperNEAT visual discrimination (``search_spaces/hyperneat_visual.yaml``,
   local backend), P = 150 / 1,000 / 10,000 (and 100,000 with ``--huge``): the shares of ``ask``, ``tell``,
   ``decode`` and ``evaluate`` and the peak memory. Each (engine, size) runs in its own subprocess so that
   ``ru_maxrss`` (the process's peak resident set) belongs to that size alone.
5. **Ray with 2 actors vs local** at P = 10,000 (same config): per engine, the generation on each backend
   and what stays on the driver (``ask`` + ``tell``: the part no number of actors shrinks). Ray is started
   once, privately, on 127.0.0.1 with the dashboard off (``evohyper.engine.backends.ray.runtime.connect``).
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

import torch

from benchmarks import neat_engine_sides as sides
from benchmarks.report import add_summary
from benchmarks.timing import Timing, fmt_ratio, fmt_time, progress, spread, table

PHASES = ("ask", "tell", "decode", "evaluate")


# ----------------------------------------------------------------------------- 4. scaling (subprocess per size)
def scaling_child(engine: str, popsize: int, repeats: int) -> dict[str, Any]:
    """Subprocess body: one untimed and ``repeats`` timed generations; medians per phase and peak RSS."""

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    side = sides.StrategySide(sides.VISUAL_YAML, engine, popsize, evaluate=True)
    steps = sides.interleaved({engine: side}, repeats)[engine]
    side.close()
    out: dict[str, Any] = {
        "engine": engine, "popsize": popsize, "genomes": [s.genomes for s in steps],
        "phases": {p: Timing.of([s.seconds[p] for s in steps]).median for p in PHASES},
        "generation": Timing.of([s.total for s in steps]).median,
        "generation_spread": spread(Timing.of([s.total for s in steps])),
        "nodes": steps[-1].nodes, "links": steps[-1].links,
        "rss_start_mib": rss0 / 1024, "rss_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "wall_s": time.perf_counter() - start,
    }
    if torch.cuda.is_available():
        out["cuda_peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def _run_child(engine: str, popsize: int, repeats: int) -> dict[str, Any] | str:
    """The child's JSON, or why there is none (a crash, memory, time)."""
    cmd = [sys.executable, "-m", "benchmarks.bench_neat_engine", "--child-scaling", engine, str(popsize), str(repeats)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=7200, cwd=sides.ROOT)
    except subprocess.TimeoutExpired:
        return "did not finish within 2 h"
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["(no output)"])[-1]
        killed = " (killed: out of memory?)" if out.returncode in (-9, 137) else ""
        return f"failed, exit {out.returncode}{killed}: {last[:200]}"
    return json.loads(out.stdout.strip().splitlines()[-1])


def section_scaling(settings: Any) -> str:

    engines, note = sides.engines_and_note(settings.engines)
    rows, results = [], {}
    for engine in engines:
        for p in settings.scaling_sizes:
            progress(f"neat_engine: scaling, engine {engine}, P = {p:,} (subprocess)")
            r = _run_child(engine, p, settings.scale_repeats)
            results[(engine, p)] = r
            if isinstance(r, str):
                rows.append([engine, f"{p:,}", r, "", "", "", "", "", ""])
                continue
            if any(abs(n - p) > max(2, 0.05 * p) for n in r["genomes"]):
                raise sides.NotTheSameWork(f"scaling {engine} P = {p}: population sizes {r['genomes']}")
            g = r["generation"]
            shares = [f"{r['phases'][ph] / g:.0%} ({fmt_time(r['phases'][ph])})" for ph in PHASES]
            rows.append([engine, f"{p:,}", f"{fmt_time(g)} ({r['generation_spread']})", *shares,
                         f"{r['rss_peak_mib']:,.0f} MiB", f"{r['nodes']:.2f} / {r['links']:.1f}"])
    ratio_lines = []
    for p in settings.scaling_sizes:
        a, b = results.get(("batched", p)), results.get(("neat-python", p))
        if isinstance(a, dict) and isinstance(b, dict):
            driver = [r["phases"]["ask"] + r["phases"]["tell"] for r in (a, b)]
            ratio_lines.append(f"P = {p:,}: whole generation {fmt_ratio(b['generation'] / a['generation'])}, "
                               f"ask + tell {fmt_ratio(driver[1] / driver[0])}")
    return "\n\n".join(filter(None, [
        "### 4. Generation time vs population (HyperNEAT visual discrimination)",
        "`search_spaces/hyperneat_visual.yaml`, local backend, seed 0, `strategy.popsize` = P; each (engine, P) in "
        f"its own subprocess: one untimed generation, then {settings.scale_repeats} timed ones (medians). Shares "
        "are of the median phases' sum. Peak memory = the subprocess's `ru_maxrss` (Python, torch, the "
        "population, the decoded substrate weights [P, 121, 121] float32, the task).", note,
        table(["engine", "P", "generation (median)", "ask", "tell", "decode", "evaluate", "peak memory (RSS)",
               "mean nodes / enabled links"], rows) if rows else "",
        ("Speed-up batched vs neat-python: " + "; ".join(ratio_lines) + ".") if ratio_lines else "",
    ]))


# ----------------------------------------------------------------------------- 5. Ray 2 actors vs local
class BackendSide:
    """Strategy ``neat`` with one engine and a real backend: ``ask``, ``backend.evaluate`` (decode + evaluate
    wherever the backend runs them, the Ray wire included), ``tell``."""

    def __init__(self, engine: str, popsize: int, backend: list[str], seed: int = 0):
        from evohyper.config import apply_overrides, load_raw, validate
        from evohyper.engine.runner import build_search

        over = [f"strategy.engine={engine}", f"strategy.popsize={popsize}", f"seed={seed}", *sides.QUIET, *backend]
        self.search = build_search(validate(apply_overrides(load_raw(sides.VISUAL_YAML), over)), None)
        self.seed, self.generation, self.name = seed, 0, ""
        self.fitness: list[torch.Tensor] = []

    def step(self) -> sides.Step:
        strategy, t = self.search.strategy, {}
        start = time.perf_counter()
        genotypes = strategy.ask()
        t["ask"] = time.perf_counter() - start
        n, nodes, links = sides.genome_sizes(genotypes)
        start = time.perf_counter()
        result = self.search.backend.evaluate(genotypes, self.seed * 100_003 + self.generation)
        t["evaluate"] = time.perf_counter() - start
        self.fitness.append(result.fitness.clone())
        start = time.perf_counter()
        strategy.tell(torch.nan_to_num(result.fitness, nan=float("-inf")))
        t["tell"] = time.perf_counter() - start
        self.generation += 1
        return sides.Step(t, n, nodes, links, float(result.fitness.max()))

    def close(self) -> None:
        self.search.backend.close()


def section_ray(settings: Any) -> str:
    from evohyper.engine.backends.ray import runtime as ray_runtime

    engines, note = sides.engines_and_note(settings.engines)
    p = settings.ray_size
    backends = {"local": ["backend.name=local"],
                "ray, 2 actors": ["backend.name=ray", "backend.num_actors=2", "backend.num_cpus_per_actor=1"]}
    start = time.perf_counter()
    owns = ray_runtime.connect(None)   # private instance on 127.0.0.1, dashboard off
    progress(f"neat_engine: ray.init {time.perf_counter() - start:.1f} s")
    rows, lines, checks = [], [], []
    try:
        for engine in engines:
            progress(f"neat_engine: ray vs local, engine {engine}, P = {p:,}")
            timed = {name: BackendSide(engine, p, over) for name, over in backends.items()}
            steps = sides.interleaved(timed, settings.scale_repeats)
            checks.append(f"{engine}: " + sides.check_same_work(steps, p))
            same = all(torch.equal(a, b) for a, b in zip(*(s.fitness for s in timed.values())))
            for side in timed.values():
                side.close()
            gen = {name: Timing.of([s.total for s in st]) for name, st in steps.items()}
            for name, st in steps.items():
                driver = Timing.of([s.seconds["ask"] + s.seconds["tell"] for s in st])
                rows.append([engine, name, f"{fmt_time(gen[name].median)} ({spread(gen[name])})",
                             fmt_time(Timing.of([s.seconds['ask'] for s in st]).median),
                             fmt_time(Timing.of([s.seconds['evaluate'] for s in st]).median),
                             fmt_time(Timing.of([s.seconds['tell'] for s in st]).median),
                             f"{fmt_time(driver.median)} ({driver.median / gen[name].median:.0%})",
                             fmt_ratio(gen[name].median / driver.median)])
            speedup = gen["local"].median / gen["ray, 2 actors"].median
            lines.append(f"`{engine}`: ray 2 actors vs local **{fmt_ratio(speedup)}**; every fitness of every "
                         f"generation equal on both backends: {'yes' if same else 'no'}.")
            add_summary(f"NEAT HyperNEAT visual P = {p:,}, engine {engine}: ray 2 actors vs local", "report",
                        fmt_ratio(speedup), None)
    finally:
        if owns:
            ray_runtime.disconnect()
    return "\n\n".join(filter(None, [
        f"### 5. Ray with 2 actors vs local, P = {p:,} (HyperNEAT visual discrimination)",
        "Per engine, the same config and seed on the local backend and on `backend: ray` with 2 actors of 1 CPU "
        "each (a private Ray on 127.0.0.1, dashboard off); one untimed generation, then "
        f"{settings.scale_repeats} interleaved ones (medians). `evaluate` is the backend's whole call (on Ray: "
        "shipping the genomes, decode + evaluate on the actors, gathering). The driver's part is `ask` + `tell`, "
        "which stays in the driver process whatever the number of actors: the last column is the generation's "
        "upper bound on speed-up from more actors (generation / driver time).", note,
        table(["engine", "backend", "generation (median)", "ask", "evaluate", "tell", "driver: ask + tell (share)",
               "bound from actors"], rows) if rows else "",
        " ".join(lines), ("Same work: " + "; ".join(checks) + ".") if checks else "",
    ]))
