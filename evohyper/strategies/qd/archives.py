"""pyribs' grid and CVT archives, taught to ignore an individual whose evaluation failed.

pyribs refuses a batch in which any measure is NaN or infinite (``archive.add`` and every emitter's ``tell``
raise), so one failed episode would end a run. evohyper's answer: such an individual (or one whose fitness was
NaN/inf) changes no archive.
The strategy hands pyribs' ``Scheduler.tell`` a ``failed`` mask as an extra per-solution field (pyribs passes
extra fields on to ``archive.add`` and to every emitter's ``tell``), with finite stand-in measures for the
failed rows; the archives here insert only the other rows (through pyribs' own ``add``) and report every failed
row as not added (status 0) with a value below every other value of the batch, so each ranker of
``options.RANKERS`` puts it last and the "filter" selection rule never picks it as a parent. Without the mask
(every descriptor finite, the usual case) ``add`` is pyribs' own, untouched.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from ribs.archives import CVTArchive, GridArchive, k_means_centroids

from evohyper.strategies.qd.options import ArchiveOptions


class _IgnoresFailed:
    """Mixin over a pyribs archive: ``add(..., failed=mask)`` inserts the rows where ``mask`` is False."""

    def add(self, solution: Any, objective: Any, measures: Any, failed: Any = None, **fields: Any) -> dict:
        if failed is None:
            return super().add(solution, objective, measures, **fields)  # type: ignore[misc]
        failed = np.asarray(failed, dtype=bool)
        keep = ~failed
        info = {"status": np.zeros(len(failed), dtype=np.int32),
                "value": np.zeros(len(failed), dtype=self.dtypes["objective"])}  # type: ignore[attr-defined]
        low = 0.0
        if keep.any():
            added = super().add(np.asarray(solution)[keep], np.asarray(objective)[keep],  # type: ignore[misc]
                                np.asarray(measures)[keep], **{k: np.asarray(v)[keep] for k, v in fields.items()})
            for name, values in added.items():
                info.setdefault(name, np.zeros(len(failed), dtype=np.asarray(values).dtype))[keep] = values
            low = float(np.min(added["value"]))
        info["value"][failed] = low - 1.0 - abs(low) * 1e-6
        return info


class QDGridArchive(_IgnoresFailed, GridArchive):
    """pyribs' ``GridArchive`` that ignores failed rows (see the module docstring)."""


class QDCVTArchive(_IgnoresFailed, CVTArchive):
    """pyribs' ``CVTArchive`` that ignores failed rows (see the module docstring)."""


def centroids(options: ArchiveOptions, ranges: tuple[tuple[float, float], ...], seed: int) -> np.ndarray:
    """A CVT's centroids: pyribs' k-means over ``options.samples`` uniform points, drawn from ``seed`` (the same
    seed, the same centroids; a checkpoint carries them, so a resume never redraws them)."""
    cells, _ = k_means_centroids(centroids=options.cells, ranges=list(ranges), samples=options.samples, seed=seed)
    return np.asarray(cells, dtype=np.float64)


def make_archive(options: ArchiveOptions, solution_dim: int, ranges: tuple[tuple[float, float], ...],
                 seed: int, cvt_centroids: np.ndarray | None, *, result: bool = False) -> GridArchive | CVTArchive:
    """The archive ``options`` describe; ``result``: CMA-MAE's elitist result archive over the same cells
    (pyribs' defaults: learning rate 1, no threshold)."""
    soft: dict[str, Any] = {} if result or options.elitist else {
        "learning_rate": options.learning_rate, "threshold_min": options.threshold_min}
    common = {"solution_dim": solution_dim, "ranges": list(ranges), "qd_score_offset": options.qd_score_offset,
              "seed": seed, **soft}
    if options.type == "grid":
        return QDGridArchive(dims=list(options.grid_dims(len(ranges))), **common)
    return QDCVTArchive(centroids=cvt_centroids, **common)
