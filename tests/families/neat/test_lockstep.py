"""The batched species table carried on its own through many generations of neat-python's loop (issue 22 parity).

``test_speciate`` and ``test_reproduce_layout`` rebuild the batched table from neat's species before every
step, so they cannot see bookkeeping that drifts across generations (``best``, ``last_improved``, ``created``,
``fitness`` of species that survive, lose members or are founded; representatives carried as rows; the species
id counter). Here the batched table is made once, at neat's generation 0, and from then on only the batched
steps update it (``update_stagnation`` -> ``plan_offspring`` -> ``speciate``), while neat runs its own loop on
the same genomes: neat's ``reproduce`` is made to pick the engine's parents (scripted ``random.choice``, which
also checks that neat offers the engine's pool), and both speciate the same new population. Fitness is a
function of the genome with many exact ties (multiples of 1/4, so species means are exact), so elites keep
their fitness from one generation to the next and species stagnate and are spared as in a real run.
"""
from __future__ import annotations

import random
from types import SimpleNamespace
from unittest import mock

import neat
import pytest
import torch
from m2_populations import (
    Run,
    assert_tables_equal,
    batch,
    make_dyadic,
    next_gid,
    next_sid,
    species_of_from_neat,
    table_from_neat,
)

from evohyper.families.neat.counters import Counters
from evohyper.families.neat.reproduction import plan_offspring, rank_members
from evohyper.families.neat.species import speciate, update_stagnation
from evohyper.families.neat.streams import Streams


def _fitness(genomes) -> torch.Tensor:
    """Enabled weight sum and node count, rounded to 1/4 and capped: few distinct values, many ties."""
    b = batch(genomes)
    w = (b.weight * (b.enabled & b.conn_live)).sum(1)
    return (torch.floor(4.0 * w.clamp(-3.0, 3.0)) / 4.0 + 0.25 * b.n_nodes.clamp(max=4)).to(torch.float64)


def _script(gid, of, fitness, plan, n_species):
    rank, start, _ = rank_members(of, fitness, gid, n_species)
    calls = []
    for slot in (~plan.is_elite).nonzero().flatten().tolist():
        first = int(start[int(of[plan.source[slot]])])
        pool = gid[rank[first:first + int(plan.pool[slot])]].tolist()
        calls += [(pool, int(gid[plan.source[slot]])), (pool, int(gid[plan.parent2[slot]]))]
    return calls


def _lockstep(run: Run, generations: int) -> dict[str, int]:
    pop, cfg = run.pop, run.cfg
    random.seed(run.rng.random())
    order = list(pop.population)
    make_dyadic(pop.population.values())
    table, of = table_from_neat(pop.species, order), species_of_from_neat(pop.species, order)
    counters = Counters(next_sid=next_sid(pop.species))
    seen = {"stagnant": 0, "founded": 0, "ties": 0}
    for _ in range(generations):
        order = list(pop.population)
        genomes = [pop.population[g] for g in order]
        fitness = _fitness(genomes)
        for g, f in zip(genomes, fitness.tolist()):
            g.fitness = f
        seen["ties"] += len(order) - len(set(fitness.tolist()))
        gid = torch.tensor(order)
        old = batch(genomes)
        updated, stagnant, species_order = update_stagnation(table, of, fitness, pop.generation, cfg)
        ids = Counters(next_gid=next_gid(pop.reproduction))
        kept, plan = plan_offspring(updated, of, fitness, gid, stagnant, species_order, cfg, pop.config.pop_size,
                                    Streams(7, pop.generation), ids)
        calls = iter(_script(gid, of, fitness, plan, len(table)) if plan is not None else [])

        def choice(seq, calls=calls):
            pool, pick = next(calls)
            assert [g for g, _ in seq] == pool  # neat offers the engine's pool, in the engine's ranking
            return next(item for item in seq if item[0] == pick)

        decisions: list = []

        def record(ss, gen, update=pop.reproduction.stagnation.update, decisions=decisions):
            decisions.append(update(ss, gen))
            return decisions[-1]

        with mock.patch.object(pop.reproduction.stagnation, "update", record), \
                mock.patch.object(neat.reproduction, "random", SimpleNamespace(choice=choice)):
            new = pop.reproduction.reproduce(pop.config, pop.species, pop.config.pop_size, pop.generation)
        assert next(calls, None) is None
        (decided,) = decisions
        assert [sid for sid, _, _ in decided] == table.sid[species_order].tolist()
        assert [s for _, _, s in decided] == stagnant[species_order].tolist()
        seen["stagnant"] += int(stagnant.sum())
        if plan is None:
            assert not new
            break
        assert list(new) == plan.gid.tolist()
        assert_tables_equal(kept, table_from_neat(pop.species, order))
        make_dyadic(new.values())  # distances exact in any summation order: same threshold decisions
        order = list(new)
        assert counters.next_sid == next_sid(pop.species)
        table, of = speciate(batch([new[g] for g in order]), kept, old[kept.representative], pop.generation, cfg,
                             counters)
        pop.species.speciate(pop.config, new, pop.generation)
        pop.population = new
        assert_tables_equal(table, table_from_neat(pop.species, order))
        assert torch.equal(of, species_of_from_neat(pop.species, order))
        seen["founded"] += len(table) - len(kept)
        pop.generation += 1
    return seen


@pytest.mark.parametrize("name,threshold,stagnation", [
    ("visual", 2.0, {"max_stagnation": 4, "species_elitism": 2}),
    ("hidden2", 3.5, {"max_stagnation": 3, "species_elitism": 1}),
])
def test_batched_species_table_carried_over_generations_equals_neat(name, threshold, stagnation):
    run = Run(name, 5, 50, species_set={"compatibility_threshold": threshold}, stagnation=stagnation,
              reproduction={"elitism": 2, "min_species_size": 2})
    seen = _lockstep(run, 30)
    assert seen["stagnant"] >= 1 and seen["founded"] >= 1 and seen["ties"] > 100, seen
