"""The quality-diversity report's figures (matplotlib Agg): QD score against evaluations and against wall-clock
per arm (mean over seeds, band of one standard deviation), and the final archive of each arm's median seed
(pyribs' ``grid_archive_heatmap`` of an archive refilled with the run's elites)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from experiments.quality_diversity_spec import ARMS

#: LunarLander's archive (the tutorial's); a run's ``archive.npz`` may carry its own ``ranges`` / ``dims``
LUNAR_RANGES = ((-1.0, 1.0), (-3.0, 0.0))
LUNAR_DIMS = (50, 50)
AXES = {"lunar": ("impact x-position", "impact y-velocity"),
        "walker": ("contact fraction, foot (right)", "contact fraction, foot_left")}


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _band(ax: Any, x: np.ndarray, ys: np.ndarray, label: str) -> None:
    mean = ys.mean(axis=0)
    ax.plot(x, mean, label=f"{label} (n={len(ys)})")
    if len(ys) > 1:
        sd = ys.std(axis=0, ddof=1)
        ax.fill_between(x, mean - sd, mean + sd, alpha=0.2)


def curves(runs: dict[str, list[dict[str, Any]]], arms: list[str], path: Path, title: str,
           offset: float = -600.0) -> Path:
    """Two panels: QD score against evaluations (every seed on the same grid) and against the loop's seconds
    (each seed interpolated onto a grid up to the arm's shortest run)."""
    plt = _plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5))
    for arm in arms:
        rs = runs.get(arm) or []
        if not rs:
            continue
        n = min(len(r["curve"]["evaluations"]) for r in rs)
        x = np.asarray(rs[0]["curve"]["evaluations"][:n], dtype=float)
        _band(a, x, np.array([r["curve"]["qd_score"][:n] for r in rs], dtype=float), ARMS[arm].label)
        end = min(r["curve"]["seconds"][-1] for r in rs)
        grid = np.linspace(0.0, end, 200)
        ys = np.array([np.interp(grid, [0.0, *r["curve"]["seconds"]], [0.0, *r["curve"]["qd_score"]]) for r in rs])
        _band(b, grid, ys, ARMS[arm].label)
    a.set_xlabel("evaluations (episodes)")
    b.set_xlabel("wall-clock of the loop (s)")
    for ax in (a, b):
        ax.set_ylabel(f"QD score (offset {offset:g})")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def median_seed(rs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run whose final QD score is the median (the lower middle one for an even count)."""
    order = sorted(rs, key=lambda r: r["final"]["qd_score"])
    return order[(len(order) - 1) // 2]


def _archive(archive_npz: Path, group: str) -> Any:
    from ribs.archives import GridArchive

    with np.load(archive_npz, allow_pickle=False) as z:
        objectives, measures = z["objectives"], z["measures"]
        ranges = [tuple(r) for r in z["ranges"]] if "ranges" in z else list(LUNAR_RANGES)
        dims = [int(d) for d in z["dims"]] if "dims" in z else list(LUNAR_DIMS)
    archive = GridArchive(solution_dim=1, dims=dims, ranges=ranges)
    if len(objectives):
        archive.add(np.zeros((len(objectives), 1)), objectives, measures)
    return archive


def heatmaps(runs: dict[str, list[dict[str, Any]]], arms: list[str], root: Path, path: Path,
             group: str = "lunar") -> Path:
    """One heatmap per arm (its median seed's final archive), pyribs' colour scale of the tutorial (-300..300
    for LunarLander)."""
    from ribs.visualize import grid_archive_heatmap

    from experiments.quality_diversity_spec import run_dir

    plt = _plt()
    shown = [a for a in arms if runs.get(a)]
    fig, axes = plt.subplots(1, max(1, len(shown)), figsize=(5.2 * max(1, len(shown)), 4.4), squeeze=False)
    for ax, arm in zip(axes[0], shown, strict=False):
        run = median_seed(runs[arm])
        archive = _archive(run_dir(root, arm, run["seed"]) / "archive.npz", group)
        limits = {"vmin": -300, "vmax": 300} if group == "lunar" else {}
        grid_archive_heatmap(archive, ax=ax, **limits)
        if group == "lunar":
            ax.invert_yaxis()          # the tutorial's orientation: gentle landings on top
        ax.set_xlabel(AXES[group][0])
        ax.set_ylabel(AXES[group][1])
        ax.set_title(f"{arm}, seed {run['seed']} (median)\nQD score {run['final']['qd_score']:.0f}, "
                     f"coverage {run['final']['coverage']:.3f}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
