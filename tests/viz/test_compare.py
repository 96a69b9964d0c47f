"""`evohyper compare`: a spec of configs x seeds -> markdown + PNG with curves, test metrics, parameter counts."""
import pytest
import yaml

from evohyper.cli import main
from evohyper.config import ConfigError
from evohyper.viz.compare import load_spec

BASE = {"task": {"name": "digits", "eval_batch": 64}, "network": {"type": "conv", "channels": [4, 4]},
        "budget": {"generations": 2}}


def _write(tmp_path, criterion=None, bad=False):
    grad = {"name": "g", **BASE, "decoder": {"name": "hyper_static", "layers": ["conv1"], "genotype": "all"},
            "strategy": {"name": "gradient", "steps_per_generation": 3, "batch_size": 32}}
    cma = {"name": "c", **BASE, "decoder": {"name": "hyper_static", "layers": ["conv1"], "genotype": "z"},
           "strategy": {"name": "cmaes", "popsize": 4}}
    direct = {"name": "d", **BASE, "decoder": {"name": "direct"},
              "strategy": {"name": "gradient", "steps_per_generation": 3, "batch_size": 32}}
    for name, cfg in (("grad", grad), ("cma", cma), ("direct", direct)):
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(cfg))
    spec = {"name": "tiny", "seeds": [0, 1], "set": ["output.checkpoint_every=5"],
            "runs": [{"label": "hyper gradient", "config": str(tmp_path / "grad.yaml"),
                      "set": ["decoder.init_seed={seed}" if not bad else "decoder.nope=1"]},
                     {"label": "cma z", "config": str(tmp_path / "cma.yaml")},
                     {"label": "plain gradient", "config": str(tmp_path / "direct.yaml")}]}
    if criterion:
        spec["criterion"] = criterion
    path = tmp_path / "compare_tiny.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_compare_writes_report_with_curves_metrics_and_parameter_counts(tmp_path, capsys):
    crit = {"candidate": "hyper gradient", "baseline": "plain gradient", "max_gap": 0.01, "min_ratio": 3}
    spec = _write(tmp_path, crit)
    assert main(["compare", str(spec), "--out", str(tmp_path / "out"), "--parallel", "none"]) == 0
    md = (tmp_path / "out" / "compare_tiny.md").read_text()
    assert (tmp_path / "out" / "compare_tiny.png").stat().st_size > 1000
    for text in ("hyper gradient", "cma z", "plain gradient", "test_accuracy", "sample forwards", "seconds",
                 "conv1: 144 →", "measured gap", "evohyper compare", "seeds [0, 1]"):
        assert text in md, text
    assert "report:" in capsys.readouterr().out


def test_a_bad_run_config_fails_before_anything_runs(tmp_path):
    with pytest.raises(ConfigError, match=r"runs\[0\] \(hyper gradient\).*nope"):
        load_spec(_write(tmp_path, bad=True))
    assert main(["compare", str(_write(tmp_path, bad=True)), "--parallel", "none"]) == 2
