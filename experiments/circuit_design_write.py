"""Writes ``reports/circuit_design.md`` and its plots from ``experiments.circuit_design.run``'s results."""
from __future__ import annotations

import os
import platform
from pathlib import Path

import numpy as np
import torch

from evohyper.families.circuits.designer import parameter_count
from evohyper.families.circuits.pictures import plot_ladders, plot_responses, pyplot
from evohyper.families.circuits.space import DEFAULT_SPACE as SPACE
from experiments.circuit_design_columns import LENGTHS, by_length, columns, same_targets
from experiments.circuit_design_text import report_lines


def plot_training(res: dict, path: Path) -> Path:
    plt = pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(18, 3.8), dpi=100)
    for name, log in res["logs"].items():
        every = log.get("loss_every", 1)
        loss = np.convolve(log["losses"], np.ones(5) / 5, mode="valid")       # a short running mean
        axes[0].plot(np.arange(len(loss)) * every + 2 * every, loss, label=name, lw=1)
        steps = [e["step"] for e in log["evals"]]
        for ax, key in zip(axes[1:], ("loss", "kinds_match", "equivalent")):
            ax.plot(steps, [e[key] for e in log["evals"]], marker=".", label=name)
    for ax, title in zip(axes, ("training loss (teacher forced, kind + smoothed value CE; running mean)",
                                "validation loss (teacher forced, kind + value CE)",
                                "validation kinds-only accuracy (greedy design)",
                                "validation response-equivalent (greedy design, no simulator)")):
        ax.set_xlabel("training step")
        ax.set_title(title, fontsize=8)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plotby_length(res: dict, path: Path) -> Path:
    plt = pyplot()
    cols = columns(res)
    fig, ax = plt.subplots(figsize=(6.5, 3.8), dpi=100)
    for m in [c for c in cols if c.startswith("GA")] + ["ours", "ours w/o simulator", "hybrid: GA seeded by ours"]:
        data = same_targets(res, cols[m])
        ax.plot(LENGTHS, by_length(data["equivalent"], data["length"]), marker="o", label=m,
                ls="--" if m.startswith("hybrid") else "-")          # the hybrid often lies on ours
    ax.set_xlabel("circuit length (components)")
    ax.set_ylabel("response-equivalent accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_examples(res: dict, path: Path, picks: list[tuple[int, int]]) -> Path:
    """Target, big-budget GA and our designer's responses for a few test targets (drawn by the family)."""
    test, s = res["test"], res["settings"]
    columns = []
    for length, index in picks:
        row = (length - SPACE.min_length) * s.nn_per_length + index
        curves = {"target": test.response[row]}
        gk, gv = res["ga"]["big"]["best"][(length, index)]
        curves["GA (big budget)"] = SPACE.response(gk, gv)[0]
        k, i = res["nets"]["ours"]["kinds"][row:row + 1], res["nets"]["ours"]["index"][row:row + 1]
        curves["ours"] = SPACE.response(k, SPACE.values(k, i))[0]
        columns.append((f"test target: length {length}, index {index}", curves))
    return plot_responses(path, SPACE.omega / (2 * np.pi), columns)


def plot_circuits(res: dict, path: Path, picks: list[tuple[int, int]]) -> Path:
    """The target's and our designer's schematics for a few test targets (drawn by the family)."""
    test, s, ours = res["test"], res["settings"], res["nets"]["ours"]
    rows = []
    for length, index in picks:
        i = (length - SPACE.min_length) * s.nn_per_length + index
        k, idx = ours["kinds"][i], ours["index"][i]
        eq = "response-equivalent" if ours["full"]["equivalent"][i] else "not equivalent"
        rows.append(((test.kinds[i], test.values[i], f"target (test, length {length}, index {index})"),
                     (k, SPACE.values(k[None], idx[None])[0], f"ours: {eq}")))
    return plot_ladders(path, rows)


def write(res: dict, out_dir: Path, command: str, seconds: float) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = {"training": plot_training(res, out_dir / "circuit_design_training.png"),
             "by_length": plotby_length(res, out_dir / "circuit_design_by_length.png"),
             "examples": plot_examples(res, out_dir / "circuit_design.png", [(4, 0), (7, 0), (10, 0)]),
             "circuits": plot_circuits(res, out_dir / "circuit_design_circuits.png", [(4, 0), (7, 0), (10, 0)])}
    env = {"python": platform.python_version(), "torch": torch.__version__, "machine": platform.machine(),
           "load": os.getloadavg(), "params": {n: parameter_count(m) for n, m in res["models"].items()}}
    out = out_dir / "circuit_design.md"
    out.write_text("\n".join(report_lines(res, plots, command, seconds, env)) + "\n")
    return out
