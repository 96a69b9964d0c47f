"""pyribs' emitters as an ``emitters:`` block describes them, and the seeds of every pyribs component.

Why the seeds are drawn here: a run is one ``seed``, and pyribs takes a seed per archive and per emitter; a
``numpy.random.SeedSequence`` of the run's seed gives them all, independent of each other and of any global
generator. The tests build a plain pyribs ``Scheduler`` from the same ``component_seeds`` to show that the
strategy asks and archives exactly what pyribs does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from evohyper.strategies.qd.options import EmitterOptions

if TYPE_CHECKING:
    from ribs.archives import ArchiveBase
    from ribs.emitters import EmitterBase


@dataclass(frozen=True)
class ComponentSeeds:
    """Seeds of one run's pyribs components: the archive, CMA-MAE's result archive, the CVT's k-means, and
    one per emitter."""

    archive: int
    result_archive: int
    centroids: int
    emitters: tuple[int, ...]


def component_seeds(seed: int, emitters: int) -> ComponentSeeds:
    """The seeds of every pyribs component of a run of ``seed`` with ``emitters`` emitters."""
    words = np.random.SeedSequence(int(seed) % 2**64).generate_state(3 + emitters, dtype=np.uint32)
    values = [int(w) for w in words]
    return ComponentSeeds(values[0], values[1], values[2], tuple(values[3:]))


def make_emitters(options: EmitterOptions, archive: ArchiveBase, x0: np.ndarray,
                  seeds: tuple[int, ...]) -> list[EmitterBase]:
    """``options.count`` pyribs emitters over ``archive``, each started at ``x0`` with its own seed:
    ``es``: ``EvolutionStrategyEmitter`` (CMA-ME and CMA-MAE: its ranker, selection and restart rules);
    ``gaussian``: ``GaussianEmitter`` (MAP-Elites: an elite plus Gaussian noise of ``sigma``);
    ``iso_line``: ``IsoLineEmitter`` (MAP-Elites with Vassiliades' Iso+LineDD operator)."""
    from ribs.emitters import EvolutionStrategyEmitter, GaussianEmitter, IsoLineEmitter

    if options.type == "es":
        return [EvolutionStrategyEmitter(archive, x0=x0, sigma0=options.sigma0, ranker=options.ranker,
                                         es=options.es, selection_rule=options.selection_rule,
                                         restart_rule=options.restart_rule, batch_size=options.batch_size,
                                         seed=s) for s in seeds]
    if options.type == "gaussian":
        return [GaussianEmitter(archive, sigma=options.sigma, x0=x0, batch_size=options.batch_size, seed=s)
                for s in seeds]
    return [IsoLineEmitter(archive, iso_sigma=options.iso_sigma, line_sigma=options.line_sigma, x0=x0,
                           batch_size=options.batch_size, seed=s) for s in seeds]
