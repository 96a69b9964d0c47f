"""The GHN NAS report runs end to end (engine training, engine searches) at a tiny size and writes
markdown, JSON and pictures."""
from __future__ import annotations

import json

from experiments.ghn_nas import GhnNasSettings, run
from experiments.ghn_nas_write import write


def test_tiny_report(tmp_path):
    s = GhnNasSettings(weights_out=str(tmp_path / "ghn.pt"), n_corr=5, scratch_steps=3, seeds_per_cell=1,
                       search_evals=8, top_k=2, search_seeds=[0],
                       overrides=["decoder.nodes=4", "decoder.channels=4", "decoder.hidden=8"],
                       train_overrides=["budget.generations=2", "strategy.steps_per_generation=3",
                                        "decoder.graphs_per_step=2", "decoder.score_graphs=2"],
                       search_overrides={"evolution": ["strategy.population=4", "strategy.sample=2",
                                                       "strategy.children=2"],
                                         "ghn_random": ["strategy.popsize=4"]})
    res = run(s)
    path = write(res, tmp_path, "pytest", 1.0)
    text = path.read_text()
    assert "Kendall tau" in text and "regularized evolution" in text
    assert (tmp_path / "ghn.pt").is_file() and res["ghn"]["steps"] == 6 and len(res["ghn"]["loss"]) == 2
    assert (tmp_path / "ghn_nas_cells.png").stat().st_size > 1000
    assert (tmp_path / "ghn_nas_scatter.png").exists()
    data = json.loads((tmp_path / "ghn_nas.json").read_text())
    assert len(data["corr"]["pred"]) == 5
    row = data["search"][0]
    assert row["evolution"]["evaluations"] == 8 and row["ghn_random"]["evaluations"] == 8
    assert row["evolution"]["generations"] == 3 and row["ghn_random"]["generations"] == 2
    assert row["evolution"]["trainings"] == 2
