"""``dct`` ``gain: size``: each tensor's (per neuron: each signal's) painting is the orthonormal one times
sqrt(N / k), so genes of spread s paint weights of spread s whatever k (a sigma0 chosen for direct weights
carries over). Without it 4 genes of spread 0.2 paint a 196-weight recurrent matrix at spread ~0.03."""
import math

import pytest
import torch

from evohyper.api.recurrent import ElmanSpec
from evohyper.decoders.dct import DCTDecoder
from evohyper.testing import DecoderContract

ELMAN = ElmanSpec([3, 14, 1])


class TestDCTGainTensor(DecoderContract):
    def make_decoder(self):
        return DCTDecoder(ELMAN, coefficients=4, gain="size")


class TestDCTGainNeuron(DecoderContract):
    def make_decoder(self):
        return DCTDecoder(ELMAN, coefficients=3, grouping="neuron", gain="size")


@pytest.mark.parametrize("grouping, k", [("tensor", 4), ("tensor", 9), ("neuron", 3)])
def test_size_gain_is_the_orthonormal_painting_times_sqrt_n_over_k(grouping, k):
    plain = DCTDecoder(ELMAN, coefficients=k, grouping=grouping)
    gained = DCTDecoder(ELMAN, coefficients=k, grouping=grouping, gain="size")
    g = torch.randn(5, plain.genome_size, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    a, b = plain.paint(g), gained.paint(g)
    shapes = ELMAN.shapes()
    for name in shapes:
        if grouping == "tensor":
            n, kk = math.prod(shapes[name]), plain.painters[name].k
        else:   # the layer whose neurons this tensor feeds: its signal length
            layer = next(lay for lay, p in plain.painters.items() if name in [q[0] for q in p.parts])
            n, kk = plain.painters[layer].length, plain.painters[layer].k
        assert torch.allclose(b[name], a[name] * math.sqrt(n / kk), rtol=1e-12, atol=0), name
    # the projection is still the painting's left inverse
    assert torch.allclose(gained.project(b), g, atol=1e-10)


def test_size_gain_paints_weights_at_the_genes_spread():
    """Many individuals of unit-spread genes: the recurrent matrix's weights have spread ~1 with the gain,
    ~sqrt(k / N) = 1/7 without (k = 4 of 196)."""
    g = torch.randn(4000, DCTDecoder(ELMAN, coefficients=4).genome_size, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(1))
    plain = DCTDecoder(ELMAN, coefficients=4).paint(g)["u0"].std().item()
    gained = DCTDecoder(ELMAN, coefficients=4, gain="size").paint(g)["u0"].std().item()
    assert gained == pytest.approx(1.0, rel=0.05) and plain == pytest.approx(1 / 7, rel=0.05)


def test_full_k_with_gain_is_the_direct_encoding_up_to_rotation():
    """k = N per tensor: the gain is 1 and the painting an orthogonal change of basis (norms kept)."""
    sizes = [math.prod(s) for s in ELMAN.shapes().values()]
    d = DCTDecoder(ELMAN, coefficients=sizes, gain="size")
    g = torch.randn(3, d.genome_size, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    flat = torch.cat([t.reshape(3, -1) for t in d.paint(g).values()], dim=1)
    assert torch.allclose(flat.norm(dim=1), g.norm(dim=1), rtol=1e-12)


def test_an_unknown_gain_is_refused_naming_the_key():
    from evohyper.api.checks import OptionError

    with pytest.raises(OptionError, match="gain"):
        DCTDecoder(ELMAN, gain="fan")
