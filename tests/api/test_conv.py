"""ConvSpec: the grouped-convolution population forward equals running each net alone, with gradients."""
import pytest
import torch
import torch.nn.functional as F

from evohyper import ConvSpec
from evohyper.decoders import DirectDecoder


def _one(t, p, x, spec):
    h = x.reshape(x.shape[0], *spec.in_shape)
    for i in range(len(spec.channels)):
        h = F.max_pool2d(torch.relu(F.conv2d(h, t[f"conv{i}"][p], t[f"conv{i}_b"][p], padding=spec.kernel // 2)), 2)
    return h.reshape(x.shape[0], -1) @ t["fc"][p] + t["fc_b"][p]


@pytest.mark.parametrize("channels", [[4], [6, 5]])
def test_population_forward_equals_each_network_alone(channels):
    spec = ConvSpec([1, 8, 8], channels, 10)
    dec = DirectDecoder(spec)
    g = 0.3 * torch.randn(4, dec.genome_size, generator=torch.Generator().manual_seed(0))
    phen = dec.decode(g)
    x = torch.rand(7, 64, generator=torch.Generator().manual_seed(1))
    y = phen.forward(x)
    assert y.shape == (4, 7, 10)
    for p in range(4):
        torch.testing.assert_close(y[p], _one(phen.tensors, p, x, spec), atol=1e-5, rtol=1e-5)
    xs = torch.rand(4, 7, 64)   # per-individual inputs
    ys = phen.forward(xs)
    for p in range(4):
        torch.testing.assert_close(ys[p], _one(phen.tensors, p, xs[p], spec), atol=1e-5, rtol=1e-5)


def test_shapes_fan_in_and_gradients():
    spec = ConvSpec([1, 8, 8], [16, 16], 10)
    assert spec.shapes()["conv1"] == (16, 16, 3, 3) and spec.features == 64
    assert spec.in_axis("conv1") == 1 and spec.fan_in("conv1") == 144 and spec.fan_in("fc") == 64
    g = torch.zeros(2, spec.num_params, requires_grad=True)
    with torch.no_grad():
        g += 0.1 * torch.randn(2, spec.num_params)
    DirectDecoder(spec).decode(g).forward(torch.rand(3, 64)).sum().backward()
    assert g.grad is not None and (g.grad.abs().sum(1) > 0).all()


def test_bad_spec_is_rejected():
    with pytest.raises(ValueError, match="kernel"):
        ConvSpec([1, 8, 8], [4], 10, kernel=2)
    with pytest.raises(ValueError, match="channels"):
        ConvSpec([1, 8, 8], [], 10)
