"""The pole-balancing study (issue 24): evaluations to solve single and double pole, with and without velocities, for
NEAT, CMA-ES and SNES on direct weights and CMA-ES on ``dct`` genomes at three Elman network sizes.

Each ``(variant, arm, seed)`` run is a bare search (``evohyper.engine.runner.build_search(config, None)``) of the
config ``experiments/pole_balancing_spec.py`` builds, stepped generation by generation (``search.step()``) until an
individual is solved or the variant's evaluation cap is spent. **How evaluations are counted**: the evaluations of
every earlier generation plus the solving individual's position in its generation (index + 1), as if the
generation were evaluated one individual at a time in population order, which is how the published sequential
implementations count; the count at the end of that generation is kept too (``evaluations_generation_end``). The
per-individual ``solved`` comes from the task's metrics of that generation (a thin wrapper keeps the backend's
last result). A run solves only if that count is within the cap.

One JSON per finished run, ``experiments/out/pole_balancing/<task>/<variant>/<arm>/seed<k>.json`` (git-ignored;
written atomically, last): the counts, the solving genotype (a list of floats, or NEAT's exported genome) so it
can be re-scored (``rescore(run)``), and its generalisation score (``task.generalisation``: of Gruau's 625
start states; null when the task has none). **Resumable** at run granularity: a run whose JSON exists is skipped;
a killed run starts again from generation 0 (no checkpoints inside a run: its progress is lost). ``--jobs J`` runs J runs at once in spawned processes, one thread each.

Usage::

    python -m experiments.pole_balancing [--variants double single double_novel] [--arms neat cmaes-h6 ...]
        [--seeds 20] [--jobs 1] [--max-seconds 600] [--report-only] [--task double_pole|cartpole] [--cap N]
        [--max-steps N]
        [--root experiments/out/pole_balancing] [--out reports]

``--task cartpole`` runs the cart-pole stand-in; ``--cap`` / ``--max-steps`` shrink the budget (smoke tests).
Either puts the runs under their own directory and the report beside them, never in ``reports/``.
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from experiments.pole_balancing_count import counted_run
from experiments.pole_balancing_spec import (
    ARMS,
    DEFAULT_ARMS,
    DEFAULT_VARIANTS,
    MAX_SECONDS,
    ROOT,
    RUNS,
    SEEDS,
    TASKS,
    VARIANTS,
    runs_variant,
)


def run_path(root: Path, variant: str, arm: str, seed: int) -> Path:
    return root / variant / arm / f"seed{seed}.json"


def results_dir(root: Path, task: str, cap: int | None, max_steps: int | None) -> Path:
    """Where a study's runs go: one directory per task, and its own for any smoke-test budget."""
    return root / (task + (f"-cap{cap}" if cap else "") + (f"-steps{max_steps}" if max_steps else ""))


def run_one(task: str, variant: str, arm: str, seed: int, root: Path, max_steps: int | None = None,
            cap: int | None = None, max_seconds: float | None = None) -> dict[str, Any]:
    """One run, counted; its JSON written atomically; returns what it wrote."""
    started, cpu_started = time.perf_counter(), time.process_time()
    limit = int(cap or VARIANTS[variant].cap)
    outcome, config, components, search = counted_run(task, variant, arm, seed, limit, max_seconds=max_seconds,
                                                      max_steps=max_steps)
    steps = int(config.to_dict()["task"]["max_steps"])
    genotype, score = None, float("nan")
    if outcome["solved"]:
        strategy, i = components.strategy, outcome["index"]
        one = strategy.copy_genotype(search.last_population, i)
        if isinstance(one, torch.Tensor):
            genotype = one.detach().double().reshape(-1).tolist()
        else:
            genotype = strategy.export_genotype(one)
        score = generalisation(components, one)
    decoder = components.decoder
    rollout = None
    if task == "double_pole" and search.last_population is not None:   # which path stepped the episodes
        from evohyper_tasks import double_pole_fused

        one = components.strategy.copy_genotype(search.last_population, 0)
        batch = one.unsqueeze(0) if isinstance(one, torch.Tensor) else one
        rollout = "fused" if double_pole_fused.supports(decoder.decode(batch)) else "torch"
    out = {"task": task, "variant": variant, "arm": arm, "seed": int(seed), "cap": limit, "max_steps": steps,
           **outcome, "generalisation": None if math.isnan(score) else score, "genotype": genotype,
           "popsize": int(len(search.last_population)) if search.last_population is not None else None,
           "genome_size": getattr(decoder, "genome_size", None),
           "num_params": getattr(getattr(decoder, "target", None), "num_params", None),
           "env_steps": int(search.counters.env_steps), "best_fitness": search.best_fitness, "rollout": rollout,
           "seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu_started,
           "max_seconds": max_seconds, "clock": "cpu", "config": config.to_dict()}
    path = run_path(root, variant, arm, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=1, default=_json_default))
    os.replace(tmp, path)
    return out


def generalisation(components: Any, genotype: Any) -> float:
    """The task's generalisation score of one genotype (``task.generalisation``: Gruau's 625 start states);
    NaN when the task has none (the genotype is decoded either way)."""
    from evohyper.api.rows import population_of_one

    one = genotype.reshape(-1) if isinstance(genotype, torch.Tensor) else genotype
    phen = components.decoder.decode(population_of_one(one))
    if not hasattr(components.task, "generalisation"):
        return float("nan")
    return float(components.task.generalisation(phen).reshape(-1)[0])


def rescore(run: dict[str, Any]) -> float:
    """Re-score a cached run's solving genotype (its JSON's ``config`` and ``genotype``) with today's task."""
    from evohyper.config import validate

    components = validate(run["config"]).components()
    data = run["genotype"]
    if data is None:
        raise ValueError(f"run {run['variant']} {run['arm']} seed {run['seed']} did not solve: nothing to re-score")
    one = torch.tensor(data, dtype=torch.float32) if isinstance(data, list) else \
        components.strategy.import_genotype(data)
    return generalisation(components, one)


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, torch.Tensor):
        return value.tolist()
    return str(value)


# ----------------------------------------------------------------------------- the driver
def _work(args: tuple) -> tuple[tuple, dict[str, Any] | str]:
    try:
        return args, run_one(*args)
    except Exception as exc:    # reported, the other runs go on; the run is retried next time
        return args, f"{type(exc).__name__}: {exc}"


def _init_worker() -> None:
    torch.set_num_threads(1)


def plan(root: Path, variants: list[str], arms: list[str], seeds: list[int],
         max_seconds: float | None = None) -> list[tuple[str, str, int]]:
    """The runs still to do, seed by seed with the arms side by side (a stopped study stays balanced): those without
    a JSON, and those that timed out under a shorter clock than this one (``max_seconds``; None: no clock) or under
    the wall clock the first runs used (no ``clock: cpu`` in their JSON: a loaded machine could time them out)."""
    def done(path: Path) -> bool:
        if not path.is_file():
            return False
        run = json.loads(path.read_text())
        if not run.get("timed_out"):
            return True
        return (run.get("clock") == "cpu" and max_seconds is not None
                and max_seconds <= float(run.get("max_seconds") or 0.0))
    return [(v, a, s) for v in variants for s in seeds for a in arms
            if runs_variant(a, v) and not done(run_path(root, v, a, s))]


def run_all(task: str, root: Path, variants: list[str], arms: list[str], seeds: list[int], jobs: int,
            max_steps: int | None = None, cap: int | None = None, max_seconds: float | None = None) -> None:
    root.mkdir(parents=True, exist_ok=True)
    ignore = root.parent / ".gitignore"          # the cached runs stay out of git wherever --root points
    if not ignore.exists():
        ignore.write_text("*\n")
    todo = plan(root, variants, arms, seeds, max_seconds)
    total = sum(runs_variant(a, v) for v in variants for a in arms) * len(seeds)
    print(f"[pole_balancing] {task}: {total} runs, {total - len(todo)} done, {len(todo)} to run with {jobs} "
          f"job(s) -> {root}", flush=True)
    work = [(task, v, a, s, root, max_steps, cap, max_seconds) for v, a, s in todo]
    t0, finished = time.perf_counter(), 0

    def report(args: tuple, out: dict[str, Any] | str) -> None:
        nonlocal finished
        finished += 1
        _, v, a, s = args[:4]
        if isinstance(out, str):
            tail = f"FAILED ({out}); re-run to retry"
        elif out["solved"]:
            g = out["generalisation"]
            tail = (f"solved after {out['evaluations']:,} evaluations (generation {out['generations']})"
                    + ("" if g is None or math.isnan(g) else f", generalisation {g:.0f}/625"))
        elif out.get("timed_out"):
            tail = f"timed out after {out['evaluations']:,} evaluations"
        else:
            tail = f"not solved within {out['cap']:,} evaluations"
        took = "" if isinstance(out, str) else f"{out['seconds']:.1f} s; "
        print(f"[pole_balancing] {finished}/{len(work)} {v} {a} seed {s}: {tail} ({took}"
              f"{time.perf_counter() - t0:.0f} s in all)", flush=True)

    if jobs <= 1:
        for args in work:
            report(*_work(args))
        return
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = "1"      # inherited by the spawned workers before torch loads there
    with multiprocessing.get_context("spawn").Pool(jobs, initializer=_init_worker) as pool:
        for args, out in pool.imap_unordered(_work, work):
            report(args, out)


def make_report(out_dir: Path, jobs: int = 1) -> Path:
    """``make reports``: the probes that set the stall windows and NEAT's threshold, the study on ``double_pole``
    (the default variants, arms and seeds under the per-run clock; cached runs skipped), then ``pole_balancing.md``
    in ``out_dir``."""
    from experiments.pole_balancing_probes import main as probes
    from experiments.pole_balancing_report import write_report

    probes(["--root", str(RUNS)])
    root = results_dir(RUNS, "double_pole", None, None)
    run_all("double_pole", root, list(DEFAULT_VARIANTS), list(DEFAULT_ARMS), list(SEEDS), jobs,
            max_seconds=MAX_SECONDS)
    return write_report(root, out_dir, command="python -m experiments.make_reports pole_balancing")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(DEFAULT_VARIANTS))
    p.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(DEFAULT_ARMS),
                   help="default: every arm but the per-neuron DCT ones")
    p.add_argument("--seeds", type=int, default=len(SEEDS), help="seeds 0 .. N-1 per arm (the study: 20)")
    p.add_argument("--jobs", type=int, default=1, help="runs at once (spawned processes, one thread each)")
    p.add_argument("--task", choices=TASKS, default="double_pole",
                   help="double_pole (the study) or cartpole (the stand-in, for smoke tests)")
    p.add_argument("--cap", type=int, default=None, help="one evaluation cap for every variant (smoke tests)")
    p.add_argument("--max-steps", type=int, default=None, help="the task's max_steps (smoke tests)")
    p.add_argument("--max-seconds", type=float, default=MAX_SECONDS,
                   help=f"stop a run after this many CPU seconds of its process (between generations): reported as timed out, a failure "
                        f"of its own kind (default {MAX_SECONDS:.0f}; 0: no clock)")
    p.add_argument("--root", type=Path, default=RUNS, help="where the run JSONs go (a directory per task)")
    p.add_argument("--out", type=Path, default=None,
                   help="where pole_balancing.md goes (default: reports/ for the study, else beside the runs)")
    p.add_argument("--report-only", action="store_true", help="write the report from the cached runs only")
    args = p.parse_args(argv)
    root = results_dir(args.root, args.task, args.cap, args.max_steps)
    study = args.task == "double_pole" and args.cap is None and args.max_steps is None
    if not args.report_only:
        try:
            run_all(args.task, root, args.variants, args.arms, list(range(args.seeds)), args.jobs,
                    args.max_steps, args.cap, args.max_seconds or None)
        except KeyboardInterrupt:
            print("[pole_balancing] stopped; re-run the same command to continue", flush=True)
            return 130
    from experiments.pole_balancing_report import write_report

    out = args.out or (ROOT / "reports" if study else root)
    command = "python -m experiments.pole_balancing " + " ".join(argv if argv is not None else sys.argv[1:])
    print(write_report(root, out, command=command.strip()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
