"""ES-HyperNEAT: the batched decoder builds exactly the networks of the plain per-point reference, and its
phenotypes compute exactly what neat-python's RecurrentNetwork computes on them."""
import math
import re

import neat
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.es_reference import batched_networks, differences, reference_network
from evohyper.api.phenotypes import MLPSpec
from evohyper.families.hyperneat import ESHyperNEATDecoder
from evohyper.families.hyperneat.es_network import depth
from evohyper.families.hyperneat.es_phenotypes import ESPhenotypes
from evohyper.families.hyperneat.substrate import SubstrateSpec, sandwich
from evohyper.families.neat.convert import from_neat_python
from evohyper.testing import DecoderContract
from evohyper.testing.neat_genomes import cppn_config, random_genomes

BOUNDED = ["sigmoid", "tanh", "sin", "gauss", "abs", "identity", "clamped", "hat"]


def _population(decoder, n, seed, mutations=15, activations=BOUNDED, aggregations=("sum", "max", "product")):
    config = cppn_config(decoder.num_inputs, decoder.num_outputs, activations=activations,
                         aggregations=list(aggregations))
    return config, random_genomes(config, n, mutations=mutations, seed=seed)


def _assert_same_as_reference(decoder, config, genomes):
    got = batched_networks(decoder, decoder.decode(genomes))
    for i, g in enumerate(genomes):
        diff = differences(got[i], reference_network(g, config, decoder))
        assert not diff, f"genome {i}: {diff[:3]}"
    return got


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), plane=st.booleans(), n_in=st.integers(1, 4), n_out=st.integers(1, 3),
       max_depth=st.integers(1, 3), initial=st.integers(0, 3), iteration_level=st.integers(0, 3),
       variance=st.sampled_from([0.001, 0.005, 0.03]), band=st.sampled_from([0.0, 0.05, 0.3]),
       division=st.sampled_from([0.001, 0.01, 0.1]), weight_threshold=st.sampled_from([0.0, 0.2]),
       distance=st.booleans(), per_kind=st.booleans(), recurrent=st.booleans())
def test_batched_decoder_builds_the_reference_networks(seed, plane, n_in, n_out, max_depth, initial,
                                                       iteration_level, variance, band, division,
                                                       weight_threshold, distance, per_kind, recurrent):
    """Same hidden nodes, same connections, weights within 1e-5, on random genomes and options.

    Variance thresholds are drawn > 0: at exactly 0 a constant pattern's variance is 0 or a rounding residue
    of 1e-33 depending on summation order, in the reference as much as in the batched decoder."""
    target = MLPSpec([n_in, n_out]) if plane else SubstrateSpec(sandwich([n_in, 2], [n_out, 2]))
    decoder = ESHyperNEATDecoder(target, initial_depth=min(initial, max_depth), max_depth=max_depth,
                                 iteration_level=iteration_level, variance_threshold=variance,
                                 band_threshold=band, division_threshold=division,
                                 weight_threshold=weight_threshold, distance_input=distance,
                                 output_per_kind=per_kind, recurrent=recurrent, dtype="float64")
    config, genomes = _population(decoder, 4, seed)
    _assert_same_as_reference(decoder, config, genomes)


def test_nontrivial_networks_match_the_reference():
    """Fixed cases with many hidden nodes, hidden -> hidden links and deep trees (the property test above
    also draws many empty networks)."""
    decoder = ESHyperNEATDecoder(SubstrateSpec(sandwich([3, 3])), initial_depth=1, max_depth=3,
                                 variance_threshold=0.01, band_threshold=0.05, division_threshold=0.01,
                                 iteration_level=2, dtype="float64")
    config, genomes = _population(decoder, 12, seed=1, activations=["sigmoid", "tanh", "sin", "gauss"],
                                  aggregations=["sum"])
    got = _assert_same_as_reference(decoder, config, genomes)
    assert sum(len(n.hidden) > 10 for n in got) >= 4
    assert sum(any(a[0] == b[0] == "hid" for a, b in n.connections) for n in got) >= 3
    plane = ESHyperNEATDecoder(MLPSpec([3, 1]), initial_depth=2, max_depth=3, iteration_level=3, recurrent=True,
                               output_per_kind=True, distance_input=True, band_threshold=0.05, dtype="float64")
    config, genomes = _population(plane, 12, seed=1, activations=["sigmoid", "tanh", "sin", "gauss"],
                                  aggregations=["sum"])
    got = _assert_same_as_reference(plane, config, genomes)
    assert sum(len(n.hidden) > 30 for n in got) >= 3


def test_float32_decoding_agrees_with_float64_on_most_genomes():
    """float32 CPPN outputs differ from float64 by rounding, so a threshold decision can flip; measured
    here: the networks are identical for nearly every genome."""
    kw = dict(initial_depth=1, max_depth=3, variance_threshold=0.01, band_threshold=0.05, division_threshold=0.01)
    d64 = ESHyperNEATDecoder(SubstrateSpec(sandwich([3, 3])), dtype="float64", **kw)
    d32 = ESHyperNEATDecoder(SubstrateSpec(sandwich([3, 3])), dtype="float32", **kw)
    _, genomes = _population(d64, 30, seed=4, activations=["sigmoid", "tanh", "sin", "gauss"], aggregations=["sum"])
    a, b = batched_networks(d64, d64.decode(genomes)), batched_networks(d32, d32.decode(genomes))
    same = sum(not differences(x, y, tol=1e-4) for x, y in zip(a, b))
    assert same >= 28, f"only {same} of 30 genomes decode identically in float32"


# ----------------------------------------------------------------------------- phenotypes
_PY_ACT = {"tanh": math.tanh, "identity": lambda z: z, "sigmoid": lambda z: 1.0 / (1.0 + math.exp(-z))}


def _neat_outputs(net, n_in, n_out, activation, output_activation, x, activations):
    """neat-python's RecurrentNetwork over the reference network, ``activations`` synchronous steps."""
    ids = {("in", i): i for i in range(n_in)} | {("out", o): n_in + o for o in range(n_out)}
    for h in sorted(net.hidden):
        ids[("hid", *h)] = len(ids)
    links: dict[int, list[tuple[int, float]]] = {}
    for (a, b), w in net.connections.items():
        links.setdefault(ids[b], []).append((ids[a], w))
    evals = [(node, _PY_ACT[output_activation if node < n_in + n_out else activation], sum, 0.0, 1.0, ls)
             for node, ls in links.items()]
    rnn = neat.nn.RecurrentNetwork(list(range(n_in)), list(range(n_in, n_in + n_out)), evals)
    rows = []
    for sample in x.tolist():
        rnn.reset()
        for _ in range(activations):
            out = rnn.activate(sample)
        rows.append(out)
    return torch.tensor(rows, dtype=torch.float64)


@pytest.mark.parametrize("recurrent", [False, True])
def test_forward_equals_neat_python_recurrent_network(recurrent):
    """Acyclic networks: ``steps`` = the longest hidden chain gives neat-python's output after steps + 1
    activations (and more activations change nothing); recurrent ones run the fixed number of steps."""
    target = SubstrateSpec(sandwich([3, 3]), activation="tanh", output_activation="sigmoid")
    decoder = ESHyperNEATDecoder(target, initial_depth=1, max_depth=3, variance_threshold=0.01,
                                 band_threshold=0.05, division_threshold=0.01, iteration_level=2,
                                 recurrent=recurrent, activation_steps=4 if recurrent else None)
    config, genomes = _population(decoder, 10, seed=1, activations=["sigmoid", "tanh", "sin", "gauss"],
                                  aggregations=["sum"])
    phen = decoder.decode(genomes)
    x = torch.rand(5, 9, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    exact = ESPhenotypes(phen.spec, {k: v.double() if v.is_floating_point() else v for k, v in phen.tensors.items()})
    out = exact.forward(x)                                   # float64: the semantics, not float32 rounding
    assert torch.allclose(phen.forward(x.float()).double(), out, atol=1e-4)
    nets = batched_networks(decoder, phen)
    assert int(phen.tensors["steps"].max()) >= 2
    for p, net in enumerate(nets):
        steps = int(phen.tensors["steps"][p])
        for extra in ((0, 3) if not recurrent else (0,)):
            ref = _neat_outputs(net, 9, 9, "tanh", "sigmoid", x, steps + 1 + extra)
            assert torch.allclose(out[p], ref, rtol=1e-9, atol=1e-9), f"individual {p}, {steps + 1 + extra} steps"
    x = x.float()
    per_individual = torch.stack([phen.select([p]).forward(x[None].expand(1, 5, 9))[0] for p in range(len(phen))])
    assert torch.allclose(per_individual, phen.forward(x), atol=1e-6)


def test_feed_forward_networks_are_acyclic_and_point_upwards():
    decoder = ESHyperNEATDecoder(MLPSpec([4, 2]), initial_depth=2, max_depth=3, iteration_level=3,
                                 band_threshold=0.05)
    _, genomes = _population(decoder, 10, seed=2, activations=["sigmoid", "tanh", "sin", "gauss"],
                             aggregations=["sum"])
    phen = decoder.decode(genomes)
    w_hh, xy, mask = phen.tensors["w_hh"], phen.tensors["hidden_xy"], phen.tensors["hidden_mask"]
    src, tgt = xy[:, :, None, 1], xy[:, None, :, 1]
    assert bool(((w_hh != 0) <= (src < tgt)).all())
    assert torch.equal(phen.tensors["steps"], depth(w_hh, mask))


def test_depth_of_a_chain():
    w = torch.zeros(1, 4, 4)
    w[0, 0, 1] = w[0, 1, 2] = w[0, 0, 2] = 1.0
    assert depth(w, torch.tensor([[True, True, True, True]])).tolist() == [3]
    assert depth(torch.zeros(2, 0, 0), torch.zeros(2, 0, dtype=torch.bool)).tolist() == [0, 0]


def test_selection_trims_padding_to_the_individual():
    decoder = ESHyperNEATDecoder(MLPSpec([4, 2]), band_threshold=0.05)
    _, genomes = _population(decoder, 8, seed=5)
    phen = decoder.decode(genomes)
    for i in range(len(phen)):
        one = phen.select([i])
        assert one.tensors["w_hh"].shape[1] == int(phen.num_hidden[i])


# ----------------------------------------------------------------------------- options
@pytest.mark.parametrize("option, value, allowed", [
    ("max_depth", 6, "[1, 5]"), ("initial_depth", 4, "[0, 3]"), ("variance_threshold", -0.1, "[0, 1e+06]"),
    ("band_threshold", float("nan"), "[0, 1e+06]"), ("weight_threshold", 1.0, "[0, 1)"),
    ("iteration_level", -1, "[0, 100]"), ("activation_steps", 0, "[1, 100000]"), ("max_weight", 0, "(0, 1e+06]")])
def test_bad_option_names_key_value_and_allowed(option, value, allowed):
    expected = rf"^decoder\.{option}: {re.escape(repr(value))}; allowed: .*{re.escape(allowed)}"
    with pytest.raises(ValueError, match=expected):
        ESHyperNEATDecoder(MLPSpec([2, 1]), **{option: value})


def test_substrates_it_cannot_use_are_refused():
    from evohyper.families.hyperneat.substrate import Substrate, layered
    with pytest.raises(ValueError, match="two layers"):
        ESHyperNEATDecoder(SubstrateSpec(layered([[3, 3], [2, 2], [3, 3]])))
    with pytest.raises(ValueError, match="2-D"):
        ESHyperNEATDecoder(SubstrateSpec(Substrate([[[0.0], [1.0]], [[0.5]]])))


# ----------------------------------------------------------------------------- contracts
class TestESHyperNEATSheets(DecoderContract):
    def make_decoder(self):
        return ESHyperNEATDecoder(SubstrateSpec(sandwich([3, 3])), band_threshold=0.05)

    def make_genotypes(self, decoder, n, seed=0):
        return from_neat_python(_population(decoder, n, seed)[1])   # the GenomeBatch strategy neat hands out


class TestESHyperNEATPlane(TestESHyperNEATSheets):
    def make_decoder(self):
        return ESHyperNEATDecoder(MLPSpec([4, 8, 1]), iteration_level=2, output_per_kind=True, recurrent=True,
                                  band_threshold=0.05)
