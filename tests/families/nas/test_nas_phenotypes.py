"""CellPhenotypes (a mixed population of cells) and the ``ghn`` decoder's decode/options."""
from __future__ import annotations

import random

import pytest
import torch

from evohyper.api.conv import ConvSpec
from evohyper.api.phenotypes import MLPSpec
from evohyper.families.nas.decoder import GHNDecoder
from evohyper.families.nas.executor import CellGroup, node_shapes
from evohyper.families.nas.phenotypes import CellArchitecture, CellPhenotypes
from evohyper.families.nas.space import CellSpace, graph_to_json
from evohyper_tasks.digits import DigitsTask

TARGET = ConvSpec([1, 8, 8], [4], 10)


def _decoder(**kw):
    return GHNDecoder(TARGET, **{"nodes": 5, "channels": 4, "hidden": 8, "score_graphs": 4, **kw})


def test_mixed_population_forward_equals_each_cell_alone_in_population_order():
    space = CellSpace(nodes=5, channels=4)
    rng = random.Random(3)
    a, b, c = (space.sample(rng) for _ in range(3))
    members = {0: [1, 4], 1: [0, 3, 5], 2: [2]}                     # interleaved population order
    graphs = {0: a, 1: b, 2: c}
    params = {j: {k: torch.randn(len(m), *s) * 0.5 for k, s in node_shapes(graphs[j], 4).items()}
              for j, m in members.items()}
    phen = CellPhenotypes(TARGET, [1, 8, 8], [CellArchitecture(graphs[j], members[j], params[j]) for j in members])
    x = torch.rand(7, 64)
    out = phen.forward(x)
    assert out.shape == (6, 7, 10) and len(phen) == 6
    for j, m in members.items():
        for k, i in enumerate(m):
            alone = CellGroup(graphs[j], {n: v[k:k + 1] for n, v in params[j].items()}).forward(x.view(7, 1, 8, 8))
            torch.testing.assert_close(out[i], alone[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(phen.forward(x.view(7, 1, 8, 8)), out)
    sub = phen.select([5, 2, 1])
    torch.testing.assert_close(sub.forward(x), out[[5, 2, 1]])
    assert sub.describe()["population"] == 3


def test_shared_weights_run_once_and_are_broadcast_to_every_member():
    g = CellSpace(nodes=5, channels=4).sample(random.Random(0))
    p = {k: torch.randn(1, *s) for k, s in node_shapes(g, 4).items()}
    phen = CellPhenotypes(TARGET, [1, 8, 8], [CellArchitecture(g, [0, 1, 2], p)])
    out = phen.forward(torch.rand(3, 64))
    assert out.shape == (3, 3, 10) and torch.equal(out[0], out[2])
    with pytest.raises(ValueError, match="cover 0..P-1"):
        CellPhenotypes(TARGET, [1, 8, 8], [CellArchitecture(g, [0, 2], p)])
    with pytest.raises(ValueError, match=r"\[B, 64\]"):
        phen.forward(torch.rand(3, 63))


def test_decoder_accepts_json_and_graphs_and_the_digits_task_scores_them():
    dec = _decoder()
    rng = random.Random(1)
    cells = [dec.space.sample(rng) for _ in range(4)]
    mixed = [graph_to_json(cells[0]), cells[1], graph_to_json(cells[2]), cells[3], graph_to_json(cells[0])]
    task = DigitsTask(fitness="accuracy")
    task.setup("cpu")
    with torch.no_grad():
        phen = dec.decode(mixed)
        res = task.evaluate(phen, 0)
        alone = torch.cat([task.evaluate(dec.decode([g]), 0).fitness for g in mixed])
    assert len(phen.architectures) == 4                            # cells 0 and 4 share one pass
    torch.testing.assert_close(res.fitness, alone)
    assert set(task.test_metrics(phen)) == {"test_accuracy", "test_loss"}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"nodes": 2}, r"^decoder.nodes: 2; allowed: an integer in \[3, 12\]$"),
        ({"ops": ["conv9x9"]}, r"^decoder.ops: \['conv9x9'\]; allowed: a non-empty list from \[.*conv3x3"),
        ({"graphs_per_step": 0}, r"^decoder.graphs_per_step: 0; allowed: an integer in \[1, 100000\]$"),
        ({"weights": "/nope.pt"}, "weights"),
    ],
)
def test_decoder_options_name_the_problem(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _decoder(**kwargs)


def test_decoder_needs_a_conv_target_and_valid_cells():
    with pytest.raises(ValueError, match=r"network: \{type: conv\}"):
        GHNDecoder(MLPSpec([64, 10]))
    dec = _decoder()
    other = CellSpace(nodes=6).sample(random.Random(0))
    with pytest.raises(ValueError, match="genotype 1 .*has 6 nodes"):
        dec.decode([dec.space.sample(random.Random(0)), other])
    with pytest.raises(ValueError, match="non-empty list of cells"):
        dec.decode(graph_to_json(other))


def test_training_loss_goes_through_the_task_and_depends_on_the_generator_only():
    dec = _decoder(graphs_per_step=3)
    calls = []

    class Spy(DigitsTask):
        def loss(self, phenotypes, batch):
            calls.append(len(phenotypes))
            return super().loss(phenotypes, batch)

    task = Spy()
    task.setup("cpu")
    batch = next(iter(task.train_batches(16, 0)))
    vec = dec.parameter_vector()
    one = dec.functional_loss(vec, task, batch, torch.Generator().manual_seed(5))[0]
    two = dec.functional_loss(vec, task, batch, torch.Generator().manual_seed(5))[0]
    other = dec.functional_loss(vec, task, batch, torch.Generator().manual_seed(6))[0]
    assert calls == [3, 3, 3] and torch.equal(one, two) and not torch.equal(one, other)


def test_finetune_trains_every_member_on_its_own_loss_and_zero_steps_changes_nothing():
    from evohyper.families.nas.finetune import finetune

    dec = _decoder()
    rng = random.Random(2)
    a, b = dec.space.sample(rng), dec.space.sample(rng)
    task = DigitsTask()
    task.setup("cpu")
    batch = next(iter(task.train_batches(128, 0)))
    with torch.no_grad():
        phen = dec.decode([a, b, a])  # a's two members share weights
        x = batch[0]
        torch.testing.assert_close(finetune(phen, task, 0).forward(x), phen.forward(x))
        before = task.loss(phen, batch)
    tuned = finetune(phen, task, 10, lr=1e-2)
    with torch.no_grad():
        after = task.loss(tuned, batch)
    assert bool((after < before).all()), (before, after)
    torch.testing.assert_close(after[0], after[2])  # same start, same data: same result
    with pytest.raises(ValueError, match="steps must be an integer >= 0"):
        finetune(phen, task, -1)
