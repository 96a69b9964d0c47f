"""The cell executor: weight shapes per node, zero weights, batching over individuals and groups."""
from __future__ import annotations

import random

import networkx as nx
import torch

from evohyper.families.nas.executor import CellGroup, evaluate_graphs, group_indices, node_shapes
from evohyper.families.nas.ghn import GHN
from evohyper.families.nas.space import CellSpace, canonicalise


def _cell(ops, edges):
    g = nx.DiGraph()
    for i, op in enumerate(ops):
        g.add_node(i, op=op)
    g.add_edges_from(edges)
    return canonicalise(g)


def test_predicted_weights_have_the_shapes_the_graph_needs():
    space = CellSpace(nodes=7, channels=8)
    ghn = GHN(channels=8, nodes=7, hidden=16)
    rng = random.Random(0)
    graphs = [space.sample(rng) for _ in range(12)]
    for g, params in zip(graphs, ghn.predict(graphs)):
        need = node_shapes(g, 8)
        assert {k: tuple(v.shape) for k, v in params.items()} == need
        weighted = {str(v) for v in g if g.nodes[v]["op"] in ("stem", "conv3x3", "conv5x5", "dwconv3x3", "head")}
        assert {k for k in need if "." not in k} == weighted


def test_shapes_of_a_known_cell():
    g = _cell(["stem", "conv5x5", "dwconv3x3", "maxpool3x3", "head"], [(0, 1), (0, 2), (1, 3), (2, 4), (3, 4)])
    assert node_shapes(g, 4) == {"0": (4, 1, 3, 3), "1": (4, 4, 5, 5), "2": (4, 1, 3, 3),
                                 "4": (10, 16), "4.b": (10,)}


def test_all_zero_weights_give_the_head_bias():
    space = CellSpace(nodes=6, channels=4)
    g = space.sample(random.Random(5))
    params = {k: torch.zeros(3, *s) for k, s in node_shapes(g, 4).items()}
    params["5.b"] = torch.arange(30.0).view(3, 10)
    out = CellGroup(g, params).forward(torch.rand(7, 1, 8, 8))
    assert out.shape == (3, 7, 10)
    assert torch.equal(out, params["5.b"][:, None, :].expand(3, 7, 10))


def test_identity_cell_matches_a_hand_computation():
    g = _cell(["stem", "identity", "head"], [(0, 1), (1, 2)])
    w = torch.randn(2, 3, 1, 3, 3)
    wh, b = torch.randn(2, 10, 12), torch.randn(2, 10)
    x = torch.rand(5, 1, 8, 8)
    out = CellGroup(g, {"0": w, "2": wh, "2.b": b}).forward(x)
    for i in range(2):
        feat = torch.nn.functional.adaptive_avg_pool2d(
            torch.relu(torch.nn.functional.conv2d(x, w[i], padding=1)), 2
        ).flatten(1)
        torch.testing.assert_close(out[i], feat @ wh[i].T + b[i])


def test_group_forward_equals_one_by_one():
    space = CellSpace(nodes=6, channels=4)
    g = space.sample(random.Random(2))
    params = {k: torch.randn(4, *s) * 0.5 for k, s in node_shapes(g, 4).items()}
    x = torch.rand(6, 1, 8, 8)
    together = CellGroup(g, params).forward(x)
    for i in range(4):
        alone = CellGroup(g, {k: v[i : i + 1] for k, v in params.items()}).forward(x)
        torch.testing.assert_close(together[i : i + 1], alone, rtol=1e-4, atol=1e-5)


def test_mixed_population_is_grouped_by_architecture():
    space = CellSpace(nodes=5, channels=4)
    rng = random.Random(1)
    a, b = space.sample(rng), space.sample(rng)
    graphs = [a, b, a, a, b]
    assert sorted(map(sorted, group_indices(graphs).values())) == [[0, 2, 3], [1, 4]]
    calls = []

    def params(idx):
        calls.append(idx)
        return {k: torch.zeros(len(idx), *s) for k, s in node_shapes(graphs[idx[0]], 4).items()}

    y = torch.zeros(9, dtype=torch.long)
    acc = evaluate_graphs(graphs, params, torch.rand(9, 1, 8, 8), y)
    assert len(calls) == 2 and torch.equal(acc, torch.ones(5))  # zero logits -> argmax 0 = label 0
