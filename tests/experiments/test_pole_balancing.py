"""The pole-balancing study (issue 24): how evaluations to solve are counted, the cached runs (skipped when done),
and the report's statistics on synthetic runs (quartiles over solved runs, failures apart, the cap)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from experiments import pole_balancing as study
from experiments.make_reports import REPORTS
from experiments.pole_balancing_count import build, evaluations_to_solve
from experiments.pole_balancing_report import estimate, summarize, targets, write_report
from experiments.pole_balancing_spec import (
    ARMS,
    DEFAULT_ARMS,
    DEFAULT_VARIANTS,
    SIZES,
    VARIANTS,
    elman_weights,
    raw_config,
    runs_variant,
)


def _generations(*masks):
    it = iter(masks)
    return lambda: torch.tensor(next(it))


# ----------------------------------------------------------------------------- counting
def test_counting_stops_at_the_first_solving_individual_of_the_first_solving_generation():
    out = evaluations_to_solve(_generations([0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1], [1, 1, 1, 1]), cap=100)
    assert out == {"solved": True, "evaluations": 4 + 4 + 3, "evaluations_generation_end": 12, "generations": 3,
                   "index": 2, "timed_out": False}


def test_counting_a_failure_spends_the_cap_and_a_solver_past_the_cap_is_a_failure():
    never = evaluations_to_solve(lambda: torch.zeros(5), cap=12)
    assert never == {"solved": False, "evaluations": 15, "evaluations_generation_end": 15, "generations": 3,
                     "index": None, "timed_out": False}
    # the third generation's solver is evaluation 10 + 4 = 14 > cap 12: not solved, and no fourth generation
    late = evaluations_to_solve(_generations([0] * 5, [0] * 5, [0, 0, 0, 1, 0], [1] * 5), cap=12)
    assert not late["solved"] and late["generations"] == 3
    # a solver exactly at the cap counts
    edge = evaluations_to_solve(_generations([0] * 5, [0] * 5, [0, 1, 0, 0, 0]), cap=12)
    assert edge["solved"] and edge["evaluations"] == 12


def test_a_clock_stops_a_run_between_generations_as_a_timed_out_failure(tmp_path):
    ticks = iter([False, False, True])
    out = evaluations_to_solve(lambda: torch.zeros(5), cap=100, out_of_time=lambda: next(ticks))
    assert out == {"solved": False, "evaluations": 10, "evaluations_generation_end": 10, "generations": 2,
                   "index": None, "timed_out": True}
    path = study.run_path(tmp_path, "double", "neat", 0)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"timed_out": True, "max_seconds": 60.0, "clock": "cpu"}))
    assert study.plan(tmp_path, ["double"], ["neat"], [0], max_seconds=60.0) == []           # same clock: done
    assert study.plan(tmp_path, ["double"], ["neat"], [0], max_seconds=600.0) == [("double", "neat", 0)]
    assert study.plan(tmp_path, ["double"], ["neat"], [0]) == [("double", "neat", 0)]         # no clock: re-run


def test_the_clock_is_the_runs_cpu_time_and_wall_clock_timeouts_are_redone(tmp_path):
    """A run's clock counts its own process's CPU seconds, so a loaded machine cannot time a run out; a run that
    timed out under the old wall clock (no ``clock`` key) is planned again, one under the CPU clock is not."""
    path = study.run_path(tmp_path, "double", "neat", 0)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"timed_out": True, "max_seconds": 600.0}))
    assert study.plan(tmp_path, ["double"], ["neat"], [0], max_seconds=600.0) == [("double", "neat", 0)]
    path.write_text(json.dumps({"timed_out": True, "max_seconds": 600.0, "clock": "cpu"}))
    assert study.plan(tmp_path, ["double"], ["neat"], [0], max_seconds=600.0) == []
    out = study.run_one("double_pole", "double", "cmaes-lin", 0, tmp_path, max_steps=50, cap=32, max_seconds=600.0)
    assert out["clock"] == "cpu" and 0 < out["cpu_seconds"] and out["seconds"] > 0


def test_the_configs_are_the_fixed_double_pole_interface():
    raw = raw_config("double_pole", "double_novel", "cmaes-h28", 3)
    assert raw["task"] == {"name": "double_pole", "poles": 2, "velocities": False, "max_steps": 100_000,
                           "fitness": "damping", "episodes": 1, "start": "standard"}
    assert raw["network"] == {"hidden": [28], "recurrent": True, "activation": "tanh", "output_activation": "tanh"}
    assert raw["seed"] == 3 and raw["strategy"] == {"name": "cmaes", "sigma0": round(0.3 * (6 / 28) ** 0.5, 4)}
    assert raw_config("double_pole", "double", "cmaes-dct4-h6", 0)["strategy"]["sigma0"] == 0.3
    assert "network" not in raw_config("double_pole", "single", "neat", 0)
    assert raw_config("double_pole", "double", "cmaes-lin", 0)["network"] == {"hidden": [],
                                                                              "output_activation": "tanh"}
    assert raw_config("double_pole", "double", "cmaes-lin", 0)["strategy"] == {"name": "cmaes", "sigma0": 1.0,
                                                                               "popsize": 16}
    assert raw_config("double_pole", "double_novel_steps", "cmaes-h6", 0)["task"]["fitness"] == "steps"
    assert [VARIANTS[v].inputs for v in ("single", "double", "double_novel")] == [4, 6, 3]
    # the published CMA-ES network without velocities: fully recurrent, only where the velocities are hidden
    assert raw_config("double_pole", "double_novel", "cmaes-fr3", 0)["network"] == {
        "hidden": [3], "recurrent": "full", "activation": "tanh", "output_activation": "tanh"}
    assert not runs_variant("cmaes-fr3", "double") and runs_variant("cmaes-fr3", "double_novel")
    assert [elman_weights(6, h) for h in (3, 10, 30)] == [34, 181, 1141]


def test_the_default_study_spans_10x_in_weights_and_runs_the_recurrent_only_dct_arms():
    for inputs in (3, 4, 6):                       # the issue: three recurrent sizes spanning >= 10x in weights
        assert elman_weights(inputs, SIZES[-1]) >= 10 * elman_weights(inputs, SIZES[0])
    assert SIZES[0] >= 6                           # holds a copy and a change of each of 3 inputs (diagnosis)
    # the whole-network DCT arms (0 of 4 solved) stay defined, out of the default set
    assert not any(a.startswith(("cmaes-dctn", "cmaes-dct2", "cmaes-dctg")) for a in DEFAULT_ARMS)
    assert {"cmaes-dctn2-h6", "cmaes-dct8-h28", "cmaes-dctg8-h14", "cmaes-dctng4-h28"} <= set(ARMS)
    assert {"neat", "cmaes-lin", "snes-h6", "cmaes-h6", "cmaes-h14", "cmaes-h28", "cmaes-dctu8-h6",
            "cmaes-dctu32-h28"} <= set(DEFAULT_ARMS)


def test_a_recurrent_only_dct_arm_compresses_only_the_recurrent_matrix():
    """``cmaes-dctu8-h28`` on the double pole with velocities: every tensor at full k but u0 (k = 8), gain size
    (no global scale), so its genes are the direct ones minus the recurrent matrix plus 8."""
    config, components = build("double_pole", "double", "cmaes-dctu8-h28", 0)
    decoder = components.decoder
    ks = {name: p.k for name, p in decoder.painters.items()}
    assert ks == {"w0": 6 * 28, "u0": 8, "b0": 28, "w1": 28, "b1": 1}
    assert decoder.genome_size == elman_weights(6, 28) - 28 * 28 + 8
    assert decoder.gain == "size" and decoder.scale == 1.0
    assert DEFAULT_VARIANTS[0] == "double" and "double_novel_steps" not in DEFAULT_VARIANTS
    # a linear policy has no memory: it runs only where the velocities are observed
    assert runs_variant("cmaes-lin", "double") and not runs_variant("cmaes-lin", "double_novel")
    assert study.plan(Path("/nonexistent"), ["double_novel"], ["cmaes-lin", "neat"], [0]) == [
        ("double_novel", "neat", 0)]
    assert all(VARIANTS[v].cap <= 40_000 for v in DEFAULT_VARIANTS)
    assert raw_config("cartpole", "double_novel", "neat", 0)["task"]["hide_velocities"] is True


def test_a_stand_in_run_is_cached_skipped_and_reported(tmp_path):
    """Cart-pole stand-in, 20-step episodes: the runs solve quickly; their JSON keeps the solving genotype."""
    root = tmp_path / "runs"
    args = ["--task", "cartpole", "--variants", "single", "--arms", "cmaes-dctn2-h6", "neat", "--seeds", "1",
            "--cap", "400", "--max-steps", "20", "--root", str(root)]
    assert study.main(args) == 0
    where = study.results_dir(root, "cartpole", 400, 20)
    run = json.loads(study.run_path(where, "single", "cmaes-dctn2-h6", 0).read_text())
    assert run["solved"] and 1 <= run["evaluations"] <= run["evaluations_generation_end"] <= 400
    assert len(run["genotype"]) == run["genome_size"] == 6 * 2 + 1 * 2     # 6 hidden + 1 output neuron, k = 2
    assert run["num_params"] == elman_weights(4, 6) and run["generalisation"] is None   # NaN: cart-pole has none
    neat = json.loads(study.run_path(where, "single", "neat", 0).read_text())
    assert neat["popsize"] == 150 and (not neat["solved"] or neat["genotype"]["kind"] == "neat-genome")
    assert study.plan(where, ["single"], ["cmaes-dctn2-h6", "neat"], [0]) == []
    assert math.isnan(study.rescore(run))        # the cached genotype decodes again (cart-pole has no 625 test)
    if neat["solved"]:
        assert math.isnan(study.rescore(neat))
    text = (where / "pole_balancing.md").read_text()
    assert "**Not the study.**" in text and "| `cmaes-dctn2-h6` | 73 | 14 |" in text
    assert (root / ".gitignore").read_text() == "*\n"


def test_a_dct_arms_scale_gives_the_weights_the_genes_rms():
    config, components = build("cartpole", "single", "cmaes-dct4-h28", 0, max_steps=10)
    decoder = components.decoder
    g = torch.randn(64, decoder.genome_size, generator=torch.Generator().manual_seed(0))
    flat = torch.cat([t.reshape(64, -1) for t in decoder.paint(g).values()], dim=1)
    assert flat.pow(2).mean().sqrt().item() == pytest.approx(g.pow(2).mean().sqrt().item(), rel=1e-5)


# ----------------------------------------------------------------------------- the report
def _run(variant, arm, seed, evaluations, solved, cap=1000, generalisation=None):
    return {"task": "double_pole", "variant": variant, "arm": arm, "seed": seed, "cap": cap, "max_steps": 100_000,
            "solved": solved, "evaluations": evaluations, "generalisation": generalisation, "seconds": 2.0,
            "genome_size": 10, "num_params": 34, "popsize": 10}


def test_statistics_are_over_solved_runs_and_failures_are_apart():
    runs = [_run("double", "cmaes-h3", s, e, True) for s, e in enumerate([100, 200, 300, 400])]
    runs.append(_run("double", "cmaes-h3", 4, 1000, False))
    s = summarize(runs)
    assert (s["runs"], s["solved"], s["failures"]) == (5, 4, 1)
    assert s["mean"] == 250 and s["median"] == 250 and s["q1"] == 175 and s["q3"] == 325
    assert s["median_all"] == 300                      # the failure ranks last: median of 100 200 300 400 inf
    half = summarize(runs[:2] + [_run("double", "cmaes-h3", 9, 1000, False)] * 2)
    assert math.isinf(half["median_all"])              # half failed: the median is "> cap"
    # cost: a run's CPU seconds where recorded (a paused machine inflates the wall clock), else its wall seconds
    paused = {**runs[0], "seconds": 900.0, "cpu_seconds": 4.0}
    assert summarize([paused, runs[1]])["seconds_total"] == 6.0


def test_the_report_on_synthetic_runs_judges_the_targets(tmp_path):
    root = tmp_path / "double_pole"
    runs = [_run("double", "neat", s, 3000 + 100 * s, True, 50_000) for s in range(3)]
    runs += [_run("double", "cmaes-lin", s, 900, True, 50_000, 250.0) for s in range(2)]
    runs += [_run("double", "cmaes-lin", 2, 50_000, False, 50_000)]
    runs += [_run("double", "cmaes-h14", s, 5000, True, 50_000) for s in range(3)]
    runs += [_run("double", "cmaes-dctu8-h14", s, 700, True, 50_000) for s in range(3)]
    runs += [_run("double", "cmaes-dctur8-h14", s, 100, True, 50_000) for s in range(3)]   # a probe: not judged
    runs += [_run("double", "cmaes-h28", s, 5000, True, 50_000) for s in range(2)]       # too few to judge
    runs += [_run("double", "cmaes-dctu8-h28", s, 700, True, 50_000) for s in range(3)]
    for r in runs:
        path = study.run_path(root, r["variant"], r["arm"], r["seed"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(r))
    command = "python -m experiments.pole_balancing --report-only"
    text = write_report(root, tmp_path / "out", command=command).read_text()
    assert "| `neat` | evolved | – | 10 | 3 | 3 | 0 | 3,100 | 3,050 | 3,100 | 3,150 | 3,100 |" in text
    assert "| `cmaes-lin` | 34 | 10 | 10 | 3 | 2 | 1 | 900 |" in text and "250 [250, 250] (n=2)" in text
    assert "NEAT (`neat`) within 2x of its published mean 3,600 on double: **met**" in text
    assert "CMA-ES (`cmaes-lin`) within 2x of its published mean 895 on double: **not met**" in text   # a failure
    assert "double, Elman h=14: **met**: best DCT arm `cmaes-dctu8-h14` median 700" in text
    assert "ranked last; *provisional: 3 of 20 seeds*." in text
    assert "double, Elman h=28: **not yet measured** (2 finished runs of `cmaes-h28`" in text
    assert "CMA-ES (`cmaes-fr3`) within 2x of its published mean on double_novel: **not yet measured** (0 " in text
    assert "CMA-ES (`cmaes-h6`) within 2x of its published mean on double_novel: **not yet measured**" in text
    assert "CMA-ES (`cmaes-linr`) within 2x of its published mean on double: **not yet measured**" in text
    assert "**The study is partial: 17 of " in text and "| `cmaes-lin` | 3/20 | 0/20 | – |" in text
    assert "| `neat` | 3/20 | 0/20 | 0/20 |" in text
    assert "**Not the study.**" not in text and "Not checked against the paper's text" in text
    assert (tmp_path / "out" / "pole_balancing_boxplots.png").stat().st_size > 1000
    assert any("not yet measured" in line for line in targets({}))


def test_registered_in_make_reports_and_every_arm_is_named_in_the_spec():
    assert "pole_balancing" in REPORTS
    assert {"neat", "snes-h6", "cmaes-h6", "cmaes-h14", "cmaes-h28", "cmaes-dct2-h28", "cmaes-dctn4-h28"} <= set(ARMS)


def test_the_estimate_charges_each_arm_its_own_mean_and_unmeasured_arms_the_clock():
    planned = sum(runs_variant(a, v) for v in DEFAULT_VARIANTS for a in DEFAULT_ARMS) * 20
    text = estimate({})[0]
    assert f"({planned} of {planned} runs left" in text and f"at most {planned * 600 / 3600:.1f}" in text
    one = summarize([_run("double", "neat", s, 100, True) for s in range(4)])     # 2 s per run, 4 of 20 done
    text = estimate({"double": {"neat": one}})[0]
    upper = (16 * 2.0 + (planned - 20) * 600) / 3600
    central = (16 * 2.0 + (planned - 20) * 2.0) / 3600        # the measured mean stands in for the rest
    assert f"({planned - 4} of {planned} runs left" in text
    assert f"{central:.1f} CPU-hours (unmeasured arms at the measured mean of 2 s" in text
    assert f"at most {upper:.1f}" in text


def test_the_torch_loop_neat_runs_are_a_note_not_counted(tmp_path):
    from experiments.pole_balancing_diagnosis import torch_loop_neat_lines

    assert torch_loop_neat_lines(tmp_path) == []
    folder = tmp_path / "torch_loop_neat" / "double"
    folder.mkdir(parents=True)
    for seed, (seconds, timed_out) in enumerate([(20.0, False), (611.0, True), (59.0, False)]):
        (folder / f"seed{seed}.json").write_text(json.dumps({"seconds": seconds, "timed_out": timed_out,
                                                             "max_seconds": 600.0}))
    text = " ".join(torch_loop_neat_lines(tmp_path))
    assert "first 3 NEAT runs" in text and "59 s per run (median; 20-611 s), 1 stopped by the 600 s clock" in text


# ----------------------------------------------------------------------------- the stall-restart arms
def test_the_stall_arms_are_their_base_arm_with_ipop_and_the_window():
    from experiments.pole_balancing_spec import STALL_ARMS

    for arm, (base, variant, window) in STALL_ARMS.items():
        raw, plain = raw_config("double_pole", variant, arm, 4), raw_config("double_pole", variant, base, 4)
        assert raw["strategy"] == {**plain["strategy"], "restarts": 9, "restart_stall": window}
        assert {k: v for k, v in raw.items() if k not in ("strategy", "name")} == \
            {k: v for k, v in plain.items() if k not in ("strategy", "name")}
        assert arm in DEFAULT_ARMS and ARMS[arm].variants == ARMS[base].variants


def test_the_stall_window_rule_is_the_next_multiple_of_50_above_every_solvers_longest_stall():
    from experiments.pole_balancing_probes import window

    def rows(*pairs):
        return [{"solved": s, "longest_stall": n} for s, n in pairs]

    assert window(rows((True, 21), (True, 3), (False, 900))) == 50
    assert window(rows((True, 263), (False, 40))) == 300
    assert window(rows((True, 50))) == 100          # a run that stalled 50 generations must not restart at 50
    assert window(rows((False, 10))) is None


def test_the_stall_section_reports_the_rule_and_flags_a_window_that_differs(tmp_path, monkeypatch):
    from experiments import pole_balancing_probes as stalls

    monkeypatch.setattr(stalls, "STALL_ARMS", {"cmaes-linrs": ("cmaes-lin", "double", 100)})
    monkeypatch.setattr(stalls, "PROBE_SEEDS", (100, 101, 102))
    for seed, (solved, longest, final) in enumerate([(True, 21, 0), (True, 9, 0), (False, 700, 650)], 100):
        path = stalls.stall_path(tmp_path, "double", "cmaes-lin", seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"variant": "double", "arm": "cmaes-lin", "seed": seed, "solved": solved,
                                    "longest_stall": longest, "final_stall": final}))
    text = "\n".join(stalls.stall_lines(tmp_path))
    assert "| `cmaes-linrs` | `cmaes-lin`, double | 3 | 2 | 21 (21) | 650 | 50 | 100 (**differs from the rule**) |" \
        in text


def test_a_stall_probe_follows_the_best_of_each_generation(monkeypatch):
    from experiments import pole_balancing_probes as stalls
    from experiments.pole_balancing_spec import Variant

    monkeypatch.setattr(stalls, "VARIANTS", {"double": Variant("tiny", 2, True, "steps", 48)})
    row = stalls.probe("double", "cmaes-lin", 0)
    assert row["generations"] == 3 and row["evaluations"] == 48 and not row["solved"]
    assert len(row["stalls"]) + sum(row["stalls"]) + row["final_stall"] == 3   # every generation counted once
    assert row["longest_stall"] == max(row["stalls"] + [row["final_stall"]])


# ----------------------------------------------------------------------------- NEAT's threshold
def test_neat_s_is_the_neat_arm_at_the_probed_threshold():
    from experiments.pole_balancing_spec import NEAT_THRESHOLD

    raw, plain = raw_config("double_pole", "double", "neat-s", 2), raw_config("double_pole", "double", "neat", 2)
    assert raw["strategy"] == {**plain["strategy"], "compatibility_threshold": NEAT_THRESHOLD}
    assert plain["strategy"]["compatibility_threshold"] == 3.0 and "neat-s" in DEFAULT_ARMS


def test_the_threshold_rule_takes_the_most_solved_and_the_larger_on_a_tie():
    from experiments.pole_balancing_probes import threshold_choice

    def rows(t, solved, failed):
        return [{"threshold": t, "solved": True}] * solved + [{"threshold": t, "solved": False}] * failed

    assert threshold_choice(rows(3.0, 3, 7) + rows(1.5, 9, 1) + rows(1.0, 0, 10)) == 1.5
    assert threshold_choice(rows(3.0, 5, 5) + rows(2.0, 5, 5)) == 3.0
    assert threshold_choice([]) is None


def test_the_species_section_reports_each_threshold_and_flags_a_choice_that_differs(tmp_path, monkeypatch):
    from experiments import pole_balancing_probes as probes

    monkeypatch.setattr(probes, "THRESHOLDS", (3.0, 1.5))
    monkeypatch.setattr(probes, "SPECIES_SEEDS", (100, 101))
    monkeypatch.setattr(probes, "NEAT_THRESHOLD", 3.0)
    for t, seed, solved, species, error in [(3.0, 100, False, [1, 1, 1], None), (3.0, 101, True, [1, 1], None),
                                            (1.5, 100, True, [4, 9, 12], None), (1.5, 101, True, [6, 8], None)]:
        path = probes.species_path(tmp_path, t, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"threshold": t, "seed": seed, "solved": solved, "evaluations": 1000 + seed,
                                    "species": species, "error": error}))
    text = "\n".join(probes.species_lines(tmp_path))
    assert "| 3 | 2 | 1 | 1,101 | 1 [1] | 0 |" in text and "| 1.5 | 2 | 2 | 1,100 | 8 [12] | 0 |" in text
    assert "Rule's threshold: 1.5; `neat-s` uses 3 (**differs from the rule**)." in text


def test_a_species_probe_records_the_species_and_a_threshold_too_low_is_a_failure(monkeypatch):
    from experiments import pole_balancing_probes as probes
    from experiments.pole_balancing_spec import Variant

    monkeypatch.setattr(probes, "VARIANTS", {"double": Variant("tiny", 2, True, "steps", 300)})
    row = probes.species_probe(3.0, 0)
    assert row["generations"] == 2 and row["species"] == [1, 1] and row["error"] is None
    low = probes.species_probe(0.001, 0)
    assert not low["solved"] and low["error"].startswith("strategy.compatibility_threshold: ")


def test_a_probe_run_stops_at_the_studys_clock_as_timed_out(monkeypatch):
    from experiments import pole_balancing_probes as probes

    monkeypatch.setattr(probes, "MAX_SECONDS", -1.0)       # spent before the first generation
    row = probes.probe("double", "cmaes-lin", 0)
    assert row["generations"] == 0 and row["timed_out"] and not row["solved"] and row["error"] is None
