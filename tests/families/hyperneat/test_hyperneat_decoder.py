"""HyperNEAT decoding: substrates, weight expression, and agreement with the neat-python loop."""
import pytest
import torch

from evohyper.families.hyperneat.decoder import HyperNEATDecoder, express
from evohyper.families.hyperneat.substrate import Substrate, SubstrateSpec, grid, layered, sandwich
from evohyper.testing.neat_genomes import cppn_config, random_genomes, reference_substrate_weights

HN_ACTS = ["sigmoid", "tanh", "sin", "gauss", "abs", "identity"]


def test_grid_is_cell_centres_row_major_x_first():
    g = grid([2, 3])
    assert g[0] == pytest.approx([-2 / 3, -0.5]) and g[2] == pytest.approx([2 / 3, -0.5])
    assert g[3] == pytest.approx([-2 / 3, 0.5])
    fine = grid([33, 33])
    assert fine[(3 * 5 + 1) * 33 + 3 * 7 + 1] == pytest.approx(grid([11, 11])[5 * 11 + 7])  # 11x11 inside 33x33
    assert len(grid([2, 3, 4])) == 24 and len(grid([2, 3, 4])[0]) == 3


def test_substrate_validation():
    with pytest.raises(ValueError, match=">= 2 layers"):
        Substrate([grid([3])])
    with pytest.raises(ValueError, match="one dimension"):
        Substrate([[[0.0]], [[0.0, 1.0]]])
    assert layered([[3, 3], [2, 2], [1, 1]]).sizes == [9, 4, 1]


def test_express_threshold_and_rescale():
    w = torch.tensor([-2.0, -0.6, -0.2, 0.0, 0.1, 0.2, 0.6, 1.0])
    out = express(w.clone(), 0.2, 3.0)
    assert out.tolist() == pytest.approx([-3.0, -1.5, 0.0, 0.0, 0.0, 0.0, 1.5, 3.0])
    leo = express(w.clone(), 0.2, 3.0, leo=torch.tensor([1.0, -1, 1, 1, 1, 1, -1, 1]))
    assert leo.tolist() == pytest.approx([-3.0, 0.0, -0.6, 0.0, 0.3, 0.6, 0.0, 3.0])


@pytest.mark.parametrize("opts", [dict(), dict(distance_input=False, bias_input=False), dict(leo=True),
                                  dict(dtype="float64", weight_threshold=0.0)])
def test_decoder_matches_neat_python_loop_on_every_pair(opts):
    spec = SubstrateSpec(sandwich([5, 4]))
    dec = HyperNEATDecoder(spec, **opts)
    config = cppn_config(dec.num_inputs, dec.num_outputs, activations=HN_ACTS, aggregations=["sum", "max"])
    genomes = random_genomes(config, 5, mutations=25, seed=11)
    w = dec.decode(genomes).tensors["w0"]
    assert w.shape == (5, 20, 20)
    for i, g in enumerate(genomes):
        ref = torch.tensor(reference_substrate_weights(g, config, dec), dtype=torch.float32)
        # at the threshold float32 may flip a weight in/out of existence; allow none here
        assert torch.allclose(w[i], ref, atol=1e-5), f"genome {i}: max diff {(w[i] - ref).abs().max()}"


def test_chunked_query_equals_unchunked_and_multi_layer_substrates_decode():
    spec = SubstrateSpec(layered([[4, 4], [3, 3], [1, 2]]), bias=True)
    dec = HyperNEATDecoder(spec, bias_output=True)
    tiny = HyperNEATDecoder(spec, bias_output=True, max_chunk_mb=1e-4)  # one genome per group
    tiny.QUERY_CHUNK = 5  # and 5 coordinate pairs per call
    assert dec.num_outputs == 4 and dec.num_inputs == 2 * 2 + 2
    config = cppn_config(dec.num_inputs, dec.num_outputs, activations=HN_ACTS, aggregations=["sum"])
    genomes = random_genomes(config, 3, mutations=10, seed=2)
    a, b = dec.decode(genomes), tiny.decode(genomes)
    assert set(a.tensors) == {"w0", "b0", "w1", "b1"}
    for k in a.tensors:
        assert torch.allclose(a.tensors[k], b.tensors[k], atol=1e-6), k  # bmm blocking may round differently
    assert a.forward(torch.rand(7, 16)).shape == (3, 7, 2)
    chunks = list(dec.decode_chunks(genomes, 2))
    assert [s for s, _ in chunks] == [0, 2]
    assert torch.allclose(torch.cat([p.tensors["w1"] for _, p in chunks]), a.tensors["w1"], atol=1e-6)


def test_decoder_option_errors_name_option_and_value():
    spec = SubstrateSpec(sandwich([3, 3]))
    with pytest.raises(ValueError, match=r"^decoder\.weight_threshold: 1\.5; allowed: a finite number in \[0, 1\)$"):
        HyperNEATDecoder(spec, weight_threshold=1.5)
    with pytest.raises(ValueError, match=r"^decoder\.max_weight: 0; allowed: a finite number in \(0, 1e\+06\]$"):
        HyperNEATDecoder(spec, max_weight=0)
    with pytest.raises(ValueError, match=r"^decoder\.bias_output: True; allowed: false on a substrate without node"):
        HyperNEATDecoder(spec, bias_output=True)
    from evohyper.api.phenotypes import VectorSpec
    with pytest.raises(ValueError, match=r"^decoder\.name: 'hyperneat' needs a task whose target is a substrate"):
        HyperNEATDecoder(VectorSpec(3))


def test_an_mlp_target_becomes_rows_of_nodes():
    """An MLP task (e.g. cart-pole): layer i of L is a row at y = -1 + 2i/(L-1), x spread over [-1, 1]."""
    from evohyper.api.phenotypes import MLPPhenotypes, MLPSpec
    decoder = HyperNEATDecoder(MLPSpec([4, 3, 1], activation="tanh", bias=True))
    layers = decoder.substrate.layers
    assert [x for row in layers[0] for x in row] == pytest.approx([-1, -1, -1 / 3, -1, 1 / 3, -1, 1, -1])
    assert layers[1] == [[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]] and layers[2] == [[0.0, 1.0]]
    genomes = random_genomes(cppn_config(decoder.num_inputs, decoder.num_outputs, activations=HN_ACTS,
                                         aggregations=["sum"]), 3)
    phen = decoder.decode(genomes)
    assert isinstance(phen, MLPPhenotypes) and phen.forward(torch.zeros(5, 4)).shape == (3, 5, 1)
    assert set(phen.tensors) == {"w0", "b0", "w1", "b1"}
