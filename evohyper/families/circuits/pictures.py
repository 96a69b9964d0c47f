"""A circuit for people: the chain in words, its ladder schematic, and its response beside the target's.

Why the family owns them: a circuit run and the circuit science report show the same things (schematics,
responses over frequency), so one module draws them. Used by the ``circuit_design`` task's end-of-run picture
and phenotype description (``best/circuit.png``, listed by ``evohyper show`` and ``report.md``) and by
``experiments/circuit_design_write.py`` (the science report's example and schematic figures).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from evohyper.families.circuits.simulator import KINDS

UNITS = {"R": "Ohm", "C": "F", "L": "H"}
ELEMENTS = {"R": "resistor", "C": "capacitor", "L": "inductor"}
COLORS = {"R": "#ddd", "C": "#bde", "L": "#edb"}


def si(v: float) -> str:
    """``1200 -> "1.2 k"``: the value with an SI prefix (k, none, m, u, n), followed by a space for the unit."""
    for scale, prefix in ((1e3, "k"), (1, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n")):
        if v >= scale * 0.999:
            return f"{v / scale:.3g} {prefix}"
    return f"{v:.3g} "


def _components(kinds: torch.Tensor, values: torch.Tensor) -> list[tuple[str, str, float]]:
    """(placement, element letter, value) of each used slot of one chain (``kinds``, ``values`` ``[L]``)."""
    out = []
    for k, v in zip(kinds.tolist(), values.tolist()):
        if k >= 0:
            place, el = KINDS[int(k)].split("_")
            out.append((place, el, float(v)))
    return out


def circuit_text(kinds: torch.Tensor, values: torch.Tensor, words: bool = False) -> str:
    """One chain, source to load: ``series resistor 1.2 kOhm -> parallel capacitor 10 nF`` (``words``) or the
    compact ``S-R 1.2 kOhm · P-C 10 nF`` of the report tables."""
    if words:
        return " -> ".join(f"{place} {ELEMENTS[el]} {si(v)}{UNITS[el]}" for place, el, v in _components(kinds, values))
    return " · ".join(f"{'S' if place == 'series' else 'P'}-{el} {si(v)}{UNITS[el]}"
                      for place, el, v in _components(kinds, values))


def draw_ladder(ax: Any, kinds: torch.Tensor, values: torch.Tensor, title: str, max_length: int = 10) -> None:
    """A chain as a ladder schematic: series parts on the top wire, parallel parts down to the return wire."""
    from matplotlib.patches import Rectangle

    comps = _components(kinds, values)
    n = len(comps)
    ax.plot([0, n + 1], [1, 1], color="k", lw=1)
    ax.plot([0, n + 1], [0, 0], color="k", lw=1)
    ax.text(-0.1, 0.5, "1 V", ha="right", va="center", fontsize=7)
    ax.text(n + 1.1, 0.5, "1 kOhm", ha="left", va="center", fontsize=7)
    for x, (place, el, v) in enumerate(comps, start=1):
        label = f"{el}\n{si(v)}{UNITS[el]}"
        if place == "series":
            ax.add_patch(Rectangle((x - 0.35, 0.88), 0.7, 0.24, facecolor=COLORS[el], edgecolor="k"))
            ax.text(x, 1.0, label, ha="center", va="center", fontsize=5.5)
        else:
            ax.plot([x, x], [0, 1], color="k", lw=1)
            ax.add_patch(Rectangle((x - 0.3, 0.3), 0.6, 0.4, facecolor=COLORS[el], edgecolor="k"))
            ax.text(x, 0.5, label, ha="center", va="center", fontsize=5.5)
    ax.set_xlim(-0.8, max_length + 1.9)
    ax.set_ylim(-0.15, 1.25)
    ax.set_title(title, fontsize=8)
    ax.axis("off")


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend, imported on first use (a run that draws no picture
    never imports matplotlib)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


CHANNELS = ((0, "|V_out| (V)"), (1, "|I_in| (A)"))


def draw_responses(axes: Any, frequencies_hz: torch.Tensor, curves: dict[str, torch.Tensor],
                   legend: bool = True) -> None:
    """Responses ``{label: [2, K]}`` over frequency, |V_out| on ``axes[0]`` and |I_in| on ``axes[1]`` (log-log);
    the first curve (the target) drawn bold, the others dashed."""
    f = frequencies_hz.numpy()
    for ax, (ch, name) in zip(axes, CHANNELS):
        for n, (label, r) in enumerate(curves.items()):
            ax.loglog(f, r[ch].abs().numpy(), lw=2.5 if n == 0 else 1.2, ls="-" if n == 0 else "--", label=label)
        ax.set_xlabel("frequency (Hz)")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3, which="both")
        if legend:
            ax.legend(fontsize=8)


def plot_responses(path: Path, frequencies_hz: torch.Tensor,
                   columns: list[tuple[str, dict[str, torch.Tensor]]]) -> Path:
    """One column per ``(title, {label: response [2, K]})``: |V_out| above, |I_in| below (the report's examples)."""
    plt = pyplot()
    fig, axes = plt.subplots(2, len(columns), figsize=(4.2 * len(columns), 6), dpi=100, squeeze=False)
    for col, (title, curves) in enumerate(columns):
        draw_responses(axes[:, col], frequencies_hz, curves, legend=False)
        axes[0, col].set_title(title, fontsize=9)
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_ladders(path: Path, rows: list[tuple[tuple[torch.Tensor, torch.Tensor, str], ...]]) -> Path:
    """One row per pair of circuits ``((kinds, values, title), ...)``, side by side (the report's schematics)."""
    plt = pyplot()
    width = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), width, figsize=(6.5 * width, 1.6 * len(rows)), dpi=110, squeeze=False)
    for row, circuits in enumerate(rows):
        for col, (kinds, values, title) in enumerate(circuits):
            draw_ladder(axes[row, col], kinds, values, title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_design(path: Path, frequencies_hz: torch.Tensor, target: dict[str, torch.Tensor],
                design: dict[str, torch.Tensor], verdict: str, max_length: int = 10) -> Path:
    """One figure: the target's and the design's schematics, and both responses (|V_out|, |I_in| over
    frequency) on shared axes. ``target`` / ``design``: ``kinds``, ``values`` ``[L]`` and ``response`` ``[2, K]``."""
    plt = pyplot()
    fig = plt.figure(figsize=(10, 6.2), dpi=100)
    grid = fig.add_gridspec(2, 2, height_ratios=[1, 2.2])
    draw_ladder(fig.add_subplot(grid[0, 0]), target["kinds"], target["values"], "target", max_length)
    draw_ladder(fig.add_subplot(grid[0, 1]), design["kinds"], design["values"], f"design: {verdict}", max_length)
    draw_responses([fig.add_subplot(grid[1, col]) for col in range(2)], frequencies_hz,
                   {"target": target["response"], "design": design["response"]})
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
