"""Writes ``reports/circuit_design.md`` and its plots from ``experiments.circuit_design.run``'s results."""
from __future__ import annotations

import os
import platform
from pathlib import Path

import numpy as np
import torch

from evohyper.families.circuits.designer import parameter_count
from evohyper.families.circuits.drawing import draw_ladder
from evohyper.families.circuits.space import DEFAULT_SPACE as SPACE
from experiments.circuit_design_columns import LENGTHS, by_length, columns, same_targets
from experiments.circuit_design_text import report_lines


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_training(res: dict, path: Path) -> Path:
    plt = _plt()
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
    plt = _plt()
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
    plt = _plt()
    test, s = res["test"], res["settings"]
    f = SPACE.omega.numpy() / (2 * np.pi)
    fig, axes = plt.subplots(2, len(picks), figsize=(4.2 * len(picks), 6), dpi=100)
    for col, (length, index) in enumerate(picks):
        row = (length - SPACE.min_length) * s.nn_per_length + index
        curves = {"target": test.response[row]}
        gk, gv = res["ga"]["big"]["best"][(length, index)]
        curves["GA (big budget)"] = SPACE.response(gk, gv)[0]
        k, i = res["nets"]["ours"]["kinds"][row:row + 1], res["nets"]["ours"]["index"][row:row + 1]
        curves["ours"] = SPACE.response(k, SPACE.values(k, i))[0]
        for ch, name in ((0, "|V_out| (V)"), (1, "|I_in| (A)")):
            ax = axes[ch, col]
            for label, r in curves.items():
                ax.loglog(f, r[ch].abs().numpy(), lw=2.5 if label == "target" else 1.2,
                          ls="-" if label == "target" else "--", label=label)
            ax.set_xlabel("frequency (Hz)")
            ax.set_ylabel(name)
            ax.grid(alpha=0.3, which="both")
        axes[0, col].set_title(f"test target: length {length}, index {index}", fontsize=9)
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_circuits(res: dict, path: Path, picks: list[tuple[int, int]]) -> Path:
    plt = _plt()
    test, s, ours = res["test"], res["settings"], res["nets"]["ours"]
    fig, axes = plt.subplots(len(picks), 2, figsize=(13, 1.6 * len(picks)), dpi=110)
    for row, (length, index) in enumerate(picks):
        i = (length - SPACE.min_length) * s.nn_per_length + index
        k, idx = ours["kinds"][i], ours["index"][i]
        eq = "response-equivalent" if ours["full"]["equivalent"][i] else "not equivalent"
        draw_ladder(axes[row, 0], test.kinds[i], test.values[i], f"target (test, length {length}, index {index})")
        draw_ladder(axes[row, 1], k, SPACE.values(k[None], idx[None])[0], f"ours: {eq}")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


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
