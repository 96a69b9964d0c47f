"""The hypergan_digits report end to end with tiny settings (a few seconds), and its engine-trained generators."""
from __future__ import annotations

from experiments import hypergan_runs
from experiments.hypergan_report import hypergan_digits_report
from experiments.make_reports import REPORTS


def test_registered():
    assert "hypergan_digits" in REPORTS


def test_report_end_to_end_tiny(tmp_path, monkeypatch):
    monkeypatch.setitem(hypergan_runs.SETTINGS, "train_generations", 2)
    monkeypatch.setitem(hypergan_runs.SETTINGS, "train_steps_per_generation", 5)
    monkeypatch.setitem(hypergan_runs.SETTINGS, "sets_generations", 2)
    monkeypatch.setitem(hypergan_runs.SETTINGS, "sets_popsize", 6)
    monkeypatch.setitem(hypergan_runs.SETTINGS, "random_sets", 2)
    monkeypatch.setitem(hypergan_runs.SETTINGS, "set_sizes", (3,))
    monkeypatch.setitem(hypergan_runs.SETTINGS, "independent_epochs", 1)
    monkeypatch.setitem(hypergan_runs.SETTINGS, "snes_generations", 2)
    monkeypatch.setitem(hypergan_runs.SETTINGS, "cmaes_generations", 2)
    out = hypergan_digits_report(tmp_path, seeds=[0])
    text = out.read_text()
    for heading in ("by ensemble size", "## Diversity", "Predictive entropy", "latent space", "different data",
                    "digits_hypergan_train.yaml", "## Evolving diverse, high-fitness sets", "CMA-ES best set, k = 3",
                    "random prior sets, k = 3"):
        assert heading in text
    assert (tmp_path / "hypergan_digits_interpolation.png").is_file()


def test_generators_are_trained_by_the_engine_config(tmp_path, monkeypatch):
    """The report's HyperGAN comes from a run of digits_hypergan_train.yaml: its best/decoder_weights.pt
    is what the returned decoder holds (not the seeded init)."""
    import torch

    from evohyper.families.hypergan.decoder import HyperGANDecoder
    from evohyper_tasks.digits import DigitsTask

    monkeypatch.setitem(hypergan_runs.SETTINGS, "train_generations", 1)
    monkeypatch.setitem(hypergan_runs.SETTINGS, "train_steps_per_generation", 3)
    target = DigitsTask().target({"hidden": [hypergan_runs.HIDDEN]})
    dec, info = hypergan_runs.train_generator(0, 1.0, target, tmp_path)
    assert info["weights"].name == "decoder_weights.pt" and info["weights"].parent.name == "best"
    assert (info["weights"].parents[1] / "metrics.csv").is_file()                # a real engine run directory
    saved = HyperGANDecoder(target, **info["options"], weights=str(info["weights"]))
    fresh = HyperGANDecoder(target, **info["options"])
    assert torch.equal(dec.parameter_vector(), saved.parameter_vector())
    assert not torch.equal(dec.parameter_vector(), fresh.parameter_vector())
    assert info["options"]["beta"] == 1.0 and info["steps"] == 3
