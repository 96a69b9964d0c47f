"""``benchmarks/bench_neat_engine.py`` (issue 22, docs/neat_engine.md 6.1): runs, checks its sides did the same
work before printing a ratio, and says "not available" for an engine the strategy refuses instead of a figure."""
from __future__ import annotations

import pytest

from benchmarks import bench_neat_engine as bench
from benchmarks import neat_engine_sides as sides


def test_quick_xor_section_with_neat_python_runs_and_checks_its_sides(capsys):
    assert bench.main(["--quick", "--section", "1", "--engines", "neat-python"]) == 0
    text = capsys.readouterr().out
    assert "### 1. XOR generation alone" in text
    assert "| 150 | strategy `neat`, engine `neat-python` |" in text
    assert "| 150 | neat-python `Population.run(f, 1)` |" in text
    # the engine and neat-python's loop are the same code from the same seed: identical populations
    assert "identical genome counts and mean genome sizes in every generation" in text
    assert "TensorNEAT jitted `tell` + `ask` | 105 ms (quoted)" in text


def test_an_engine_the_strategy_refuses_is_reported_not_estimated(monkeypatch):
    monkeypatch.setattr(sides, "engine_available", lambda e: (e == "neat-python", "" if e == "neat-python"
                                                              else "strategy.engine: got 'x'"))
    ok, note = bench._engines(bench.Settings(engines=["batched", "neat-python"]))
    assert ok == ["neat-python"] and "Engine `batched` not available" in note and "got 'x'" in note


def test_engine_availability_asks_the_config_validation():
    assert sides.engine_available("neat-python") == (True, "")
    yes, why = sides.engine_available("no-such-engine")
    assert not yes and "strategy.engine" in why


def test_different_work_stops_the_ratio():
    step = lambda n, nodes=1.0: sides.Step({"generation": 0.1}, n, nodes, 2.0)  # noqa: E731
    steps = {"a": [step(150), step(150)], "b": [step(150), step(151)]}
    assert "150, 151 genomes" in sides.check_same_work(steps, 150)          # spawn rounding: allowed
    with pytest.raises(sides.NotTheSameWork, match="not 150"):
        sides.check_same_work({"a": [step(150)], "b": [step(100)]}, 150)
    with pytest.raises(sides.NotTheSameWork, match="same code"):
        sides.check_same_work({"a": [step(150, 1.0)], "b": [step(150, 1.5)]}, 150, exact=[("a", "b")])


def test_genome_sizes_reads_neat_python_genomes_and_genome_batches():
    from evohyper.families.neat.convert import from_neat_python

    side = sides.PopulationSide(sides.XOR_INI, 20)
    genomes = list(side.population.population.values())
    n, nodes, links = sides.genome_sizes(genomes)
    assert n == 20 and nodes >= 1.0
    assert sides.genome_sizes(from_neat_python(genomes)) == pytest.approx((n, nodes, links))


@pytest.mark.slow
@pytest.mark.ray
def test_quick_sections_2_to_5_run(capsys):
    assert bench.main(["--quick", "--section", "2", "3", "4", "5"]) == 0
    text = capsys.readouterr().out
    for title in ("### 2. HyperNEAT visual", "### 3. P-NEAT", "### 4. Generation time vs population",
                  "### 5. Ray with 2 actors vs local"):
        assert title in text
    assert "**This benchmark failed**" not in text and "failed, exit" not in text
