"""Direct NEAT networks, batched, must reproduce neat-python's FeedForwardNetwork and RecurrentNetwork."""
import math

import neat
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from evohyper.api.phenotypes import MLPSpec
from evohyper.families.neat.convert import from_neat_python
from evohyper.families.neat.networks import NEATPhenotypes
from evohyper.testing.neat_genomes import cppn_config, random_genomes

BOUNDED = ["sigmoid", "tanh", "sin", "gauss", "relu", "identity", "clamped", "abs", "hat", "softplus"]


def assert_close(got: torch.Tensor, expected: list, tol: float, what: str) -> None:
    """Every output within ``tol`` (relative above 1; values beyond 1e6 only where neat-python is finite)."""
    for idx, e in _items(expected):
        g = float(got[idx])
        if not math.isfinite(e) or abs(e) > 1e6:
            continue  # overflowing exp/cube chains: neat-python itself is at float range limits
        assert abs(g - e) <= tol * max(1.0, abs(e)), f"{what} {idx}: torch {g!r} != neat-python {e!r}"


def _items(nested, prefix=()):
    if isinstance(nested, (list, tuple)):
        for i, v in enumerate(nested):
            yield from _items(v, (*prefix, i))
    else:
        yield prefix, nested


def population(seed, n_in, n_out, mutations, feed_forward, activations=None, n=6):
    config = cppn_config(n_in, n_out, feed_forward=feed_forward,
                         **({"activations": activations} if activations else {}))
    genomes = random_genomes(config, n, mutations=mutations, seed=seed)
    return config, genomes


def sequences(seed, P, B, T, n_in):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(P, B, T, n_in, generator=gen, dtype=torch.float64) * 4 - 2


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_in=st.integers(1, 5), n_out=st.integers(1, 3), mutations=st.integers(0, 40),
       shared=st.booleans())
def test_feed_forward_networks_match_neat_python(seed, n_in, n_out, mutations, shared):
    config, genomes = population(seed, n_in, n_out, mutations, True)
    x = sequences(seed, len(genomes), 7, 1, n_in)[:, :, 0]                 # [P, B, n_in]
    if shared:
        x = x[0]                                                           # [B, n_in], every network sees it
    phen = NEATPhenotypes(MLPSpec([n_in, n_out]), from_neat_python(genomes), n_in, n_out, dtype=torch.float64)
    out = phen.forward(x)
    assert out.shape == (len(genomes), 7, n_out)
    nets = [neat.nn.FeedForwardNetwork.create(g, config) for g in genomes]
    rows = [x.tolist() if shared else x[p].tolist() for p in range(len(genomes))]
    assert_close(out, [[net.activate(r) for r in rows[p]] for p, net in enumerate(nets)], 1e-5, "genome/sample/output")


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_in=st.integers(1, 5), n_out=st.integers(1, 3), mutations=st.integers(0, 40),
       steps=st.integers(1, 12))
def test_recurrent_networks_match_neat_python_over_sequences(seed, n_in, n_out, mutations, steps):
    """B sequences per network, T steps each; every step one synchronous update as RecurrentNetwork.activate."""
    # cube/exp/square/inv/log chains overflow Python floats within a few steps of a cycle
    config, genomes = population(seed, n_in, n_out, mutations, False, activations=[*BOUNDED, "elu", "lelu", "selu"])
    P, B = len(genomes), 3
    x = sequences(seed, P, B, steps, n_in)
    phen = NEATPhenotypes(MLPSpec([n_in, n_out]), from_neat_python(genomes), n_in, n_out, recurrent=True,
                          dtype=torch.float64)
    phen.reset_state()
    out = torch.stack([phen.forward(x[:, :, t]) for t in range(steps)], dim=2)   # [P, B, T, n_out]
    expected = []
    for p, g in enumerate(genomes):
        per_seq = []
        for b in range(B):
            net = neat.nn.RecurrentNetwork.create(g, config)
            per_seq.append([net.activate(x[p, b, t].tolist()) for t in range(steps)])
        expected.append(per_seq)
    assert_close(out, expected, 1e-5, "genome/sequence/step/output")


def test_recurrent_genomes_really_have_cycles_and_state_matters():
    config, genomes = population(3, 2, 1, 40, False, n=20)
    cyclic = [g for g in genomes if any(0 <= o <= i for (i, o), c in g.connections.items() if c.enabled)]
    assert cyclic, "the recurrent population should contain links from later to earlier nodes"
    phen = NEATPhenotypes(MLPSpec([2, 1]), genomes, 2, 1, recurrent=True, dtype=torch.float64)
    x = torch.ones(4, 2, dtype=torch.float64)
    first, second = phen.forward(x), phen.forward(x)
    assert not torch.equal(first, second)       # the state carried over changes the output
    phen.reset_state()
    assert torch.equal(phen.forward(x), first)  # and a reset restarts the sequences
    with pytest.raises(ValueError, match="reset_state"):
        phen.forward(torch.ones(3, 2, dtype=torch.float64))


def test_float32_population_of_bounded_networks_is_close():
    config, genomes = population(11, 4, 2, 30, True, activations=BOUNDED, n=30)
    x = sequences(11, 30, 16, 1, 4)[:, :, 0]
    out32 = NEATPhenotypes(MLPSpec([4, 2]), genomes, 4, 2).forward(x.float())
    out64 = NEATPhenotypes(MLPSpec([4, 2]), genomes, 4, 2, dtype=torch.float64).forward(x)
    assert out32.dtype == torch.float32
    assert torch.allclose(out32.double(), out64, atol=1e-4, rtol=1e-4)


def test_a_population_equals_each_network_alone_and_select():
    config, genomes = population(5, 3, 2, 30, False, n=8)
    x = sequences(5, 8, 2, 4, 3)
    phen = NEATPhenotypes(MLPSpec([3, 2]), genomes, 3, 2, recurrent=True, dtype=torch.float64)
    together = torch.stack([phen.forward(x[:, :, t]) for t in range(4)])
    for i in (0, 5):
        one = phen.select([i])
        alone = torch.stack([one.forward(x[i:i + 1, :, t]) for t in range(4)])
        assert torch.allclose(together[:, i:i + 1], alone, rtol=1e-12, atol=1e-12)
    assert phen.select(slice(2, 5)).genomes.equal(from_neat_python(genomes[2:5]))


@pytest.mark.parametrize("recurrent", [False, True])
def test_network_tensors_describe_each_network_as_neat_python_evaluates_it(recurrent):
    """Node by node in neat-python's order (layer, then id): its bias, response, functions and the links it reads."""
    config, genomes = population(2, 3, 2, 30, not recurrent, n=6)
    phen = NEATPhenotypes(MLPSpec([3, 2]), from_neat_python(genomes), 3, 2, recurrent=recurrent)
    t = phen.tensors
    N = t["bias"].shape[1]
    assert t["weight"].shape == (6, N, 3 + N) and t["output"].shape == (6, 2)
    gc = config.genome_config
    for p, g in enumerate(genomes):
        if recurrent:
            evals = neat.nn.RecurrentNetwork.create(g, config).node_evals
            order = sorted(node for node, *_ in evals)
        else:
            layers, _ = neat.graphs.feed_forward_layers(gc.input_keys, gc.output_keys,
                                                        [c.key for c in g.connections.values() if c.enabled])
            order = [n for layer in layers for n in sorted(layer)]
            evals = neat.nn.FeedForwardNetwork.create(g, config).node_evals
        column = {-i - 1: i for i in range(3)} | {n: 3 + j for j, n in enumerate(order)}
        assert t["layer"][p, len(order):].eq(-1).all() and t["layer"][p, :len(order)].ge(0).all()
        links = {}
        for node, _, _, bias, response, ins in evals:
            j = order.index(node)
            assert (float(t["bias"][p, j]), float(t["response"][p, j])) == (bias, response)
            assert nf_names(t, p, j) == (g.nodes[node].activation, g.nodes[node].aggregation)
            links |= {(j, column[i]): w for i, w in ins if i in column}
        got = {(j, c): float(t["weight"][p, j, c]) for j, c in t["link"][p].nonzero().tolist()}
        assert got == links
        assert t["output"][p].tolist() == [order.index(k) if k in order else -1 for k in range(2)]


def nf_names(t, p, j):
    from evohyper.families.neat.activations import ACTIVATION_NAMES, AGGREGATION_NAMES

    return ACTIVATION_NAMES[int(t["activation"][p, j])], AGGREGATION_NAMES[int(t["aggregation"][p, j])]


def test_a_perceptron_computes_the_same_feed_forward_or_recurrent():
    """Why P-NEAT may run with feed_forward = False: without hidden nodes every link goes from an input to an
    output, so one step of RecurrentNetwork equals FeedForwardNetwork (and the recurrent phenotype equals both)."""
    config, genomes = population(4, 6, 5, 30, False, activations=["identity", "tanh"], n=5)
    for g in genomes:
        for k in [k for k in g.nodes if k >= 5]:
            del g.nodes[k]
        for key in [key for key in g.connections if key[0] >= 0 or key[1] >= 5]:
            del g.connections[key]
    x = sequences(4, 5, 9, 1, 6)[:, :, 0]
    ff = NEATPhenotypes(MLPSpec([6, 5]), genomes, 6, 5, dtype=torch.float64).forward(x)
    rec = NEATPhenotypes(MLPSpec([6, 5]), genomes, 6, 5, recurrent=True, dtype=torch.float64).forward(x)
    assert torch.equal(ff, rec)
    for p, g in enumerate(genomes):
        net = neat.nn.RecurrentNetwork.create(g, config)
        assert_close(rec[p], [net.activate(r) for r in x[p].tolist()], 1e-12, "sample/output")


@pytest.mark.gpu
@pytest.mark.parametrize("recurrent", [False, True])
def test_cuda_population_matches_cpu(recurrent):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    config, genomes = population(7, 4, 2, 30, not recurrent, activations=BOUNDED, n=40)
    x = sequences(7, 40, 6, 5, 4)
    outs = []
    for device in ("cpu", "cuda"):
        phen = NEATPhenotypes(MLPSpec([4, 2]), genomes, 4, 2, recurrent=recurrent, dtype=torch.float64, device=device)
        outs.append(torch.stack([phen.forward(x[:, :, t].to(device)).cpu() for t in range(5)]))
    assert torch.allclose(outs[0], outs[1], rtol=1e-9, atol=1e-9)
