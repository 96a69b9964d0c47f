"""The EvoTorch wrappers run EvoTorch's own algorithms: same trajectory as ``algo.run`` on the same seed."""
import math

import pytest
import torch

from evohyper.strategies import CEM, PGPE, SNES, XNES

D, SEED, GENERATIONS = 8, 7, 5


def sphere(x: torch.Tensor) -> torch.Tensor:
    return -((x.double() - 0.5) ** 2).sum(-1)


# EvoTorch keyword arguments equal to each wrapper's defaults.
REFERENCE = {
    SNES: ("SNES", dict(stdev_init=0.5, center_learning_rate=1.0, ranking_method="nes")),
    XNES: ("XNES", dict(stdev_init=0.5, center_learning_rate=1.0, ranking_method="nes")),
    PGPE: ("PGPE", dict(popsize=32, center_learning_rate=0.1, stdev_learning_rate=0.1, stdev_init=0.3,
                        optimizer="clipup", optimizer_config={"momentum": 0.9}, ranking_method="centered",
                        stdev_max_change=0.2)),
    CEM: ("CEM", dict(popsize=50, parenthood_ratio=0.2, stdev_init=0.5)),
}


@pytest.mark.parametrize("ours", list(REFERENCE), ids=lambda c: c.__name__)
def test_evotorch_wrapper_matches_evotorch_step(ours):
    """Exact equality holds: both sides draw the same samples from the same seeded problem generator and
    the update draws nothing, so the centers and the last population are bit-identical, not just close."""
    import evotorch.algorithms
    from evotorch import Problem

    name, kwargs = REFERENCE[ours]
    problem = Problem("max", sphere, solution_length=D, initial_bounds=(-1, 1), seed=SEED,
                      dtype=torch.float32, eval_dtype=torch.float64, vectorized=True)
    algo = getattr(evotorch.algorithms, name)(problem, center_init=torch.zeros(D), **kwargs)
    algo.run(GENERATIONS)  # samples 5 populations, updates the distribution 4 times

    s = ours(D, SEED)
    for g in range(GENERATIONS):
        x = s.ask()
        if g < GENERATIONS - 1:
            s.tell(sphere(x))
    assert torch.equal(x, algo.population.values)
    assert torch.equal(s.center(), algo.status["center"])
    assert torch.allclose(s.stdev, algo._distribution.parameters["sigma"])
    assert not torch.equal(s.center(), torch.zeros(D))  # it did move


def test_radius_init_overrides_stdev_init():
    s = SNES(16, 0, stdev_init=5.0, radius_init=2.0)
    assert torch.allclose(s.stdev, torch.full((16,), 2.0 / math.sqrt(16)))


def test_center_init_is_used():
    assert torch.equal(CEM(4, 0, center_init=1.5).center(), torch.full((4,), 1.5))


def test_stdev_limits_are_enforced_by_evotorch():
    s = SNES(6, 0, stdev_init=0.5, stdev_min=0.4, stdev_max=0.6)
    for _ in range(20):
        x = s.ask()
        s.tell(sphere(x))
    assert float(s.stdev.min()) >= 0.4 - 1e-6 and float(s.stdev.max()) <= 0.6 + 1e-6


def test_pgpe_optimizer_choice_changes_the_run():
    def center(**kw):
        s = PGPE(6, 0, **kw)
        for _ in range(3):
            s.tell(sphere(s.ask()))
        return s.center()
    clipup, adam, plain = center(), center(optimizer="adam"), center(optimizer="none")
    assert not torch.equal(clipup, adam) and not torch.equal(clipup, plain)
    assert float(clipup.norm()) <= 3 * 2 * 0.1 + 1e-5  # ClipUp caps each step at max_speed = 2 * lr


@pytest.mark.parametrize("cls, options, option", [
    (PGPE, {"popsize": 7}, "popsize"),                       # antithetic sampling needs pairs
    (PGPE, {"optimizer": "adam", "max_speed": 0.1}, "max_speed"),
    (SNES, {"stdev_min": 0.5, "stdev_max": 0.1}, "stdev_max"),
    (CEM, {"popsize": 4, "parenthood_ratio": 0.2}, "parenthood_ratio"),
    (XNES, {"ranking_method": "fancy"}, "ranking_method"),
])
def test_inconsistent_options_are_refused(cls, options, option):
    with pytest.raises(ValueError, match=option):
        cls(4, 0, **options)


def test_pgpe_odd_popsize_is_fine_without_symmetric_sampling():
    assert PGPE(4, 0, popsize=7, symmetric=False).ask().shape == (7, 4)
