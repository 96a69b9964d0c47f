"""The Pareto helpers against DEAP itself and against hand-computed cases."""
import random

import pytest
import torch
from deap import base, tools
from hypothesis import given, settings
from hypothesis import strategies as st

from evohyper.strategies.mo import (
    crowding_distance,
    hypervolume,
    nsga2_select,
    nsga2_survivors,
    pareto_front,
    tournament_dcd,
)


class _Fit2(base.Fitness):
    weights = (1.0, 1.0)


class _Fit3(base.Fitness):
    weights = (1.0, 1.0, 1.0)


class _Ind(list):
    pass


def deap_population(objectives):
    """Independently built DEAP individuals (gene 0 = the row index), the way a DEAP user writes them."""
    fit = {2: _Fit2, 3: _Fit3}[len(objectives[0])]
    pop = []
    for i, v in enumerate(objectives):
        ind = _Ind([i])
        ind.fitness = fit(tuple(v))
        pop.append(ind)
    return pop


# small integer objectives: many ties and duplicates, where ordering rules matter
objective_sets = st.integers(2, 3).flatmap(lambda m: st.lists(
    st.tuples(*[st.integers(-3, 3)] * m), min_size=1, max_size=24))


@settings(max_examples=60, deadline=None)
@given(objective_sets, st.data())
def test_nsga2_select_is_deaps_selection(objectives, data):
    k = data.draw(st.integers(0, len(objectives)))
    ours = nsga2_select(torch.tensor(objectives, dtype=torch.float64), k)
    theirs = [ind[0] for ind in tools.selNSGA2(deap_population(objectives), k)]
    assert ours.tolist() == theirs


@settings(max_examples=60, deadline=None)
@given(objective_sets)
def test_pareto_front_is_deaps_first_front(objectives):
    mask = pareto_front(torch.tensor(objectives, dtype=torch.float64))
    first = tools.sortNondominated(deap_population(objectives), len(objectives), first_front_only=True)[0]
    assert sorted(torch.nonzero(mask).flatten().tolist()) == sorted(ind[0] for ind in first)


@settings(max_examples=40, deadline=None)
@given(objective_sets)
def test_crowding_distance_is_deaps(objectives):
    pop = deap_population(objectives)
    tools.emo.assignCrowdingDist(pop)
    assert crowding_distance(torch.tensor(objectives, dtype=torch.float64)).tolist() == \
        [ind.fitness.crowding_dist for ind in pop]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(-3, 3), st.integers(-3, 3)), min_size=4, max_size=24), st.integers(0, 2**31))
def test_tournament_dcd_is_deaps_with_the_same_generator(objectives, seed):
    n = len(objectives) - len(objectives) % 4
    objectives = objectives[:n]
    o = torch.tensor(objectives, dtype=torch.float64)
    idx, crowd = nsga2_survivors(o, n)                 # crowding as selNSGA2 assigns it
    survivors = o[idx]
    ours = tournament_dcd(survivors, crowd, n, random.Random(seed))
    pop = deap_population(survivors.tolist())
    for ind, d in zip(pop, crowd.tolist()):
        ind.fitness.crowding_dist = d
    state = random.getstate()
    random.seed(seed)
    try:
        theirs = [ind[0] for ind in tools.selTournamentDCD(pop, n)]
    finally:
        random.setstate(state)
    assert ours.tolist() == theirs


def test_tournament_dcd_leaves_the_global_generator_alone_and_refuses_bad_k():
    o = torch.randn(8, 2, dtype=torch.float64)
    state = random.getstate()
    tournament_dcd(o, crowding_distance(o), 8, random.Random(1))
    assert random.getstate() == state
    with pytest.raises(ValueError, match="multiple of 4"):
        tournament_dcd(o, crowding_distance(o), 6, random.Random(1))


def test_nsga2_select_prefers_fronts_then_crowding():
    # front 1: (0, 4), (2, 2), (4, 0) and a middle point (3, 1.5); front 2: (1, 1)
    o = torch.tensor([[1, 1], [0, 4], [2, 2], [4, 0], [3, 1.5]], dtype=torch.float64)
    assert set(nsga2_select(o, 4).tolist()) == {1, 2, 3, 4}
    # two of front 1 only: the boundary points have infinite crowding distance
    assert set(nsga2_select(o, 2).tolist()) == {1, 3}


def test_pareto_front_hand_case():
    o = torch.tensor([[1, 3], [2, 2], [3, 1], [1, 1], [2, 2], [0, 3]], dtype=torch.float64)
    # duplicates of a front member are both on the front; (0, 3) is dominated by (1, 3)
    assert pareto_front(o).tolist() == [True, True, True, False, True, False]


def test_hypervolume_two_objectives_hand_computed():
    # a staircase over the reference (0, 0): 1x3 + 1x2 + 1x1
    o = torch.tensor([[1, 3], [2, 2], [3, 1]], dtype=torch.float64)
    assert hypervolume(o, [0.0, 0.0]) == pytest.approx(6.0)
    # a dominated point and a point outside the reference add nothing
    extra = torch.cat([o, torch.tensor([[1.0, 1.0], [5.0, -1.0]], dtype=torch.float64)])
    assert hypervolume(extra, [0.0, 0.0]) == pytest.approx(6.0)
    # negative values, as returns are: ref (-10, -10); (-1, -3) and (-2, -2): 9x7 + 8x8 - 8x7
    neg = torch.tensor([[-1, -3], [-2, -2]], dtype=torch.float64)
    assert hypervolume(neg, [-10.0, -10.0]) == pytest.approx(71.0)


def test_hypervolume_three_objectives_hand_computed():
    e = torch.eye(3, dtype=torch.float64) + 1.0     # (2,1,1), (1,2,1), (1,1,2) over ref 0
    # inclusion-exclusion: 3 x 2 - 3 x 1 + 1
    assert hypervolume(e, [0.0, 0.0, 0.0]) == pytest.approx(4.0)
    assert hypervolume(e[:2], [0.0, 0.0, 0.0]) == pytest.approx(3.0)
    assert hypervolume(e, [1.0, 1.0, 0.0]) == pytest.approx(0.0)   # none strictly beats ref in x and y
    # ref 0.5: boxes 1.5 x 0.5 x 0.5 each, every pair and the triple meet in 0.5 x 0.5 x 0.5
    assert hypervolume(e, [0.5, 0.5, 0.5]) == pytest.approx(3 * 0.375 - 3 * 0.125 + 0.125)


def test_hypervolume_empty_and_refusals():
    assert hypervolume(torch.zeros(0, 2, dtype=torch.float64), [0.0, 0.0]) == 0.0
    with pytest.raises(ValueError, match="reference"):
        hypervolume(torch.zeros(3, 2), [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="finite"):
        nsga2_select(torch.tensor([[float("nan"), 1.0]]), 1)
