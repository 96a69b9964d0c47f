"""Why CMA-ES did not solve the double pole without velocities: short CMA-ES runs over the settings that could make
the difference (network size and type, sigma0, fitness), a few seeds each, one JSON line per run in
``experiments/out/pole_balancing/diagnosis.jsonl`` (read by ``pole_balancing_report``'s diagnosis section).

Each run: CMA-ES (cma's default population, from 0) on the direct weights of ``network``, stepped until an
individual is solved (the task's ``solved`` metric) or ``cap`` evaluations or ``max_seconds`` are spent; the row
keeps the evaluations to the first solver (population order, as the study counts), the evaluations spent and the
longest episode seen (``best_steps``). These are probes, not the study: 1-2 seeds per setting.

Usage::

    python -m experiments.pole_balancing_diagnosis [--only TAG ...] [--out experiments/out/pole_balancing]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from experiments.pole_balancing_spec import BACKEND, RUNS, VARIANTS

#: the tasks probed: the study's variants (``double_novel_steps``: no velocities, Shark's steps fitness) and the
#: single pole without velocities (the easiest memory task, as a control)
TASKS = {**{name: {"poles": v.poles, "velocities": v.velocities, "fitness": v.fitness} for name, v in VARIANTS.items()},
         "single_novel_steps": {"poles": 1, "velocities": False, "fitness": "steps"}}
#: (tag, task, hidden, activation, sigma0, seeds, cap): in the order they were run
PROBES: list[tuple[str, str, int, str, float, tuple[int, ...], int]] = [
    ("nm-steps-elman3-s1", "double_novel_steps", 3, "tanh", 1.0, (0, 1), 10_000),
    ("nm-steps-elman5-s1", "double_novel_steps", 5, "tanh", 1.0, (0, 1), 10_000),
    ("nm-steps-elman3-s5", "double_novel_steps", 3, "tanh", 5.0, (0, 1), 10_000),
    ("nm-steps-elman2-s1", "double_novel_steps", 2, "tanh", 1.0, (0,), 10_000),
    ("markov-elman3-s1", "double", 3, "tanh", 1.0, (0, 1), 5_000),
    ("single-nm-elman3-s1", "single_novel_steps", 3, "tanh", 1.0, (0, 1), 5_000),
    ("markov-mlp3-s1", "double", 3, "mlp", 1.0, (0, 1), 5_000),
    ("markov-elman3-s0.3", "double", 3, "tanh", 0.3, (0, 1), 5_000),
    ("nm-steps-linear-elman3-s1", "double_novel_steps", 3, "identity", 1.0, (0, 1), 8_000),
    ("single-nm-linear-elman3-s1", "single_novel_steps", 3, "identity", 1.0, (0, 1), 5_000),
    ("nm-steps-elman6-s0.3", "double_novel_steps", 6, "tanh", 0.3, (0, 1), 15_000),
    ("nm-damping-elman6-s0.3", "double_novel", 6, "tanh", 0.3, (0, 1), 15_000),
]


def probe(tag: str, task: str, hidden: int, activation: str, sigma0: float, seed: int, cap: int,
          max_seconds: float = 400.0) -> dict[str, Any]:
    """One CMA-ES run; ``activation: mlp`` = a feed-forward tanh MLP of ``hidden`` units (no recurrence)."""
    from evohyper.config import validate
    from evohyper.engine.runner import build_search

    torch.set_num_threads(1)
    network = ({"hidden": [hidden], "activation": "tanh"} if activation == "mlp" else
               {"hidden": [hidden], "recurrent": True, "activation": activation})
    raw = {"name": f"diag-{tag}", "seed": int(seed), "task": {"name": "double_pole", **TASKS[task]},
           "network": network, "decoder": {"name": "direct"}, "strategy": {"name": "cmaes", "sigma0": sigma0},
           "budget": {"evaluations": cap + 100_000}, "backend": dict(BACKEND),
           "output": {"progress": False, "tensorboard": False}}
    config = validate(raw)
    components = config.components()
    search = build_search(config, None, components=components)
    last: dict[str, Any] = {}
    evaluate = search.backend.evaluate

    def keep(*args: Any) -> Any:
        last["result"] = evaluate(*args)
        return last["result"]

    search.backend.evaluate = keep
    started, done, best, solved = time.perf_counter(), 0, 0.0, None
    try:
        while done < cap and time.perf_counter() - started < max_seconds:
            search.step()
            metrics = last["result"].metrics
            best = max(best, float(metrics["balanced_steps"].max()))
            hits = torch.nonzero(metrics["solved"] > 0.5).flatten()
            if len(hits):
                solved = done + int(hits[0]) + 1
                break
            done += len(metrics["balanced_steps"])
    finally:
        search.backend.close()
    net = f"{'MLP' if activation == 'mlp' else 'Elman'} h={hidden}" + (" linear" if activation == "identity" else "")
    return {"tag": tag, "variant": task, "network": net, "sigma0": sigma0, "seed": int(seed),
            "params": components.decoder.genome_size, "solved": solved, "evals": solved or done, "best_steps": best,
            "seconds": round(time.perf_counter() - started, 1)}


#: where the NEAT runs made before the fused rollout (network forwards in torch, one call per step) were moved
TORCH_LOOP_NEAT = "torch_loop_neat"


def torch_loop_neat_lines(root: Path) -> list[str]:
    """What the NEAT runs made with the torch loop (before ``double_pole_fused``) measured, as a note: they are
    not counted (their clock stopped runs the fused ones finish), but kept to show why."""
    runs = [json.loads(p.read_text()) for p in sorted((Path(root) / TORCH_LOOP_NEAT).glob("*/seed*.json"))]
    if not runs:
        return []
    timed = sum(1 for r in runs if r.get("timed_out"))
    seconds = sorted(r["seconds"] for r in runs)
    return [f"**NEAT's rollout.** The study's first {len(runs)} NEAT runs (double pole with velocities) ran each "
            "network step as torch calls (~250 us per step for the population, ~35 s per generation holding a "
            f"network that balances 100,000 steps): {seconds[len(seconds) // 2]:.0f} s per run (median; "
            f"{seconds[0]:.0f}-{seconds[-1]:.0f} s), {timed} stopped by the {runs[0].get('max_seconds') or 600:.0f} s "
            "clock. Every NEAT run counted here uses the fused rollout (`tasks/double_pole_fused.py`: the networks "
            "and the cart in one numba kernel, held step for step to neat-python's `RecurrentNetwork` and the "
            "reference cart), a few seconds per run; the earlier runs are kept under "
            f"`experiments/out/pole_balancing/{TORCH_LOOP_NEAT}/` and not counted (their float32 torch arithmetic "
            "differs from the kernel's in rounding, so their trajectories, not their method, differ).", ""]


def rollout_path_lines(runs: list[dict[str, Any]]) -> list[str]:
    """Which rollout stepped the counted runs: the fused kernel (``rollout: fused``), the torch loop (``torch``:
    the linear policy, which the kernel does not cover), or the torch loop before the kernel existed (no field)."""
    counts: dict[str, dict[str, int]] = {}
    for r in runs:
        path = r.get("rollout") or "torch loop, before the fused kernel"
        counts.setdefault(path, {}).setdefault(r["arm"], 0)
        counts[path][r["arm"]] += 1
    if not counts:
        return []
    parts = [f"{path}: {sum(arms.values())} runs ({', '.join(f'`{a}` {n}' for a, n in sorted(arms.items()))})"
             for path, arms in sorted(counts.items())]
    return ["**Rollout paths of the counted runs** (`rollout` in each run's JSON; the paths agree to float rounding, "
            "tests in `tests/tasks/test_double_pole_fused.py`): " + "; ".join(parts) + ".", ""]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", default=None, help="run only these tags")
    p.add_argument("--out", type=Path, default=RUNS)
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "diagnosis.jsonl"
    for tag, task, hidden, activation, sigma0, seeds, cap in PROBES:
        if args.only and tag not in args.only:
            continue
        for seed in seeds:
            row = probe(tag, task, hidden, activation, sigma0, seed, cap)
            print(json.dumps(row), flush=True)
            with path.open("a") as f:
                f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
