"""The ``dct`` decoder (Koutník et al. 2010): scipy's ``idctn(norm="ortho")`` is the reference painting."""
from pathlib import Path

import numpy as np
import pytest
import scipy.fft
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from evohyper import ConvSpec, MLPSpec
from evohyper.api.checks import OptionError
from evohyper.api.recurrent import ElmanSpec, FullyRecurrentSpec
from evohyper.config import ConfigError
from evohyper.config.loading import load_raw
from evohyper.config.schema import apply_overrides
from evohyper.config.validate import validate
from evohyper.decoders._dct import Painter, coefficient_positions, dct_matrix
from evohyper.decoders.dct import DCTDecoder
from evohyper.engine.runner import build_search
from evohyper.testing import DecoderContract

ROOT = Path(__file__).resolve().parents[2]
MLP = MLPSpec([6, 5, 3])
ELMAN = ElmanSpec([4, 7, 2])
CONV = ConvSpec([1, 8, 8], [4, 4], 10)


class TestDCTMLP(DecoderContract):
    def make_decoder(self):
        return DCTDecoder(MLP, coefficients=3)


class TestDCTElmanRow(DecoderContract):
    def make_decoder(self):
        return DCTDecoder(ELMAN, coefficients=[2, 5, 1, 4, 3], order="row", scale=0.5)


class TestDCTFullyRecurrent(DecoderContract):
    def make_decoder(self):
        return DCTDecoder(FullyRecurrentSpec(3, 5, 1), coefficients=[4, 6, 2], scale=0.5)


class TestDCTConv(DecoderContract):
    def make_decoder(self):
        return DCTDecoder(CONV, coefficients=6)


def reference(shape, positions, values):
    """scipy's inverse: the coefficients placed at their positions, everything else zero."""
    coeffs = np.zeros(shape)
    for pos, v in zip(positions, values):
        coeffs[pos] = v
    return scipy.fft.idctn(coeffs, norm="ortho")


# ---------------------------------------------------------------------------------------- the transform
def test_dct_matrix_is_scipys_orthonormal_dct():
    for n in (1, 2, 5, 16):
        c = dct_matrix(n).numpy()
        assert np.allclose(c, scipy.fft.dct(np.eye(n), axis=0, norm="ortho"), atol=1e-12)
        assert np.allclose(c @ c.T, np.eye(n), atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(1, 9), min_size=1, max_size=3).map(tuple), k=st.integers(1, 40),
       order=st.sampled_from(["diagonal", "row"]), seed=st.integers(0, 2**31 - 1))
def test_painting_equals_scipy_idctn(shape, k, order, seed):
    k = min(k, int(np.prod(shape)))
    painter = Painter(shape, k, order)
    coeffs = torch.randn(3, k, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    painted = painter.paint(coeffs)
    assert painted.shape == (3, *shape) and painted.dtype == torch.float64
    for i in range(3):
        expected = reference(shape, painter.positions, coeffs[i].numpy())
        assert np.abs(painted[i].numpy() - expected).max() < 1e-10


@pytest.mark.parametrize("spec", [MLPSpec([4, 16, 1]), MLPSpec([3, 8, 5, 2]), ELMAN], ids=str)
def test_every_tensor_of_a_network_is_its_own_idctn(spec):
    """Non-square matrices, square recurrent ones, 1-D biases, and a 1-element bias (k capped at 1)."""
    decoder = DCTDecoder(spec, coefficients=4, scale=0.7)
    genotypes = torch.randn(4, decoder.genome_size, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    painted = decoder.paint(genotypes)
    at = 0
    for name, shape in spec.shapes().items():
        k = min(4, int(np.prod(shape)))
        assert decoder.describe()["coefficients"][name] == k
        positions = coefficient_positions(shape, k, "diagonal")
        for i in range(4):
            expected = 0.7 * reference(shape, positions, genotypes[i, at:at + k].numpy())
            assert np.abs(painted[name][i].numpy() - expected).max() < 1e-10, name
        at += k
    assert at == decoder.genome_size
    phen = decoder.decode(genotypes)
    for name in spec.shapes():
        assert torch.allclose(phen.tensors[name].double(), painted[name], atol=1e-6)


# ---------------------------------------------------------------------------------------- the ordering
def test_diagonal_order_is_increasing_summed_frequency_then_row_major():
    assert coefficient_positions((3, 4), 10, "diagonal") == [
        (0, 0), (0, 1), (1, 0), (0, 2), (1, 1), (2, 0), (0, 3), (1, 2), (2, 1), (1, 3)]
    assert coefficient_positions((2, 3), 6, "diagonal") == [(0, 0), (0, 1), (1, 0), (0, 2), (1, 1), (1, 2)]
    assert coefficient_positions((5,), 3, "diagonal") == [(0,), (1,), (2,)]
    assert coefficient_positions((2, 2, 2), 5, "diagonal") == [(0, 0, 0), (0, 0, 1), (0, 1, 0), (1, 0, 0), (0, 1, 1)]


def test_row_order_is_row_major():
    assert coefficient_positions((3, 4), 6, "row") == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1)]


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 7), min_size=1, max_size=3).map(tuple))
def test_diagonal_order_lists_every_position_once_sorted(shape):
    size = int(np.prod(shape))
    positions = coefficient_positions(shape, size, "diagonal")
    assert positions == sorted(np.ndindex(*shape), key=lambda p: (sum(p), p))


# ---------------------------------------------------------------------------------------- round trips
@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 8), min_size=1, max_size=3).map(tuple),
       order=st.sampled_from(["diagonal", "row"]), seed=st.integers(0, 2**31 - 1))
def test_full_k_is_the_exact_inverse_of_dctn(shape, order, seed):
    matrix = np.random.default_rng(seed).normal(size=shape)
    painter = Painter(shape, int(np.prod(shape)), order)
    coeffs = scipy.fft.dctn(matrix, norm="ortho")
    genes = torch.tensor([[coeffs[p] for p in painter.positions]], dtype=torch.float64)
    assert np.abs(painter.paint(genes)[0].numpy() - matrix).max() < 1e-10
    assert np.abs(painter.project(torch.tensor(matrix).unsqueeze(0))[0].numpy() - genes[0].numpy()).max() < 1e-10


def test_a_k_sparse_spectrum_is_reproduced_from_its_k_coefficients():
    decoder = DCTDecoder(MLPSpec([6, 9, 4]), coefficients=5)
    genes = torch.randn(2, decoder.genome_size, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    again = decoder.project(decoder.paint(genes))
    assert torch.allclose(again, genes, atol=1e-10)
    assert decoder.encode(decoder.decode(genes)).shape == genes.shape
    assert decoder.initial_genotype(torch.Generator().manual_seed(0)).shape == (decoder.genome_size,)


def test_full_k_decoder_is_an_orthogonal_change_of_basis_of_direct():
    spec = MLPSpec([3, 4, 2])
    decoder = DCTDecoder(spec, coefficients=1000)       # capped at each tensor's size
    assert decoder.genome_size == spec.num_params
    genes = torch.randn(3, decoder.genome_size, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    flat = torch.cat([t.reshape(3, -1) for t in decoder.paint(genes).values()], dim=1)
    assert torch.allclose(flat.norm(dim=1), genes.norm(dim=1), atol=1e-10)


# ---------------------------------------------------------------------------------------- options
@pytest.mark.parametrize("options, key", [
    ({"coefficients": 0}, "decoder.coefficients"),
    ({"coefficients": [1, 2]}, "decoder.coefficients"),
    ({"coefficients": [1, 2, 0, 1]}, "decoder.coefficients"),
    ({"order": "zigzag"}, "decoder.order"),
    ({"scale": 0.0}, "decoder.scale"),
])
def test_bad_options_are_one_line_errors_at_their_key(options, key):
    with pytest.raises(OptionError) as err:
        DCTDecoder(MLP, **options)
    text = str(err.value)
    assert text.startswith(f"{key}: ") and "allowed:" in text and "\n" not in text


def _config(*overrides):
    raw = load_raw(ROOT / "search_spaces" / "cartpole_snes.yaml")
    raw["decoder"] = {"name": "dct", "coefficients": 3}
    return validate(apply_overrides(raw, ["backend.name=local", "budget.generations=2", "strategy.popsize=8",
                                          "task.episodes=2", "task.max_steps=50", *overrides]))


def test_a_tiny_cartpole_search_runs_on_dct_genomes():
    config = _config()
    assert config.components().decoder.genome_size == 3 + 3 + 3 + 1   # w0 [4,16], b0 [16], w1 [16,1], b1 [1] capped
    result = build_search(config, None).run()
    assert result.generations == 2 and np.isfinite(result.best_fitness)


@pytest.mark.parametrize("override, key", [
    ("decoder.coefficients=0", "decoder.coefficients"),
    ("decoder.coefficients=[3, 3]", "decoder.coefficients"),
    ("decoder.coefficients=many", "decoder.coefficients"),
    ("decoder.order=zigzag", "decoder.order"),
    ("decoder.scale=-1", "decoder.scale"),
])
def test_bad_config_values_are_config_errors_at_their_key(override, key):
    with pytest.raises(ConfigError) as err:
        _config(override)
    assert str(err.value).startswith(f"{key}: ") and "\n" not in str(err.value)


def test_the_shipped_search_space_validates():
    config = validate(load_raw(ROOT / "search_spaces" / "cartpole_dct_snes.yaml"))
    assert config.components().decoder.genome_size < config.components().decoder.target.num_params
