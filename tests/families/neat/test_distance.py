"""``distance.distances`` against neat-python's ``DefaultGenome.distance`` (S16) on populations neat evolved.

Exact (bit for bit) where the attributes are dyadic, so that every sum is exact in any order; within a few
ulp on neat's own gaussian attributes (only the order of the float sum over matched genes differs).
"""
from __future__ import annotations

import math

import pytest
import torch
from m2_populations import NAMES, Run, batch, make_dyadic

from evohyper.families.neat import distance
from evohyper.families.neat.distance import distances

CASES = [(name, seed) for name in NAMES for seed in (1, 2)]


def _neat_matrix(reps, genomes, genome_config) -> list[list[float]]:
    return [[r.distance(g, genome_config) for g in genomes] for r in reps]


def _evolved(name: str, seed: int, dyadic: bool, popsize: int = 40, generations: int = 4) -> Run:
    run = Run(name, seed, popsize).run(generations)
    if dyadic:
        make_dyadic(run.genomes)
    return run


@pytest.mark.parametrize("name,seed", CASES)
def test_exact_on_dyadic_attributes(name, seed):
    run = _evolved(name, seed, dyadic=True)
    genomes = run.genomes
    assert len({len(g.nodes) for g in genomes}) > 1 and len({len(g.connections) for g in genomes}) > 1
    got = distances(batch(genomes), batch(genomes), run.cfg).tolist()
    want = _neat_matrix(genomes, genomes, run.config.genome_config)
    assert got == want
    # representatives as a subset, in another order; a float32 batch holds the same dyadic values
    reps = genomes[::7][::-1]
    got = distances(batch(reps).to(dtype=torch.float32), batch(genomes).to(dtype=torch.float32), run.cfg)
    assert got.dtype == torch.float64 and got.tolist() == _neat_matrix(reps, genomes, run.config.genome_config)


@pytest.mark.parametrize("name,seed", CASES)
def test_within_four_ulp_on_neat_attributes(name, seed):
    run = _evolved(name, seed, dyadic=False)
    genomes = run.genomes
    got = distances(batch(genomes), batch(genomes), run.cfg).tolist()
    want = _neat_matrix(genomes, genomes, run.config.genome_config)
    worst = max(abs(a - b) / math.ulp(b) if b else abs(a) for ra, rb in zip(got, want) for a, b in zip(ra, rb))
    assert worst <= 4, worst


def test_chunks_and_widths_do_not_change_values(monkeypatch):
    run = _evolved("hidden2", 3, dyadic=False)
    reps, pop = batch(run.genomes[:9]), batch(run.genomes)
    whole = distances(reps, pop, run.cfg)
    monkeypatch.setattr(distance, "CHUNK_ELEMENTS", 1)  # one representative per chunk
    assert torch.equal(distances(reps, pop, run.cfg), whole)
    wide = distances(reps.with_widths(reps.node_width + 5, reps.conn_width + 11),
                     pop.with_widths(pop.node_width + 3, pop.conn_width + 17), run.cfg)
    assert torch.equal(wide, whole)


def test_genomes_without_connections_and_empty_inputs():
    run = _evolved("xor", 4, dyadic=True, generations=0, popsize=10)
    genomes = run.genomes
    for g in genomes[:4]:
        g.connections.clear()  # conn distance 0 between two of them, all disjoint against the others
    got = distances(batch(genomes), batch(genomes), run.cfg).tolist()
    assert got == _neat_matrix(genomes, genomes, run.config.genome_config)
    assert distances(batch(genomes)[0:0], batch(genomes), run.cfg).shape == (0, 10)
    assert distances(batch(genomes), batch(genomes)[0:0], run.cfg).shape == (10, 0)


def test_coefficients_are_read_from_the_config():
    """Non-default coefficients are neat's too; swapping them (a broken reading) changes the values."""
    import dataclasses

    run = Run("visual", 5, 30, compatibility_weight_coefficient=0.75, compatibility_disjoint_coefficient=1.5).run(3)
    genomes = run.genomes
    make_dyadic(genomes)
    got = distances(batch(genomes), batch(genomes), run.cfg)
    assert got.tolist() == _neat_matrix(genomes, genomes, run.config.genome_config)
    swapped = dataclasses.replace(run.cfg, compatibility_weight_coefficient=1.5,
                                  compatibility_disjoint_coefficient=0.75)
    assert not torch.equal(distances(batch(genomes), batch(genomes), swapped), got)
