"""Strategy ``neat_map_elites``: MAP-Elites whose archive holds NEAT genomes and whose variation is NEAT's.

Why not pyribs' own loop: pyribs' emitters vary fixed-length vectors; a NEAT genome is a graph that grows.
So the *archive* is pyribs' (``ribs.archives.GridArchive``: its cells, its insertion and replacement rule,
its QD score, coverage and best), and the *variation* is NEAT's (``variation.offspring``: crossover,
structural and attribute mutation of the batched engine, docs/neat_engine.md, section 3), with no
speciation. The archive's "solution" is each elite's genome id (``gid``, a 1-D solution); the genomes
themselves are kept beside it in a ``GenomeBatch`` that always holds exactly the archive's elites, one row
per occupied cell in ascending cell order: after each ``archive.add`` the occupant of every cell is read
back from pyribs and its genome taken from the candidates (cells that changed) or kept (cells that did not).

Loop: the first ask is NEAT's first population (``popsize`` genomes, ``create_new``); afterwards each ask
draws ``batch`` parents uniformly from the elites and returns their children; a child is crossed over
with a second uniformly drawn elite with probability ``crossover_prob`` (the fitter by archive objective
gives the genes, as NEAT), else it is a mutated copy of its parent. Told individuals whose descriptors are
not finite (evaluations that raised), or whose fitness is not, are left out of the archive.

Checkpoint: explicit arrays (the archive's cells, gids, objectives, measures, thresholds and its running
objective sum; the elites' genes ragged), so resume is exact (pyribs itself offers only pickle).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from ribs.archives import GridArchive

from evohyper.api.checks import MAX_MAGNITUDE, Checks
from evohyper.api.task import TaskInfo
from evohyper.families.neat.genome import GenomeBatch
from evohyper.families.neat.genome_search import NEATGenomeSearch, genomes_state, with_neat_options
from evohyper.families.neat.streams import Streams

Tensor = torch.Tensor
_checks = Checks("strategy")
_archive_checks = _checks.at("archive")

ARCHIVE_KEYS = ("dims", "ranges", "qd_score_offset")
#: cells per descriptor when ``archive.dims`` is not given: pyribs' tutorials' 50 x 50 for one or two
#: descriptors, 10 per axis beyond (50**3 cells would mostly stay empty)
DEFAULT_CELLS = {1: 50, 2: 50}
DEFAULT_CELLS_MANY = 10
MAX_CELLS = 10_000_000


class NEATMapElites(NEATGenomeSearch):
    """MAP-Elites over NEAT genomes: a pyribs grid archive of genomes varied by NEAT's crossover and mutation.

    Options (the others are strategy ``neat``'s, same meaning and INI file; speciation and reproduction
    items are not options here and are ignored in an INI file: no species, no stagnation, no elites):
      batch: children per ask after the first, whose popsize genomes are NEAT's first population (parents
        drawn uniformly from the archive's elites); null: popsize.
      crossover_prob: probability that a child is the crossover of two elites (NEAT's crossover: genes of
        the fitter, matching genes mixed) rather than a mutated copy of one, in [0, 1].
      archive: the pyribs ``GridArchive``: ``dims`` (cells per descriptor; null: 50 for one or two
        descriptors, else 10 each), ``ranges`` (``[low, high]`` per descriptor; null: the task's
        descriptor bounds), ``qd_score_offset`` (subtracted from every elite's objective in the QD score;
        default 0).
    """

    consumes: ClassVar[tuple[str, ...]] = ("descriptors",)
    KIND: ClassVar[str] = "neat-map-elites"

    @with_neat_options
    def __init__(self, genome_size: int | None, seed: int, *,
                 archive: dict[str, Any] | None = None,
                 batch: int | None = None,
                 crossover_prob: float = 0.0,
                 **neat: Any):
        super().__init__(genome_size, seed, crossover_prob=crossover_prob, **neat)
        self.batch = _checks.population("batch", batch, 1, optional=True)
        block = _archive_checks.keys(archive, ARCHIVE_KEYS)
        self._dims = None if block.get("dims") is None else _archive_checks.sizes("dims", block["dims"], non_empty=True)
        if self._dims is not None and int(np.prod(self._dims)) > MAX_CELLS:
            _archive_checks.fail("dims", self._dims, f"at most {MAX_CELLS} cells in all")
        self._ranges = None if block.get("ranges") is None else _ranges(block["ranges"])
        self._offset = _archive_checks.magnitude("qd_score_offset", block.get("qd_score_offset", 0.0))
        if self._dims is not None and self._ranges is not None and len(self._dims) != len(self._ranges):
            _archive_checks.fail("ranges", block["ranges"], f"{len(self._dims)} [low, high] pairs, one per dims entry")
        self.archive: GridArchive | None = None
        self.elites: GenomeBatch | None = None     # one row per occupied cell, ascending cell index
        self.elite_cells = torch.zeros(0, dtype=torch.int64)
        self.elite_objective = torch.zeros(0, dtype=torch.float64)
        self._told_finite = torch.ones(0, dtype=torch.bool)   # which rows of the last tell had a finite fitness

    # ---------------------------------------------------------------- task and archive
    def bind_task(self, info: TaskInfo) -> None:
        """Make the archive over the task's descriptors (bounds from the task unless ``archive.ranges``)."""
        d = len(info.descriptors)
        if d == 0:
            raise ValueError("strategy 'neat_map_elites' needs behaviour descriptors; the task declares none")
        dims = self._dims or [DEFAULT_CELLS.get(d, DEFAULT_CELLS_MANY)] * d
        ranges = self._ranges or [(float(x.low), float(x.high)) for x in info.descriptors]
        for name, given in (("dims", dims), ("ranges", ranges)):
            if len(given) != d:
                _archive_checks.fail(name, given, f"{d} entries, one per descriptor of the task")
        self.descriptor_names = [x.name for x in info.descriptors]
        self.archive = GridArchive(solution_dim=1, dims=dims, ranges=ranges, qd_score_offset=self._offset,
                                   dtype=np.float64)

    def _require_archive(self) -> GridArchive:
        if self.archive is None:
            raise RuntimeError("strategy 'neat_map_elites' has no archive yet: call bind_task() with the task's info")
        return self.archive

    @property
    def popsize(self) -> int:
        """Genomes the next ask returns: the first population's size while the archive is empty, else ``batch``."""
        first = super().popsize
        return first if self.elites is None or not len(self.elites) else (self.batch or first)

    # ---------------------------------------------------------------- ask / tell
    def _ask(self) -> GenomeBatch:
        self._require_archive()
        if self.elites is None or not len(self.elites):
            return self._initial(super().popsize)
        n, k = self.batch or super().popsize, len(self.elites)
        u = self._streams().uniform("select", n, 3)   # first parent, second parent, crossover or not
        p1, p2 = Streams.choice(u[:, 0], k), Streams.choice(u[:, 1], k)
        return self._children(self.elites, self.elite_objective, p1, p2, u[:, 2])

    def tell(self, fitness: Tensor, **extras: Any) -> None:
        """As ``Strategy.tell``; an individual whose fitness is NaN/inf (``tell`` ranks it last for
        ``best``) is a failed evaluation here, kept out of the archive as one with NaN descriptors."""
        self._told_finite = torch.isfinite(torch.as_tensor(fitness, dtype=torch.float64).reshape(-1)).cpu()
        super().tell(fitness, **extras)

    def _tell(self, fitness: Tensor, descriptors: Tensor) -> None:
        archive, population = self._require_archive(), self._population
        fitness, descriptors = fitness.cpu(), descriptors.cpu()
        ok = (torch.isfinite(descriptors).all(dim=1) & self._told_finite).nonzero().squeeze(1)
        if not ok.numel():
            return
        gid = population.gid.index_select(0, ok.to(population.device)).cpu()
        info = archive.add(gid.to(torch.float64)[:, None].numpy(), fitness[ok].numpy(), descriptors[ok].numpy())
        if bool((info["status"] > 0).any()):
            self._sync(population[ok.to(population.device)], gid)

    def _sync(self, candidates: GenomeBatch, candidate_gid: Tensor) -> None:
        """Make ``elites`` the archive's occupants again: each occupied cell's genome is the candidate or the
        previous elite whose gid pyribs now holds there (gids are unique: every genome gets a fresh one)."""
        data = self.archive.data(["index", "solution", "objective"])
        order = np.argsort(data["index"], kind="stable")
        cells = torch.from_numpy(data["index"][order].astype(np.int64))
        gid = torch.from_numpy(data["solution"][order, 0]).to(torch.int64)
        pool = candidates if self.elites is None else GenomeBatch.cat([self.elites, candidates])
        pool_gid = candidate_gid if self.elites is None else torch.cat([self.elites.gid.cpu(), candidate_gid])
        sorted_gid, where = torch.sort(pool_gid)
        at = torch.searchsorted(sorted_gid, gid).clamp(max=len(sorted_gid) - 1)
        if not bool((sorted_gid[at] == gid).all()):
            raise RuntimeError("neat_map_elites: an archive occupant's genome is neither an elite nor a candidate")
        self.elites = pool[where[at].to(pool.device)].shrink()
        self.elite_cells = cells
        self.elite_objective = torch.from_numpy(data["objective"][order].astype(np.float64))

    # ---------------------------------------------------------------- metrics and files
    def metrics(self) -> dict[str, float]:
        """pyribs' archive statistics: ``qd_score`` (sum of objective - qd_score_offset over the elites),
        ``coverage`` (fraction of cells occupied), ``elites`` (their number), ``archive_best`` (the best
        objective; NaN while the archive is empty)."""
        stats = self._require_archive().stats
        return {"qd_score": float(stats.qd_score), "coverage": float(stats.coverage), "elites": float(stats.num_elites),
                "archive_best": float("nan") if stats.obj_max is None else float(stats.obj_max)}

    def write_archive(self, directory: Path) -> list[Path]:
        """``elites.json`` (each elite's cell, objective, descriptors and genotype JSON, as ``export_genotype``
        writes ``best/genotype.json``), ``archive.csv`` (one row per elite) and ``heatmap.png`` (pyribs'
        ``grid_archive_heatmap``; one or two descriptors only)."""
        archive = self._require_archive()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        data = archive.data(["index", "solution", "objective", "measures"])
        order = np.argsort(data["index"], kind="stable")
        grid = archive.int_to_grid_index(data["index"][order]) if len(order) else np.zeros((0, archive.measure_dim))
        rows = []
        for k, i in enumerate(order):   # files at the run's end: one entry per elite
            rows.append({"index": int(data["index"][i]), "cell": [int(c) for c in grid[k]],
                         "gid": int(data["solution"][i, 0]), "objective": float(data["objective"][i]),
                         "descriptors": dict(zip(self.descriptor_names, map(float, data["measures"][i])))})
        genotypes = [self.export_genotype(self.elites[k]) for k in range(len(rows))]
        files = [directory / "elites.json", directory / "archive.csv"]
        files[0].write_text(json.dumps({"descriptors": self.descriptor_names, "dims": archive.dims.tolist(),
                                        "ranges": [[float(lo), float(hi)] for lo, hi in
                                                   zip(archive.lower_bounds, archive.upper_bounds)],
                                        "qd_score_offset": float(archive.qd_score_offset), "metrics": self.metrics(),
                                        "elites": [{**r, "genotype": g} for r, g in zip(rows, genotypes)]}, indent=1))
        with files[1].open("w", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(["index", *[f"cell_{j}" for j in range(archive.measure_dim)], "gid", "objective",
                          *self.descriptor_names])
            for r in rows:
                out.writerow([r["index"], *r["cell"], r["gid"], repr(r["objective"]),
                              *[repr(v) for v in r["descriptors"].values()]])
        if archive.measure_dim <= 2:
            files.append(_heatmap(archive, self.descriptor_names, directory / "heatmap.png"))
        return files

    # ---------------------------------------------------------------- checkpoints
    def _own_state(self) -> dict[str, Any]:
        archive = self._require_archive()
        data = archive.data(["index", "solution", "objective", "measures", "threshold"])
        order = np.argsort(data["index"], kind="stable")   # cell order: pyribs' own (insertion) order is not state
        data = {k: v[order] for k, v in data.items()}
        return {"archive": {"dims": archive.dims.tolist(),
                            "ranges": [[float(lo), float(hi)] for lo, hi in zip(archive.lower_bounds,
                                                                                archive.upper_bounds)],
                            "qd_score_offset": float(archive.qd_score_offset),
                            "objective_sum": float(archive._objective_sum),
                            **{k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in data.items()}},
                "elites": None if self.elites is None else genomes_state(self.elites),
                "elite_cells": self.elite_cells.clone(), "elite_objective": self.elite_objective.clone()}

    def _load_own_state(self, state: dict[str, Any]) -> None:
        archive, saved = self._require_archive(), state["archive"]
        mine = (archive.dims.tolist(), [[float(lo), float(hi)] for lo, hi in zip(archive.lower_bounds,
                                                                                  archive.upper_bounds)])
        if (saved["dims"], saved["ranges"]) != mine:
            raise ValueError(f"checkpoint's archive has dims {saved['dims']} and ranges {saved['ranges']}; this "
                             f"strategy's has dims {mine[0]} and ranges {mine[1]}")
        _restore(archive, saved)
        self.elites = None if state["elites"] is None else self._genomes(state["elites"])
        self.elite_cells = state["elite_cells"].clone()
        self.elite_objective = state["elite_objective"].clone()


def _ranges(value: Any) -> list[tuple[float, float]]:
    """``archive.ranges`` checked: a list of ``[low, high]`` pairs of finite numbers, low < high."""
    ok = isinstance(value, (list, tuple)) and len(value) > 0 and all(
        isinstance(p, (list, tuple)) and len(p) == 2 and
        all(isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) <= MAX_MAGNITUDE for v in p)
        and p[0] < p[1] for p in value)
    if not ok:
        _archive_checks.fail("ranges", value, f"a list of [low, high] pairs, low < high, within {MAX_MAGNITUDE:g} "
                                              "of 0, one per descriptor, or null (the task's bounds)")
    return [(float(lo), float(hi)) for lo, hi in value]


def _restore(archive: GridArchive, saved: dict[str, Any]) -> None:
    """Write a checkpoint's elites into a fresh archive: pyribs' own ``add`` into empty cells (every cell
    once, so each is new and its threshold its objective, MAP-Elites' rule), then its running objective sum,
    which pyribs accumulates add by add and so would round differently if summed afresh (QD score and mean
    objective would differ in the last bits from the uninterrupted run). pyribs 0.12 has no public way to
    set it: ``_stats_update`` is its own recomputation of the statistics from that sum (ribs pinned)."""
    if not len(saved["index"]):
        return
    archive.add(saved["solution"].numpy(), saved["objective"].numpy(), saved["measures"].numpy())
    best = int(saved["index"][int(torch.argmax(saved["objective"]))])
    archive._stats_update(np.asarray(saved["objective_sum"], dtype=archive.dtypes["objective"]), best)


def _heatmap(archive: GridArchive, names: list[str], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from ribs.visualize import grid_archive_heatmap

    fig, ax = plt.subplots(figsize=(6, 5))
    grid_archive_heatmap(archive, ax=ax)
    ax.set_xlabel(names[0])
    if len(names) > 1:
        ax.set_ylabel(names[1])
    ax.set_title(f"NEAT MAP-Elites: {len(archive)} elites, QD score {float(archive.stats.qd_score):.4g}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
