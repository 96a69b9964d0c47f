"""The cell space: sampled, mutated and crossed-over cells stay valid; hashing/encoding are canonical."""
from __future__ import annotations

import random

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evohyper.families.nas.space import (
    OPS,
    CellSpace,
    canonical_hash,
    canonicalise,
    encoding,
    graph_from_json,
    graph_to_json,
    is_valid,
    validity_problem,
)

spaces = st.builds(CellSpace, nodes=st.integers(3, 9), max_inputs=st.integers(1, 3))


@settings(max_examples=40, deadline=None)
@given(space=spaces, seed=st.integers(0, 2**31), steps=st.integers(1, 15))
def test_mutation_and_crossover_keep_cells_valid(space, seed, steps):
    rng = random.Random(seed)
    a, b = space.sample(rng), space.sample(rng)
    for _ in range(steps):
        (a,) = space.mutate(a, rng)
        a, b = space.crossover(a, b, rng)
        for g in (a, b):
            space.check(g)                                   # raises if invalid
            assert nx.is_directed_acyclic_graph(g)
            assert all(u < v for u, v in g.edges)            # canonical form is topologically numbered
            assert all(1 <= g.in_degree(v) for v in range(1, len(g)))


@settings(max_examples=40, deadline=None)
@given(space=spaces, seed=st.integers(0, 2**31))
def test_hash_and_encoding_are_invariant_to_node_relabelling(space, seed):
    rng = random.Random(seed)
    g = space.sample(rng)
    perm = list(range(len(g)))
    rng.shuffle(perm)
    names = [f"n{p}" for p in perm]                          # arbitrary ids, arbitrary insertion order
    h = nx.DiGraph()
    for v in sorted(g, key=lambda v: perm[v]):
        h.add_node(names[v], op=g.nodes[v]["op"])
    h.add_edges_from((names[u], names[v]) for u, v in g.edges)
    assert canonical_hash(h) == canonical_hash(g)
    assert encoding(canonicalise(h)) == encoding(g)
    assert encoding(graph_from_json(graph_to_json(g))) == encoding(g)


def test_different_cells_hash_differently():
    space = CellSpace(nodes=5)
    rng = random.Random(0)
    cells = [space.sample(rng) for _ in range(200)]
    by_enc = {encoding(c): canonical_hash(c) for c in cells}
    assert len(set(by_enc.values())) == len(by_enc) > 50


def test_validity_checks_name_the_problem():
    g = CellSpace(nodes=4).sample(random.Random(1))
    cyc = g.copy()
    cyc.add_edge(2, 1)
    cyc.add_edge(1, 2)
    assert "cycle" in validity_problem(cyc)
    dangling = g.copy()
    dangling.add_node(99, op="conv3x3")
    assert "path" in validity_problem(dangling)
    bad = g.copy()
    bad.nodes[1]["op"] = "conv7x7"
    assert "conv7x7" in validity_problem(bad) and not is_valid(bad)
    assert "DiGraph" in validity_problem(nx.Graph())
    with pytest.raises(ValueError, match="has 4 nodes, the space has 5"):
        CellSpace(nodes=5).check(g)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"nodes": 2}, "'nodes'.*3..12"),
        ({"max_inputs": 0}, "'max_inputs'"),
        ({"ops": ("conv9x9",)}, "conv9x9.*allowed"),
        ({"channels": True}, "'channels'"),
    ],
)
def test_space_options_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CellSpace(**kwargs)


def test_sampling_covers_every_op():
    space = CellSpace(nodes=8)
    rng = random.Random(3)
    seen = {d["op"] for _ in range(50) for _, d in space.sample(rng).nodes(data=True)}
    assert seen == set(OPS) | {"stem", "head"}
