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
    ({"descriptors": "yes"}, r"^task\.descriptors: 'yes'; allowed: true or false$"),
    ({"objectives": 3}, r"^task\.objectives: 3; allowed: one of 1, 2$"),
    ({"dim": 1, "descriptors": True}, r"^task\.dim: 1; allowed: at least 2 with descriptors: true"),
    ({"shift": 0.0, "objectives": 2}, r"^task\.shift: 0(\.0)?; allowed: a nonzero number with objectives: 2"),
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


def test_default_sphere_declares_nothing_and_returns_no_descriptors():
    task = SphereTask(dim=3)
    assert task.descriptor_space() == () and task.objective_space() == () and task.reference_point() is None
    assert task.evaluate(vectors([[0.0, 1.0, 2.0]]), seed=0).descriptors is None


def test_two_objective_sphere_front_ends_lie_inside_the_reference_point():
    task = SphereTask(dim=4, shift=1.0, objectives=2)
    ends = task.evaluate(vectors([[0.0] * 4, [1.0] * 4]), seed=0).fitness   # x = 0 and x = shift
    assert torch.equal(ends, torch.tensor([[0.0, 4.0], [4.0, 0.0]], dtype=torch.float64))
    assert all(e < r for e, r in zip(ends.max(0).values.tolist(), task.reference_point()))   # minimised
