"""We wrap pyribs rather than re-implement it: the strategies' asks and archives, generation after generation,
are a plain pyribs ``Scheduler`` loop's, built by hand from the same archive, emitters and seeds."""
from __future__ import annotations

import numpy as np
import pytest
from qd_sphere import info, max_bound, same_archive, sphere, sphere_torch
from ribs.archives import CVTArchive, GridArchive, k_means_centroids
from ribs.emitters import EvolutionStrategyEmitter, GaussianEmitter, IsoLineEmitter
from ribs.schedulers import Scheduler

from evohyper.strategies.qd import CMAMAE, CMAME, MAPElites
from evohyper.strategies.qd.emitters import component_seeds

D, GENERATIONS, SEED = 20, 12, 7


def plain_pyribs(name: str, cvt: bool) -> Scheduler:
    """pyribs' own objects, as its tutorials build them, with the strategy's component seeds."""
    seeds = component_seeds(SEED, 3)
    ranges = [(-max_bound(D), max_bound(D))] * 2
    soft = {"learning_rate": 0.01, "threshold_min": 0.0} if name == "cma_mae" else {}
    if cvt:
        centroids, _ = k_means_centroids(centroids=200, ranges=ranges, samples=4000, seed=seeds.centroids)
        archive = CVTArchive(solution_dim=D, centroids=centroids, ranges=ranges, seed=seeds.archive, **soft)
    else:
        archive = GridArchive(solution_dim=D, dims=[25, 25], ranges=ranges, seed=seeds.archive, **soft)
    x0 = np.zeros(D)
    if name == "map_elites":
        emitters = [GaussianEmitter(archive, sigma=0.5, x0=x0, batch_size=10, seed=s) for s in seeds.emitters]
    elif name == "map_elites_line":
        emitters = [IsoLineEmitter(archive, iso_sigma=0.5, line_sigma=0.2, x0=x0, batch_size=10, seed=s)
                    for s in seeds.emitters]
    elif name == "cma_me":
        emitters = [EvolutionStrategyEmitter(archive, x0=x0, sigma0=1.0, ranker="2imp", batch_size=10, seed=s)
                    for s in seeds.emitters]
    else:
        emitters = [EvolutionStrategyEmitter(archive, x0=x0, sigma0=0.5, ranker="imp", selection_rule="mu",
                                             restart_rule="basic", batch_size=10, seed=s) for s in seeds.emitters]
    result = None
    if name == "cma_mae":
        result = GridArchive(solution_dim=D, dims=[25, 25], ranges=ranges, seed=seeds.result_archive) if not cvt \
            else CVTArchive(solution_dim=D, centroids=centroids, ranges=ranges, seed=seeds.result_archive)
    return Scheduler(archive, emitters, result_archive=result)


def ours(name: str, cvt: bool):
    cls = {"map_elites": MAPElites, "map_elites_line": MAPElites, "cma_me": CMAME, "cma_mae": CMAMAE}[name]
    archive = {"type": "cvt", "cells": 200, "samples": 4000} if cvt else {"dims": [25, 25]}
    emitters = {"count": 3, "batch_size": 10}
    if name == "map_elites_line":
        emitters |= {"type": "iso_line", "iso_sigma": 0.5}   # pyribs' 0.01 stays in one cell from x0 = 0
    s = cls(D, SEED, archive=archive, emitters=emitters)
    s.bind_task(info(D))
    return s


@pytest.mark.parametrize(("name", "cvt"), [("map_elites", False), ("map_elites_line", False), ("cma_me", False),
                                           ("cma_me", True), ("cma_mae", False)])
def test_asks_and_archives_equal_a_plain_pyribs_scheduler_loop(name, cvt):
    s, plain = ours(name, cvt), plain_pyribs(name, cvt)
    for g in range(GENERATIONS):
        x = s.ask()
        y = plain.ask()
        assert np.array_equal(x.numpy(), y.astype(np.float32)), f"generation {g}: the asks differ"
        f, m = sphere_torch(x)
        s.tell(f, descriptors=m)
        plain.tell(*sphere(y.astype(np.float32)))
    assert same_archive(s.scheduler.archive, plain.archive)
    assert same_archive(s.archive, plain.result_archive)
    assert len(s.archive) > 20
    if name in ("cma_me", "cma_mae"):
        assert [e.restarts for e in s.scheduler.emitters] == [e.restarts for e in plain.emitters]
