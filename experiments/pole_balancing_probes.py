"""Probes that set two options of the pole study on seeds the study never counts (``PROBE_SEEDS``), so neither is
fitted to the seeds it is judged on. Each probe run is the study's run (``pole_balancing_count.counted_run``: same cap
and clock), followed generation by generation.

**The stall window** of the stall-restart arms (``cmaes-linrs``, ``cmaes-fr3rs``: IPOP plus the strategy's
``restart_stall``). The arm *without* restarts (``cmaes-lin`` with velocities, ``cmaes-fr3`` without) runs on each
probe seed while its best fitness is followed: a *stall* is a stretch of generations in which the best did not
rise. The row keeps the longest stall a run had before it solved (a restart after a shorter window would have
thrown that run away) and, unsolved, the stall it ended in. ``window(rows)``: the smallest multiple of 50 above
every solving run's longest stall. Runs that never solve sit far longer, where cma's own criteria stay quiet.

**NEAT's compatibility threshold** of the ``neat-s`` arm. The study's ``neat`` arm takes the paper's threshold 3.0,
but neat-python's distance divides the disjoint genes by the larger genome's gene count where Stanley & Miikkulainen
divide by 1 for genomes under 20 genes, so at 3.0 every genome of the pole runs falls in one species: NEAT without
speciation. ``THRESHOLDS`` run on ``SPECIES_SEEDS`` (double pole with velocities), with the species count of every
generation; ``threshold_choice(rows)``: the threshold with the most solved runs (a tie: the larger). A run with more
species than the population can hold stops with the strategy's error, a failure.

One JSON per probe run under ``experiments/out/pole_balancing/stalls/<variant>/<arm>/seed<k>.json`` and
``.../species/t<threshold>/seed<k>.json`` (resumable); ``pole_balancing_report`` prints both tables and checks the
spec's values against the rules.

Usage::

    python -m experiments.pole_balancing_probes [--probes stalls species] [--arms cmaes-linrs cmaes-fr3rs]
        [--root experiments/out/pole_balancing]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from experiments.pole_balancing_count import counted_run
from experiments.pole_balancing_spec import MAX_SECONDS, NEAT_THRESHOLD, RUNS, STALL_ARMS, VARIANTS

#: seeds outside the study's (0-19)
PROBE_SEEDS = tuple(range(100, 120))
#: the stall window is a multiple of this many generations
ROUND = 50
#: NEAT compatibility thresholds probed (the paper's first) and their seeds
THRESHOLDS = (3.0, 2.0, 1.5, 1.0)
SPECIES_SEEDS = tuple(range(100, 110))


def follow(variant: str, arm: str, seed: int, observe: Callable[[Any, Any], None],
           strategy: dict[str, Any] | None = None) -> dict[str, Any]:
    """One run as the study counts it (``counted_run``: to the variant's cap, its first solver or the study's per-run
    clock, ``timed_out``), ``observe(result, strategy)`` after every generation. A config error raised mid-run (NEAT:
    more species than the population holds) ends it, in ``error``, a failure."""
    from evohyper.config.options import ConfigError

    seen = {"generations": 0, "evaluations": 0}

    def counting(result: Any, strategy: Any) -> None:
        seen["generations"] += 1
        seen["evaluations"] += len(result.fitness)
        observe(result, strategy)

    outcome, error = {"solved": False, "timed_out": False}, None
    try:
        outcome = counted_run("double_pole", variant, arm, seed, VARIANTS[variant].cap, max_seconds=MAX_SECONDS,
                              strategy=strategy, observe=counting)[0]
    except ConfigError as exc:
        error = str(exc)
    return {"variant": variant, "arm": arm, "seed": seed, "solved": outcome["solved"], **seen, "error": error,
            "timed_out": outcome["timed_out"]}


# ----------------------------------------------------------------------------- the stall window
def probe(variant: str, arm: str, seed: int) -> dict[str, Any]:
    """One run of ``arm`` on ``variant`` with its stalls (see the module docstring)."""
    track: dict[str, Any] = {"best": -float("inf"), "since": 0, "stalls": []}

    def observe(result: Any, _: Any) -> None:
        top = float(torch.nan_to_num(torch.as_tensor(result.fitness, dtype=torch.float64), nan=-float("inf")).max())
        if top > track["best"]:
            track["stalls"].append(track["since"])
            track["best"], track["since"] = top, 0
        else:
            track["since"] += 1

    row = follow(variant, arm, seed, observe)
    return {**row, "best_fitness": track["best"], "longest_stall": max(track["stalls"] + [track["since"]]),
            "final_stall": track["since"], "stalls": track["stalls"]}


def window(rows: list[dict[str, Any]]) -> int | None:
    """The rule: the smallest multiple of ``ROUND`` above every solving run's longest stall (None: none solved)."""
    longest = [r["longest_stall"] for r in rows if r["solved"]]
    return (max(longest) // ROUND + 1) * ROUND if longest else None


# ----------------------------------------------------------------------------- NEAT's threshold
def species_probe(threshold: float, seed: int) -> dict[str, Any]:
    """The ``neat`` arm at ``threshold`` on the double pole with velocities, with its species per generation."""
    counts: list[int] = []
    row = follow("double", "neat", seed, lambda _, strategy: counts.append(strategy.species_count),
                 {"compatibility_threshold": threshold})
    return {**row, "threshold": threshold, "species": counts}


def threshold_choice(rows: list[dict[str, Any]]) -> float | None:
    """The rule: the threshold with the most solved probe runs; a tie goes to the larger (nearer the paper's)."""
    solved: dict[float, int] = {}
    for r in rows:
        solved[r["threshold"]] = solved.get(r["threshold"], 0) + bool(r["solved"])
    return max(solved, key=lambda t: (solved[t], t)) if solved else None


# ----------------------------------------------------------------------------- cache and report
def stall_path(root: Path, variant: str, arm: str, seed: int) -> Path:
    return Path(root) / "stalls" / variant / arm / f"seed{seed}.json"


def species_path(root: Path, threshold: float, seed: int) -> Path:
    return Path(root) / "species" / f"t{threshold:g}" / f"seed{seed}.json"


def _load(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("**/seed*.json"))]


def _write(path: Path, row: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(row))
    os.replace(tmp, path)


def _flag(rule: Any, used: Any, complete: bool) -> str:
    return "" if rule is None or rule == used or not complete else " (**differs from the rule**)"


def stall_lines(root: Path) -> list[str]:
    """The report's section on the stall window: per stall arm, the probe runs, the rule's G and the one used."""
    rows = _load(Path(root) / "stalls")
    lines = ["## The stall window of the restart arms", "",
             "`cmaes-linrs` / `cmaes-fr3rs` are the IPOP arms with the strategy's `restart_stall: G`: a restart also "
             "when the running CMA-ES has not raised its best for G generations (cma's own criteria never fired on "
             f"the stuck runs). G comes from probe seeds {PROBE_SEEDS[0]}-{PROBE_SEEDS[-1]} (not the study's) of the "
             "arm without restarts (`python -m experiments.pole_balancing_probes --probes stalls`): the smallest "
             f"multiple of {ROUND} above the longest stall any solving probe run had before it solved.", "",
             "| arm | base arm, variant | probe runs | solved | longest stall before solving, max (median) | "
             "unsolved: final stall, min | rule's G | G used |", "|---|---|---|---|---|---|---|---|"]
    for arm, (base, variant, used) in STALL_ARMS.items():
        mine = [r for r in rows if r["arm"] == base and r["variant"] == variant]
        solved = sorted(r["longest_stall"] for r in mine if r["solved"])
        unsolved = [r["final_stall"] for r in mine if not r["solved"]]
        rule = window(mine)
        lines.append(f"| `{arm}` | `{base}`, {variant} | {len(mine)} | {len(solved)} | "
                     f"{max(solved) if solved else '–'} ({solved[len(solved) // 2] if solved else '–'}) | "
                     f"{min(unsolved) if unsolved else '–'} | {rule if rule is not None else '–'} | {used}"
                     f"{_flag(rule, used, len(mine) >= len(PROBE_SEEDS))} |")
    return lines + [""]


def species_lines(root: Path) -> list[str]:
    """The report's section on NEAT's threshold: per threshold, solved probe runs and species counts."""
    rows = _load(Path(root) / "species")
    lines = ["## NEAT's compatibility threshold", "",
             "At the paper's threshold 3.0 neat-python's distance (disjoint genes divided by the genome's gene "
             "count; the paper divides by 1 below 20 genes) puts every genome of the pole runs in one species, so the "
             "`neat` arm runs NEAT without speciation. The `neat-s` arm takes the threshold that solved the most "
             f"probe runs (seeds {SPECIES_SEEDS[0]}-{SPECIES_SEEDS[-1]}, double pole with velocities; a tie: the "
             "larger), `python -m experiments.pole_balancing_probes --probes species`.", "",
             "| threshold | probe runs | solved | mean evaluations to the end of the solving generation | "
             "species per generation, median of the runs' medians [max] | stopped: too many species |", "|---|---|---|---|---|---|"]
    for t in THRESHOLDS:
        mine = [r for r in rows if r["threshold"] == t]
        if not mine:
            continue
        ok = [r["evaluations"] for r in mine if r["solved"]]
        medians = [statistics.median(r["species"]) for r in mine if r["species"]]
        peak = max((max(r["species"]) for r in mine if r["species"]), default=0)
        lines.append(f"| {t:g} | {len(mine)} | {len(ok)} | {f'{statistics.mean(ok):,.0f}' if ok else '–'} | "
                     f"{statistics.median(medians) if medians else '–':g} [{peak}] | "
                     f"{sum(1 for r in mine if r['error'])} |")
    rule = threshold_choice(rows)
    complete = len(rows) >= len(THRESHOLDS) * len(SPECIES_SEEDS)
    lines += ["", f"Rule's threshold: {rule if rule is not None else '–'}; `neat-s` uses {NEAT_THRESHOLD:g}"
              f"{_flag(rule, NEAT_THRESHOLD, complete)}.", ""]
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", type=Path, default=RUNS)
    p.add_argument("--probes", nargs="+", choices=["stalls", "species"], default=["stalls", "species"])
    p.add_argument("--arms", nargs="+", choices=list(STALL_ARMS), default=list(STALL_ARMS),
                   help="the stall arms whose base arms are probed")
    args = p.parse_args(argv)
    if "stalls" in args.probes:
        for arm in args.arms:
            base, variant, _ = STALL_ARMS[arm]
            for seed in PROBE_SEEDS:
                path = stall_path(args.root, variant, base, seed)
                if not path.is_file():
                    row = probe(variant, base, seed)
                    _write(path, row)
                    print(f"[probes] {arm}: {variant} {base} seed {seed}: solved {row['solved']} after "
                          f"{row['generations']} generations, longest stall {row['longest_stall']}", flush=True)
        print("\n".join(stall_lines(args.root)))
    if "species" in args.probes:
        for t in THRESHOLDS:
            for seed in SPECIES_SEEDS:
                path = species_path(args.root, t, seed)
                if not path.is_file():
                    row = species_probe(t, seed)
                    _write(path, row)
                    print(f"[probes] neat threshold {t:g} seed {seed}: solved {row['solved']} after "
                          f"{row['evaluations']:,} evaluations, {max(row['species'], default=0)} species at most"
                          + (" (stopped: too many species)" if row["error"] else ""), flush=True)
        print("\n".join(species_lines(args.root)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
