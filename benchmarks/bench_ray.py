"""Benchmark 2: Ray backend (2 actors) vs the local backend, per generation of a full Search.

Two workloads, both the benchmark-only task ``bench_matmul`` (see ``benchmarks/bench_tasks.py``):

* compute: sized at start-up so that evaluating the whole population locally takes ~50 ms;
  with 2 actors each evaluates half of it. Target: Ray per-generation time <= 1.10x local.
* trivial: ``rounds: 0`` on small vectors (near-zero compute), to expose the fixed per-generation
  cost of Ray (scatter genotypes, 2 remote calls, gather results): ray minus local, in ms.

Each search is built from a config by ``build_search(config, None)`` (strategy snes, same seed, same
budget), the Ray one with ``backend: {name: ray, num_actors: 2}`` and ``plugins: [benchmarks.bench_tasks]``
so that the actors can import the benchmark task. Ray itself is started once beforehand (the backend
then reuses it); Ray start-up and each search's actor start-up (inside ``build_search``) are
measured separately and excluded from the per-generation figures. Local and Ray runs alternate,
plus a diagnostic Ray run with ``driver_threads: 2`` (the driver keeps 2 torch threads, as the
backend did before it set 1). Per-generation time = the difference of consecutive ``seconds`` in
``search.history`` (wall-clock; these searches have no observers, so it is ask + evaluate + tell); the
first generation of each run is dropped as warm-up.
"""
from __future__ import annotations

import time
from typing import Any

import torch

from benchmarks import bench_tasks  # noqa: F401 - registers bench_matmul in this process
from benchmarks.report import add_summary
from benchmarks.timing import (
    Timing,
    fmt_ms,
    fmt_ratio,
    median_time,
    met,
    progress,
    require_same,
    table,
    wait_for_quiet,
)
from evohyper.config import validate
from evohyper.engine.runner import build_search

TARGET_MS = 50.0
OVERHEAD_TARGET = 0.10
NUM_ACTORS = 2
PLUGIN = "benchmarks.bench_tasks"
GENERATIONS = 30
REPEATS = 4
SEED = 7
#: local and Ray runs of the same seed must reach the same best fitness to this relative tolerance (chunked
#: evaluation may round differently), or the section stops
BEST_RTOL = 1e-6
COMPUTE = {"dim": 256, "popsize": 200}
TRIVIAL = {"dim": 16, "popsize": 100}


def _config(dim: int, popsize: int, rounds: int, backend: str, driver_threads: int | None = 1) -> Any:
    block: dict[str, Any] = {"name": backend}
    if backend == "ray":
        block.update(num_actors=NUM_ACTORS, num_cpus_per_actor=1, driver_threads=driver_threads)
    return validate({
        "name": "bench-ray", "seed": SEED,
        "plugins": [PLUGIN],  # imported by the driver and by every Ray actor (they register bench_matmul)
        "task": {"name": "bench_matmul", "dim": dim, "rounds": rounds},
        "strategy": {"name": "snes", "popsize": popsize, "stdev_init": 0.5},
        "budget": {"generations": GENERATIONS},
        "backend": block,
    })


def calibrate_rounds(dim: int, popsize: int, target_s: float = TARGET_MS / 1e3) -> tuple[int, Timing]:
    """Rounds of ``tanh(h @ M)`` that make one local population evaluation take ``target_s``."""
    task = bench_tasks.MatmulTask(dim=dim, rounds=8)
    task.setup("cpu")
    spec = task.target({})
    pheno = spec.build({"x": torch.randn(popsize, dim)})
    with torch.no_grad():
        # The fastest repeat is the least disturbed by other processes on a shared machine.
        probe = median_time(lambda: task.evaluate(pheno, 0), repeats=9, warmup=2)
        rounds = max(1, round(8 * target_s / probe.min))
        task.rounds = rounds
        check = median_time(lambda: task.evaluate(pheno, 0), repeats=7, warmup=1)
    return rounds, check


def half_single_thread(dim: int, popsize: int, rounds: int) -> Timing:
    """What one actor computes: half the population, in process, with 1 torch thread."""
    task = bench_tasks.MatmulTask(dim=dim, rounds=rounds)
    task.setup("cpu")
    pheno = task.target({}).build({"x": torch.randn(popsize // NUM_ACTORS, dim)})
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            return median_time(lambda: task.evaluate(pheno, 0), repeats=7, warmup=1)
    finally:
        torch.set_num_threads(threads)


def _run_search(config: Any) -> dict[str, Any]:
    start = time.perf_counter()
    search = build_search(config, None)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    search.run()  # closes the backend (its actors); a Ray instance it did not start stays up
    wall = time.perf_counter() - start
    secs = [r.seconds for r in search.history]
    per_gen = [b - a for a, b in zip(secs, secs[1:])]  # drops generation 1 (warm-up)
    threads = search.history[-1].metrics.get("torch_threads_mean", float("nan"))
    return {"per_gen": per_gen, "wall": wall, "gens": len(search.history), "threads": threads,
            "best": search.best_fitness, "build_s": build_s}


def _echo_actor_class() -> Any:
    """A no-op actor, defined inside a function so Ray ships it by value (no import in the worker)."""
    import numpy as np
    import ray

    class Echo:
        def none(self, x: Any) -> None:
            return None

        def torch_sum(self, x: torch.Tensor) -> torch.Tensor:
            return x.sum(dim=1)

        def numpy_sum(self, x: Any) -> Any:
            return np.asarray(x).sum(axis=1)

    return ray.remote(num_cpus=0)(Echo)


def _breakdown(ray_backend: Any, config: Any, popsize: int, dim: int) -> list[tuple[str, Timing]]:
    """Where the fixed per-generation Ray cost goes, for a population of tiny vectors."""
    import ray

    from evohyper.engine.evaluation import Evaluator

    genotypes = torch.randn(popsize, dim)
    half = popsize // 2
    chunks = [genotypes[:half].clone(), genotypes[half:].clone()]
    arrays = [c.numpy() for c in chunks]
    echo = [_echo_actor_class().remote() for _ in range(NUM_ACTORS)]
    ray.get([a.none.remote(None) for a in echo])
    local = Evaluator(config.spec(), components=config.components())
    cases = [
        ("LocalBackend evaluator: decode + evaluate in process", lambda: local.evaluate(genotypes, 1)),
        ("RayBackend.evaluate: the whole population on 2 actors", lambda: ray_backend.evaluate(genotypes, 1)),
        ("2 x `ray.put` of a torch chunk (the backend did this before inlining small chunks)",
         lambda: [ray.put(c.clone()) for c in chunks]),
        ("2 no-op actor calls (`ray.get` of 2 `.remote(None)`)",
         lambda: ray.get([a.none.remote(None) for a in echo])),
        ("2 actor calls, torch chunk in, torch tensor out (inline args, no `ray.put`)",
         lambda: ray.get([a.torch_sum.remote(c) for a, c in zip(echo, chunks)])),
        ("2 actor calls, numpy chunk in, numpy array out (inline args)",
         lambda: ray.get([a.numpy_sum.remote(c) for a, c in zip(echo, arrays)])),
    ]
    out = [(name, median_time(fn, repeats=40, warmup=5)) for name, fn in cases]
    for a in echo:
        ray.kill(a)
    return out


def _compare(label: str, dim: int, popsize: int, rounds: int, breakdown: bool = False) -> dict[str, Any]:
    configs = {name: _config(dim, popsize, rounds, name) for name in ("local", "ray")}
    configs["ray_keep"] = _config(dim, popsize, rounds, "ray", driver_threads=2)  # driver: 2 torch threads
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in configs}
    busy_starts = 0
    for rep in range(REPEATS):
        for name, config in configs.items():
            _, waited = wait_for_quiet(max_wait_s=10)  # let the previous run's actors exit, others' load pass
            busy_starts += waited > 1.5  # the first check alone takes 1 s
            out = _run_search(config)
            runs[name].append(out)
            progress(f"  {label} rep {rep + 1}/{REPEATS} {name}: built in {out['build_s']:.2f}s, median "
                     f"{fmt_ms(Timing.of(out['per_gen']).median)}/generation, threads {out['threads']:g}")
    result: dict[str, Any] = {"actors_s": Timing.of([o["build_s"] for o in runs["ray"]]),
                              "busy_starts": busy_starts}
    for name, outs in runs.items():
        result[name] = Timing.of([t for o in outs for t in o["per_gen"]])
        result[name + "_wall"] = Timing.of([o["wall"] / o["gens"] for o in outs])
        result[name + "_threads"] = outs[-1]["threads"]
        result[name + "_best"] = [o["best"] for o in outs]
    for name in ("ray", "ray_keep"):
        require_same(f"ray [{label}]: best fitness, {name} vs local (relative)",
                     max(abs(a - b) / max(1.0, abs(a)) for a, b in zip(result["local_best"], result[name + "_best"])),
                     BEST_RTOL)
    if breakdown:
        search = build_search(configs["ray"], None)
        try:
            result["breakdown"] = _breakdown(search.backend, configs["local"], popsize, dim)
        finally:
            search.backend.close()
        progress(f"  {label}: fixed-cost breakdown done")
    return result


def run() -> dict[str, Any]:
    from evohyper.engine.backends.ray import runtime as ray_runtime

    progress(f"ray: calibrating a ~{TARGET_MS:g} ms task (dim {COMPUTE['dim']}, population {COMPUTE['popsize']})")
    rounds, check = calibrate_rounds(COMPUTE["dim"], COMPUTE["popsize"])
    half = half_single_thread(COMPUTE["dim"], COMPUTE["popsize"], rounds)
    progress(f"  rounds={rounds}: local evaluate {fmt_ms(check.median)} (2 threads), half population on 1 "
             f"thread {fmt_ms(half.median)}")
    start = time.perf_counter()
    owns = ray_runtime.connect(None)
    init_s = time.perf_counter() - start
    progress(f"  ray.init (local instance, 127.0.0.1): {init_s:.2f}s")
    try:
        compute = _compare("compute", COMPUTE["dim"], COMPUTE["popsize"], rounds)
        trivial = _compare("trivial", TRIVIAL["dim"], TRIVIAL["popsize"], 0, breakdown=True)
        import ray

        cluster_cpus = ray.cluster_resources().get("CPU", float("nan"))
    finally:
        if owns:
            ray_runtime.disconnect()
    return {"rounds": rounds, "eval_check": check, "eval_half": half, "init_s": init_s,
            "compute": compute, "trivial": trivial,
            "cluster_cpus": cluster_cpus, "driver_threads": torch.get_num_threads()}


def render(r: dict[str, Any]) -> str:
    c, t = r["compute"], r["trivial"]
    ratio = c["ray"].median / c["local"].median
    overhead = ratio - 1.0
    fixed_ms = (t["ray"].median - t["local"].median) * 1e3
    rows = [
        [f"compute task, local (1 process, {c['local_threads']:g} torch threads)", fmt_ms(c["local"].median),
         c["local"].spread_ms(), "1x", "—", "—"],
        [f"compute task, ray ({NUM_ACTORS} actors x {c['ray_threads']:g} torch thread)", fmt_ms(c["ray"].median),
         c["ray"].spread_ms(), f"{fmt_ratio(ratio)} ({overhead * 100:+.1f}%)",
         f"<= +{OVERHEAD_TARGET * 100:g}%", met(overhead <= OVERHEAD_TARGET)],
        ["compute task, ray, `driver_threads: 2` (driver keeps 2 threads; diagnostic)", fmt_ms(c["ray_keep"].median),
         c["ray_keep"].spread_ms(), f"{fmt_ratio(c['ray_keep'].median / c['local'].median)} "
         f"({(c['ray_keep'].median / c['local'].median - 1) * 100:+.1f}%)", "—", "—"],
        [f"trivial task, local ({t['local_threads']:g} threads)", fmt_ms(t["local"].median), t["local"].spread_ms(),
         "1x", "—", "—"],
        [f"trivial task, ray ({NUM_ACTORS} actors)", fmt_ms(t["ray"].median), t["ray"].spread_ms(),
         f"fixed Ray cost {fixed_ms:+.2f} ms/generation", "(report)", "—"],
        ["trivial task, ray, `driver_threads: 2` (diagnostic)", fmt_ms(t["ray_keep"].median),
         t["ray_keep"].spread_ms(),
         f"fixed Ray cost {(t['ray_keep'].median - t['local'].median) * 1e3:+.2f} ms/generation",
         "—", "—"],
    ]
    walls = table(["variant", "search.run() wall / generations (median of runs)", "min–max over runs"], [
        [f"{label}, {name}", fmt_ms(res[name + "_wall"].median),
         f"{fmt_ms(res[name + '_wall'].min)}–{fmt_ms(res[name + '_wall'].max)}"]
        for label, res in (("compute", c), ("trivial", t)) for name in ("local", "ray", "ray_keep")])
    startup = table(["Ray start-up (excluded above)", "seconds (median)", "min–max"], [
        ["`ray.init` of a private local instance (127.0.0.1, dashboard off)", f"{r['init_s']:.2f}", "1 run"],
        *[[f"`build_search` with `backend: ray`: {NUM_ACTORS} evaluator actors ready ({label} task)",
           f"{res['actors_s'].median:.2f}", f"{res['actors_s'].min:.2f}–{res['actors_s'].max:.2f}"]
          for label, res in (("compute", c), ("trivial", t))],
    ])
    same = all(a == b for a, b in zip(c["local_best"], c["ray_best"]))   # within BEST_RTOL is checked in _compare
    parts = t.get("breakdown", [])
    fixed = table(["fixed-cost component (trivial population, timed alone, 40 repeats)", "median", "spread"],
                  [[name, fmt_ms(tm.median), tm.spread_ms()] for name, tm in parts])
    full, half = r["eval_check"].median, r["eval_half"].median
    expected = half + fixed_ms / 1e3 + max(c["local"].median - full, 0.0)
    scaling_note = ("2 processes x 1 thread do this work slightly faster than 1 process x 2 threads, so thread "
                    "scaling does not explain the overhead" if half < full else
                    "part of the overhead is 1-thread actors computing more slowly")
    threads_note = (f"Ray sets `OMP_NUM_THREADS` from the actor's `num_cpus=1`, so each actor's torch uses "
                    f"{c['ray_threads']:g} thread" if c["ray_threads"] == 1 else
                    f"each actor's torch uses {c['ray_threads']:g} threads")
    reading = (
        f"**Reading.** A generation takes {fmt_ms(c['local'].median)} on the local backend and "
        f"{fmt_ms(c['ray'].median)} on Ray with {NUM_ACTORS} actors: **{overhead * 100:+.1f}%**, so the ≤ 10% "
        f"overhead target is {'met' if overhead <= OVERHEAD_TARGET else '**not met**'}. Thread settings: the "
        f"local backend evaluates the whole population in one process with {c['local_threads']:g} torch "
        f"intra-op threads ({fmt_ms(full)} per evaluation); {threads_note}, and each evaluates half the "
        f"population. Measured in process (before Ray starts), half the population on 1 thread takes "
        f"{fmt_ms(half)}, {'less' if half < full else 'more'} than the whole population on 2 threads "
        f"({fmt_ms(full)}): {scaling_note}. "
        f"On the near-zero-cost task Ray adds a fixed **{fixed_ms:.2f} ms per generation** "
        f"({fmt_ms(t['local'].median)} local vs {fmt_ms(t['ray'].median)} Ray). Adding up, a Ray generation "
        f"should cost about (half on 1 thread) + (fixed Ray cost) + (local ask/tell) = {fmt_ms(expected)}; "
        f"{fmt_ms(c['ray'].median)} is measured, the remaining {fmt_ms(max(c['ray'].median - expected, 0))} "
        "being the actors computing while the driver and Ray's own processes (raylet, GCS, object store) "
        "compete with them for the same 2 cores. In absolute terms Ray adds "
        f"{fmt_ms(c['ray'].median - c['local'].median)} per generation here, so on this machine the 10% target "
        f"is reached only by tasks whose evaluation takes ≳ "
        f"{max(c['ray'].median - c['local'].median, 0) * 1e4:.0f} ms "
        "per generation (or by more cores than actors). "
        f"Start-up (≈ {r['init_s']:.1f} s for Ray, then "
        f"{c['actors_s'].median:.1f} s for each search's actors) is paid once per search and excluded. "
        f"Best fitness of local and Ray runs "
        f"{'is identical' if same else 'differs slightly (the chunked GEMMs round differently)'} (checked to "
        f"{BEST_RTOL:g} relative; the section stops otherwise)."
    )
    if parts:
        vals = [tm.median for _, tm in parts]
        reading += (
            f" **Where the fixed cost goes** (table above): one `RayBackend.evaluate` of the trivial population "
            f"takes {fmt_ms(vals[1])} against {fmt_ms(vals[0])} in process. Ray's irreducible round trip (2 no-op "
            f"actor calls) is {fmt_ms(vals[3])}. For comparison, the transports the backend could use: "
            f"`ray.put` of both chunks first {fmt_ms(vals[2])}; torch tensors both ways, inline: {fmt_ms(vals[4])}; "
            f"numpy arrays both ways, inline: {fmt_ms(vals[5])}, which is what the backend now does for chunks "
            "under 256 KB (larger ones still go through `ray.put`). The remainder is the backend's own "
            "bookkeeping (deadline-driven `ray.wait` loop, one result at a time), which this table does not "
            "isolate. Between Ray calls the driver runs its own torch ops (ask, tell, statistics); with 2 "
            "OpenMP threads those keep spinning for a while afterwards and take CPU from the actors, so the "
            "backend sets the driver's torch to `driver_threads` = 1 while it is open. The diagnostic rows "
            f"keep 2 threads: {fmt_ms(t['ray_keep'].median)} on the trivial task and "
            f"{fmt_ms(c['ray_keep'].median)} on the compute task "
            f"({(c['ray_keep'].median / c['local'].median - 1) * 100:+.1f}% vs local).")
    add_summary("Ray backend (2 actors) vs local, ~50 ms/generation task", f"<= +{OVERHEAD_TARGET * 100:g}%",
                f"{overhead * 100:+.1f}% ({fmt_ms(c['ray'].median)} vs {fmt_ms(c['local'].median)})",
                overhead <= OVERHEAD_TARGET)
    add_summary("Ray fixed per-generation cost (trivial task)", "(report)", f"{fixed_ms:.1f} ms", None)
    busy_runs = c["busy_starts"] + t["busy_starts"]
    if busy_runs:
        reading += (f" Caveat: other processes were using more than 25% of the CPUs just before {busy_runs} of "
                    f"the {6 * REPEATS} timed runs (the harness then waited up to 10 s), so outside load came and "
                    "went during this section and is part of its spreads.")
    return "\n\n".join([
        "## Ray backend vs local backend",
        f"Full `Search` (strategy snes, seed {SEED}, {GENERATIONS} generations per run, {REPEATS} runs per "
        f"backend, local and Ray alternating). Compute task: `bench_matmul` dim {COMPUTE['dim']}, population "
        f"{COMPUTE['popsize']}, rounds = {r['rounds']} (calibrated to ~{TARGET_MS:g} ms locally; measured "
        f"{fmt_ms(r['eval_check'].median)}). Trivial task: dim {TRIVIAL['dim']}, population {TRIVIAL['popsize']}, "
        f"rounds 0. Ray: local instance with {r['cluster_cpus']:g} CPUs, `backend: {{name: ray, num_actors: "
        f"{NUM_ACTORS}}}` (1 CPU each), task module imported by the actors through `plugins: [{PLUGIN}]`. "
        f"Driver torch threads outside the backend: {r['driver_threads']}. "
        "Per-generation time = engine step (ask + evaluate + tell), first generation of each run dropped.",
        table(["variant", "median / generation", "spread", "ratio", "target", "met?"], rows),
        walls, startup, *([fixed] if parts else []), reading])


def section() -> str:
    return render(run())


if __name__ == "__main__":
    print(section())
