import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from evohyper import MLPSpec, VectorSpec
from evohyper.decoders import DirectDecoder


def _reference(spec, tensors, x, i):
    """One individual run with plain torch layers: the loop the batched forward replaces."""
    h = x
    acts = {"tanh": torch.tanh, "relu": torch.relu, "identity": lambda v: v, "sigmoid": torch.sigmoid}
    for layer in range(spec.num_layers):
        h = h @ tensors[f"w{layer}"][i]
        if spec.bias:
            h = h + tensors[f"b{layer}"][i]
        h = acts[spec.activation if layer < spec.num_layers - 1 else spec.output_activation](h)
    return h


@pytest.mark.parametrize("sizes,act,out_act,bias", [([3, 5, 2], "tanh", "identity", True),
                                                     ([4, 8, 8, 3], "relu", "sigmoid", False),
                                                     ([6, 1], "tanh", "tanh", True)])
def test_batched_forward_matches_per_individual_loop(sizes, act, out_act, bias):
    spec = MLPSpec(sizes, activation=act, output_activation=out_act, bias=bias)
    dec = DirectDecoder(spec)
    g = torch.randn(7, dec.genome_size, generator=torch.Generator().manual_seed(0))
    phen = dec.decode(g)
    x = torch.randn(11, sizes[0])
    shared = phen.forward(x)                           # broadcast batched GEMM
    folded = phen.forward(x, fold=True)                # one [B, in] x [in, P*out] GEMM
    own = phen.forward(x.expand(7, 11, sizes[0]))      # per-individual bmm path
    assert shared.shape == (7, 11, sizes[-1])
    for i in range(7):
        ref = _reference(spec, phen.tensors, x, i)
        torch.testing.assert_close(shared[i], ref, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(own[i], ref, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(folded[i], ref, atol=1e-5, rtol=1e-5)


def test_per_individual_inputs_are_not_mixed_up():
    dec = DirectDecoder(MLPSpec([2, 3, 1]))
    phen = dec.decode(torch.randn(4, dec.genome_size))
    x = torch.randn(4, 5, 2)
    out = phen.forward(x)
    for i in range(4):
        torch.testing.assert_close(out[i], phen.select([i]).forward(x[i])[0])


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4), pop=st.integers(1, 5), bias=st.booleans(),
       seed=st.integers(0, 2**16))
def test_direct_decode_encode_round_trip(sizes, pop, bias, seed):
    dec = DirectDecoder(MLPSpec(sizes, bias=bias))
    g = torch.randn(pop, dec.genome_size, generator=torch.Generator().manual_seed(seed))
    phen = dec.decode(g)
    assert dec.genome_size == MLPSpec(sizes, bias=bias).num_params
    assert torch.equal(dec.encode(phen), g)
    assert phen.tensors["w0"].shape == (pop, sizes[0], sizes[1])


def test_decoder_rejects_wrong_genome_length():
    dec = DirectDecoder(VectorSpec(5))
    with pytest.raises(ValueError, match=r"\[P, 5\]"):
        dec.decode(torch.zeros(3, 4))


def test_unknown_activation_is_rejected_with_choices():
    with pytest.raises(ValueError, match="allowed"):
        MLPSpec([2, 2], activation="swishy")


def test_forward_keeps_gradients_to_the_weights():
    dec = DirectDecoder(MLPSpec([3, 4, 2], activation="tanh", output_activation="sigmoid"))
    g = torch.randn(5, dec.genome_size, requires_grad=True)
    out = dec.decode(g).forward(torch.randn(6, 3))
    out.sum().backward()
    assert g.grad is not None and torch.isfinite(g.grad).all() and (g.grad.abs().sum(1) > 0).all()


@pytest.mark.parametrize("per_individual", [False, True])
def test_tiled_forward_equals_whole_population_forward(monkeypatch, per_individual):
    """Large no-grad populations run in tiles; the result must be the whole-population forward's,
    in population order (a tile written to the wrong rows, or a bias/weight slice off by one, fails)."""
    import evohyper.api.phenotypes as ph

    spec = ph.MLPSpec([5, 7, 3], activation="tanh", output_activation="sigmoid")
    gen = torch.Generator().manual_seed(0)
    tensors = {k: torch.randn(23, *v, generator=gen) for k, v in spec.shapes().items()}
    phen = spec.build(tensors)
    x = torch.randn(23, 4, 5, generator=gen) if per_individual else torch.randn(4, 5, generator=gen)
    whole = phen.forward(x)
    monkeypatch.setattr(ph, "TILE_ELEMENTS", 4 * 7 * 5)                # tiles of 5 individuals
    calls = []
    original = ph.MLPPhenotypes._forward_range
    monkeypatch.setattr(ph.MLPPhenotypes, "_forward_range",
                        lambda self, *a: calls.append(a[1:3]) or original(self, *a))
    tiled = phen.forward(x)
    assert calls == [(0, 5), (5, 10), (10, 15), (15, 20), (20, 23)]
    torch.testing.assert_close(tiled, whole, rtol=0, atol=1e-6)
    ref = torch.stack([torch.sigmoid(torch.tanh((x[i] if per_individual else x) @ tensors["w0"][i] + tensors["b0"][i])
                                     @ tensors["w1"][i] + tensors["b1"][i]) for i in range(23)])
    torch.testing.assert_close(tiled, ref, rtol=1e-5, atol=1e-5)
