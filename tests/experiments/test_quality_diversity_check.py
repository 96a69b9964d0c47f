"""Both sides of the LunarLander comparison compute the same thing: solutions scored through our task (as
search_spaces/lunarlander_cma_me.yaml builds it) and through pyribs' tutorial ``simulate`` give the same
objectives and measures, bit for bit."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("Box2D")


def test_our_task_and_the_tutorial_simulate_score_two_solutions_alike():
    from experiments.quality_diversity import same_computation

    out = same_computation(n=2, seed=1)
    ours, theirs = np.array(out["ours"]), np.array(out["tutorial"])
    assert ours.shape == theirs.shape == (2, 3)
    assert out["equal"] and out["rows_equal"] == 2 and out["max_abs_difference"] == 0.0
    assert np.array_equal(ours, theirs)
    assert not np.array_equal(ours[0], ours[1])       # two different landers, not one answer repeated


def test_the_genome_is_the_transposed_pyribs_model():
    """A transposed weight matrix is a different policy: the check would catch a layout mismatch."""
    from experiments.quality_diversity_pyribs import ENV_SEED, simulate

    model = np.random.default_rng(3).normal(size=(4, 8))
    assert simulate(model.ravel(), ENV_SEED) != simulate(model.reshape(8, 4).T.ravel(), ENV_SEED)
