"""The ``archive:`` and ``emitters:`` blocks of a quality-diversity strategy, checked once into plain values.

Why a module of its own: the blocks are nested YAML mappings whose keys depend on each other (a grid has
``dims``, a CVT ``cells``; an evolution-strategy emitter has ``sigma0`` and a ranker, a Gaussian one ``sigma``),
so they are checked here, key by key, with the one-line refusals of ``evohyper.api.checks``
(``strategy.archive.dims: [0]; allowed: ...``), and the strategy only reads the resulting dataclasses. Every
default is pyribs' own or that of its tutorials (named where it is the tutorial's).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from evohyper.api.checks import MAX_MAGNITUDE, MAX_POPULATION, Checks

_archive = Checks("strategy").at("archive")
_emitters = Checks("strategy").at("emitters")

ARCHIVE_TYPES = ("grid", "cvt")
EMITTER_TYPES = ("es", "gaussian", "iso_line")
#: pyribs' rankers that order solutions by their archive improvement or objective. The random-direction
#: rankers ("rd", "2rd") project measures, which an individual whose descriptors failed does not have.
RANKERS = ("2imp", "imp", "2obj", "obj")
ES_NAMES = ("cma_es", "sep_cma_es", "lm_ma_es")
SELECTION_RULES = ("filter", "mu")
RESTART_RULES = ("no_improvement", "basic")
MAX_CELLS = 1_000_000   # cells of one archive (each holds a genome): the archive is allocated whole

_ARCHIVE_KEYS = ("type", "dims", "cells", "samples", "ranges", "qd_score_offset", "learning_rate",
                 "threshold_min")
_EMITTER_KEYS = {"es": ("type", "count", "batch_size", "sigma0", "ranker", "selection_rule", "restart_rule",
                        "es"),
                 "gaussian": ("type", "count", "batch_size", "sigma"),
                 "iso_line": ("type", "count", "batch_size", "iso_sigma", "line_sigma")}


@dataclass(frozen=True)
class ArchiveOptions:
    """A checked ``archive:`` block. ``dims`` (grid) / ``cells`` (cvt) None: the default for the number of
    descriptors (50 cells per descriptor; 1,000 centroids); ``ranges`` None: the task's descriptor bounds;
    ``threshold_min`` None: pyribs' -inf (an elitist MAP-Elites archive)."""

    type: str
    dims: tuple[int, ...] | None
    cells: int
    samples: int
    ranges: tuple[tuple[float, float], ...] | None
    qd_score_offset: float
    learning_rate: float
    threshold_min: float | None

    @property
    def elitist(self) -> bool:
        """True for a MAP-Elites archive (an elite leaves only for a better one); False for CMA-MAE's
        soft archive, whose thresholds move by ``learning_rate``: its best solutions then live in a
        separate, elitist result archive (pyribs' ``Scheduler(result_archive=...)``)."""
        return self.learning_rate == 1.0 and self.threshold_min is None

    def grid_dims(self, n_descriptors: int) -> tuple[int, ...]:
        dims = self.dims if self.dims is not None else (50,) * n_descriptors
        if len(dims) != n_descriptors:
            _archive.fail("dims", list(dims), f"a list of {n_descriptors} integers (one per descriptor)")
        if math.prod(dims) > MAX_CELLS:
            _archive.fail("dims", list(dims), f"at most {MAX_CELLS:,} cells in all")
        return dims

    def measure_ranges(self, declared: tuple[tuple[float, float], ...] | None) -> tuple[tuple[float, float], ...]:
        """The archive's ranges: the option, else the task's declared bounds (``declared``)."""
        if self.ranges is not None:
            if declared is not None and len(self.ranges) != len(declared):
                _archive.fail("ranges", [list(r) for r in self.ranges],
                              f"{len(declared)} [low, high] pairs (the task declares {len(declared)} descriptors)")
            return self.ranges
        if not declared:
            _archive.refuse("ranges", "null, and the task declares no descriptors; a quality-diversity strategy "
                                      "needs a task with descriptors (or archive.ranges to go by)")
        return declared


@dataclass(frozen=True)
class EmitterOptions:
    """A checked ``emitters:`` block: ``count`` pyribs emitters of ``type``, each asking ``batch_size``."""

    type: str
    count: int
    batch_size: int
    sigma0: float = 1.0
    ranker: str = "2imp"
    selection_rule: str = "filter"
    restart_rule: str | int = "no_improvement"
    es: str = "cma_es"
    sigma: float = 0.5
    iso_sigma: float = 0.01
    line_sigma: float = 0.2


def _pair(key: str, value: Any) -> tuple[float, float]:
    ok = isinstance(value, (list, tuple)) and len(value) == 2 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and abs(v) <= MAX_MAGNITUDE
        for v in value)
    if not ok or not value[0] < value[1]:
        _archive.fail(key, value, "a list of [low, high] pairs of finite numbers, low < high")
    return float(value[0]), float(value[1])


def archive_options(block: Any, defaults: dict[str, Any]) -> ArchiveOptions:
    """Check an ``archive:`` block (None: all defaults) over a preset's ``defaults``."""
    if block is not None and not isinstance(block, dict):
        Checks("strategy").fail("archive", block, "a mapping of " + ", ".join(_ARCHIVE_KEYS))
    given = {**defaults, **_archive.keys(block, _ARCHIVE_KEYS)}
    kind = _archive.one_of("type", given.get("type", "grid"), ARCHIVE_TYPES)
    dims = given.get("dims")
    if dims is not None:
        dims = tuple(_archive.sizes("dims", dims, non_empty=True, max_len=16, example=", e.g. [50, 50]"))
    ranges = given.get("ranges")
    if ranges is not None:
        if not isinstance(ranges, (list, tuple)) or not ranges or len(ranges) > 16:
            _archive.fail("ranges", ranges, "null (the task's descriptor bounds) or a list of [low, high] pairs")
        ranges = tuple(_pair("ranges", r) for r in ranges)
        if dims is not None and len(dims) != len(ranges):
            _archive.fail("dims", list(dims), f"a list of {len(ranges)} integers (one per archive.ranges pair)")
    lr = _archive.real("learning_rate", given.get("learning_rate"), 0.0, 1.0, low_open=True, optional=True)
    tmin = _archive.magnitude("threshold_min", given["threshold_min"]) \
        if given.get("threshold_min") is not None else None
    lr = 1.0 if lr is None else lr
    if lr < 1.0 and tmin is None:
        _archive.fail("threshold_min", None, "a finite number when archive.learning_rate < 1 (CMA-MAE's soft "
                                             "archive starts every cell at threshold_min)")
    return ArchiveOptions(
        type=kind, dims=dims,
        cells=_archive.integer("cells", given.get("cells", 1000), 1, MAX_CELLS),   # type: ignore[arg-type]
        samples=_archive.integer("samples", given.get("samples", 100_000), 1, 10 * MAX_CELLS),  # type: ignore[arg-type]
        ranges=ranges,
        qd_score_offset=_archive.magnitude("qd_score_offset", given.get("qd_score_offset", 0.0)),
        learning_rate=lr, threshold_min=tmin)


def emitter_options(block: Any, defaults: dict[str, Any]) -> EmitterOptions:
    """Check an ``emitters:`` block (None: all defaults) over a preset's ``defaults``."""
    if block is not None and not isinstance(block, dict):
        Checks("strategy").fail("emitters", block, "a mapping (type, count, batch_size, ...)")
    block = dict(block or {})
    kind = _emitters.one_of("type", block.get("type", defaults.get("type", "es")), EMITTER_TYPES)
    _emitters.keys(block, _EMITTER_KEYS[kind])
    given = {k: v for k, v in defaults.items() if k in _EMITTER_KEYS[kind]} | block
    count = _emitters.integer("count", given.get("count", 5), 1, 1000)
    batch = _emitters.integer("batch_size", given.get("batch_size", 30), 1, MAX_POPULATION)
    if count * batch > MAX_POPULATION:   # type: ignore[operator]
        _emitters.fail("batch_size", batch, f"count x batch_size <= {MAX_POPULATION:,} (individuals per ask)")
    out: dict[str, Any] = {"type": kind, "count": count, "batch_size": batch}
    if kind == "es" and batch < 2:   # type: ignore[operator]
        _emitters.fail("batch_size", batch, "an integer >= 2 for evolution-strategy emitters (CMA-ES's weights)")
    if kind == "es":
        restart = given.get("restart_rule", "no_improvement")
        if not (restart in RESTART_RULES or isinstance(restart, int) and not isinstance(restart, bool)
                and restart >= 1):
            _emitters.fail("restart_rule", restart, "'no_improvement', 'basic' or an integer >= 1 (iterations)")
        out |= {"sigma0": _emitters.scale("sigma0", given.get("sigma0", 1.0)),
                "ranker": _emitters.one_of("ranker", given.get("ranker", "2imp"), RANKERS),
                "selection_rule": _emitters.one_of("selection_rule", given.get("selection_rule", "filter"),
                                                   SELECTION_RULES),
                "restart_rule": restart, "es": _emitters.one_of("es", given.get("es", "cma_es"), ES_NAMES)}
    elif kind == "gaussian":
        out["sigma"] = _emitters.scale("sigma", given.get("sigma", 0.5))
    else:
        out |= {"iso_sigma": _emitters.scale("iso_sigma", given.get("iso_sigma", 0.01)),
                "line_sigma": _emitters.scale("line_sigma", given.get("line_sigma", 0.2))}
    return EmitterOptions(**out)
