"""The HyperNEAT scaling experiment (generation champions at 11, 33, 55) and the ES-HyperNEAT report, tiny."""
import json
from pathlib import Path

from experiments.es_hyperneat_report import es_hyperneat_report
from experiments.hyperneat_scaling import RESOLUTIONS, curves, genome_key, run_all, scaling_section
from experiments.make_reports import REPORTS

TINY = ("strategy.popsize=16", "strategy.compatibility_threshold=30")   # one species: 16 genomes can spawn it


def test_registered():
    assert "es_hyperneat" in REPORTS and "hyperneat_visual" in REPORTS


def test_generation_champions_scored_once_each_and_cached(tmp_path):
    cache = tmp_path / "cache"
    runs = run_all(Path("search_spaces/hyperneat_visual.yaml"), [0], 3, cache=cache, extra=TINY, log=lambda m: None)
    assert [r["variant"] for r in runs] == ["no_distance", "distance"]
    for r in runs:
        assert len(r["champion"]) == 3 and r["distinct_champions"] == len(set(r["champion"])) == len(r["genomes"])
        c = curves(r)
        assert all(len(c[res]) == 3 for res in RESOLUTIONS)
        # the 11x11 re-score of each champion is the fitness it was selected with
        assert [round(x, 6) for x in c[11]] == [round(x, 6) for x in r["champion_fitness_11_as_evolved"]]
    again = run_all(Path("search_spaces/hyperneat_visual.yaml"), [0], 3, cache=cache, extra=TINY,
                    log=lambda m: (_ for _ in ()).throw(AssertionError("ran again: " + m)))
    assert again == runs                                        # read from the cache, not run again
    assert runs[0]["engine"] == ["batched", "float64"]          # the engine that made them, defaults resolved
    legacy = cache / "no_distance_seed0.json"                   # as cached before engines were recorded:
    data = json.loads(legacy.read_text())         # neat-python's runs, not the default's now
    del data["engine"]
    legacy.write_text(json.dumps(data))
    seen = []
    run_all(Path("search_spaces/hyperneat_visual.yaml"), [0], 3, cache=cache, extra=TINY, log=seen.append,
            variants=("no_distance",))
    assert len(seen) == 1 and "no_distance seed 0" in seen[0]   # run again under the current engine
    text = "\n".join(scaling_section(runs, tmp_path, [0], 3))
    assert "55 as % of 11" in text and (tmp_path / "hyperneat_visual_scaling.png").is_file()


def test_genome_key_ignores_identity_not_content():
    from evohyper.testing.neat_genomes import cppn_config, random_genomes
    a, b = random_genomes(cppn_config(5, 1), 2, seed=3)
    b2 = random_genomes(cppn_config(5, 1), 2, seed=3)[1]
    b2.key, b2.fitness = 99, 1.0
    assert genome_key(b) == genome_key(b2) != genome_key(a)


def test_es_hyperneat_report_tiny(tmp_path):
    out = es_hyperneat_report(tmp_path, seeds={"visual": [0], "pendulum": [0]},
                              overrides=["backend.name=local", "output.progress=false", "output.tensorboard=false",
                                         "budget.generations=2", *TINY])
    text = out.read_text()
    assert "## visual discrimination 11x11" in text and "## Pendulum-v1 (gymnasium)" in text
    for name in ("es_hyperneat_visual.png", "es_hyperneat_visual_substrate.png", "es_hyperneat_pendulum.png"):
        assert (tmp_path / name).is_file(), name


def test_a_tied_generation_keeps_its_previous_champion():
    import torch

    from evohyper.engine.evaluation import ChunkResult
    from evohyper.testing.neat_genomes import cppn_config, random_genomes
    from experiments.hyperneat_scaling import _ChampionRecorder

    class Fixed:
        def __init__(self):
            self.fitness = []

        def evaluate(self, genotypes, seed, state=None):
            return ChunkResult(torch.tensor(self.fitness.pop(0), dtype=torch.float64), {}, len(genotypes))

    from evohyper.families.neat.convert import from_neat_python

    a, b, c = random_genomes(cppn_config(5, 1), 3, seed=1)
    backend = Fixed()
    backend.fitness = [[1.0, 2.0, 0.0], [2.0, 2.0, 2.0], [3.0, 2.0, 3.0]]
    rec = _ChampionRecorder(backend)
    rec.evaluate(from_neat_python([a, b, c]), 0)    # b is best
    rec.evaluate(from_neat_python([a, b, c]), 0)    # all tied: b stays
    rec.evaluate(from_neat_python([c, b, a]), 0)    # b no longer best: the oldest (smallest key) of the tied best (a)
    assert rec.keys == [genome_key(b), genome_key(b), genome_key(a)]
    assert [f for _, f in rec.champions] == [2.0, 2.0, 3.0]


def test_neat_python_keeps_the_newest_of_tied_genomes_as_elites():
    """The premise of the recorder's docstring: with equal fitness, neat-python's elites are the largest keys."""
    import itertools
    import random

    import neat

    from evohyper.api import rng
    from evohyper.testing.neat_genomes import cppn_config, random_genomes

    config = cppn_config(5, 1)
    config.species_set_config.compatibility_threshold = 1e9          # one species
    genomes = random_genomes(config, 6, seed=2)
    for g in genomes:
        g.fitness = 1.0
    reporters = neat.reporting.ReporterSet()
    species = config.species_set_type(config.species_set_config, reporters)
    species.speciate(config, {g.key: g for g in genomes}, 0)
    repro = config.reproduction_type(config.reproduction_config, reporters,
                                     config.stagnation_type(config.stagnation_config, reporters))
    repro.genome_indexer = itertools.count(100)
    with rng.python_random(random.Random(0)):
        new = repro.reproduce(config, species, len(genomes), 0)
    old = sorted(g.key for g in genomes)
    assert config.reproduction_config.elitism == 2
    assert sorted(k for k in new if k in old) == old[-2:]
