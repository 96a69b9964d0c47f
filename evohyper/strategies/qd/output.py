"""The final archive of a quality-diversity run, as files a user (and ``evohyper show``) reads back.

``elites.pt``: a dict of tensors and plain values (``torch.load(weights_only=True)``): ``solutions`` ``[n, D]``
float32 (the genotypes that were evaluated: the engine evaluates float32, pyribs keeps float64 copies),
``objectives`` ``[n]`` and ``measures`` ``[n, d]`` float64, ``cells`` ``[n]`` int64 (the archive's cell
indices), ``descriptor_names``, ``ranges`` ``[d, 2]``, ``archive`` ("grid"/"cvt") with ``dims`` or
``centroids``, and ``qd_score_offset``; elites in cell order. ``archive.csv``: one row per elite (cell,
objective, one column per descriptor). ``heatmap.png``: pyribs' own heatmap of a 1-D or 2-D archive; an archive
of three or more descriptors has no heatmap, so it is drawn with pyribs' parallel-axes plot (one line per
elite across the descriptors, coloured by objective).
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
from ribs.archives import ArchiveBase, CVTArchive, GridArchive


def elites(archive: ArchiveBase) -> dict[str, np.ndarray]:
    """The archive's elites, in cell order: ``index``, ``solution``, ``objective``, ``measures``."""
    data = archive.data(["index", "solution", "objective", "measures"])
    order = np.argsort(data["index"], kind="stable")
    return {name: np.asarray(values)[order] for name, values in data.items()}


def write_archive(archive: ArchiveBase, directory: Path, names: list[str]) -> list[Path]:
    """Write ``elites.pt``, ``archive.csv`` and ``heatmap.png`` of ``archive`` into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    data = elites(archive)
    ranges = np.stack([archive.lower_bounds, archive.upper_bounds], axis=1)
    payload: dict = {
        "solutions": torch.from_numpy(data["solution"].astype(np.float32)),
        "objectives": torch.from_numpy(data["objective"].astype(np.float64)),
        "measures": torch.from_numpy(data["measures"].astype(np.float64).reshape(len(data["index"]), -1)),
        "cells": torch.from_numpy(data["index"].astype(np.int64)),
        "descriptor_names": list(names), "ranges": torch.from_numpy(ranges.astype(np.float64)),
        "qd_score_offset": float(archive.qd_score_offset),
    }
    if isinstance(archive, GridArchive):
        payload |= {"archive": "grid", "dims": [int(d) for d in archive.dims]}
    elif isinstance(archive, CVTArchive):
        payload |= {"archive": "cvt", "centroids": torch.from_numpy(np.asarray(archive.centroids, np.float64))}
    pt = directory / "elites.pt"
    torch.save(payload, pt)
    table = directory / "archive.csv"
    with table.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["cell", "objective", *names])
        for cell, objective, measures in zip(data["index"], data["objective"], payload["measures"].numpy()):
            writer.writerow([int(cell), repr(float(objective)), *(repr(float(m)) for m in measures)])
    return [pt, table, _heatmap(archive, directory / "heatmap.png", names)]


def _heatmap(archive: ArchiveBase, path: Path, names: list[str]) -> Path:
    """pyribs' heatmap (1-D/2-D grid or CVT) or parallel-axes plot (3+ descriptors), on matplotlib's Agg."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from ribs.visualize import cvt_archive_heatmap, grid_archive_heatmap, parallel_axes_plot

    fig = Figure(figsize=(7, 5.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    d = archive.measure_dim
    if archive.empty:
        ax.text(0.5, 0.5, "empty archive", ha="center", va="center")
    elif d <= 2 and isinstance(archive, GridArchive):
        grid_archive_heatmap(archive, ax=ax)
    elif d <= 2 and isinstance(archive, CVTArchive):
        cvt_archive_heatmap(archive, ax=ax)
    else:
        parallel_axes_plot(archive, ax=ax, measure_order=[(i, n) for i, n in enumerate(names)])
    if d <= 2 and not archive.empty:
        ax.set_xlabel(names[0])
        if d == 2:
            ax.set_ylabel(names[1])
    ax.set_title(f"{len(archive)} elites, coverage {float(archive.stats.coverage):.3f}, "
                 f"QD score {float(archive.stats.qd_score):.4g}")
    fig.savefig(path)
    return path
