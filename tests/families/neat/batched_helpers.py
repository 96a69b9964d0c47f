"""Shared pieces of the batched NEAT engine's engine-level tests: a small strategy, a structure-sensitive
fitness, and exact comparisons of two engines' whole state (population, species table, counters)."""
from __future__ import annotations

import math

import torch

from evohyper.families.neat.batched_engine import BatchedEngine
from evohyper.families.neat.genome import GenomeBatch
from evohyper.families.neat.strategy import NEAT
from evohyper.testing.states import same_data  # noqa: F401  (re-exported to the engine tests)

#: a small problem with structural churn: species form, stagnate and die within a few generations
SMALL = dict(popsize=40, num_inputs=3, num_outputs=2, node_add_prob=0.3, conn_add_prob=0.5, node_delete_prob=0.1,
             conn_delete_prob=0.1, compatibility_threshold=1.5, max_stagnation=3, species_elitism=1,
             engine="batched")


def fitness_of(genomes: GenomeBatch) -> torch.Tensor:
    """Cheap, structure-sensitive fitness: reward an enabled weight sum near 2 and a few nodes. Summed in
    float64 from the weights rounded to float32 (exact for a row's few float32 values), so it does not depend on
    the padded width: torch sums a row in another order at another width, and float64 genes' sums would round."""
    enabled = genomes.weight.float().double() * (genomes.enabled & genomes.conn_live)
    return (-(enabled.sum(dim=1) - 2.0).abs() + 0.1 * genomes.n_nodes.clamp(max=6).double()).cpu()


def strategy(seed: int = 0, **options) -> NEAT:
    return NEAT(None, seed, **{**SMALL, **options})


def generations(s: NEAT, n: int) -> NEAT:
    for _ in range(n):
        s.tell(fitness_of(s.ask()))
    return s


def genes(genomes: GenomeBatch) -> int:
    return int(genomes.n_nodes.sum()) + int(genomes.n_conns.sum())


def assert_same_batch(a: GenomeBatch, b: GenomeBatch) -> None:
    """Same genomes gene for gene (widths may differ), dtypes equal, both canonical."""
    a.check(), b.check()
    assert a.dtype == b.dtype and a.device == b.device
    assert len(a) == len(b) and a.equal(b), f"rows differ: {torch.nonzero(~a.row_equal(b)).reshape(-1).tolist()}"


def assert_same_engine(a: BatchedEngine, b: BatchedEngine) -> None:
    """Two engines hold the same generation: population, species table, membership, counters."""
    assert a.generation == b.generation
    assert a.counters.state() == b.counters.state()
    assert (a.population is None) == (b.population is None)
    if a.population is None:
        return
    assert_same_batch(a.population, b.population)
    for name, x in a.table.state().items():
        y = b.table.state()[name]
        assert x.dtype == y.dtype and torch.equal(x.nan_to_num(math.pi), y.nan_to_num(math.pi)), name
    assert torch.equal(a.species_of, b.species_of)




def continue_together(a: NEAT, b: NEAT, n: int = 3) -> None:
    """``n`` more generations of two strategies that must agree: the same genomes asked, told the same fitness,
    the same engines after each."""
    for _ in range(n):
        x, y = a.ask(), b.ask()
        assert_same_batch(x, y)
        a.tell(fitness_of(x))
        b.tell(fitness_of(y))
        assert_same_engine(a._engine, b._engine)
