"""A quality-diversity metric is a Tune metric: `evohyper tune` over a MAP-Elites option optimising `qd_score`.

Issue 23: Tune optimises any metrics.csv column, so a QD score (or a hypervolume) chooses the best trial.
Slow (every trial is a process that imports pyribs): `make test-all` runs it.
"""
from __future__ import annotations

import pytest


@pytest.mark.ray
@pytest.mark.slow
def test_tune_chooses_the_trial_with_the_highest_qd_score(ray_local, tmp_path):
    from evohyper.tune.driver import run_tune

    raw = {"name": "tune-qd", "seed": 0,
           "task": {"name": "sphere", "dim": 6, "descriptors": True},
           "strategy": {"name": "map_elites", "archive": {"dims": [10, 10], "qd_score_offset": -1000.0},
                        "emitters": {"count": 2, "batch_size": 8}},
           "budget": {"generations": 4},
           "tune": {"params": {"strategy.emitters.sigma": {"grid": [0.05, 2.0]}},
                    "num_samples": 1, "seed": 0, "metric": "qd_score", "mode": "max",
                    "storage_path": str(tmp_path / "tune")}}
    outcome = run_tune(raw, verbose=0, name="qd")
    results = list(outcome.results)
    assert len(results) == 2 and all(r.error is None for r in results)
    scores = {r.config["strategy.emitters.sigma"]: float(r.metrics["qd_score"]) for r in results}
    assert all(s > 0 for s in scores.values())             # every trial reported its archive's QD score
    assert outcome.spec.metric == "qd_score" and outcome.mode == "max"
    best = outcome.results.get_best_result(metric="qd_score", mode="max")
    assert float(best.metrics["qd_score"]) == max(scores.values())
    # a wider mutation fills more of the descriptor grid in 4 generations: the metric separates the trials
    assert scores[2.0] > scores[0.05], scores
