"""Two sections of ``reports/circuit_design.md``: is the paper's shape reproduced (each claim checked on the
measured numbers), and, when the 0.25 target is not met, what the training curves say would reach it."""
from __future__ import annotations

import numpy as np

from experiments.circuit_design_columns import LENGTHS, PUBLISHED, by_length, columns, same_targets

TARGET = 0.25


def _curve(col: dict, metric: str = "equivalent") -> list[float]:
    return by_length(col[metric], col["length"])


def _ends(curve: list[float]) -> tuple[float, float]:
    """Mean over lengths 4-5 and over lengths 9-10."""
    return float(np.mean(curve[:2])), float(np.mean(curve[-2:]))


def shape_lines(res: dict) -> list[str]:
    s, cols = res["settings"], columns(res)
    same = {m: same_targets(res, c) for m, c in cols.items()}
    ga_names = [c for c in cols if c.startswith("GA")]
    paper_mean = {m: float(np.mean(v)) for m, v in PUBLISHED["exact"].items()}
    yes = {True: "**yes**", False: "**no**"}
    ours = _curve(same["ours"])
    rows = ["## Is the paper's shape reproduced?", "",
            "The paper's Table 1 reports exact accuracy; ours is far below it, so the shape is checked on the "
            "response-equivalent accuracy (the issue's metric). GA columns and ours on the same "
            f"{len(same[ga_names[0]]['length'])} test targets; the ablations on all {len(cols['ours']['length'])}.",
            "", "| the paper's finding (exact accuracy, Table 1) | here (response-equivalent) | reproduced? |",
            "|---|---|---|"]
    pg = PUBLISHED["exact"]["GA"]
    for g in ga_names:
        a, b = _ends(_curve(same[g]))
        rows.append(f"| the GA falls with length: {pg[0]:.2f} (4) -> {pg[-1]:.2f} (10) | {g}: {a:.2f} at lengths "
                    f"4-5 -> {b:.2f} at 9-10 | {yes[a > b]} |")
    a, b = _ends(ours)
    pa = PUBLISHED["exact"]["ours"]
    drops = {g: np.subtract(*_ends(_curve(same[g]))) for g in ga_names}
    rows.append(f"| ours stays flat with length: {pa[0]:.2f} (4), {max(pa):.2f} (max), {pa[-1]:.2f} (10) | "
                f"{a:.2f} at 4-5 -> {b:.2f} at 9-10 (drop {a - b:+.2f}; GA drops "
                + ", ".join(f"{d:+.2f}" for d in drops.values()) + ") | "
                f"{yes[(a - b) < min(drops.values()) and b > 0]} |")
    long = [i for i, n in enumerate(LENGTHS) if n >= 6]
    for g in ga_names:
        won = sum(ours[i] > _curve(same[g])[i] for i in long)
        rows.append(f"| ours beats the GA at every length >= 6 | vs {g}: ours higher at {won} of {len(long)} "
                    f"lengths | {yes[won == len(long)]} |")
    mean = {m: float(np.mean(_curve(cols[m]))) for m in s.designers}
    for m in [d for d in s.designers if d not in ("ours", "ours, paper's input")]:
        rows.append(f"| ours beats the ablation {m}: mean {paper_mean['ours']:.3f} vs {paper_mean[m]:.3f} | "
                    f"{mean['ours']:.3f} vs {mean[m]:.3f} | {yes[mean['ours'] > mean[m]]} |")
    w = float(np.mean(_curve(cols["ours w/o simulator"])))
    rows.append(f"| the simulator adds a little: {paper_mean['ours w/o simulator']:.3f} -> {paper_mean['ours']:.3f} "
                f"| w/o simulator {w:.3f} -> with {mean['ours']:.3f} | {yes[mean['ours'] >= w]} (ours adds more: "
                "beams, refinement and polish search around the network's guess) |")
    return [*rows, ""]


def outlook_lines(res: dict) -> list[str]:
    """What the curves say about reaching the target (estimates, labelled as such)."""
    s, cols = res["settings"], columns(res)
    measured = float(np.mean(_curve(cols["ours"])))
    greedy = float(np.mean(_curve(cols["ours w/o simulator"])))
    if measured >= TARGET:
        return []
    log = res["logs"]["ours"]
    ev = log["evals"]
    last, back = ev[-1], ev[-1 - min(4, len(ev) - 1)]
    steps = last["step"] - back["step"]
    rate = (last["equivalent"] - back["equivalent"]) / steps * 1000
    per_step = log["seconds"] / log["steps"]
    full = sum(lg["steps"] == s.train.steps for lg in res["logs"].values())
    at_end = sum(lg["best_step"] == lg["steps"] for lg in res["logs"].values())
    need_greedy = TARGET * greedy / measured if measured > 0 else TARGET   # greedy figure matching 0.25 refined
    more = (need_greedy - last["equivalent"]) / rate * 1000 if rate > 0 else float("inf")
    return [
        f"## Why the target ({TARGET}) is not reached, and what would reach it", "",
        f"Measured: ours **{measured:.3f}** response-equivalent on the test targets (greedy, no simulator: "
        f"{greedy:.3f}); validation (greedy, {s.train.val_per_length} per length) rose from "
        f"{back['equivalent']:.3f} at step {back['step']} to {last['equivalent']:.3f} at step {last['step']} "
        f"(+{rate:.3f} per 1000 steps) while the validation loss went {back['loss']:.3f} -> {last['loss']:.3f}. "
        f"Designers that ran their whole {s.train.steps}-step budget: {full} of {len(res['logs'])}; with the "
        f"best validation loss at the last evaluation: {at_end} of {len(res['logs'])}. The flattening of the "
        "loss at the end coincides with the cosine schedule taking the learning rate to zero, so it is not "
        "evidence of convergence.", "",
        "**Estimate (not measured).** The simulator multiplies the greedy figure by "
        f"{measured / greedy if greedy > 0 else float('nan'):.1f} on these targets; if that factor held, {TARGET} "
        f"would need a greedy validation figure of about {need_greedy:.2f}"
        + (f". At the last {steps} steps' rate that is ~{more:,.0f} more steps, but that rate was earned while "
           "the learning rate annealed, so the honest " if more > 0 else
           " (already reached on validation: the gap is between validation and test targets), so the next ")
        + f"experiment is a fresh schedule 2-4x longer ({2 * s.train.steps:,}-{4 * s.train.steps:,} steps of batch "
        f"{s.train.batch}) with early stopping on validation. Measured cost here: {per_step:.2f} s per step for "
        f"ours (1 torch thread, two trainings side by side on the 2 shared cores), i.e. "
        f"{2 * s.train.steps * per_step / 3600:.1f}-{4 * s.train.steps * per_step / 3600:.1f} h for ours alone and "
        "several times that for the five designers; a GPU would likely be much faster (not measured: no GPU was "
        "lent to this task). The paper trains to convergence on a GPU.", "",
    ]
