"""``species.update_stagnation`` against neat-python's ``DefaultStagnation.update`` (S1).

Hypothesis builds species sets (ids, members' fitness with ties, histories, ``last_improved``) and neat's own
``update`` runs on neat ``Species`` objects; every species fitness function, ``species_elitism`` from 0 to
S + 1 and short ``max_stagnation`` values. Exact: the fitness values are dyadic (sums are exact in any order)
or, for ``min``/``max``/``median``, arbitrary floats (no arithmetic at all).
"""
from __future__ import annotations

import dataclasses
import math
import random
import sys
from types import SimpleNamespace

import neat
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from m2_populations import Run, species_of_from_neat, table_from_neat

from evohyper.families.neat.species import NO_FITNESS, SpeciesTable, species_fitness, update_stagnation

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DYADIC = st.sampled_from([-3.0, -1.5, -0.25, 0.0, 0.125, 0.5, 1.0, 2.75, 8.0])
FUNCS = ("max", "min", "mean", "median", "median2")
CFG = Run("xor", 0, 10).cfg


@st.composite
def species_sets(draw, values=DYADIC, funcs=FUNCS):
    n = draw(st.integers(1, 7))
    sids = sorted(draw(st.lists(st.integers(1, 60), min_size=n, max_size=n, unique=True)))
    generation = draw(st.integers(0, 12))
    species = []
    for sid in sids:
        members = draw(st.lists(values, min_size=1, max_size=7))
        history = draw(st.lists(values, max_size=3))
        last = draw(st.integers(0, generation))
        species.append((sid, members, history, last))
    func = draw(st.sampled_from(funcs))
    elitism = draw(st.integers(0, n + 1))
    max_stag = draw(st.integers(1, 6))
    return species, generation, func, elitism, max_stag


def _both(case):
    """(neat's result list, neat's species dict, our table, stagnant, order) for one drawn case."""
    species, generation, func, elitism, max_stag = case
    rng = random.Random(len(species) * 7919 + generation)
    neat_species, rows, members = {}, [], []
    gid = 0
    for sid, fits, history, last in species:
        s = neat.species.Species(sid, 0)
        s.fitness_history = list(history)
        s.fitness = history[-1] if history else None
        s.last_improved = last
        for f in fits:
            gid += 1
            s.members[gid] = SimpleNamespace(fitness=f, key=gid)
            members.append((gid, f, len(rows)))
        neat_species[sid] = s
        rows.append((sid, 0, last, max(history) if history else NO_FITNESS,
                     history[-1] if history else math.nan, math.nan, 0))
    rng.shuffle(members)  # population order is not species order
    table = SpeciesTable(*(torch.tensor(c, dtype=torch.float64 if k in (3, 4, 5) else torch.int64)
                           for k, c in enumerate(zip(*rows))))
    species_of = torch.tensor([m[2] for m in members])
    fitness = torch.tensor([m[1] for m in members], dtype=torch.float64)
    cfg = dataclasses.replace(CFG, species_fitness_func=func, species_elitism=elitism, max_stagnation=max_stag)
    got = update_stagnation(table, species_of, fitness, generation, cfg)
    stagnation = neat.DefaultStagnation(SimpleNamespace(species_fitness_func=func, max_stagnation=max_stag,
                                                        species_elitism=elitism), None)
    result = stagnation.update(SimpleNamespace(species=neat_species), generation)
    return result, neat_species, got


def _check(case) -> None:
    result, neat_species, (table, stagnant, order) = _both(case)
    sids = table.sid.tolist()
    assert [sids[r] for r in order] == [sid for sid, _, _ in result]
    assert {sids[r]: bool(stagnant[r]) for r in range(len(sids))} == {sid: st for sid, _, st in result}
    for r, sid in enumerate(sids):
        s = neat_species[sid]
        assert table.fitness[r].item() == s.fitness
        assert table.best[r].item() == max(s.fitness_history)
        assert table.last_improved[r].item() == s.last_improved
        assert math.isnan(table.adjusted_fitness[r].item()) and s.adjusted_fitness is None


@SETTINGS
@given(species_sets())
def test_update_equals_neat_on_dyadic_fitness(case):
    _check(case)


@SETTINGS
@given(species_sets(values=st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False),
                    funcs=("max", "min", "median")))
def test_update_equals_neat_on_any_fitness_without_arithmetic(case):
    _check(case)


def test_every_function_and_the_walk_are_exercised():
    """Power check: a wrong median (lower middle) or a walk without the species_elitism guard differs."""
    fit = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], dtype=torch.float64)
    of = torch.tensor([0, 0, 0, 0, 1, 1])
    assert species_fitness(of, fit, 2, "median").tolist() == [3.0, 6.0]  # upper middle
    assert species_fitness(of, fit, 2, "median2").tolist() == [2.5, 5.5]
    assert species_fitness(of, fit, 2, "mean").tolist() == [2.5, 5.5]
    with pytest.raises(ValueError, match="unknown species_fitness_func"):
        species_fitness(of, fit, 2, "mode")
    # species 1 and 2 did not improve for 10 >= 5 generations; 2 is the fittest, spared by species_elitism
    case = ([(1, [1.0], [2.0], 0), (2, [3.0], [4.0], 0), (3, [0.5], [], 0)], 10, "max", 1, 5)
    _check(case)
    result, _, (table, stagnant, order) = _both(case)
    assert stagnant.tolist() == [True, False, False] and [s for s, _, _ in result] == [3, 1, 2]
    _, _, (_, stagnant, _) = _both((case[0], 10, "max", 2, 5))  # the top two are spared
    assert stagnant.tolist() == [False, False, False]


def test_bad_members_fail_by_name():
    table = SpeciesTable.from_state({k: torch.zeros(2) for k in SpeciesTable.empty().state()})
    with pytest.raises(ValueError, match="no members"):
        update_stagnation(table, torch.tensor([0, 0]), torch.tensor([1.0, 2.0]), 1, CFG)
    with pytest.raises(ValueError, match="NaN"):
        update_stagnation(table, torch.tensor([0, 1]), torch.tensor([1.0, math.nan]), 1, CFG)


@pytest.mark.parametrize("name,func", [("xor", "max"), ("visual", "mean"), ("partial", "median2")])
def test_update_on_species_neat_evolved(name, func):
    run = Run(name, 4, 60, species_set={"compatibility_threshold": 2.0},
              stagnation={"species_fitness_func": func, "max_stagnation": 2, "species_elitism": 1}).run(5)
    run.fitness(dyadic=True)
    order_gids = list(run.pop.population)
    ss = run.pop.species
    table, of = table_from_neat(ss, order_gids), species_of_from_neat(ss, order_gids)
    fitness = torch.tensor([run.pop.population[g].fitness for g in order_gids], dtype=torch.float64)
    new, stagnant, order = update_stagnation(table, of, fitness, run.pop.generation, run.cfg)
    result = run.pop.reproduction.stagnation.update(ss, run.pop.generation)
    assert [new.sid[r].item() for r in order] == [sid for sid, _, _ in result]
    assert [bool(stagnant[r]) for r in order] == [st for _, _, st in result]
    want = table_from_neat(ss, order_gids)
    for name_ in ("fitness", "best", "last_improved"):
        assert getattr(new, name_).tolist() == getattr(want, name_).tolist(), name_
    assert len(result) > 2 and any(st for _, _, st in result) and sys.float_info.max > 0
