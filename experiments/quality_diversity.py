"""The quality-diversity study (issue 23): CMA-ME on LunarLander-v3 against pyribs' own lunar-lander tutorial
loop, vector and NEAT MAP-Elites at the same evaluation budget, and a MuJoCo walker.

Each ``(arm, seed)`` run is one process: ``python -m experiments.quality_diversity_pyribs`` for the tutorial's
Dask loop, ``evohyper run search_spaces/<config> --set seed=k --set budget.generations=N`` (the Ray backend,
2 actors) for ours; the driver times the whole process, the runs report their loop times (the tutorial's
clock starts before its Dask cluster starts; ``metrics.csv``'s ``seconds`` counts from our first generation,
Ray's actors starting inside it). Runs go one at a time, **never two at once**, seed by seed with the two
CMA-ME sides side by side (their order alternating from seed to seed) so that other load on the machine falls
on both alike.

One directory per finished run, ``experiments/out/quality_diversity/<arm>/seed<k>/`` (git-ignored): ``run.json``
(written last, atomically: the curve per iteration of evaluations, seconds, QD score, coverage and best
objective; loop and process seconds) and ``archive.npz`` (the final elites' objectives and measures). **Resumable**
at run granularity: a run whose ``run.json`` exists is skipped, a killed one starts again. ``check.json`` holds
the same-computation check (``same_computation``: 10 solutions scored by our task and by the tutorial's
``simulate``).

Usage::

    python -m experiments.quality_diversity [--arms pyribs_dask cma_me map_elites] [--seeds 3]
        [--report-only] [--root experiments/out/quality_diversity] [--out reports]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from experiments.quality_diversity_spec import (
    ARMS,
    ITERATIONS,
    OURS,
    REFERENCE,
    ROOT,
    RUNS,
    SEEDS,
    WORKERS,
    result_path,
    run_dir,
)


# ----------------------------------------------------------------------------- one run
def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[name] = "1"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def read_metrics(path: Path) -> dict[str, list[float]]:
    """Our ``metrics.csv`` as the study's curve: evaluations, seconds, qd_score, coverage, best (archive_best)."""
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    pick = {"evaluations": "evaluations", "seconds": "seconds", "qd_score": "qd_score", "coverage": "coverage",
            "best": "archive_best"}
    return {k: [float(r[c]) if r[c] not in ("", None) else float("nan") for r in rows] for k, c in pick.items()}


def read_elites(directory: Path) -> dict[str, np.ndarray]:
    """A finished run's elites through the engine's one archive reader (``engine/archive_files.py``: vector
    ``elites.pt`` or NEAT ``elites.json`` alike): objectives, measures, ranges and a grid's dims."""
    from evohyper.engine.archive_files import read

    archive = read(directory, genotypes=False)
    out = {"objectives": archive.objectives[:, 0].numpy().astype(np.float64),
           "measures": np.asarray(archive.measures, dtype=np.float64),
           "ranges": np.asarray(archive.extra["ranges"], dtype=np.float64)}
    if archive.dims is not None:           # a grid archive (the heatmap's cells)
        out["dims"] = np.asarray(archive.dims, dtype=np.int64)
    return out


def run_one(arm: str, seed: int, root: Path) -> dict[str, Any]:
    """One run in its own process; its ``run.json`` and ``archive.npz`` written; returns the JSON's content.

    A killed LunarLander run starts again (a few minutes; its timing is what the study compares); a killed
    walker run (an hour) continues from its newest checkpoint with ``evohyper resume`` (its ``seconds`` summed
    over the processes by the engine; ``resumed`` says so)."""
    spec = ARMS[arm]
    out = run_dir(root, arm, seed)
    started_before = sorted((out / "run").glob("*/checkpoints/*")) if spec.resumable else []
    if out.exists() and not started_before:
        shutil.rmtree(out)                 # a run killed earlier starts again
    out.mkdir(parents=True, exist_ok=True)
    if started_before:
        (previous,) = sorted((out / "run").iterdir())
        cmd = [str(Path(sys.executable).with_name("evohyper")), "resume", str(previous)]
        print(f"[quality_diversity] {arm} seed {seed}: resuming {previous}", flush=True)
    elif spec.kind == "pyribs":
        cmd = [sys.executable, "-m", "experiments.quality_diversity_pyribs", "--seed", str(seed),
               "--iterations", str(ITERATIONS), "--workers", str(WORKERS), "--out", str(out)]
    else:
        sets = [f"seed={seed}", *spec.overrides, f"output.runs_dir={out / 'run'}", "output.progress=false",
                "output.tensorboard=false"]
        cmd = [str(Path(sys.executable).with_name("evohyper")), "run", str(ROOT / "search_spaces" / spec.config)]
        cmd += [x for v in sets for x in ("--set", v)]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, env=_env())
    process_seconds = time.perf_counter() - started
    if spec.kind == "pyribs":
        side = json.loads((out / "pyribs.json").read_text())
        curve, loop, setup = side["curve"], side["loop_seconds"], side["setup_seconds"]
        with np.load(out / "archive.npz", allow_pickle=False) as z:
            elites = {k: z[k] for k in ("objectives", "measures")}
    else:
        (run,) = sorted((out / "run").iterdir())
        curve, setup = read_metrics(run / "metrics.csv"), None
        loop = curve["seconds"][-1]
        elites = read_elites(run / "archive")
        np.savez(out / "archive.npz", **elites)
    result = {"arm": arm, "seed": int(seed), "kind": spec.kind, "group": spec.group,
              "iterations": len(curve["evaluations"]),
              "evaluations": int(curve["evaluations"][-1]), "curve": curve, "loop_seconds": float(loop),
              "setup_seconds": setup, "process_seconds": process_seconds, "workers": WORKERS,
              "resumed": bool(started_before),
              "final": {"qd_score": curve["qd_score"][-1], "coverage": curve["coverage"][-1],
                        "best": curve["best"][-1], "elites": int(len(elites["objectives"]))},
              "finished": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    _write_json(result_path(root, arm, seed), result)
    return result


# ----------------------------------------------------------------------------- the same computation
def same_computation(n: int = 10, seed: int = 0) -> dict[str, Any]:
    """Score ``n`` solutions (CMA-ME's first draws: N(0, 1) around the zero model) through our task, as
    ``search_spaces/lunarlander_cma_me.yaml`` builds it (genome = pyribs' ``(4, 8)`` model transposed, float32
    as the engine evaluates it), and through the tutorial's ``simulate`` on the same float32-rounded weights.
    Returns both sides' objectives and measures and whether they are equal; and, apart, the tutorial's scores of
    the float64 draws before rounding (``tutorial_float64``: how often the rounding alone changes an episode)."""
    import torch

    from evohyper.config import load_raw, validate
    from experiments.quality_diversity_pyribs import ENV_SEED, simulate

    raw = load_raw(ROOT / "search_spaces" / "lunarlander_cma_me.yaml")
    raw["backend"] = {"name": "local"}
    components = validate(raw).components()
    draws = np.random.default_rng(seed).normal(size=(n, 32))
    solutions = draws.astype(np.float32)
    genome = solutions.reshape(n, 4, 8).transpose(0, 2, 1).reshape(n, 32)
    phenotypes = components.decoder.decode(torch.from_numpy(np.ascontiguousarray(genome)))
    result = components.task.evaluate(phenotypes, seed=0)
    ours = np.concatenate([result.fitness.reshape(n, 1).double().numpy(),
                           result.descriptors.reshape(n, 2).double().numpy()], axis=1)
    theirs = np.array([simulate(s.astype(np.float64), ENV_SEED) for s in solutions])
    unrounded = np.array([simulate(s, ENV_SEED) for s in draws])
    components.task.close()
    return {"n": n, "ours": ours.tolist(), "tutorial": theirs.tolist(), "equal": bool(np.array_equal(ours, theirs)),
            "max_abs_difference": float(np.max(np.abs(ours - theirs))),
            "rows_equal": int(np.sum(np.all(ours == theirs, axis=1))), "tutorial_float64": unrounded.tolist(),
            "rows_equal_float64": int(np.sum(np.all(unrounded == theirs, axis=1)))}


# ----------------------------------------------------------------------------- the driver
def plan(root: Path, arms: list[str], seeds: list[int]) -> list[tuple[str, int]]:
    """The runs still to do: first the CMA-ME comparison, seed by seed with its two sides side by side (their
    order alternating with the seed, so neither always runs first), then the other arms seed by seed."""
    todo = []
    for s in seeds:
        pair = [a for a in (REFERENCE, OURS) if a in arms]
        todo += [(a, s) for a in (pair[::-1] if s % 2 else pair)]
    todo += [(a, s) for s in seeds for a in arms if a not in (REFERENCE, OURS)]
    return [(a, s) for a, s in todo if not result_path(root, a, s).is_file()]


def run_all(root: Path, arms: list[str], seeds: list[int]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    check = root / "check.json"
    if not check.is_file():
        print("[quality_diversity] same-computation check: 10 solutions through our task and the tutorial's "
              "simulate ...", flush=True)
        _write_json(check, same_computation())
    verdict = json.loads(check.read_text())
    print(f"[quality_diversity] same computation: {verdict['rows_equal']}/{verdict['n']} solutions equal "
          f"(max |difference| {verdict['max_abs_difference']:.3g})", flush=True)
    todo = plan(root, arms, seeds)
    total = len(arms) * len(seeds)
    print(f"[quality_diversity] {total} runs, {total - len(todo)} cached, {len(todo)} to run -> {root}", flush=True)
    t0 = time.perf_counter()
    for k, (arm, seed) in enumerate(todo, 1):
        print(f"[quality_diversity] {k}/{len(todo)} {arm} seed {seed} ...", flush=True)
        try:
            out = run_one(arm, seed, root)
        except (subprocess.CalledProcessError, OSError, ValueError, KeyError) as exc:
            print(f"[quality_diversity] {arm} seed {seed} FAILED ({type(exc).__name__}: {exc}); re-run to retry",
                  flush=True)
            continue
        f = out["final"]
        print(f"[quality_diversity] {k}/{len(todo)} {arm} seed {seed}: QD score {f['qd_score']:.0f}, coverage "
              f"{f['coverage']:.3f}, best {f['best']:.1f}; {out['evaluations']} evaluations in "
              f"{out['loop_seconds']:.0f} s loop ({out['evaluations'] / out['loop_seconds']:.0f}/s), "
              f"{out['process_seconds']:.0f} s process; {time.perf_counter() - t0:.0f} s in all", flush=True)


def make_report(out_dir: Path) -> Path:
    """``make reports``: the default arms x 3 seeds (cached runs skipped), then ``quality_diversity.md``."""
    from experiments.quality_diversity_report import write_report

    run_all(RUNS, [a for a, s in ARMS.items() if s.default], list(SEEDS))
    return write_report(RUNS, out_dir, command="python -m experiments.make_reports quality_diversity")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arms", nargs="+", choices=list(ARMS), default=[a for a, s in ARMS.items() if s.default])
    p.add_argument("--seeds", type=int, default=len(SEEDS), help="seeds 0 .. N-1 per arm (the study: 3)")
    p.add_argument("--root", type=Path, default=RUNS, help="where the runs go")
    p.add_argument("--out", type=Path, default=ROOT / "reports", help="where quality_diversity.md goes")
    p.add_argument("--report-only", action="store_true", help="write the report from the cached runs only")
    args = p.parse_args(argv)
    if not args.report_only:
        try:
            run_all(args.root, args.arms, list(range(args.seeds)))
        except KeyboardInterrupt:
            print("[quality_diversity] stopped; re-run the same command to continue", flush=True)
            return 130
    from experiments.quality_diversity_report import write_report

    command = "python -m experiments.quality_diversity " + " ".join(argv if argv is not None else sys.argv[1:])
    print(write_report(args.root, args.out, command=command.strip()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
