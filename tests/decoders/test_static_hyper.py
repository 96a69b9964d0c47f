"""Static hypernetwork (Ha et al.): kernel shapes and gradients, genotype modes, the MIP variant,
the flat-genotype round trip, and the input-conditioned hypernetwork."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from evohyper import ConvSpec, MLPSpec
from evohyper.decoders import InputConditionedDecoder, StaticHyperDecoder
from evohyper.decoders._params import ParamLayout

CONV = ConvSpec([1, 8, 8], [16, 16], 10)
MLP = MLPSpec([64, 16, 10])


@pytest.mark.parametrize("target,layers", [(MLP, None), (CONV, ["conv1"]), (CONV, None)])
@pytest.mark.parametrize("mip", [False, True])
def test_generated_kernels_have_the_target_shapes(target, layers, mip):
    dec = StaticHyperDecoder(target, layers=layers, genotype="all", mip=mip)
    phen = dec.decode(torch.zeros(3, dec.genome_size))
    for name, shape in target.shapes().items():
        assert tuple(phen.tensors[name].shape) == (3, *shape), name
    assert phen.forward(torch.rand(5, 64)).shape == (3, 5, 10)
    # a fresh decoder starts with the target's standard weight scale (not exploding or vanishing)
    for name in dec.generated:
        std = float(phen.tensors[name].detach().std())
        assert 0.2 < std / (1 / (3 * target.fan_in(name)) ** 0.5) < 5, (name, std)


def test_gradients_reach_embeddings_and_hypernetwork_weights():
    dec = StaticHyperDecoder(CONV, layers=["conv1"], genotype="all")
    dec.decode(torch.zeros(1, dec.genome_size)).forward(torch.rand(4, 64)).square().mean().backward()
    for name in ("conv1.z", "conv1.w_in", "conv1.b_in", "conv1.w_out", "conv1.b_out", "conv0", "fc"):
        grad = dec.base(name).grad
        assert grad is not None and grad.abs().sum() > 0, name
    g = torch.zeros(2, dec.genome_size, requires_grad=True)   # and to the genotype offsets
    dec.decode(g).forward(torch.rand(4, 64)).square().mean().backward()
    assert (g.grad.abs().sum(1) > 0).all()


def test_genotype_modes_select_parameter_groups():
    sizes = {m: StaticHyperDecoder(CONV, layers=["conv1"], genotype=m).genome_size for m in ("z", "theta", "all")}
    dec = StaticHyperDecoder(CONV, layers=["conv1"], genotype="all")
    assert sizes["z"] == 4 and sizes["z"] + sizes["theta"] == sizes["all"] == dec.trainable_params()
    layer = dec.layer_params()["conv1"]
    assert layer["target"] == 2304 and layer["hypernetwork"] == 16 * (4 * 4 + 4) + 144 * (4 + 1) + 4  # Ha's count
    z_dec = StaticHyperDecoder(CONV, layers=["conv1"], genotype="z")
    a = z_dec.decode(torch.zeros(1, 4)).tensors
    b = z_dec.decode(torch.ones(1, 4)).tensors
    assert not torch.equal(a["conv1"], b["conv1"])            # z moves the generated kernel
    assert torch.equal(a["conv0"], b["conv0"])                # theta stays at its seeded init


def test_population_decode_equals_decoding_each_genotype_alone():
    dec = StaticHyperDecoder(CONV, layers=["conv1"], genotype="theta")
    g = 0.1 * torch.randn(5, dec.genome_size, generator=torch.Generator().manual_seed(3))
    whole = dec.decode(g).tensors
    for i in range(5):
        one = dec.decode(g[i:i + 1]).tensors
        for k in whole:
            torch.testing.assert_close(whole[k][i:i + 1], one[k], atol=1e-6, rtol=1e-5)


def test_same_init_seed_same_decoder_other_seed_other_decoder():
    a, b = StaticHyperDecoder(MLP, init_seed=1), StaticHyperDecoder(MLP, init_seed=1)
    c = StaticHyperDecoder(MLP, init_seed=2)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.base("w0.w_in"), c.base("w0.w_in"))


def _output_scale_ratio(mip: bool) -> float:
    """Kernel magnitude at z scaled by 100 over the magnitude at z (1 = magnitude invariant)."""
    dec = StaticHyperDecoder(CONV, layers=["conv1"], genotype="z", mip=mip)
    z0 = dec.base("conv1.z").detach()
    with torch.no_grad():
        big = dec.decode((100 * z0 - z0).unsqueeze(0)).tensors["conv1"].norm()
        small = dec.decode(torch.zeros(1, 4)).tensors["conv1"].norm()
    return float(big / small)


def test_mip_output_scale_does_not_follow_input_scale():
    assert _output_scale_ratio(mip=True) < 2.0


def test_plain_hypernetwork_output_scale_follows_input_scale():
    """The magnitude proportionality MIP removes: the same check fails for the plain formulation."""
    assert _output_scale_ratio(mip=False) > 20.0


@settings(max_examples=40, deadline=None)
@given(shapes=st.lists(st.lists(st.integers(1, 4), min_size=0, max_size=3), min_size=1, max_size=4),
       population=st.integers(1, 3), seed=st.integers(0, 1000))
def test_layout_flatten_unflatten_round_trip(shapes, population, seed):
    layout = ParamLayout({f"t{i}": tuple(s) for i, s in enumerate(shapes)})
    flat = torch.randn(population, layout.size, generator=torch.Generator().manual_seed(seed))
    tensors = layout.unflatten(flat)
    assert all(tuple(tensors[f"t{i}"].shape) == (population, *s) for i, s in enumerate(shapes))
    assert torch.equal(layout.flatten(tensors), flat)


def test_bad_options_name_option_value_and_allowed():
    with pytest.raises(ValueError, match=r"^decoder.genotype: 'w'; allowed: one of 'z', 'theta', 'all'$"):
        StaticHyperDecoder(MLP, genotype="w")
    with pytest.raises(ValueError, match=r"^decoder.layers: \['b0'\]; allowed: a non-empty list of weight tensors"):
        StaticHyperDecoder(MLP, layers=["b0"])
    with pytest.raises(ValueError, match=r"^decoder.embedding: 0; allowed: an integer >= 1$"):
        StaticHyperDecoder(MLP, embedding=0)
    with pytest.raises(ValueError, match=r"^decoder.genotype: 'z'; allowed: one of 'theta', 'all'$"):
        InputConditionedDecoder(MLP, genotype="z")


def test_input_conditioned_hypernetwork_gives_each_input_its_own_network():
    dec = InputConditionedDecoder(MLP, layers=["w1"], genotype="theta")
    g = torch.zeros(2, dec.genome_size, requires_grad=True)
    phen = dec.decode(g)
    x = torch.rand(6, 64, generator=torch.Generator().manual_seed(0))
    y = phen.forward(x)
    assert y.shape == (2, 6, 10)
    # the generated layer differs between inputs: swapping one input's embedding changes its output
    e = phen.embed(x)
    assert not torch.allclose(e[0, 0], e[0, 1])
    # batching: a sample's output does not depend on the other samples in the batch
    torch.testing.assert_close(phen.forward(x[:1]), y[:, :1], atol=1e-5, rtol=1e-5)
    y.square().mean().backward()
    assert (g.grad.abs().sum(1) > 0).all()
