"""GA from DEAP operators: elitism, selection semantics, every crossover, and its own RNG."""
import random

import numpy as np
import pytest
import torch

from evohyper.strategies import GA
from evohyper.strategies.ga import CROSSOVERS


def sphere(x: torch.Tensor) -> torch.Tensor:
    return -((x.double() - 0.5) ** 2).sum(1)


def test_elitism_keeps_the_best_individuals_unchanged():
    s = GA(8, 0, popsize=16, elite=2, mut_prob=1.0, mut_indpb=1.0)
    x = s.ask()
    f = sphere(x)
    s.tell(f)
    y = s.ask()
    top = torch.argsort(f, descending=True)[:2]
    assert torch.equal(y[:2], x[top])
    # every other row was bred (mutation on every gene), not copied
    assert not any(torch.equal(row, x[top[0]]) for row in y[2:])


def test_best_so_far_never_lost_over_generations():
    s = GA(8, 1, popsize=16, elite=1, mut_sigma=0.5, mut_prob=1.0)
    gen_best = []
    for _ in range(15):
        f = sphere(s.ask())
        gen_best.append(float(f.max()))
        s.tell(f)
    assert gen_best == sorted(gen_best)  # with an elite, the population's best is monotone


def test_without_variation_children_are_tournament_copies_of_parents():
    s = GA(6, 0, popsize=20, elite=0, cx_prob=0.0, mut_prob=0.0, tournament_size=20)
    x = s.ask()
    f = sphere(x)
    s.tell(f)
    y = s.ask()
    parents = {tuple(r) for r in x.tolist()}
    assert all(tuple(r) in parents for r in y.tolist())
    # big tournaments select above the mean: the children are better on average than their parents
    assert float(sphere(y).mean()) > float(f.mean())


@pytest.mark.parametrize("crossover", CROSSOVERS)
def test_every_crossover_optimises(crossover):
    s = GA(10, 0, crossover=crossover)
    first = None
    for _ in range(30):
        f = sphere(s.ask())
        first = float(f.max()) if first is None else first
        s.tell(f)
    assert -s.best_fitness < 0.5 * -first


def test_global_random_is_restored_even_if_deap_raises():
    s = GA(4, 0, popsize=6)
    s.tell(sphere(s.ask()))
    s._toolbox.register("mate", lambda a, b: 1 / 0)  # break crossover mid-ask
    s._cx_prob = 1.0
    random.seed(7)
    expected = random.Random(7).random()
    with pytest.raises(ZeroDivisionError):
        s.ask()
    assert random.random() == expected


@pytest.mark.parametrize("option, value", [("elite", 64), ("tournament_size", 0), ("cx_prob", 1.5),
                                           ("mut_indpb", 0.0), ("crossover", "one_point"),
                                           ("popsize", 1)])
def test_out_of_range_options_are_refused(option, value):
    with pytest.raises(ValueError, match=option):
        GA(4, 0, **{option: value})


def test_two_point_crossover_needs_two_genes():
    with pytest.raises(ValueError, match="crossover"):
        GA(1, 0, crossover="two_point")
    s = GA(1, 0, crossover="blend", cx_prob=1.0)
    for _ in range(20):
        s.tell(sphere(s.ask()))
    assert -s.best_fitness < 1e-3


def test_population_is_float32_and_initialised_around_x0():
    x = GA(50, 0, popsize=200, x0=2.0, init_sigma=0.1).ask()
    assert x.dtype == torch.float32
    assert abs(float(x.mean()) - 2.0) < 0.01 and abs(float(x.std()) - 0.1) < 0.01
    assert np.isfinite(x.numpy()).all()
