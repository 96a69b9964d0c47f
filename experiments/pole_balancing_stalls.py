"""How long the ``restart_stall`` window of the study's stall-restart arms (``cmaes-linrs``, ``cmaes-fr3rs``) is,
measured on probe seeds the study never counts (``PROBE_SEEDS``), so the window is not fitted to the seeds it is
judged on.

For each probe seed, the arm *without* restarts (``cmaes-lin`` on the double pole with velocities, ``cmaes-fr3``
without) runs as the study runs it (``pole_balancing.build``, same cap) while the best fitness of each generation is
followed: a *stall* is a stretch of generations in which the run's best did not rise. The row keeps the longest
stall a run had before it solved (a restart after a shorter window would have thrown that run away) and, for an
unsolved run, the stall it ended in. ``window(rows)`` is the rule: the smallest multiple of 50 above every solving
run's longest stall. Runs that never solve sit far longer (hundreds of generations at an early best of a few dozen
steps), where cma's own criteria, which watch the spread of recent values, stay quiet.

One JSON per probe run under ``experiments/out/pole_balancing/stalls/<variant>/<arm>/seed<k>.json`` (resumable);
``pole_balancing_report`` prints the table and checks the spec's windows against the rule.

Usage::

    python -m experiments.pole_balancing_stalls [--arms cmaes-linrs cmaes-fr3rs] [--root experiments/out/pole_balancing]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import torch

from experiments.pole_balancing_spec import RUNS, STALL_ARMS, VARIANTS, solved_mask

#: seeds outside the study's (0-19)
PROBE_SEEDS = tuple(range(100, 120))
#: the window is a multiple of this many generations
ROUND = 50


def probe(variant: str, arm: str, seed: int) -> dict[str, Any]:
    """One run of ``arm`` on ``variant`` to the variant's cap, with its stalls (see the module docstring)."""
    from evohyper.engine.runner import build_search
    from experiments.pole_balancing import _Capture, build

    torch.set_num_threads(1)
    config, components = build("double_pole", variant, arm, seed)
    steps = int(config.to_dict()["task"]["max_steps"])
    search = build_search(config, None, components=components)
    capture = _Capture(search.backend)
    search.backend = capture
    best, since, stalls, done, generation, solved = -float("inf"), 0, [], 0, 0, False
    try:
        while done < VARIANTS[variant].cap and not solved:
            search.step()
            top = float(torch.nan_to_num(torch.as_tensor(capture.last.fitness, dtype=torch.float64),
                                         nan=-float("inf")).max())
            if top > best:
                stalls.append(since)
                best, since = top, 0
            else:
                since += 1
            solved = bool(solved_mask("double_pole", capture.last, steps).any())
            done += len(capture.last.fitness)
            generation += 1
    finally:
        capture.backend.close()
    return {"variant": variant, "arm": arm, "seed": seed, "solved": solved, "generations": generation,
            "evaluations": done, "best_fitness": best, "longest_stall": max(stalls + [since]),
            "final_stall": since, "stalls": stalls}


def path_of(root: Path, variant: str, arm: str, seed: int) -> Path:
    return Path(root) / "stalls" / variant / arm / f"seed{seed}.json"


def load(root: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((Path(root) / "stalls").glob("*/*/seed*.json"))]


def window(rows: list[dict[str, Any]]) -> int | None:
    """The rule: the smallest multiple of ``ROUND`` above every solving run's longest stall (None: none solved)."""
    longest = [r["longest_stall"] for r in rows if r["solved"]]
    return (max(longest) // ROUND + 1) * ROUND if longest else None


def report_lines(root: Path) -> list[str]:
    """The report's section: per stall arm, the probe runs, the rule's window and the one the study uses."""
    rows = load(root)
    lines = ["## The stall window of the restart arms", "",
             "`cmaes-linrs` / `cmaes-fr3rs` are the IPOP arms with the strategy's `restart_stall: G`: a restart also "
             "when the running CMA-ES has not raised its best for G generations (cma's own criteria never fired on "
             "the stuck runs). G comes from probe seeds "
             f"{PROBE_SEEDS[0]}-{PROBE_SEEDS[-1]} (not the study's) of the arm without restarts "
             "(`python -m experiments.pole_balancing_stalls`): the smallest multiple of "
             f"{ROUND} above the longest stall any solving probe run had before it solved.", "",
             "| arm (window) | base arm, variant | probe runs | solved | longest stall before solving, max "
             "(median) | unsolved: final stall, min | rule's G | G used |", "|---|---|---|---|---|---|---|---|"]
    for arm, (base, variant, used) in STALL_ARMS.items():
        mine = [r for r in rows if r["arm"] == base and r["variant"] == variant]
        solved = [r["longest_stall"] for r in mine if r["solved"]]
        unsolved = [r["final_stall"] for r in mine if not r["solved"]]
        rule = window(mine)
        median = sorted(solved)[len(solved) // 2] if solved else None
        lines.append(f"| `{arm}` | `{base}`, {variant} | {len(mine)} | {len(solved)} | "
                     f"{max(solved) if solved else '–'} ({median if median is not None else '–'}) | "
                     f"{min(unsolved) if unsolved else '–'} | {rule if rule is not None else '–'} | {used}"
                     + ("" if rule in (None, used) or len(mine) < len(PROBE_SEEDS)
                        else " (**differs from the rule**)") + " |")
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", type=Path, default=RUNS)
    p.add_argument("--arms", nargs="+", choices=list(STALL_ARMS), default=list(STALL_ARMS),
                   help="probe only these stall arms' base arms")
    args = p.parse_args(argv)
    for arm in args.arms:
        base, variant, _ = STALL_ARMS[arm]
        for seed in PROBE_SEEDS:
            path = path_of(args.root, variant, base, seed)
            if path.is_file():
                continue
            row = probe(variant, base, seed)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(row))
            os.replace(tmp, path)
            print(f"[stalls] {arm}: {variant} {base} seed {seed}: solved {row['solved']} after {row['generations']} "
                  f"generations, longest stall {row['longest_stall']}", flush=True)
    print("\n".join(report_lines(args.root)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
