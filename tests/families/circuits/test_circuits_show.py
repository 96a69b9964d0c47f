"""Issue 21 item 12: a circuit run shows the circuit, not only a fitness number and tensor shapes: the designed
chain in words (placement, kind, value with units), the target's and the design's responses in one plot,
and whether the design is response-equivalent (report.md and `evohyper show`)."""
from __future__ import annotations

import json
import re

import torch

from evohyper import cli
from evohyper.config import load_config
from evohyper.engine.runner import run
from evohyper.families.circuits.phenotypes import CircuitPhenotypes
from evohyper.families.circuits.pictures import circuit_text
from evohyper.families.circuits.simulator import KINDS
from evohyper.viz.run_report import write_run_report

CONFIG = "search_spaces/circuit_design_ga.yaml"


def test_circuit_text_names_placement_kind_and_value_with_units():
    kinds = torch.tensor([KINDS.index("series_R"), KINDS.index("parallel_C"), KINDS.index("series_L"), -1])
    values = torch.tensor([1200.0, 1e-8, 4.7e-3, 1.0], dtype=torch.float64)
    assert circuit_text(kinds, values, words=True) == ("series resistor 1.2 kOhm -> parallel capacitor 10 nF -> "
                                                       "series inductor 4.7 mH")
    assert circuit_text(kinds, values) == "S-R 1.2 kOhm · P-C 10 nF · S-L 4.7 mH"    # the reports' compact form


def test_a_circuit_phenotype_describes_its_chain():
    kinds = torch.tensor([[KINDS.index("parallel_R"), -1]])
    phen = CircuitPhenotypes.from_circuits(kinds, torch.tensor([[820.0, 1.0]], dtype=torch.float64))
    assert phen.describe()["circuits"] == ["parallel resistor 820 Ohm"]


def test_a_circuit_run_shows_the_design_its_responses_and_equivalence(tmp_path, capsys):
    config = load_config(CONFIG, [f"output.runs_dir={tmp_path}", "budget.evaluations=200", "output.progress=false",
                                  "output.tensorboard=false", "strategy.popsize=20"])
    _, run_dir = run(config)
    best = json.loads((run_dir / "best" / "phenotype.json").read_text())
    (design,) = best["phenotype"]["circuits"]
    part = r"(series|parallel) (resistor|capacitor|inductor) [\d.]+ [kmunp]?(Ohm|F|H)"
    assert re.fullmatch(f"{part}( -> {part})*", design), design
    assert set(best["test_metrics"]) >= {"error", "equivalent", "max_log_ratio"}
    assert "circuit.png" in " ".join(best["pictures"])
    assert (run_dir / "best" / "circuit.png").stat().st_size > 10_000      # schematics + both responses
    report = write_run_report(run_dir).read_text()
    assert f"Best circuit: {design}" in report
    equivalent = best["test_metrics"]["equivalent"] == 1.0
    assert ("response-equivalent to the target" if equivalent else "not response-equivalent") in report
    assert "![circuit](best/circuit.png)" in report
    assert cli.main(["show", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert design in out and "equivalent" in out and "circuit.png" in out


def test_the_report_figures_are_drawn_by_the_family(tmp_path):
    """The science report's example responses and schematics (issue 25: moved from experiments/) draw one
    column / one row per circuit given."""
    import numpy as np

    from evohyper.families.circuits.pictures import plot_ladders, plot_responses
    from evohyper.families.circuits.space import DEFAULT_SPACE as SPACE

    kinds = torch.tensor([[KINDS.index("series_R"), KINDS.index("parallel_C")] + [-1] * 8])
    values = torch.tensor([[1000.0, 1e-8] + [1.0] * 8], dtype=torch.float64)
    r = SPACE.response(kinds, values)[0]
    a = plot_responses(tmp_path / "a.png", SPACE.omega / (2 * np.pi), [("one", {"target": r, "x": 2 * r}),
                                                                       ("two", {"target": r})])
    b = plot_ladders(tmp_path / "b.png", [((kinds[0], values[0], "target"), (kinds[0], values[0], "ours"))])
    for path in (a, b):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
