"""The size-dependent fast paths of the batched engine (M5) give the very same numbers as the plain ones.

Each fast path is chosen by the data's size (a padded or a flat layout of the genes, a dense ``(in, out)``
lookup table instead of ``searchsorted``); here every choice is forced both ways on small neat-evolved
populations and the results must be bit-identical, and equal to neat's where neat can be asked.
"""
from __future__ import annotations

import pytest
import torch
from m2_populations import NAMES, Run, batch, make_dyadic

from evohyper.families.neat import distance
from evohyper.families.neat.distance import PopulationDistances, distances

SEPARATE = {"JOINT_SLOTS": -1}
PATHS = {"joint": {"JOINT_SLOTS": 1 << 60}, "padded": {**SEPARATE, "FLAT_RATIO": 1e9},
         "flat": {**SEPARATE, "FLAT_RATIO": 0.0},
         "table": {**SEPARATE, "FLAT_RATIO": 1e9, "TABLE_MIN_GENES": 0, "TABLE_RATIO": 10**6},
         "flat+table": {**SEPARATE, "FLAT_RATIO": 0.0, "TABLE_MIN_GENES": 0, "TABLE_RATIO": 10**6}}


def _force(monkeypatch, path: str) -> None:
    for name, value in PATHS[path].items():
        monkeypatch.setattr(distance, name, value)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("path", list(PATHS))
def test_distance_paths_are_bit_identical(name, path, monkeypatch):
    run = Run(name, 7, 40).run(4)
    genomes = run.genomes
    make_dyadic(genomes)
    reps, pop = batch(genomes[::5]), batch(genomes)
    plain = distances(reps, pop, run.cfg)
    _force(monkeypatch, path)
    dist = PopulationDistances(pop, run.cfg)
    assert dist.joint == (path == "joint")
    assert all(side.flat == ("flat" in path or path == "joint") for side in dist.sides)
    assert all((side.space is not None) == ("table" in path) for side in dist.sides)
    assert torch.equal(distances(reps, pop, run.cfg), plain)
    # and neat's own numbers (dyadic: exact in any order)
    gc = run.config.genome_config
    assert plain.tolist() == [[r.distance(g, gc) for g in genomes] for r in genomes[::5]]
    # wider rows, a permuted order and a suffix, as speciation asks
    wide = pop.with_widths(pop.node_width + 9, pop.conn_width + 13)
    order = torch.randperm(len(pop), generator=torch.Generator().manual_seed(1))
    dist = PopulationDistances(wide, run.cfg, order=order)
    rows = torch.tensor([3, 0, 17])
    assert torch.equal(dist.rows(rows), distances(pop[rows], pop, run.cfg))
    assert torch.equal(dist.ranked(rows, 11), distances(pop[rows], pop[order[11:]], run.cfg))
    assert torch.equal(dist.ranked_batch(reps), plain[:, order])


def test_table_ignores_representative_ids_outside_the_population(monkeypatch):
    """Old representatives may hold node ids no genome of the new population has (deleted since): the dense
    table maps them to 'absent', as the binary search does."""
    run = Run("hidden2", 3, 30).run(5)
    genomes = run.genomes
    by_nodes = sorted(genomes, key=lambda g: max(g.nodes))
    pop, reps = batch(by_nodes[:10]), batch(by_nodes[-6:])  # reps with the largest ids
    plain = distances(reps, pop, run.cfg)
    _force(monkeypatch, "table")
    assert torch.equal(distances(reps, pop, run.cfg), plain)


@pytest.mark.parametrize("variant", ["feed_forward", "recurrent", "hidden"])
def test_crossover_table_equals_binary_search(variant, monkeypatch):
    """The dense-table alignment of crossover (large populations) gives the children and draws of the
    row-wise ``searchsorted`` one, with padding, identical parents and many shared other parents."""
    from m3a_oracle import population
    from test_crossover import VARIANTS, _pairs

    from evohyper.families.neat import convert
    from evohyper.families.neat import crossover as xmod
    from evohyper.families.neat.streams import Streams

    _, genomes = population(3, 4, **VARIANTS[variant])
    parents = convert.from_neat_python(genomes).ensure_capacity(20, 40)
    p1, p2, fitness = _pairs(len(parents), 90, 3)
    runs = []
    for table in (False, True):
        monkeypatch.setattr(xmod, "TABLE_MIN_GENES", 0 if table else 1 << 60)
        monkeypatch.setattr(xmod, "TABLE_RATIO", 10**6)
        seen = []
        monkeypatch.setattr(xmod, "_table", lambda *a, f=xmod._table, seen=seen: seen.append(f(*a)) or seen[-1])
        streams = Streams(3, 2, record=True)
        runs.append((xmod.crossover(parents, p1, p2, fitness, None, streams), streams.draws["crossover"]))
        assert len(seen) == 2 and all((t is not None) == table for t in seen)  # the path asked for ran
        monkeypatch.undo()
    (a, da), (b, db) = runs
    a.check()
    assert a.equal(b) and all(torch.equal(x, y) for x, y in zip(da, db)) and len(da) == len(db) == 3


@pytest.mark.parametrize("rate", [0.01, 0.2, 0.1 + 0.2, 1e-8, 0.5, 0.75, 1.0, 0.0, 2.0**-10, 0.9999999,
                                  float(torch.tensor(0.3, dtype=torch.float32))])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
def test_bernoulli_threshold_compares_as_float64(rate, dtype):
    """``r < _threshold(rate, dtype)`` in the draws' dtype decides as ``r < rate`` in float64 (what the engine
    compared before, through a float64 rate tensor), also for the ``r`` next to the rate."""
    from evohyper.families.neat.attributes import _threshold

    r = torch.rand(20000, generator=torch.Generator().manual_seed(0), dtype=torch.float64).to(dtype)
    near = torch.tensor(rate, dtype=torch.float64).to(dtype)
    inf = torch.tensor(float("inf"), dtype=dtype)
    r = torch.cat([r, near[None], torch.nextafter(near, inf)[None], torch.nextafter(near, -inf)[None]])
    assert torch.equal(r < _threshold(rate, dtype), r.double() < rate)


@pytest.mark.parametrize("variant", ["rich", "quiet", "asymmetric"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_attribute_mutation_paths_agree(variant, dtype, monkeypatch):
    """Dense attributes run on the padded rows or on the live genes gathered 1-D, rare ones on the changed genes
    only: forcing every attribute through each path gives the same genomes and the same draws, in place or not."""
    from m3a_oracle import config, population
    from test_attributes import NO_STRUCTURE, RICH, VARIANTS

    from evohyper.families.neat import attributes as amod
    from evohyper.families.neat import convert
    from evohyper.families.neat.streams import Streams

    items = VARIANTS.get(variant, {"enabled_mutate_rate": 0.3, "enabled_rate_to_false_add": 0.2})
    _, cfg = config(**{**RICH, **NO_STRUCTURE, **items})
    _, genomes = population(5, 3)
    batch = convert.from_neat_python(genomes).to(dtype=dtype).ensure_capacity(30, 60)
    rows = torch.randperm(len(batch), generator=torch.Generator().manual_seed(2))[: len(batch) * 2 // 3]
    runs = []
    for rate, ratio in ((amod.DENSE_RATE, amod.PADDED_RATIO), (0.0, 1e9), (0.0, 0.0), (10.0, 1e9)):
        monkeypatch.setattr(amod, "DENSE_RATE", rate)
        monkeypatch.setattr(amod, "PADDED_RATIO", ratio)
        streams = Streams(4, 2, record=True)
        out = amod.mutate_attributes(batch, rows, cfg, streams)
        again = amod.mutate_attributes(batch.ensure_capacity(30, 60)._replace(
            **{k: t.clone() for k, t in batch._tensors().items()}), rows, cfg, Streams(4, 2), inplace=True)
        assert out.equal(again)
        runs.append((out, streams.draws["attributes"]))
    (a, da) = runs[0]
    a.check()
    assert not a.equal(batch)
    for b, db in runs[1:]:
        assert a.equal(b) and len(da) == len(db) and all(torch.equal(x, y) for x, y in zip(da, db))


@pytest.mark.parametrize("path", ["padded", "flat", "table", "joint"])
def test_single_representative_rows_equal_the_matrix(path, monkeypatch):
    """One representative (P-NEAT's usual single species) takes 1-D gathers: the same values as its row of
    the matrix of several."""
    run = Run("partial", 2, 30).run(3)
    pop = batch(run.genomes)
    _force(monkeypatch, path)
    whole = distances(pop[[4, 9, 2]], pop, run.cfg)
    for i, r in enumerate([4, 9, 2]):
        assert torch.equal(distances(pop[[r]], pop, run.cfg), whole[i:i + 1])
