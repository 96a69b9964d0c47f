"""``dct`` with ``grouping: neuron``: every neuron's incoming weights (input column, recurrent column, bias;
a conv filter and its bias) are one 1-D signal, scipy's ``idct(norm="ortho")`` of that neuron's genes."""
import numpy as np
import pytest
import scipy.fft
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from evohyper import ConvSpec, MLPSpec
from evohyper.api.checks import OptionError
from evohyper.api.phenotypes import VectorSpec
from evohyper.api.recurrent import ElmanSpec, FullyRecurrentSpec
from evohyper.decoders.dct import DCTDecoder, neuron_layers
from evohyper.testing import DecoderContract

MLP = MLPSpec([6, 5, 3])
ELMAN = ElmanSpec([4, 7, 2])
ELMAN2 = ElmanSpec([3, 4, 5, 2])
CONV = ConvSpec([2, 6, 6], [3, 4], 5)
FULL = FullyRecurrentSpec(3, 4, 2)


class TestDCTNeuronMLP(DecoderContract):
    def make_decoder(self):
        return DCTDecoder(MLP, coefficients=3, grouping="neuron")


class TestDCTNeuronElman(DecoderContract):
    def make_decoder(self):
        return DCTDecoder(ELMAN, coefficients=[4, 2], grouping="neuron", scale=0.5)


class TestDCTNeuronFullyRecurrent(DecoderContract):
    def make_decoder(self):
        return DCTDecoder(FULL, coefficients=4, grouping="neuron")


class TestDCTNeuronConv(DecoderContract):
    def make_decoder(self):
        return DCTDecoder(CONV, coefficients=5, grouping="neuron")


def neuron_signal(spec, painted, layer, j, i):
    """Neuron ``j``'s weights of one individual ``i``, in the stated order, read straight off the tensors."""
    pieces = []
    for name, _shape, axis in neuron_layers(spec)[layer]:
        t = painted[name][i].numpy()
        pieces.append(np.take(t, j, axis=axis).reshape(-1))
    return np.concatenate(pieces)


def test_the_signal_order_is_input_column_recurrent_column_bias():
    layers = neuron_layers(ELMAN)
    assert layers == {"layer0": [("w0", (4, 7), 1), ("u0", (7, 7), 1), ("b0", (7,), 0)],
                      "layer1": [("w1", (7, 2), 1), ("b1", (2,), 0)]}
    assert neuron_layers(CONV)["conv1"] == [("conv1", (4, 3, 3, 3), 0), ("conv1_b", (4,), 0)]
    assert neuron_layers(CONV)["fc"][0][2] == 1
    # a fully recurrent network is one layer: neuron j reads the inputs, then every neuron, then its bias
    assert neuron_layers(FULL) == {"layer0": [("w0", (3, 6), 1), ("u0", (6, 6), 1), ("b0", (6,), 0)]}
    decoder = DCTDecoder(ELMAN, coefficients=[12, 8], grouping="neuron")   # 4+7+1 = 12, 7+1 = 8: full
    assert decoder.genome_size == ELMAN.num_params
    genes = torch.zeros(1, decoder.genome_size, dtype=torch.float64)
    # the signal of hidden neuron 2 = e_5 (DCT basis of the identity): put exactly its coefficients in
    signal = np.zeros(12)
    signal[5] = 1.0                    # position 5 = u0[1, 2]: recurrent weight from unit 1 into unit 2
    genes[0, 2 * 12:3 * 12] = torch.tensor(scipy.fft.dct(signal, norm="ortho"))
    painted = decoder.paint(genes)
    assert abs(painted["u0"][0, 1, 2].item() - 1.0) < 1e-12
    assert sum(float(t.abs().sum()) for t in painted.values()) == pytest.approx(1.0, abs=1e-10)


@pytest.mark.parametrize("spec, ks", [(MLP, 3), (ELMAN, [5, 2]), (ELMAN2, 4), (CONV, [6, 10, 3]), (FULL, 5),
                                      (MLPSpec([4, 16, 1]), 100)], ids=str)
def test_every_neuron_is_scipys_idct_of_its_genes(spec, ks):
    decoder = DCTDecoder(spec, coefficients=ks, grouping="neuron", scale=0.7)
    genes = torch.randn(3, decoder.genome_size, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    painted = decoder.paint(genes)
    assert list(painted) == list(spec.shapes())
    at = 0
    for layer, parts in neuron_layers(spec).items():
        n = parts[0][1][parts[0][2]]
        length = sum(int(np.prod(shape)) // shape[axis] for _, shape, axis in parts)
        k = decoder.describe()["coefficients"][layer]
        assert k == min(ks if isinstance(ks, int) else ks[list(neuron_layers(spec)).index(layer)], length)
        for i in range(3):
            for j in range(n):
                coeffs = np.zeros(length)
                coeffs[:k] = genes[i, at + j * k:at + (j + 1) * k].numpy()
                expected = 0.7 * scipy.fft.idct(coeffs, norm="ortho")
                assert np.abs(neuron_signal(spec, painted, layer, j, i) - expected).max() < 1e-10, (layer, j)
        at += n * k
    assert at == decoder.genome_size
    phen = decoder.decode(genes)
    for name in spec.shapes():
        assert torch.allclose(phen.tensors[name].double(), painted[name], atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(sizes=st.lists(st.integers(1, 6), min_size=3, max_size=4), k=st.integers(1, 9),
       seed=st.integers(0, 2**31 - 1))
def test_a_k_sparse_neuron_spectrum_round_trips(sizes, k, seed):
    """Weights whose per-neuron DCT is k-sparse (low k) are reproduced from their k genes; genes -> paint ->
    project is the identity."""
    spec = ElmanSpec(sizes)
    decoder = DCTDecoder(spec, coefficients=k, grouping="neuron")
    genes = torch.randn(2, decoder.genome_size, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    painted = decoder.paint(genes)
    assert torch.allclose(decoder.project(painted), genes, atol=1e-6)
    again = decoder.paint(decoder.project(painted))
    for name in painted:
        assert torch.allclose(again[name], painted[name], atol=1e-6)


def test_full_k_is_an_orthogonal_change_of_basis_of_direct():
    decoder = DCTDecoder(ELMAN2, coefficients=1000, grouping="neuron")
    assert decoder.genome_size == ELMAN2.num_params
    w = torch.randn(2, ELMAN2.num_params, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    tensors = dict(zip(ELMAN2.shapes(), (t.reshape(2, *s) for t, s in zip(
        torch.split(w, [int(np.prod(s)) for s in ELMAN2.shapes().values()], dim=1), ELMAN2.shapes().values()))))
    genes = decoder.project(tensors)
    assert torch.allclose(genes.norm(dim=1), w.norm(dim=1), atol=1e-10)
    back = decoder.paint(genes)
    for name in tensors:
        assert torch.allclose(back[name], tensors[name], atol=1e-10)


def test_batched_decode_equals_one_at_a_time():
    decoder = DCTDecoder(ELMAN2, coefficients=[3, 2, 4], grouping="neuron")
    genes = torch.randn(5, decoder.genome_size, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    batched = decoder.paint(genes)
    for i in range(5):
        single = decoder.paint(genes[i:i + 1])
        for name in batched:
            assert torch.equal(single[name][0], batched[name][i]) or torch.allclose(
                single[name][0], batched[name][i], atol=1e-14)


def test_tensor_grouping_is_unchanged():
    """Values decoded before ``grouping`` existed (Elman [4, 7, 2], 3 coefficients, scale 0.5): the default
    is still bit-for-bit the per-tensor painting."""
    decoder = DCTDecoder(ElmanSpec([4, 7, 2]), coefficients=3, scale=0.5)
    assert decoder.genome_size == 14 and decoder.describe()["grouping"] == "tensor"
    genes = torch.linspace(-1, 1, 28, dtype=torch.float64).view(2, -1)
    painted = decoder.paint(genes)
    pinned = {"w0": [-0.320289387013, -0.296397168673, -0.253344878854, 0.040837954193, 0.037970887993, 0.032804613214],
              "u0": [-0.186865677055, -0.17313945429, -0.148405655519, 0.091468586018, 0.084966691024, 0.07325068108],
              "b0": [-0.328546443383, -0.229826269221, -0.092934677469, 0.387358323661, 0.244521430698, 0.050495721481],
              "w1": [-0.113307785988, -0.044017834381, -0.106550046146, 0.354919931688, 0.147050076867, 0.323834328413],
              "b1": [-0.052378280088, -0.026189140044, 0.680917641143, -0.026189140044]}
    for name, values in pinned.items():
        got = painted[name].reshape(2, -1)[:, :3].reshape(-1)[:len(values)]
        assert np.abs(got.numpy() - np.array(values)).max() < 1e-11, name


def test_neuron_genome_is_far_smaller_than_per_weight_for_a_wide_layer():
    spec = ElmanSpec([6, 30, 1])
    decoder = DCTDecoder(spec, coefficients=2, grouping="neuron")
    assert spec.num_params == 1141
    assert decoder.genome_size == 30 * 2 + 1 * 2


@pytest.mark.parametrize("options, key", [
    ({"grouping": "layer"}, "decoder.grouping"),
    ({"grouping": "neuron", "coefficients": [1, 2, 3]}, "decoder.coefficients"),
    ({"grouping": "neuron", "coefficients": 0}, "decoder.coefficients"),
])
def test_bad_options_are_one_line_errors_at_their_key(options, key):
    with pytest.raises(OptionError) as err:
        DCTDecoder(ELMAN, **options)
    text = str(err.value)
    assert text.startswith(f"{key}: ") and "allowed:" in text and "\n" not in text


def test_a_list_names_the_layers_and_other_targets_are_refused():
    with pytest.raises(OptionError, match="one per layer: layer0, layer1"):
        DCTDecoder(ELMAN, coefficients=[1], grouping="neuron")
    with pytest.raises(OptionError, match=r"^decoder\.grouping: "):
        DCTDecoder(VectorSpec(5), coefficients=2, grouping="neuron")


def _config(*overrides):
    from pathlib import Path

    from evohyper.config.loading import load_raw
    from evohyper.config.schema import apply_overrides
    from evohyper.config.validate import validate
    raw = load_raw(Path(__file__).resolve().parents[2] / "search_spaces" / "cartpole_snes.yaml")
    raw["decoder"] = {"name": "dct", "coefficients": 2, "grouping": "neuron"}
    return validate(apply_overrides(raw, ["backend.name=local", "budget.generations=2", "strategy.popsize=8",
                                          "task.episodes=2", "task.max_steps=50", *overrides]))


def test_a_tiny_cartpole_search_runs_on_per_neuron_genomes():
    from evohyper.engine.runner import build_search
    config = _config()
    assert config.components().decoder.genome_size == 16 * 2 + 1 * 2      # hidden 16 neurons, 1 output
    result = build_search(config, None).run()
    assert result.generations == 2 and np.isfinite(result.best_fitness)


@pytest.mark.parametrize("override", ["decoder.grouping=layer", "decoder.coefficients=[2, 2, 2]"])
def test_bad_config_values_are_config_errors_at_their_key(override):
    from evohyper.config import ConfigError
    with pytest.raises(ConfigError) as err:
        _config(override)
    key = override.split("=")[0]
    assert str(err.value).startswith(f"{key}: ") and "\n" not in str(err.value)
