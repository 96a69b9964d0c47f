"""Random search: stays in its box, and local_fraction moves samples around the best point."""
import pytest
import torch

from evohyper.strategies import RandomSearch


def sphere(x: torch.Tensor) -> torch.Tensor:
    return -((x.double() - 0.5) ** 2).sum(1)


def test_samples_stay_in_the_box():
    s = RandomSearch(5, 0, low=-2.0, high=3.0, sigma=10.0)
    for _ in range(5):
        x = s.ask()
        assert float(x.min()) >= -2.0 and float(x.max()) <= 3.0
        s.tell(sphere(x))


def test_pure_uniform_ignores_the_best_point():
    s = RandomSearch(3, 0, popsize=4000, local_fraction=0.0)
    s.tell(sphere(s.ask()))
    x = s.ask()
    assert abs(float(x.mean())) < 0.03 and abs(float(x.var()) - 1 / 3) < 0.02  # U(-1, 1)


def test_local_fraction_samples_around_the_best():
    s = RandomSearch(3, 0, popsize=100, local_fraction=0.5, sigma=0.01)
    x = s.ask()
    f = sphere(x)
    s.tell(f)
    best = x[int(f.argmax())]
    y = s.ask()
    near = (y - best).abs().max(dim=1).values < 0.06
    assert int(near[:50].sum()) == 50 and int(near[50:].sum()) < 5


def test_high_must_exceed_low():
    with pytest.raises(ValueError, match="high"):
        RandomSearch(3, 0, low=1.0, high=1.0)
