"""``reproduction.plan_offspring`` (with ``update_stagnation``) against neat-python's
``DefaultReproduction.reproduce`` (S2-S5), generation after generation of neat's own loop.

neat's ``random.choice`` is scripted to return the parent the engine drew (and asserts that neat offers the
very pool the engine drew from), so everything else must match exactly: surviving species and their
adjusted fitness, elites (same genome objects, same ids), spawn per species, children's ids, population
order, and both parents of every child. Parent draws themselves are checked for uniformity within the pool.
"""
from __future__ import annotations

from types import SimpleNamespace
from unittest import mock

import neat
import pytest
import torch
from m2_populations import Run, next_gid, species_of_from_neat, table_from_neat
from scipy import stats

from evohyper.families.neat.counters import Counters
from evohyper.families.neat.reproduction import Offspring, plan_offspring, rank_members
from evohyper.families.neat.species import update_stagnation
from evohyper.families.neat.streams import Streams


def _engine(run: Run, seed: int):
    pop = run.pop
    gids = list(pop.population)
    ss = pop.species
    table, of = table_from_neat(ss, gids), species_of_from_neat(ss, gids)
    fitness = torch.tensor([pop.population[g].fitness for g in gids], dtype=torch.float64)
    gid = torch.tensor(gids)
    counters = Counters(next_gid=next_gid(pop.reproduction))
    new_table, stagnant, order = update_stagnation(table, of, fitness, pop.generation, run.cfg)
    kept, plan = plan_offspring(new_table, of, fitness, gid, stagnant, order, run.cfg, pop.config.pop_size,
                                Streams(seed, pop.generation), counters)
    return gids, of, fitness, gid, kept, plan, counters


def _script(gid: torch.Tensor, of, fitness, plan: Offspring, n_species: int) -> list[tuple[list[int], int]]:
    """neat's choice() calls in order: (the pool neat must offer, the gid to return)."""
    rank, start, _ = rank_members(of, fitness, gid, n_species)
    calls = []
    for slot in (~plan.is_elite).nonzero().flatten().tolist():
        species = int(of[plan.source[slot]])
        first = int(start[species])
        pool = gid[rank[first:first + int(plan.pool[slot])]].tolist()
        calls += [(pool, int(gid[plan.source[slot]])), (pool, int(gid[plan.parent2[slot]]))]
    return calls


def _compare_generation(run: Run, seed: int) -> tuple[bool, int]:
    """One generation: engine plan vs neat's reproduce; then neat speciates and moves on. Returns
    (extinct, children)."""
    pop = run.pop
    old = dict(pop.population)
    old_sids = sorted(pop.species.species)
    gids, of, fitness, gid, kept, plan, counters = _engine(run, seed)
    calls = iter(_script(gid, of, fitness, plan, int(of.max()) + 1) if plan is not None else [])

    def choice(seq):
        pool, pick = next(calls)
        assert [g for g, _ in seq] == pool  # neat offers exactly the engine's pool, in its ranking
        return next(item for item in seq if item[0] == pick)

    with mock.patch.object(neat.reproduction, "random", SimpleNamespace(choice=choice)):
        new = pop.reproduction.reproduce(pop.config, pop.species, pop.config.pop_size, pop.generation)
    assert next(calls, None) is None  # every engine draw was used by neat
    if plan is None:
        assert new == {} and pop.species.species == {} and len(kept) == 0
        return True, 0
    assert list(new) == plan.gid.tolist()  # ids and population order
    assert counters.next_gid == next_gid(pop.reproduction)
    for slot, g in enumerate(plan.gid.tolist()):
        if plan.is_elite[slot]:
            assert new[g] is old[g] and gids[int(plan.source[slot])] == g
        else:
            assert pop.reproduction.ancestors[g] == (gids[int(plan.source[slot])], gids[int(plan.parent2[slot])])
    ss = pop.species
    assert kept.sid.tolist() == sorted(ss.species)
    assert kept.adjusted_fitness.tolist() == [ss.species[s].adjusted_fitness for s in sorted(ss.species)]
    assert kept.sid[plan.species].tolist() == [old_sids[int(of[r])] for r in plan.source.tolist()]
    pop.species.speciate(pop.config, new, pop.generation)
    pop.population = new
    pop.generation += 1
    return False, int((~plan.is_elite).sum())


CASES = [  # config, threshold, [DefaultReproduction], [DefaultStagnation]
    ("xor", 2.0, {}, {}),
    ("visual", 2.0, {"elitism": 0, "survival_threshold": 0.5, "min_species_size": 1}, {"max_stagnation": 2}),
    ("partial", 3.0, {"elitism": 3, "survival_threshold": 1.0, "min_species_size": 4}, {"species_elitism": 0}),
    ("hidden2", 3.5, {"elitism": 1, "survival_threshold": 0.05}, {"max_stagnation": 3, "species_elitism": 1}),
]


@pytest.mark.parametrize("name,threshold,reproduction,stagnation", CASES)
def test_plan_equals_neat_reproduce(name, threshold, reproduction, stagnation):
    run = Run(name, 21, 60, species_set={"compatibility_threshold": threshold},
              reproduction=reproduction, stagnation=stagnation)
    children = 0
    for generation in range(8):
        run.fitness(dyadic=True)
        extinct, n = _compare_generation(run, seed=generation)
        children += n
        if extinct:
            break
    assert children > 100


def test_extinction_when_every_species_is_stagnant():
    run = Run("visual", 3, 30, species_set={"compatibility_threshold": 2.0},
              stagnation={"max_stagnation": 1, "species_elitism": 0})
    outcomes = []
    for generation in range(30):  # until the last species stagnates (a new one has a fresh history)
        run.fitness(dyadic=True)
        for g in run.pop.population.values():
            g.fitness = -1.0  # nothing ever improves after the first update
        extinct, _ = _compare_generation(run, seed=generation)
        outcomes.append(extinct)
        if extinct:
            break
    assert outcomes[-1] is True


def test_too_many_species_for_the_population_fails_as_neat_does():
    run = Run("hidden2", 1, 20, species_set={"compatibility_threshold": 3.0}, reproduction={"min_species_size": 2})
    run.fitness(dyadic=True)
    with pytest.raises(RuntimeError, match=r"num_species \* min_species_size") as ours:
        _engine(run, 0)
    with pytest.raises(RuntimeError) as theirs:
        run.pop.reproduction.reproduce(run.pop.config, run.pop.species, 20, 0)
    assert str(ours.value) == str(theirs.value)


def test_parent_picks_are_uniform_within_the_pool():
    """Chi-squared of parent positions within one species' pool (fixed seed: deterministic), and the power
    check: the same test on picks from a pool one smaller must fail."""
    run = Run("xor", 2, 2000, species_set={"compatibility_threshold": 100.0},
              reproduction={"survival_threshold": 0.005, "elitism": 0})
    run.fitness(dyadic=True)
    gids, of, fitness, gid, kept, plan, _ = _engine(run, 7)
    assert len(kept) == 1 and int(plan.pool[0]) == 10
    rank, _, _ = rank_members(of, fitness, gid, 1)
    position = torch.empty_like(rank)
    position[rank] = torch.arange(len(rank))
    picks = torch.cat([position[plan.source], position[plan.parent2]])
    counts = torch.bincount(picks, minlength=10)
    assert len(counts) == 10 and stats.chisquare(counts.numpy()).pvalue > 0.01
    broken = Streams.choice(torch.rand(len(picks), generator=torch.Generator().manual_seed(1), dtype=torch.float64), 9)
    assert stats.chisquare(torch.bincount(broken, minlength=10).numpy()[:10] + 0.0).pvalue < 0.01
