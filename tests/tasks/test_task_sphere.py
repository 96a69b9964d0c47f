"""Sphere: a minimised black-box vector problem."""
import pytest
import torch

from evohyper.api.phenotypes import VectorSpec
from evohyper_tasks.sphere import SphereTask


def vectors(x):
    x = torch.as_tensor(x, dtype=torch.float32)
    return VectorSpec(x.shape[1]).build({"x": x})


def test_minimised_with_optimum_at_shift():
    task = SphereTask(dim=3, shift=0.5)
    assert SphereTask.maximize is False
    result = task.evaluate(vectors([[0.5, 0.5, 0.5], [0.0, 0.0, 0.0], [1.5, 0.5, -0.5]]), seed=0)
    assert torch.allclose(result.fitness, torch.tensor([0.0, 0.75, 2.0], dtype=torch.float64))
    assert torch.allclose(result.metrics["distance"], result.fitness.sqrt())
    assert result.fitness.dtype == torch.float64


def test_defaults_and_target():
    task = SphereTask()
    assert (task.dim, task.shift) == (10, 0.5)
    assert task.target({}) == VectorSpec(10)


def test_loss_equals_fitness_and_its_gradient_points_to_the_optimum():
    task = SphereTask(dim=2, shift=-1.0)
    x = torch.zeros(1, 2, requires_grad=True)
    task.loss(VectorSpec(2).build({"x": x}), None).sum().backward()
    assert torch.allclose(x.grad, torch.tensor([[2.0, 2.0]]))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"dim": 0}, r"^task\.dim: 0; allowed: an integer >= 1$"),
    ({"dim": 2.5}, r"^task\.dim: 2\.5; allowed: an integer >= 1$"),
    ({"dim": True}, r"^task\.dim: True; allowed: an integer >= 1$"),
    ({"shift": float("nan")}, r"^task\.shift: nan; allowed: a finite number in \[-1e\+06, 1e\+06\]$"),
    ({"shift": "0.5"}, r"^task\.shift: '0\.5'; allowed: a finite number in \[-1e\+06, 1e\+06\]$"),
])
def test_bad_options_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SphereTask(**kwargs)


def test_network_block_is_rejected():
    with pytest.raises(ValueError, match="hidden"):
        SphereTask().target({"hidden": [4]})


def test_wrong_phenotype_dim_is_rejected():
    with pytest.raises(ValueError, match=r"\[P, 3\]"):
        SphereTask(dim=3).evaluate(vectors([[0.0, 1.0]]), seed=0)
