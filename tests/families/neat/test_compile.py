"""The batched compile of a GenomeBatch must reproduce neat-python's planning and networks on any genome.

Two levels: the plan itself (evaluated nodes, their layers, the links read) equals neat-python's
``feed_forward_layers`` / ``RecurrentNetwork.create`` exactly, node for node; and the compiled population's
outputs equal ``FeedForwardNetwork`` / ``RecurrentNetwork`` (1e-5 in float64) on the original genomes and on
the ``to_neat_python`` conversions of the rows.
"""
import math

import neat
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from neat.graphs import feed_forward_layers

from evohyper.families.neat import activations as nf
from evohyper.families.neat.compile import compile_cppns, compile_networks, plan_networks, row_plan
from evohyper.families.neat.convert import from_neat_python, to_neat_python
from evohyper.testing.neat_genomes import cppn_config, random_genomes

#: populations of several kinds: (config options, feed_forward)
KINDS = {
    "full": ({}, True),
    "hidden": ({"num_hidden": 3, "initial_connection": "full_nodirect"}, True),
    "unconnected": ({"initial_connection": "unconnected", "conn_add_prob": 0.3}, True),
    "disabled": ({"enabled_mutate_rate": 0.5, "conn_delete_prob": 0.0}, True),
    "fs_neat": ({"initial_connection": "fs_neat_hidden", "num_hidden": 2}, True),
    "recurrent": ({}, False),
    "recurrent_hidden": ({"num_hidden": 2, "enabled_mutate_rate": 0.4}, False),
}


def _reference(genomes, config, inputs):
    nets = [neat.nn.FeedForwardNetwork.create(g, config) for g in genomes]
    return [[net.activate(list(x)) for x in inputs.tolist()] for net in nets]


def _assert_matches(out, ref, tol=1e-5):
    """Every output within ``tol`` (relative above 1; values beyond 1e6 only checked for sign/inf)."""
    for g, rows in enumerate(ref):
        for q, outs in enumerate(rows):
            for o, expected in enumerate(outs):
                got = float(out[g, o, q])
                if not math.isfinite(expected) or abs(expected) > 1e6:
                    continue  # overflowing exp/cube chains: neat-python itself is at float range limits
                assert abs(got - expected) <= tol * max(1.0, abs(expected)), \
                    f"genome {g} output {o} query {q}: torch {got!r} != neat-python {expected!r}"


def _population(kind, seed, n_in, n_out, n=6, mutations=30):
    options, feed_forward = KINDS[kind]
    config = cppn_config(n_in, n_out, feed_forward=feed_forward, **options)
    return config, random_genomes(config, n, mutations=mutations, seed=seed)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), num_inputs=st.integers(1, 6), num_outputs=st.integers(1, 3),
       mutations=st.integers(0, 40), dtype=st.sampled_from([torch.float64, torch.float32]))
def test_random_genomes_match_neat_python_feed_forward(seed, num_inputs, num_outputs, mutations, dtype):
    config = cppn_config(num_inputs, num_outputs)
    genomes = random_genomes(config, 6, mutations=mutations, seed=seed)
    inputs = torch.rand(17, num_inputs, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 2 - 1
    out = compile_cppns(from_neat_python(genomes), num_inputs, num_outputs, dtype=dtype).query(inputs)
    assert out.shape == (6, num_outputs, 17)
    if dtype == torch.float64:
        _assert_matches(out, _reference(genomes, config, inputs))
    else:  # float32 on the bounded activations HyperNEAT uses
        bounded = cppn_config(num_inputs, num_outputs,
                              activations=["sigmoid", "tanh", "sin", "gauss", "abs", "identity", "clamped", "hat"],
                              aggregations=["sum", "max", "mean"])
        genomes = random_genomes(bounded, 6, mutations=mutations, seed=seed)
        out = compile_cppns(from_neat_python(genomes), num_inputs, num_outputs, dtype=dtype).query(inputs)
        # float32 rounding (eps 6e-8) compounds along chains of up to ~40 mutated nodes: over 150 random
        # examples the worst error was 1.5e-5 (median 6e-7), so 1e-5 failed about 1 run in 100; float64
        # above is held to 1e-5 (measured: 6e-8).
        _assert_matches(out, _reference(genomes, bounded, inputs), tol=1e-4)


def _neat_plan(genome, config, recurrent):
    """neat-python's own plan: ({node: layer index}, {(in, out) links read})."""
    gc = config.genome_config
    if recurrent:
        net = neat.nn.RecurrentNetwork.create(genome, config)
        return ({node: 0 for node, *_ in net.node_evals},
                {(i, node) for node, *_, links in net.node_evals for i, _ in links})
    enabled = [c.key for c in genome.connections.values() if c.enabled]
    layers, _ = feed_forward_layers(gc.input_keys, gc.output_keys, enabled)
    net = neat.nn.FeedForwardNetwork.create(genome, config)
    return ({n: li for li, layer in enumerate(layers) for n in layer},
            {(i, node) for node, *_, links in net.node_evals for i, _ in links})


@settings(max_examples=20, deadline=None)
@given(kind=st.sampled_from(sorted(KINDS)), seed=st.integers(0, 10_000), n_in=st.integers(1, 5),
       n_out=st.integers(1, 3), mutations=st.integers(0, 50))
def test_plan_is_neat_pythons_node_for_node(kind, seed, n_in, n_out, mutations):
    """Evaluated nodes, their layer indices and the links read equal neat-python's, for every genome."""
    config, genomes = _population(kind, seed, n_in, n_out, n=8, mutations=mutations)
    recurrent = not KINDS[kind][1]
    batch = from_neat_python(genomes)
    plan = plan_networks(batch, n_in, n_out, recurrent=recurrent)
    for p, genome in enumerate(genomes):
        layers, links = _neat_plan(genome, config, recurrent)
        mine = row_plan(plan, batch, p)
        assert {n: li for li, layer in enumerate(mine.layers) for n in layer} == layers, f"genome {p} layers"
        assert {(i, o) for o, ins in mine.incoming.items() for i, _ in ins} == links, f"genome {p} links"


@settings(max_examples=20, deadline=None)
@given(kind=st.sampled_from(sorted(KINDS)), seed=st.integers(0, 10_000), n_in=st.integers(1, 5),
       n_out=st.integers(1, 3), steps=st.integers(1, 6))
def test_compiled_population_matches_neat_python_on_converted_genomes(kind, seed, n_in, n_out, steps):
    """Any kind of population (disabled genes, hidden and unconnected nodes, recurrent): the batch's outputs
    equal neat-python's networks built from ``to_neat_python`` of each row, and from the original genomes."""
    config, genomes = _population(kind, seed, n_in, n_out)
    recurrent = not KINDS[kind][1]
    batch = from_neat_python(genomes)
    converted = [to_neat_python(batch, p, config.genome_config) for p in range(len(batch))]
    P = len(batch)
    x = torch.rand(P, 3, steps, n_in, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 4 - 2
    net = compile_networks(batch, n_in, n_out, recurrent=recurrent, shared_inputs=False, dtype=torch.float64)
    if recurrent:
        state = net.initial_state(3)
        out = torch.stack([net.step(x[:, :, t], state) for t in range(steps)], dim=3)    # [P, n_out, 3, T]
    else:
        out = net.query(x[:, :, 0])[..., None]                                           # [P, n_out, 3, 1]
    compared = 0
    for source in (genomes, converted):
        for p, genome in enumerate(source):
            for b in range(3):
                try:
                    if recurrent:
                        ref = neat.nn.RecurrentNetwork.create(genome, config)
                        expected = [ref.activate(x[p, b, t].tolist()) for t in range(steps)]
                    else:
                        ref = neat.nn.FeedForwardNetwork.create(genome, config)
                        expected = [ref.activate(x[p, b, 0].tolist())]
                except OverflowError:  # neat-python's Python floats raise where a recurrent cube/exp chain
                    continue           # passes 1e308 (torch gives inf): no reference value to compare with
                _assert_matches(out[p:p + 1, :, b], [expected])
                compared += 1
    assert compared >= 3 * len(genomes), f"only {compared} of {6 * len(genomes)} activations had a reference"


@pytest.mark.parametrize("name", nf.ACTIVATION_NAMES)
def test_each_activation_matches_neat_python(name):
    z = torch.tensor([-100.0, -13.0, -3.5, -1.0, -0.3, -1e-9, 0.0, 1e-9, 0.2, 0.9, 3.3, 12.0, 100.0],
                     dtype=torch.float64)
    f = neat.activations.ActivationFunctionSet().get(name)
    got = nf.ACTIVATIONS[name](z.clone())
    for zi, gi in zip(z.tolist(), got.tolist()):
        expected = f(zi)
        assert gi == pytest.approx(expected, rel=1e-12, abs=1e-12), f"{name}({zi}) = {gi}, neat-python {expected}"


@pytest.mark.parametrize("name", nf.AGGREGATION_NAMES)
def test_each_aggregation_matches_neat_python_including_empty(name):
    f = neat.aggregations.AggregationFunctionSet().get(name)
    rows = [[], [0.5], [-2.0, 1.0], [3.0, -3.0, 1.0], [0.1, -0.7, 0.4, 2.0], [1.0, 2.0, 3.0, 4.0, -9.0]]
    D = max(len(r) for r in rows)
    x = torch.zeros(len(rows), D, 1, dtype=torch.float64)
    mask = torch.zeros(len(rows), D, dtype=torch.bool)
    for i, r in enumerate(rows):
        x[i, :len(r), 0] = torch.tensor(r, dtype=torch.float64)
        mask[i, :len(r)] = True
    got = nf.AGGREGATIONS[name](x, mask)[:, 0].tolist()
    assert got == pytest.approx([f(r) for r in rows], rel=1e-12), name


def test_genomes_of_different_depth_do_not_interfere():
    """A population query equals each genome queried alone, and the widths of the batch do not matter."""
    config = cppn_config(4, 2, activations=["tanh", "sin", "gauss"], aggregations=["sum", "product"])
    batch = from_neat_python(random_genomes(config, 8, mutations=30, seed=3))
    x = torch.rand(11, 4, dtype=torch.float64)
    together = compile_cppns(batch, 4, 2, dtype=torch.float64).query(x)
    alone = torch.cat([compile_cppns(batch[i], 4, 2, dtype=torch.float64).query(x) for i in range(len(batch))])
    assert torch.allclose(together, alone, rtol=1e-12, atol=1e-12)
    wide = batch.with_widths(batch.node_width + 5, batch.conn_width + 9)
    assert torch.equal(compile_cppns(wide, 4, 2, dtype=torch.float64).query(x), together)
    assert compile_cppns(batch, 4, 2).stats["layers"] >= 2  # the population really mixes depths


def test_unsupported_activation_is_a_clear_error():
    config = cppn_config(2, 1, activations=["tanh"], aggregations=["sum"])
    g = random_genomes(config, 1, mutations=0)[0]
    g.nodes[0].activation = "my_custom"
    with pytest.raises(ValueError, match="my_custom"):
        from_neat_python([g])


def test_a_connection_to_a_missing_node_is_a_clear_error():
    config = cppn_config(2, 1, activations=["tanh"], aggregations=["sum"])
    g = random_genomes(config, 1, mutations=0)[0]
    g.connections[(7, 0)] = config.genome_config.connection_gene_type((7, 0), innovation=99)
    g.connections[(7, 0)].weight, g.connections[(7, 0)].enabled = 1.0, True
    with pytest.raises(ValueError, match=r"genome 0: connection \(7, 0\)"):
        compile_cppns(from_neat_python([g]), 2, 1)


def test_cycles_in_a_feed_forward_compile_leave_nodes_unevaluated_like_neat_python():
    """A cycle (a recurrent genome compiled feed-forward): neat-python never makes its nodes ready; outputs
    behind it read 0; nothing loops forever."""
    config = cppn_config(1, 1, activations=["identity"], aggregations=["sum"])
    g = random_genomes(config, 1, mutations=0)[0]
    gc = config.genome_config
    g.nodes[5] = gc.node_gene_type(5)
    g.nodes[5].bias, g.nodes[5].response, g.nodes[5].time_constant = 0.0, 1.0, 1.0
    g.nodes[5].activation, g.nodes[5].aggregation = "identity", "sum"
    for key in [(-1, 5), (5, 0), (0, 5)]:
        c = gc.connection_gene_type(key, innovation=len(g.connections) + 10)
        c.weight, c.enabled = 1.0, True
        g.connections[key] = c
    plan = plan_networks(from_neat_python([g]), 1, 1)
    assert plan.layer[0, :2].tolist() == [-1, -1]
    out = compile_cppns(from_neat_python([g]), 1, 1, dtype=torch.float64).query(torch.ones(2, 1, dtype=torch.float64))
    assert out.tolist() == [[[0.0, 0.0]]]
    net = neat.nn.FeedForwardNetwork.create(g, config)
    assert net.activate([1.0]) == [0.0]
