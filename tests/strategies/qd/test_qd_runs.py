"""Quality-diversity runs on pyribs' sphere (d = 20 genes, 2 measures): the archive grows, resume is
bit-identical, the metrics and the best genotype are the archive's, and the final archive is written."""
from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest
import torch
from qd_sphere import archive_data, info, run, same_archive, sphere_torch

from evohyper.api.task import Descriptor, TaskInfo
from evohyper.strategies.qd import CMAMAE, CMAME, METRICS, MAPElites

D = 20
PRESETS = [(MAPElites, {}), (CMAME, {}), (CMAMAE, {})]


def make(cls, seed=0, **options):
    s = cls(D, seed, **options)
    s.bind_task(info(D))
    return s


@pytest.mark.parametrize(("cls", "options"), PRESETS)
def test_coverage_and_qd_score_grow_over_20_generations_on_the_sphere(cls, options):
    s = make(cls, **options)
    assert s.popsize == 150
    trace = []
    for _ in range(20):
        run(s, 1)
        trace.append(s.metrics())
    coverage = [m["coverage"] for m in trace]
    qd = [m["qd_score"] for m in trace]
    # an elitist archive (the result archive for CMA-MAE) only gains: both never fall, and grow a lot
    assert all(b >= a for a, b in zip(coverage, coverage[1:])) and all(b >= a for a, b in zip(qd, qd[1:]))
    assert coverage[-1] >= 3 * coverage[0] and qd[-1] >= 3 * qd[0] > 0
    assert trace[-1]["elites"] == coverage[-1] * 2500


@pytest.mark.parametrize(("cls", "options"), [
    (MAPElites, {"emitters": {"type": "iso_line", "iso_sigma": 0.3}}),
    (CMAME, {"emitters": {"count": 3, "batch_size": 8, "restart_rule": 2}}),   # restarts every 2 iterations
    (CMAME, {"archive": {"type": "cvt", "cells": 100, "samples": 3000}}),
    (CMAMAE, {"emitters": {"count": 2, "batch_size": 10, "es": "sep_cma_es"}}),
])
def test_resume_after_5_generations_is_bit_identical_for_5_more(cls, options, monkeypatch):
    s = make(cls, seed=11, **options)
    run(s, 5)
    buf = io.BytesIO()
    torch.save(s.state_dict(), buf)
    buf.seek(0)
    resumed = make(cls, seed=11, **options)
    from evohyper.strategies.qd import archives

    monkeypatch.setattr(archives, "centroids", lambda *a: pytest.fail("a resume must not redraw CVT centroids"))
    resumed.load_state_dict(torch.load(buf, weights_only=True))
    assert resumed.generation == 5 and resumed.best_fitness == s.best_fitness
    for a, b in zip(run(s, 5), run(resumed, 5)):
        assert torch.equal(a, b)
    assert same_archive(s.scheduler.archive, resumed.scheduler.archive)
    assert same_archive(s.archive, resumed.archive)
    assert [getattr(e, "restarts", 0) for e in s.scheduler.emitters] == \
        [getattr(e, "restarts", 0) for e in resumed.scheduler.emitters]
    assert s.metrics() == resumed.metrics()
    if options.get("emitters", {}).get("restart_rule") == 2:
        assert all(e.restarts >= 4 for e in s.scheduler.emitters)


def test_a_cvt_archive_draws_its_centroids_from_the_seed():
    opts = {"archive": {"type": "cvt", "cells": 50, "samples": 2000}}
    a, b, c = make(CMAME, 3, **opts), make(CMAME, 3, **opts), make(CMAME, 4, **opts)
    for s in (a, b, c):
        run(s, 1)
    assert np.array_equal(a.archive.centroids, b.archive.centroids)
    assert not np.array_equal(a.archive.centroids, c.archive.centroids)


@pytest.mark.parametrize(("cls", "options"), PRESETS)
def test_best_genotype_and_metrics_are_the_archives(cls, options):
    s = make(cls, seed=2, archive={"qd_score_offset": -10.0}, **options)
    best_told = -math.inf
    asked = []
    for _ in range(6):
        x = s.ask()
        f, m = sphere_torch(x)
        s.tell(f, descriptors=m)
        asked.append(x)
        best_told = max(best_told, float(f.max()))
    data = archive_data(s.archive)
    m = s.metrics()
    assert set(m) == set(METRICS)
    assert s.best_fitness == best_told == m["archive_best"] == data["objective"].max()
    i = int(np.argmax(data["objective"]))
    assert torch.equal(s.best_genotype, torch.from_numpy(data["solution"][i].astype(np.float32)))
    assert any((row == s.best_genotype).all() for x in asked for row in x)   # a genotype that was evaluated
    assert m["qd_score"] == pytest.approx(float(np.sum(data["objective"] + 10.0)), rel=1e-12)
    assert m["qd_score_norm"] == pytest.approx(m["qd_score"] / 2500)
    assert m["elites"] == len(data["index"]) and m["coverage"] == len(data["index"]) / 2500
    assert s.center() is None


def test_metrics_before_the_first_tell_name_the_same_columns():
    s = make(CMAME)
    m = s.metrics()
    assert set(m) == set(METRICS) and m["elites"] == 0.0 and math.isnan(m["archive_best"])
    assert s.write_archive(".") == []


@pytest.mark.parametrize("archive", [{"dims": [20, 20]}, {"type": "cvt", "cells": 500, "samples": 5000}])
def test_write_archive_writes_elites_table_and_heatmap(archive, tmp_path):
    s = make(CMAMAE, archive=archive, emitters={"count": 2, "batch_size": 10})
    run(s, 4)
    paths = s.write_archive(tmp_path / "archive")
    assert [p.name for p in paths] == ["elites.pt", "archive.csv", "heatmap.png"]
    elites = torch.load(paths[0], weights_only=True)
    data = archive_data(s.archive)
    n = len(data["index"])
    assert n > 5 and elites["solutions"].shape == (n, D) and elites["solutions"].dtype == torch.float32
    assert torch.equal(elites["cells"], torch.from_numpy(data["index"].astype(np.int64)))
    assert torch.equal(elites["objectives"], torch.from_numpy(data["objective"]))
    assert torch.equal(elites["measures"], torch.from_numpy(data["measures"]))
    assert torch.equal(elites["solutions"], torch.from_numpy(data["solution"].astype(np.float32)))
    assert elites["descriptor_names"] == ["half_0", "half_1"] and elites["archive"] in ("grid", "cvt")
    # the solutions are what was evaluated: their objective is the stored one
    f, m = sphere_torch(elites["solutions"])
    assert torch.allclose(f, elites["objectives"]) and torch.allclose(m, elites["measures"])
    rows = list(csv.reader(paths[1].open()))
    assert rows[0] == ["cell", "objective", "half_0", "half_1"] and len(rows) == n + 1
    assert [int(r[0]) for r in rows[1:]] == data["index"].tolist()
    assert [float(r[1]) for r in rows[1:]] == data["objective"].tolist()
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and paths[2].stat().st_size > 5000


def test_three_descriptors_are_drawn_as_parallel_axes(tmp_path):
    task = TaskInfo(descriptors=tuple(Descriptor(f"m{i}", -3.0, 3.0) for i in range(3)))
    s = MAPElites(6, 0, archive={"dims": [5, 5, 5]}, emitters={"count": 1, "batch_size": 20})
    s.bind_task(task)
    for _ in range(3):
        x = s.ask()
        s.tell(-(x.double() ** 2).sum(1), descriptors=x[:, :3].double())
    paths = s.write_archive(tmp_path)
    assert paths[2].stat().st_size > 5000 and len(s.archive) > 3
