"""`evohyper compare`: a spec of configs x seeds -> markdown + PNG with curves, test metrics, parameter counts."""
import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from evohyper.cli import main
from evohyper.config import ConfigError
from evohyper.viz.compare import load_spec
from evohyper.viz.compare_report import _band

ROOT = Path(__file__).resolve().parents[2]

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


def test_compare_writes_report_with_curves_metrics_and_parameter_counts(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)   # the runs are kept under each config's output.runs_dir (runs/)
    crit = {"candidate": "hyper gradient", "baseline": "plain gradient", "max_gap": 0.01, "min_ratio": 3}
    spec = _write(tmp_path, crit)
    assert main(["compare", str(spec), "--out", str(tmp_path / "out"), "--parallel", "none"]) == 0
    md = (tmp_path / "out" / "compare_tiny.md").read_text()
    assert (tmp_path / "out" / "compare_tiny.png").stat().st_size > 1000
    for text in ("hyper gradient", "cma z", "plain gradient", "test_accuracy", "sample forwards", "seconds",
                 "conv1: 144 →", "measured gap", "evohyper compare", "seeds [0, 1]"):
        assert text in md, text
    assert "different budgets" not in md   # all three stop at generations 2
    assert "report:" in capsys.readouterr().out


def test_a_bad_run_config_fails_before_anything_runs(tmp_path):
    with pytest.raises(ConfigError, match=r"runs\[0\] \(hyper gradient\).*nope"):
        load_spec(_write(tmp_path, bad=True))
    assert main(["compare", str(_write(tmp_path, bad=True)), "--parallel", "none"]) == 2


# ----------------------------------------------------------------------------- issue 21, item 9
def _synthetic(points):
    return {"rows": [{"sample_forwards": x, "seconds": x, "best_so_far": y} for x, y in points]}


@pytest.mark.parametrize("log", [False, True])
def test_band_of_best_so_far_never_falls(log):
    """Each seed's curve is monotone; so must the band be: it starts where every seed has its first record
    (no mean over a set of seeds that grows along the axis) and holds each seed's last best until the next
    record (step interpolation: no value between two records is invented)."""
    early_good = _synthetic([(1.0, -0.1), (2.0, -0.1), (4.0, -0.05)])
    late_bad = _synthetic([(2.0, -0.5), (3.0, -0.4), (8.0, -0.3)])
    grid, mean, *spread = _band([early_good, late_bad], "seconds", log=log)
    assert grid[0] == pytest.approx(2.0) and grid[-1] == pytest.approx(8.0)
    for curve in (mean, *spread):
        assert np.isfinite(curve).all() and (np.diff(curve) >= 0).all()
    assert mean[0] == pytest.approx((-0.1 - 0.5) / 2)
    assert mean[-1] == pytest.approx((-0.05 - 0.3) / 2)       # each seed's final best, held to the end
    at_3 = mean[np.searchsorted(grid, 3.0)]
    assert at_3 == pytest.approx((-0.1 - 0.4) / 2)            # step: the last record, not a line between two
    # a minimised task: best-so-far only goes down, and so does its band
    grid, mean, *spread = _band([_synthetic([(1, 5.0), (3, 2.0)]), _synthetic([(2, 9.0), (5, 1.0)])], "seconds", log)
    for curve in (mean, *spread):
        assert (np.diff(curve) <= 0).all()


def _neat_vs_snes(tmp_path):
    neat = {"name": "n", "task": {"name": "xor"}, "decoder": {"name": "neat"}, "budget": {"generations": 2},
            "strategy": {"name": "neat", "neat_config": str(ROOT / "search_spaces/neat_python/xor-config-feedforward")}}
    snes = {"name": "s", "task": {"name": "xor"}, "network": {"hidden": [2]}, "budget": {"generations": 3},
            "strategy": {"name": "snes", "popsize": 8}}
    for name, cfg in (("neat", neat), ("snes", snes)):
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(cfg))
    spec = {"name": "mixed", "seeds": [0, 1],
            "runs": [{"label": "NEAT", "config": str(tmp_path / "neat.yaml")},
                     {"label": "SNES direct", "config": str(tmp_path / "snes.yaml")}]}
    path = tmp_path / "compare_mixed.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_compare_keeps_its_runs_links_them_and_gives_neat_genome_sizes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["compare", str(_neat_vs_snes(tmp_path)), "--out", "out", "--parallel", "none"]) == 0
    md = (tmp_path / "out" / "compare_mixed.md").read_text()
    # runs kept under the configs' output.runs_dir (runs/), one directory per (run, seed), linked from the report
    (batch,) = (tmp_path / "runs").glob("compare-mixed-*")
    run_dirs = sorted(p.parent for p in batch.glob("*/*/metrics.csv"))
    assert len(run_dirs) == 4
    for d in run_dirs:
        assert (d / "best" / "phenotype.json").is_file() and (d / "config.yaml").is_file()
        assert f"]({os.path.relpath(d, tmp_path / 'out')})" in md, d
    neat_dirs = [d for d in run_dirs if yaml.safe_load((d / "config.yaml").read_text())["decoder"]["name"] == "neat"]
    assert len(neat_dirs) == 2
    assert main(["show", str(neat_dirs[0])]) == 0                # inspectable with the usual commands
    # the NEAT row's parameter cells: the best genome's size (mean over seeds), never "None"
    assert "None" not in md
    genomes = [json.loads((d / "best" / "genotype.json").read_text())["genome"] for d in neat_dirs]
    nodes = np.mean([len(g["nodes"]) for g in genomes])
    links = np.mean([sum(bool(c[4]) for c in g["connections"]) for g in genomes])
    neat_row = next(line for line in md.splitlines() if line.startswith("| NEAT | `neat`"))
    assert f"best genome: {nodes:.3g} nodes, {links:.3g} enabled connections" in neat_row, neat_row
    phen = [json.loads((d / "best" / "phenotype.json").read_text())["phenotype"] for d in neat_dirs]
    params = np.mean([p["nodes"][0] + p["enabled_links"][0] for p in phen])
    assert f"{params:.3g} (best network)" in neat_row, neat_row


def test_compare_warns_when_the_methods_have_different_budgets(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    assert main(["compare", str(_neat_vs_snes(tmp_path)), "--out", "out", "--parallel", "none",
                 "--seeds", "0"]) == 0
    warned = [r.getMessage() for r in caplog.records if r.name == "evohyper.compare" and r.levelname == "WARNING"]
    assert len(warned) == 1 and "\n" not in warned[0], warned      # one console line (the CLI prints warnings)
    assert "NEAT: generations 2" in warned[0] and "SNES direct: generations 3" in warned[0], warned
    md = (tmp_path / "out" / "compare_mixed.md").read_text()
    assert "different budgets" in md and "NEAT: generations 2" in md


def test_runs_dir_chooses_where_the_runs_are_kept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["compare", str(_neat_vs_snes(tmp_path)), "--out", "out", "--parallel", "none", "--seeds", "0",
                 "--runs-dir", str(tmp_path / "kept")]) == 0
    assert len(list((tmp_path / "kept").glob("compare-mixed-*/*/*/metrics.csv"))) == 2
    assert not (tmp_path / "runs").exists()


# ----------------------------------------------------------------------------- issue 23: a strategy's column
def test_band_plots_the_spec_metric_column_and_nan_where_a_run_lacks_it():
    rows = [{"seconds": 1.0, "best_so_far": -9.0, "qd_score": 3.0}, {"seconds": 2.0, "best_so_far": -9.0,
                                                                       "qd_score": 7.0}]
    grid, mean, low, high = _band([{"rows": rows}], "seconds", log=False, metric="qd_score")
    assert mean[0] == 3.0 and mean[-1] == 7.0 and (np.diff(mean) >= 0).all()
    _, missing, *_ = _band([{"rows": rows}], "seconds", log=False, metric="hypervolume")
    assert np.isnan(missing).all()


def test_spec_metric_defaults_to_best_so_far_and_must_be_a_name(tmp_path):
    config = tmp_path / "sphere.yaml"
    config.write_text(yaml.safe_dump({"name": "s", "task": {"name": "sphere", "dim": 4, "descriptors": True},
                                      "strategy": {"name": "cmaes", "popsize": 4}, "budget": {"generations": 2}}))
    spec = {"name": "m", "runs": [{"label": "a", "config": str(config)}]}
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(spec))
    assert load_spec(path).metric == "best_so_far"
    path.write_text(yaml.safe_dump({**spec, "metric": "qd_score"}))
    assert load_spec(path).metric == "qd_score"
    path.write_text(yaml.safe_dump({**spec, "metric": 3}))
    with pytest.raises(ConfigError, match="metric.*metrics.csv column"):
        load_spec(path)
