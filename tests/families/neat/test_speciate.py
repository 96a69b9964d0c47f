"""``species.speciate`` against neat-python's ``DefaultSpeciesSet.speciate`` (S17), generation after generation.

neat's own loop is driven by hand (``reproduce`` then ``speciate``); before each of neat's speciations the
batched one runs on the same new population, the same surviving species and their old representatives, and
the resulting tables (ids, creation, representatives, every field) and memberships must be identical.
"""
from __future__ import annotations

import neat
import pytest
import torch
from m2_populations import (
    Run,
    assert_tables_equal,
    batch,
    make_dyadic,
    next_sid,
    species_of_from_neat,
    table_from_neat,
)

from evohyper.families.neat import species
from evohyper.families.neat.counters import Counters
from evohyper.families.neat.species import SpeciesTable, speciate


def _compare_speciation(run: Run, population: dict, generation: int, dyadic: bool) -> tuple[int, int]:
    """Run both speciations of ``population`` from neat's current species set; returns (species, new)."""
    ss, config = run.pop.species, run.pop.config
    if dyadic:
        make_dyadic(population.values())
        make_dyadic([s.representative for s in ss.species.values()])
    order = list(population)
    sids = sorted(ss.species)
    table = table_from_neat(ss, order)
    old_reps = batch([ss.species[s].representative for s in sids]) if sids else batch(population.values())[0:0]
    counters = Counters(next_sid=next_sid(ss))
    got, species_of = speciate(batch(population.values()), table, old_reps, generation, run.cfg, counters)
    ss.speciate(config, population, generation)
    assert_tables_equal(got, table_from_neat(ss, order))
    assert torch.equal(species_of, species_of_from_neat(ss, order))
    assert counters.next_sid == next_sid(ss)
    return len(got), len(got) - len(sids)


def _drive(run: Run, generations: int, dyadic: bool) -> tuple[int, int]:
    """neat's generation loop by hand, comparing every speciation; returns (max species, species founded)."""
    most, founded = 0, 0
    pop = run.pop
    for _ in range(generations):
        run.fitness(dyadic=True)
        new = pop.reproduction.reproduce(pop.config, pop.species, pop.config.pop_size, pop.generation)
        if not new:
            break
        s, n = _compare_speciation(run, new, pop.generation, dyadic)
        most, founded = max(most, s), founded + n
        pop.population = new
        pop.generation += 1
    return most, founded


@pytest.mark.parametrize("name,threshold", [("xor", 3.0), ("xor", 1.2), ("visual", 2.0), ("hidden2", 3.5),
                                            ("partial", 2.0)])
@pytest.mark.parametrize("dyadic", [True, False])
def test_speciation_equals_neat_generation_after_generation(name, threshold, dyadic):
    run = Run(name, 11, 60, species_set={"compatibility_threshold": threshold},
              reproduction={"min_species_size": 1, "elitism": 1}, stagnation={"max_stagnation": 3})
    most, founded = _drive(run, 6, dyadic)
    assert most >= 2 and founded >= 1  # the comparison saw species carried over and species founded


@pytest.mark.parametrize("name,threshold", [("hidden2", 3.0), ("hidden2", 4.0), ("visual", 0.8), ("xor", 3.0)])
@pytest.mark.parametrize("round_size", [1, 3, 64])
def test_initial_speciation_equals_neat(name, threshold, round_size, monkeypatch):
    """Generation 0: no species yet, every species is founded (hidden2 at 3.0: one species per genome, S12);
    rounds of 1, 3 and 64 orphans give the same result."""
    monkeypatch.setattr(species, "ROUND", round_size)
    run = Run(name, 5, 80, species_set={"compatibility_threshold": threshold})
    population = run.pop.population
    run.pop.species = neat.DefaultSpeciesSet(run.config.species_set_config, run.pop.reporters)
    count, founded = _compare_speciation(run, population, 0, dyadic=False)
    assert count == founded >= 1


def _table(sids: list[int]) -> SpeciesTable:
    n = len(sids)
    return SpeciesTable.from_state({"sid": torch.tensor(sids), "created": torch.zeros(n),
                                    "last_improved": torch.zeros(n), "best": torch.zeros(n),
                                    "fitness": torch.zeros(n), "adjusted_fitness": torch.zeros(n),
                                    "representative": torch.zeros(n)})


def test_bad_inputs_fail_by_name():
    run = Run("xor", 1, 10)
    pop = batch(run.genomes)
    with pytest.raises(ValueError, match="2 old representatives for 3 species"):
        speciate(pop, _table([1, 2, 3]), pop[0:2], 1, run.cfg, Counters(next_sid=5))
    with pytest.raises(ValueError, match="only 2 genomes"):  # neat: min() of an empty sequence
        speciate(pop[0:2], _table([1, 2, 3]), pop[0:3], 1, run.cfg, Counters(next_sid=5))
    with pytest.raises(ValueError, match="next_sid"):
        speciate(pop, _table([1, 2, 3]), pop[0:3], 1, run.cfg, Counters(next_sid=2))


def test_row_order_of_the_population_does_not_matter():
    """neat works in genome-id order; the batched result must not depend on where rows sit."""
    run = Run("visual", 3, 70, species_set={"compatibility_threshold": 1.5}).run(3)
    pop = batch(run.genomes)
    ss = run.pop.species
    old_reps = batch([ss.species[s].representative for s in sorted(ss.species)])
    table = table_from_neat(ss, list(run.pop.population))
    a, of_a = speciate(pop, table, old_reps, 3, run.cfg, Counters(next_sid=next_sid(ss)))
    perm = torch.randperm(len(pop), generator=torch.Generator().manual_seed(0))
    b, of_b = speciate(pop[perm], table, old_reps, 3, run.cfg, Counters(next_sid=next_sid(ss)))
    assert len(a) > 3 and torch.equal(of_b, of_a[perm]) and torch.equal(perm[b.representative], a.representative)


def test_state_round_trip():
    run = Run("visual", 2, 40).run(2)
    table = table_from_neat(run.pop.species, list(run.pop.population))
    again = SpeciesTable.from_state(table.state())
    assert_tables_equal(again, table)
    assert len(again.select([0])) == 1 and len(SpeciesTable.empty()) == 0
