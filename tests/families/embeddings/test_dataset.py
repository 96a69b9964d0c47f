"""The data set of evolved cart-pole networks: made by engine searches, groups balanced, survival in range."""
from __future__ import annotations

import torch

from evohyper.engine.runner import build_search
from evohyper.families.embeddings import DatasetSpec, SurvivalScorer, group_of, load_dataset, make_dataset


def test_group_edges_are_the_papers():
    s = torch.tensor([1.0, 50.0, 50.1, 100.0, 100.5, 150.0, 150.2, 200.0])
    assert group_of(s).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


def test_a_small_dataset_is_balanced_in_range_and_counts_its_evaluations(tmp_path):
    spec = DatasetSpec(hidden=[2], per_group=20, popsize=16, generations=6, score_episodes=3, max_runs=30)
    lines = []
    info = make_dataset(spec, build_search, tmp_path / "d.pt", log=lines.append)
    data, sidecar = load_dataset(tmp_path / "d.pt")
    assert sidecar == info and info["group_counts"] == [20, 20, 20, 20] and len(data["weights"]) == 80
    assert data["weights"].shape[1] == 4 * 2 + 2 + 2 + 1
    s = data["survival"]
    assert bool(((s >= 1) & (s <= 200)).all())
    assert torch.equal(data["group"], group_of(s)) and torch.bincount(data["group"]).tolist() == [20] * 4
    assert info["search_evaluations"] == sum(r["evaluations"] for r in info["runs"]) == 16 * 6 * len(info["runs"])
    assert info["pool_networks"] == info["search_evaluations"]        # every evaluated network was recorded
    # survival is re-scored on the fixed start states: the scorer gives the stored figures again
    torch.testing.assert_close(SurvivalScorer(spec)(data["weights"]), s)
    assert lines and lines[-1].startswith("[data] wrote")
