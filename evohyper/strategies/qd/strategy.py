"""Quality-diversity search on pyribs: MAP-Elites, CMA-ME and CMA-MAE as presets of one strategy.

The strategy is a pyribs ``Scheduler`` (an archive, a list of emitters and, for CMA-MAE, a result archive)
driven through evohyper's ask/tell: ``ask`` is ``Scheduler.ask`` (float32 genotypes; pyribs keeps its float64
points, as ``cmaes`` does with cma), ``tell`` is ``Scheduler.tell(fitness, descriptors)``. Nothing of pyribs'
algorithm is re-implemented: ``tests/strategies/qd`` compares asks and archives with a plain pyribs loop built
from the same seeds. What evohyper adds: options checked from YAML (``options``), individuals whose
descriptors are NaN/inf leave the archives alone (``archives``), descriptor bounds from the task, an explicit,
pickle-free checkpoint, archive metrics per generation, and the final archive written to the run directory
(``output``).

Checkpoint: the default explicit state (``evohyper.api.object_state``) with ``ribs`` among the libraries records
the scheduler, its archives (pyribs' ``ArrayStore``: solutions, objectives, measures, thresholds, occupancy),
its emitters (CMA-ES mean, covariance, paths, step size, restart counters) and every numpy ``Generator``,
attribute by attribute as tensors + JSON; the tests resume bit-identically. The archive's ranges and a CVT's
centroids travel beside it (``state["ranges"]``, ``state["centroids"]``): a resumed strategy rebuilds its
archives on them before the state is written in, so k-means is never run again.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from evohyper.api.checks import Checks
from evohyper.api.strategy import Strategy
from evohyper.api.task import TaskInfo
from evohyper.strategies.qd.emitters import component_seeds
from evohyper.strategies.qd.options import archive_options, emitter_options

_checks = Checks("strategy")

#: the names ``metrics()`` reports (metrics.csv / TensorBoard columns, Tune metrics)
METRICS = ("qd_score", "qd_score_norm", "coverage", "elites", "archive_best")


class QualityDiversity(Strategy):
    """Quality-diversity search (pyribs): an archive of the best genotype per behaviour cell, filled by emitters.

    Options:
      archive: ``type`` grid | cvt; ``dims`` (grid: cells per descriptor, default 50 each); ``cells`` (cvt:
        centroids, default 1000) and ``samples`` (cvt: k-means samples, default 100,000); ``ranges`` null
        (the task's descriptor bounds) or ``[[low, high], ...]``; ``qd_score_offset`` (subtracted from every
        objective in the QD score, default 0); ``learning_rate`` in (0, 1] and ``threshold_min`` (CMA-MAE's
        soft archive; a result archive then keeps the best per cell).
      emitters: ``type`` es | gaussian | iso_line; ``count`` (default 5) and ``batch_size`` (default 30): one
        ask is count x batch_size genotypes. es: ``sigma0``, ``ranker`` (2imp, imp, 2obj, obj),
        ``selection_rule`` (filter, mu), ``restart_rule`` (no_improvement, basic, or every n iterations),
        ``es`` (cma_es, sep_cma_es, lm_ma_es). gaussian: ``sigma``. iso_line: ``iso_sigma``, ``line_sigma``.
      x0: the first solution (every gene), from which the emitters start while the archive is empty.
    """

    consumes = ("descriptors",)
    state_libraries = ("ribs",)
    #: the checked option blocks are rebuilt from the config by the constructor; not state
    state_exclude = ("archive_options", "emitter_options")
    #: a preset's defaults under the user's ``archive:`` and ``emitters:`` blocks
    archive_defaults: ClassVar[dict[str, Any]] = {}
    emitter_defaults: ClassVar[dict[str, Any]] = {"type": "es"}

    def __init__(self, genome_size: int, seed: int, *,
                 archive: dict | None = None,
                 emitters: dict | None = None,
                 x0: float = 0.0):
        super().__init__(_checks.genome_size(genome_size), seed)
        self.archive_options = archive_options(archive, self.archive_defaults)
        self.emitter_options = emitter_options(emitters, self.emitter_defaults)
        self.x0 = _checks.location("x0", x0)
        self._declared: tuple[tuple[float, float], ...] | None = None
        self._names: list[str] | None = None
        self._ranges: tuple[tuple[float, float], ...] | None = None
        self._centroids: np.ndarray | None = None
        self._scheduler: Any = None
        self._fitness_failed: np.ndarray | None = None   # during a tell: the individuals whose fitness failed

    # ---------------------------------------------------------------- setup
    def bind_task(self, info: TaskInfo) -> None:
        """Read the descriptors' names and bounds (the archive's ranges unless ``archive.ranges`` is set)."""
        self._declared = tuple((float(d.low), float(d.high)) for d in info.descriptors) or None
        self._names = [d.name for d in info.descriptors] or None
        ranges = self.archive_options.measure_ranges(self._declared)   # refuse a task without descriptors now
        if self.archive_options.type == "grid":
            self.archive_options.grid_dims(len(ranges))                 # and a grid of the wrong dimension

    def _build(self, ranges: tuple[tuple[float, float], ...] | None = None,
               centroids: np.ndarray | None = None) -> None:
        """Build the pyribs scheduler (first ask, or a resume with the checkpoint's ranges and centroids)."""
        from ribs.schedulers import Scheduler  # pyribs imports numba: seconds, so only once a run needs it

        from evohyper.strategies.qd import archives
        from evohyper.strategies.qd.emitters import make_emitters

        opts = self.archive_options
        self._ranges = tuple(tuple(map(float, r)) for r in ranges) if ranges is not None \
            else opts.measure_ranges(self._declared)   # type: ignore[assignment]
        seeds = component_seeds(self.seed, self.emitter_options.count)
        if opts.type == "cvt":
            self._centroids = np.asarray(centroids, dtype=np.float64) if centroids is not None \
                else archives.centroids(opts, self._ranges, seeds.centroids)
        archive = archives.make_archive(opts, self.genome_size, self._ranges, seeds.archive, self._centroids)
        result = None if opts.elitist else archives.make_archive(
            opts, self.genome_size, self._ranges, seeds.result_archive, self._centroids, result=True)
        x0 = np.full(self.genome_size, self.x0, dtype=np.float64)
        self._scheduler = Scheduler(archive, make_emitters(self.emitter_options, archive, x0, seeds.emitters),
                                    result_archive=result)

    # ---------------------------------------------------------------- reading
    @property
    def popsize(self) -> int:
        return self.emitter_options.count * self.emitter_options.batch_size

    @property
    def scheduler(self) -> Any:
        """The wrapped ``ribs.schedulers.Scheduler`` (None before the first ask)."""
        return self._scheduler

    @property
    def archive(self) -> Any:
        """The archive that holds the run's best genotype per cell: the archive itself, or CMA-MAE's result
        archive (None before the first ask)."""
        return None if self._scheduler is None else self._scheduler.result_archive

    @property
    def descriptor_names(self) -> list[str]:
        d = len(self._ranges or self._declared or self.archive_options.ranges or ())
        return list(self._names) if self._names else [f"descriptor_{i}" for i in range(d)]

    def metrics(self) -> dict[str, float]:
        """The archive's (CMA-MAE: the result archive's) QD score (objectives minus ``qd_score_offset``,
        summed), the same per cell, coverage, number of elites and best objective (NaN while empty)."""
        if self.archive is None:
            return {"qd_score": 0.0, "qd_score_norm": 0.0, "coverage": 0.0, "elites": 0.0, "archive_best": math.nan}
        stats = self.archive.stats
        return {"qd_score": float(stats.qd_score), "qd_score_norm": float(stats.norm_qd_score),
                "coverage": float(stats.coverage), "elites": float(stats.num_elites),
                "archive_best": math.nan if stats.obj_max is None else float(stats.obj_max)}

    def write_archive(self, directory: Path) -> list[Path]:
        """The final archive: ``elites.pt``, ``archive.csv`` and ``heatmap.png`` (``output``)."""
        if self.archive is None:
            return []
        from evohyper.strategies.qd import output

        return output.write_archive(self.archive, Path(directory), self.descriptor_names)

    @classmethod
    def state_bytes(cls, genome_size: int, options: dict[str, Any]) -> int:
        """The archive(s), allocated whole (every cell a genome and its measures), and the emitters' states
        (a covariance matrix each for CMA-ES)."""
        try:
            arch = archive_options(options.get("archive"), cls.archive_defaults)
            emit = emitter_options(options.get("emitters"), cls.emitter_defaults)
        except ValueError:
            return 4 * 8 * genome_size
        d = len(arch.ranges or arch.dims or (0, 0))
        cells = arch.cells if arch.type == "cvt" else math.prod(arch.dims or (50,) * d)
        per_archive = cells * (genome_size + d + 4) * 8
        full_cov = emit.type == "es" and emit.es == "cma_es"
        per_emitter = 8 * (3 * genome_size ** 2 if full_cov else 10 * genome_size)
        return per_archive * (1 if arch.elitist else 2) + emit.count * per_emitter

    @classmethod
    def state_advice(cls) -> str:
        return "use fewer archive cells, fewer emitters or emitters.es: sep_cma_es (O(n) state per emitter)"

    # ---------------------------------------------------------------- ask / tell
    def _ask(self) -> torch.Tensor:
        if self._scheduler is None:
            self._build()
        return torch.from_numpy(np.asarray(self._scheduler.ask(), dtype=np.float32))

    def tell(self, fitness: torch.Tensor, *, descriptors: torch.Tensor | None = None,
             objectives: torch.Tensor | None = None) -> None:
        """The base's tell, then the best genotype and fitness of the archive: the best of every individual
        told whose evaluation succeeded. An individual whose fitness or any descriptor is NaN/inf failed: it
        never enters an archive (the base would rank a NaN fitness last; in an archive "last" would still
        fill an empty cell)."""
        self._fitness_failed = ~np.isfinite(torch.as_tensor(fitness, dtype=torch.float64).reshape(-1).numpy())
        try:
            super().tell(fitness, descriptors=descriptors, objectives=objectives)
        finally:
            self._fitness_failed = None
        elite = self.archive.best_elite
        if elite is None:
            self.best_fitness, self.best_genotype = float("-inf"), None
        else:
            self.best_fitness = float(elite["objective"])
            self.best_genotype = torch.from_numpy(np.asarray(elite["solution"], dtype=np.float32).copy())

    def _tell(self, fitness: torch.Tensor, *, descriptors: torch.Tensor) -> None:
        measures = descriptors.numpy()
        archive = self._scheduler.archive
        if measures.shape[1] != archive.measure_dim:
            raise ValueError(f"tell() got {measures.shape[1]} descriptors per individual; the archive has "
                             f"{archive.measure_dim}")
        objective = fitness.numpy()
        failed = ~np.isfinite(measures).all(axis=1)
        if self._fitness_failed is not None:
            failed |= self._fitness_failed
        if not failed.any():
            self._scheduler.tell(objective, measures)
            return
        # stand-ins for pyribs' finiteness checks; the archives skip these rows (archives.py) and the
        # objective rankers see them below the batch's worst
        measures = np.where(failed[:, None], archive.lower_bounds[None, :], measures)
        low = float(objective.min())
        objective = np.where(failed, low - 1.0 - abs(low) * 1e-6, objective)
        self._scheduler.tell(objective, measures, failed=failed)

    def discard(self) -> None:
        """Forget the last ask: pyribs' scheduler must be told every ask, so it is told the whole ask as
        failed evaluations: no archive changes, and the emitters move on as after a generation that found
        nothing (a CMA-ME emitter with ``restart_rule: no_improvement`` restarts)."""
        if self._population is not None and self._scheduler is not None:
            import warnings

            n, archive = len(self._population), self._scheduler.archive
            with warnings.catch_warnings():   # pyribs warns when an empty archive stays empty
                warnings.simplefilter("ignore", UserWarning)
                self._scheduler.tell(np.zeros(n), np.tile(archive.lower_bounds, (n, 1)), failed=np.ones(n, bool))
        super().discard()

    # ---------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["ranges"] = None if self._scheduler is None else [list(r) for r in self._ranges]  # type: ignore[union-attr]
        state["centroids"] = None if self._centroids is None or self._scheduler is None \
            else torch.from_numpy(self._centroids.copy())
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("ranges") is not None and self.generation == 0:
            centroids = state.get("centroids")
            self._build(tuple(tuple(r) for r in state["ranges"]),
                        None if centroids is None else centroids.numpy())
        super().load_state_dict(state)


class MAPElites(QualityDiversity):
    """MAP-Elites (pyribs): a grid archive filled by Gaussian mutation of random elites (iso_line: Iso+LineDD).

    Options: those of ``QualityDiversity``; preset: ``emitters: {type: gaussian, sigma: 0.5}``.
    """

    emitter_defaults: ClassVar[dict[str, Any]] = {"type": "gaussian", "sigma": 0.5}


class CMAME(QualityDiversity):
    """CMA-ME (pyribs): CMA-ES emitters that climb archive improvement (two-stage ranker), restart when stuck.

    Options: those of ``QualityDiversity``; preset: ``emitters: {type: es, sigma0: 1.0, ranker: 2imp,
    selection_rule: filter, restart_rule: no_improvement}`` (pyribs' emitter defaults).
    """

    emitter_defaults: ClassVar[dict[str, Any]] = {"type": "es", "sigma0": 1.0, "ranker": "2imp",
                                                  "selection_rule": "filter", "restart_rule": "no_improvement"}


class CMAMAE(QualityDiversity):
    """CMA-MAE (pyribs): CMA-ME over a soft archive whose thresholds anneal; a result archive keeps the best.

    Options: those of ``QualityDiversity``; the preset's archive is ``{learning_rate: 0.01, threshold_min: 0.0}``
    and its emitters ``{type: es, sigma0: 0.5, ranker: imp, selection_rule: mu, restart_rule: basic}``. Set
    ``threshold_min`` at the bottom of the objectives worth keeping (the tutorial's 0 is for objectives in
    [0, 100]): an objective below it never enters the soft archive (the result archive keeps it).
    """

    # pyribs' CMA-MAE tutorial: archive learning rate 0.01 from threshold 0, "imp" ranker, "mu" selection,
    # "basic" restarts, sigma0 0.5 (its 15 emitters of batch 36 are left to the config: 5 x 30 here)
    archive_defaults: ClassVar[dict[str, Any]] = {"learning_rate": 0.01, "threshold_min": 0.0}
    emitter_defaults: ClassVar[dict[str, Any]] = {"type": "es", "sigma0": 0.5, "ranker": "imp",
                                                  "selection_rule": "mu", "restart_rule": "basic"}
