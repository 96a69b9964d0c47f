"""XOR: a hand-built perfect network scores 4, a zero network does not."""
import pytest
import torch

from evohyper.decoders import DirectDecoder
from evohyper_tasks.xor import XorTask


def perfect_xor(task: XorTask, k: float = 20.0):
    """hidden = [OR, AND] (tanh), output = sigmoid(k (OR - AND - 1))."""
    spec = task.target({"hidden": [2]})
    tensors = {
        "w0": torch.tensor([[[k, k], [k, k]]]),            # [1, in=2, out=2]
        "b0": torch.tensor([[-0.5 * k, -1.5 * k]]),
        "w1": torch.tensor([[[k], [-k]]]),                  # [1, 2, 1]
        "b1": torch.tensor([[-k]]),
    }
    return spec.build(tensors)


@pytest.fixture
def task():
    t = XorTask()
    t.setup("cpu")
    return t


def test_perfect_network_scores_four(task):
    result = task.evaluate(perfect_xor(task), seed=0)
    assert result.fitness.shape == (1,)
    assert result.fitness.item() == pytest.approx(4.0, abs=1e-6)
    assert result.metrics["accuracy"].item() == 1.0
    assert result.sample_forwards == 4


def test_zero_network_scores_lower(task):
    spec = task.target({})
    zero = DirectDecoder(spec).decode(torch.zeros(3, spec.num_params))
    result = task.evaluate(zero, seed=0)
    # every output is sigmoid(0) = 0.5: SSE = 4 * 0.25 = 1, and 0.5 is not > 0.5, so 2 of 4 are right
    assert torch.allclose(result.fitness, torch.full((3,), 3.0))
    assert torch.equal(result.metrics["accuracy"], torch.full((3,), 0.5))
    assert result.fitness.max() < task.evaluate(perfect_xor(task), seed=0).fitness.item()


def test_fitness_is_four_minus_sse(task):
    spec = task.target({"hidden": [3]})
    ph = DirectDecoder(spec).decode(torch.randn(5, spec.num_params, generator=torch.Generator().manual_seed(0)))
    out = ph.forward(torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]))[..., 0]
    sse = ((out - torch.tensor([0.0, 1.0, 1.0, 0.0])) ** 2).sum(dim=1)
    assert torch.allclose(task.evaluate(ph, seed=3).fitness, 4 - sse)
    assert torch.allclose(task.loss(ph, None), sse)


def test_gradient_descent_solves_xor(task, adam):
    spec = task.target({"hidden": [4]})
    decoder = DirectDecoder(spec)
    g0 = torch.randn(1, spec.num_params, generator=torch.Generator().manual_seed(0))
    g = adam(lambda g, batch: task.loss(decoder.decode(g), batch), g0, [None] * 300, lr=0.1)
    result = task.evaluate(decoder.decode(g), seed=0)
    assert result.metrics["accuracy"].item() == 1.0
    assert result.fitness.item() > 3.9


def test_default_network_and_overrides(task):
    spec = task.target({})
    assert spec.sizes == [2, 4, 1] and spec.output_activation == "sigmoid" and spec.activation == "tanh"
    spec = task.target({"hidden": [3, 2], "activation": "relu", "output_activation": "identity", "bias": False})
    assert spec.sizes == [2, 3, 2, 1] and not spec.bias and spec.activation == "relu"


@pytest.mark.parametrize(("network", "match"), [
    ({"hiden": [4]}, r"^network\.hiden: unknown key; allowed keys: hidden, activation, "
                       r"output_activation, bias, recurrent$"),
    ({"hidden": 4}, "hidden"),
    ({"hidden": [0]}, "hidden"),
    ({"bias": "yes"}, "bias"),
    ({"activation": "swishy"}, "swishy"),
])
def test_bad_network_block_is_rejected(task, network, match):
    with pytest.raises(ValueError, match=match):
        task.target(network)
