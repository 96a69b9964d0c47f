"""The GHN NAS report runs end to end at a tiny size and writes markdown, JSON and pictures."""
from __future__ import annotations

import json

from evohyper.report.ghn_nas import GhnNasSettings, run
from evohyper.report.ghn_nas_write import write


def test_tiny_report(tmp_path):
    s = GhnNasSettings(nodes=4, channels=4, hidden=8, ghn_steps=3, graphs_per_step=2, n_corr=5, scratch_steps=3,
                       seeds_per_cell=1, search_evals=6, top_k=2, search_seeds=[0])
    import evohyper.report.ghn_nas as mod
    orig = mod.regularized_evolution
    mod.regularized_evolution = lambda space, fit, n, seed=0: orig(space, fit, n, population=4, sample=2, batch=2,
                                                                    seed=seed)
    try:
        res = run(s)
    finally:
        mod.regularized_evolution = orig
    path = write(res, tmp_path, "pytest", 1.0)
    text = path.read_text()
    assert "Kendall tau" in text and "regularized evolution" in text
    assert (tmp_path / "ghn_nas_cells.png").stat().st_size > 1000
    assert (tmp_path / "ghn_nas_scatter.png").exists()
    data = json.loads((tmp_path / "ghn_nas.json").read_text())
    assert len(data["corr"]["pred"]) == 5 and data["search"][0]["evolution"]["evaluations"] == 6
