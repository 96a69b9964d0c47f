"""The files a multi-objective run keeps of its Pareto front (``Strategy.write_archive``): ``front.pt``
(tensors, loadable with ``weights_only``), ``front.csv`` (one row per member: its objectives in each
objective's own direction, then its genes) and ``front.png`` (the front in objective space; pairwise
panels for three objectives or more). Shared by every multi-objective strategy, whatever its genotype:
``solutions`` may be any tensor (vectors) or None (a strategy that writes its genotypes itself)."""
from __future__ import annotations

import csv
from pathlib import Path

import torch


def write(directory: Path, solutions: torch.Tensor | None, objectives: torch.Tensor, names: list[str],
          reference_point: list[float], hypervolume: float) -> list[Path]:
    """Write the three files under ``directory`` (created) and return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    objectives = torch.as_tensor(objectives, dtype=torch.float64)
    order = torch.argsort(objectives[:, 0], stable=True) if len(objectives) else torch.zeros(0, dtype=torch.long)
    objectives = objectives[order]
    blob = {"objectives": objectives, "names": list(names), "reference_point": torch.tensor(reference_point),
            "hypervolume": float(hypervolume)}
    if solutions is not None:
        blob["solutions"] = torch.as_tensor(solutions)[order].clone()
    pt, table, png = directory / "front.pt", directory / "front.csv", directory / "front.png"
    torch.save(blob, pt)
    with table.open("w", newline="") as fh:
        out = csv.writer(fh)
        genes = 0 if solutions is None else int(blob["solutions"].reshape(len(objectives), -1).shape[1])
        out.writerow(["member", *names, *(f"x{j}" for j in range(genes))])
        flat = blob["solutions"].reshape(len(objectives), -1).tolist() if genes else [[]] * len(objectives)
        for i, (row, x) in enumerate(zip(objectives.tolist(), flat, strict=True)):
            out.writerow([i, *(repr(v) for v in row), *(repr(float(v)) for v in x)])
    plot(png, objectives, names, reference_point, hypervolume)
    return [pt, table, png]


def plot(path: Path, objectives: torch.Tensor, names: list[str], reference_point: list[float],
         hypervolume: float, title: str = "Pareto front") -> None:
    """The front in objective space (each axis in its objective's own units), the reference point marked."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = len(names)
    pairs = [(0, 1)] if m <= 2 else [(i, j) for i in range(m) for j in range(i + 1, m)]
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.2 * len(pairs), 3.8), squeeze=False)
    o = objectives.numpy() if len(objectives) else objectives.reshape(0, max(m, 2)).numpy()
    for ax, (i, j) in zip(axes[0], pairs, strict=True):
        if m == 1:
            ax.plot(o[:, 0], [0.0] * len(o), "o")
        else:
            ax.plot(o[:, i], o[:, j], "o", ms=4, label="front")
            ax.plot([reference_point[i]], [reference_point[j]], "kx", label="reference point")
            ax.set_ylabel(names[j])
        ax.set_xlabel(names[i])
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"{title}: {len(o)} members, hypervolume {hypervolume:.4g}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
