"""The GHN: options, determinism, weight normalisation (its training is tested in test_nas_engine.py)."""
from __future__ import annotations

import random

import networkx as nx
import pytest
import torch

from evohyper.families.nas.ghn import GHN
from evohyper.families.nas.space import CellSpace
from evohyper.families.nas.training import train_from_scratch
from evohyper_tasks.digits import image_split


def test_options_are_checked():
    with pytest.raises(ValueError, match="'hidden'.*>= 1.*0"):
        GHN(hidden=0)
    with pytest.raises(ValueError, match="nodes=6"):
        GHN(nodes=6).predict([CellSpace(nodes=5).sample(random.Random(0))])


def test_seeded_init_and_stacked_prediction_agree():
    g = CellSpace().sample(random.Random(0))
    a, b = GHN(seed=3), GHN(seed=3)
    pa = a.predict([g])[0]
    stacked = b.predict_stacked([g, g])
    for k, v in pa.items():
        torch.testing.assert_close(stacked[k][0], v)
        torch.testing.assert_close(stacked[k][1], v)


def test_predicted_conv_weights_are_fan_in_normalised():
    ghn = GHN(channels=16)
    rng = random.Random(0)
    stds = []
    for p in ghn.predict([CellSpace().sample(rng) for _ in range(8)]):
        stds += [
            float(v.detach().std() * (v[0].numel() ** 0.5)) for k, v in p.items() if v.dim() == 4 and v.shape[1] > 1
        ]
    assert stds and all(0.1 < s < 10 for s in stds)  # ~ sqrt(2) * raw std (order 1)


def test_from_scratch_training_learns():
    g = CellSpace(nodes=4, channels=8).sample(random.Random(4))
    res = train_from_scratch(g, 8, data=image_split(), steps=60, seeds=2)
    assert set(res) == {"val_acc", "test_acc"} and res["val_acc"] > 0.3


def _chain(n: int) -> nx.DiGraph:
    import networkx as nx

    from evohyper.families.nas.space import canonicalise

    g = nx.DiGraph()
    g.add_node(0, op="stem")
    for i in range(1, n - 1):
        g.add_node(i, op="conv3x3")
    g.add_node(n - 1, op="head")
    g.add_edges_from((i, i + 1) for i in range(n - 1))
    return canonicalise(g)


def test_virtual_adjacency_is_one_over_distance_up_to_s():
    g = _chain(6)
    _, adj, _ = GHN(nodes=6).encode([g])
    virt = GHN.virtual_adjacency(adj, 3)[0]
    for v in range(6):
        for u in range(6):
            d = v - u
            assert float(virt[v, u]) == pytest.approx(1 / d if 2 <= d <= 3 else 0.0), (v, u)


def test_virtual_edges_carry_a_message_two_hops_in_one_round():
    """Along the chain 0 -> 1 -> 2 -> ..., node 2's update in the first forward step reads node 0 directly
    only through a virtual edge: the virtual-edge MLP's parameters get a gradient from node 2's state
    (and the output changes with them) only when virtual edges are on."""
    g = _chain(6)
    on = GHN(nodes=6, channels=4, hidden=8, virtual_edges=2, seed=1)
    assert not hasattr(GHN(nodes=6, channels=4, hidden=8, seed=1), "msg_sp_fw")
    probe = torch.randn(8, generator=torch.Generator().manual_seed(0))  # (layer norm: a plain sum is constant)
    (on.embeddings([g])[0, 2] * probe).sum().backward()
    grads = [p.grad for p in on.msg_sp_fw.parameters()]
    assert all(gr is not None for gr in grads) and sum(float(gr.abs().sum()) for gr in grads) > 0
    # a cell without any distance-2 pair into node 2 gets no virtual message there (weight 0)
    virt = GHN.virtual_adjacency(on.encode([g])[1], 2)[0]
    assert float(virt[2, 0]) == 0.5 and float(virt[2, 1]) == 0.0 and float(virt[1].abs().sum()) == 0.0


def test_defaults_keep_the_ghn_unchanged_and_options_are_checked():
    g = CellSpace().sample(random.Random(1))
    a, b = GHN(seed=2), GHN(seed=2, virtual_edges=3, passes=2)
    for k, v in a.state_dict().items():  # the new modules are created last: shared params agree
        torch.testing.assert_close(b.state_dict()[k], v)
    assert not torch.allclose(a.embeddings([g]), b.embeddings([g]))
    with pytest.raises(ValueError, match="virtual_edges.*2..5.*1"):
        GHN(nodes=6, virtual_edges=1)
    with pytest.raises(ValueError, match="virtual_edges.*2..5.*6"):
        GHN(nodes=6, virtual_edges=6)
    with pytest.raises(ValueError, match="passes.*1..8.*0"):
        GHN(passes=0)


def test_passes_repeat_the_sweep():
    g = CellSpace().sample(random.Random(2))
    one, two = GHN(seed=4), GHN(seed=4, passes=2)
    assert not torch.allclose(one.embeddings([g]), two.embeddings([g]))
