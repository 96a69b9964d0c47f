"""The hypergan_digits report end to end with tiny settings (about a second)."""
from __future__ import annotations

from evohyper.report import hypergan_runs
from evohyper.report.hypergan_report import hypergan_digits_report
from evohyper.report.make_reports import REPORTS


def test_registered():
    assert "hypergan_digits" in REPORTS


def test_report_end_to_end_tiny(tmp_path, monkeypatch):
    monkeypatch.setitem(hypergan_runs.SETTINGS, "hypergan_steps", 20)
    monkeypatch.setitem(hypergan_runs.SETTINGS, "independent_epochs", 1)
    monkeypatch.setitem(hypergan_runs.SETTINGS, "snes_generations", 2)
    monkeypatch.setitem(hypergan_runs.SETTINGS, "cmaes_generations", 2)
    out = hypergan_digits_report(tmp_path, seeds=[0])
    text = out.read_text()
    for heading in ("by ensemble size", "## Diversity", "Predictive entropy", "latent space", "different data"):
        assert heading in text
    assert (tmp_path / "hypergan_digits_interpolation.png").is_file()
