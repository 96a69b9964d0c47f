"""The NEAT engine parity study (issue 22, docs/neat_engine.md 6.2): one run directory per (config, engine, seed),
finished triples skipped, interrupted ones resumed from their checkpoint, and a report read from run directories."""
from __future__ import annotations

import csv
import json

import torch

from experiments import neat_engines as study
from experiments.make_reports import REPORTS
from experiments.neat_engines_report import write_report


def test_a_triple_runs_into_its_directory_is_skipped_when_done_and_resumed_when_interrupted(tmp_path, capsys):
    root, out = tmp_path / "runs", tmp_path / "reports"
    args = ["--configs", "xor", "--engines", "neat-python", "--seeds", "0", "--root", str(root), "--out", str(out)]
    assert study.main([*args, "--generations", "3"]) == 0
    d = root / "xor" / "neat-python" / "seed0"
    summary = json.loads((d / "summary.json").read_text())
    assert summary["engine"] == "neat-python" and summary["generations"] == 3 and summary["solved_at"] is None
    assert summary["state_kind"] == "neat" and summary["species"] >= 1 and summary["population"] == 150
    assert summary["this_process"]["how"] == "started" and not (d / "running.pid").exists()
    assert study.plan(root, ["xor"], ["neat-python"], [0]) == [("xor", "neat-python", 0, "done")]

    capsys.readouterr()
    assert study.main([*args, "--generations", "3", "--runs-only"]) == 0          # done: nothing runs
    assert "running 0 with 1 job(s)" in capsys.readouterr().out

    (d / "summary.json").unlink()                                                  # as if killed after a checkpoint
    assert study.plan(root, ["xor"], ["neat-python"], [0])[0][3] == "resume"
    assert study.main([*args, "--generations", "5"]) == 0
    summary = json.loads((d / "summary.json").read_text())
    assert summary["this_process"]["how"] == "resumed" and summary["generations"] == 5
    with (d / "metrics.csv").open() as fh:
        assert [int(r["generation"]) for r in csv.DictReader(fh)] == [1, 2, 3, 4, 5]

    text = (out / "neat_engines.md").read_text()
    assert "| `neat-python` | 1 | 0 of 1 | > 5 [> 5, > 5] |" in text
    assert "**Not the study's budget**" in text and "No comparison yet: no finished runs of `batched`" in text
    assert (out / "neat_engines_xor.png").is_file()


def _fake_run(root, engine, seed, solved_at, budget=10):
    d = root / "xor" / engine / f"seed{seed}"
    d.mkdir(parents=True)
    last = solved_at or budget
    with (d / "metrics.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["generation", "seconds", "best_so_far"])
        for g in range(1, last + 1):
            w.writerow([g, 0.1 * g, 4.0 if solved_at and g == solved_at else 3.0])
    (d / "summary.json").write_text(json.dumps({
        "config": "xor", "engine": engine, "seed": seed, "budget_generations": budget, "generations": last,
        "solved_at": solved_at, "best_fitness": 4.0 if solved_at else 3.0, "seconds": 0.1 * last,
        "species": 3, "mean_nodes": 2.0, "mean_enabled_links": 3.0, "champion": {"nodes": 3, "enabled_links": 4}}))


def test_report_censors_unsolved_runs_tests_and_gives_the_verdicts(tmp_path):
    root = tmp_path / "runs"
    for seed, (np_gen, b_gen) in enumerate([(2, 3), (4, 9), (5, None), (6, 2)]):
        _fake_run(root, "neat-python", seed, np_gen)
        _fake_run(root, "batched", seed, b_gen)
    (root / "xor" / "batched" / "seed7").mkdir()                                      # unfinished: not counted
    text = write_report(root, tmp_path).read_text()
    assert "| `neat-python` | 4 | 4 of 4 | 4.5 [3.5, 5.25] | 3.0 ± 0.0 |" in text
    assert "| `batched` | 4 (+1 unfinished) | 3 of 4 | 6 [2.75, 9.5] |" in text
    assert "Mann-Whitney U (two-sided)" in text and "p = " in text
    assert "solve rate >= neat-python's minus one seed: batched 3, neat-python 4 of 4: **yes**" in text
    assert "batched 6, neat-python 4.5 (limit 5.625): **no**" in text
    assert "| `batched-float32`" not in text and "Solved per block" not in text   # opt-in arm without runs: no row


def test_an_opt_in_arm_gets_its_own_row_and_verdicts_and_blocks_of_seeds_show_steadiness(tmp_path):
    root = tmp_path / "runs"
    for seed in range(24):
        _fake_run(root, "neat-python", seed, 3)
        _fake_run(root, "batched", seed, None if seed < 12 else 3)
        _fake_run(root, "batched-float32", seed, 4)
    text = write_report(root, tmp_path).read_text()
    assert "| `batched-float32` | 24 | 24 of 24 |" in text
    assert "solve rate >= neat-python's minus one seed: batched 12, neat-python 24 of 24: **no**" in text
    assert "solve rate >= neat-python's minus one seed: batched-float32 24, neat-python 24 of 24: **yes**" in text
    assert "Fisher's exact test (two-sided) on solve counts: p = 1" in text            # float32 arm vs neat-python
    assert "| `batched` | 8 / 20 | 4 / 4 |" in text and "| `neat-python` | 20 / 20 | 4 / 4 |" in text
    arm = set(study.overrides("xor", "batched-float32", 3))
    assert {"strategy.engine=batched", "strategy.dtype=float32", "seed=3"} <= arm


def test_the_batched_arm_is_the_strategys_default_dtype():
    from evohyper.families.neat.strategy import DEFAULT_DTYPE

    assert f"strategy.dtype={DEFAULT_DTYPE}" in study.ARMS["batched"]


def test_final_population_reads_both_engines_state_formats():
    neat_state = {"kind": "neat", "started": True, "species": {"species": [{}, {}]},
                  "population": [{"nodes": [[0], [1]], "connections": [[-1, 0, 1, 0.5, True], [-2, 0, 2, 0.1, False]]},
                                 {"nodes": [[0]], "connections": [[-1, 0, 1, 0.5, True]]}]}
    assert study.final_population(neat_state) == {"state_kind": "neat", "species": 2, "population": 2,
                                                  "mean_nodes": 1.5, "mean_enabled_links": 1.0}
    batched = {"kind": "neat", "engine": "batched", "started": True,
               "population": {"n_nodes": torch.tensor([2, 1]), "n_conns": torch.tensor([2, 1]),
                              "conn.enabled": torch.tensor([True, False, True])},
               "species": {"sid": torch.tensor([1, 2, 3])}}
    got = study.final_population(batched)
    assert got["species"] == 3 and got["mean_nodes"] == 1.5 and got["mean_enabled_links"] == 1.0
    assert study.final_population({"kind": "other"})["species"] is None


def test_the_study_matches_the_issue_and_is_a_report():
    assert {k: (s.target, s.generations, len(s.seeds)) for k, s in study.STUDIES.items()} == {
        "xor": (3.9, 300, 20), "cartpole": (500.0, 100, 20), "visual": (100.0, 300, 60)}
    assert "neat_engines" in REPORTS
    assert study.engine_refusal("neat-python") is None
