"""The HyperNEAT vs P-NEAT section: curves from run directories, spliced into hyperneat_visual.md between markers."""
from __future__ import annotations

import csv
import json

from experiments.make_reports import REPORTS
from experiments.pneat_report import END, START, section, splice

COLUMNS = ["generation", "seconds", "best_so_far", "heldout_mean_distance_of_best", "heldout_hit_rate_of_best"]


def fake_run(path, generations, best):
    path.mkdir(parents=True)
    (path / "best").mkdir()
    (path / "best" / "phenotype.json").write_text(json.dumps({"generations": generations}))
    with (path / "metrics.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for g in range(1, generations + 1):
            w.writerow([g, 2.0 * g, min(100.0, best * g / generations), 3.0 / g, 0.1 * g / generations])
    return path


def test_section_tables_plots_and_splices(tmp_path):
    results = {"HyperNEAT": ([fake_run(tmp_path / f"h{s}", 6 - s, 100.0) for s in range(2)], 6),
               "P-NEAT": ([fake_run(tmp_path / f"p{s}", 3, 20.0 + s) for s in range(2)], 3)}
    text = section(results, {"HyperNEAT": [0, 1], "P-NEAT": [0, 1]}, tmp_path, "cmd", 60.0)
    assert text.startswith(START) and text.endswith(END)
    assert "| HyperNEAT | 2 | 6 | 100.00 ± 0.00 | 2 of 2 |" in text
    assert "| P-NEAT | 2 | 3 | 20.50 ± 0.50 | 0 of 2 |" in text and "**Reduced study.** P-NEAT ran 2 seeds of 3" in text
    # equal generations: HyperNEAT at generation 3 of 6 (seed 0: 50, of 5 (seed 1): 60); equal wall-clock: P-NEAT's
    # median 6 s is HyperNEAT's generation 3 (2 s per generation)
    assert "| 3 generations | HyperNEAT | 3 | 55.00 ± 5.00 |" in text
    assert "| 6 s wall-clock (P-NEAT's median for its 3 generations) | HyperNEAT | 3 | 55.00 ± 5.00 |" in text
    assert "| 3 generations | P-NEAT | 3 | 20.50 ± 0.50 |" in text
    assert (tmp_path / "hyperneat_visual_pneat.png").is_file()
    report = tmp_path / "hyperneat_visual.md"
    report.write_text("# HyperNEAT\n\nbody\n")
    splice(report, text)
    splice(report, text.replace("cmd", "cmd2"))              # a second run replaces the section
    assert report.read_text().count(START) == 1 and "cmd2" in report.read_text() and "body" in report.read_text()
    assert "pneat_visual" in REPORTS
