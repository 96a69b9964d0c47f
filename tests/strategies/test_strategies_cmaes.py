"""CMA-ES wrapper: options reach cma, and it really is CMA-ES (solves a sphere to high precision)."""
import numpy as np
import pytest
import torch

from evohyper.strategies import CMAES

TARGET = torch.linspace(-0.3, 0.7, 5, dtype=torch.float64)


def sphere5(x: torch.Tensor) -> torch.Tensor:
    return -((x.double() - TARGET) ** 2).sum(1)


def test_popsize_option_is_respected():
    s = CMAES(5, 0, popsize=12)
    assert s.popsize == 12 == s.es.popsize
    assert s.ask().shape == (12, 5)


def test_default_popsize_is_cmas():
    assert CMAES(10, 0).popsize == 4 + int(3 * np.log(10))


@pytest.mark.parametrize("diagonal", [False, True])
def test_solves_5d_sphere_below_1e6(diagonal):
    s = CMAES(5, 0, diagonal=diagonal)
    for _ in range(300):
        x = s.ask()
        s.tell(sphere5(x))
        if -s.best_fitness < 1e-6:
            break
    assert -s.best_fitness < 1e-6
    assert s.generation < 300


def test_options_reach_cma():
    s = CMAES(6, 0, sigma0=0.25, x0=1.5, diagonal=True, active=False)
    assert s.es.sigma0 == 0.25 and np.allclose(s.es.mean, 1.5)
    assert s.es.opts["CMA_diagonal"] is True and s.es.opts["CMA_active"] is False


def test_small_popsize_with_mirrors_stays_deterministic():
    """popsize < 6 turns on cma's selective mirrored sampling; it must not touch global numpy."""
    def run(disturbance: int):
        s, out = CMAES(6, 2, popsize=4), []
        for g in range(20):
            x = s.ask()
            out.append(x)
            s.tell(sphere5(x[:, :5]))
            np.random.seed(disturbance + g)  # a different global stream for each run
        return out

    assert CMAES(6, 2, popsize=4).es.sp.lam_mirr >= 1  # mirrors really are on in this configuration
    a, b = run(0), run(1000)
    assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_one_dimensional_genome_works():
    s = CMAES(1, 0)
    for _ in range(60):
        x = s.ask()
        s.tell(-((x.double() - 0.3) ** 2).sum(1))
    assert -s.best_fitness < 1e-8


def test_center_is_cmas_mean_and_changes_nothing():
    """``center()`` (re-evaluated as a candidate) is cma's mean, read without drawing or updating."""
    a, b = CMAES(5, 3, popsize=8), CMAES(5, 3, popsize=8)
    for s in (a, b):
        for _ in range(3):
            s.tell(sphere5(s.ask()))
    centre = a.center()
    assert centre.dtype == torch.float32 and torch.equal(centre, torch.from_numpy(a.es.mean.astype(np.float32)))
    assert not torch.equal(centre, torch.zeros(5))           # it moved from x0
    assert torch.equal(a.ask(), b.ask())                     # b never had its centre read


def test_strategies_without_a_distribution_have_no_centre():
    from evohyper.strategies import RandomSearch
    assert RandomSearch(3, 0).center() is None
