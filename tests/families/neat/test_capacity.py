"""Capacity of the structural mutations: results never depend on the padded widths, and widths grow (never a
cap) when genomes outgrow them (docs/neat_engine.md, section 2 "Capacity", section 4.1 rule 1)."""
from __future__ import annotations

import neat
import pytest
import torch

from evohyper.families.neat import config as neat_config
from evohyper.families.neat import convert, ini
from evohyper.families.neat.counters import Counters
from evohyper.families.neat.streams import Streams
from evohyper.families.neat.structure import mutate_structure

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _setup(single: bool, feed_forward: bool = True, **rates):
    items = {"popsize": 60, "initial_connection": "full_direct", "num_inputs": 3, "num_outputs": 2,
             "conn_add_prob": 0.7, "conn_delete_prob": 0.3, "node_add_prob": 0.6, "node_delete_prob": 0.2, **rates}
    options = {**ini.DEFAULTS, **items, "feed_forward": feed_forward}
    config, _ = ini.config_from_options(options)
    config.genome_config.single_structural_mutation = single
    pop = neat.Population(config, seed=3)
    return neat_config.from_neat(config), convert.from_neat_python(pop.population, dtype=torch.float32)


def _nodes(n: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(n)  # deterministic, and different per call size
    return {"bias": torch.rand(n, generator=g), "response": torch.ones(n), "time_constant": torch.ones(n),
            "activation": torch.zeros(n, dtype=torch.int8), "aggregation": torch.zeros(n, dtype=torch.int8)}


def _conns(n: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(n + 1)
    return {"weight": torch.randn(n, generator=g), "enabled": torch.rand(n, generator=g) < 0.8}


@pytest.mark.parametrize("single", [False, True])
@pytest.mark.parametrize("feed_forward", [True, False])
def test_widths_8_and_4096_give_bit_identical_results(single, feed_forward):
    cfg, batch = _setup(single, feed_forward)
    runs = []
    for width in (8, 4096):
        b = batch.with_widths(width, width)
        counters = Counters(next_node_id=cfg.num_outputs)
        trace = []
        for gen in range(15):
            rows = torch.arange(len(b))[gen % 2::1 + gen % 2]  # every row, then every other row
            b = mutate_structure(b, rows, cfg, Streams(7, gen), counters, _nodes, _conns)
            b.check()
            trace.append(b.trim())
        runs.append((trace, counters.state(), b))
    (trace8, state8, last8), (trace4k, state4k, last4k) = runs
    assert state8 == state4k
    assert last8.node_width > 8 and last4k.node_width == last4k.conn_width == 4096  # 8 grew, 4096 stayed
    for a, b in zip(trace8, trace4k):
        for name, t in a._tensors().items():
            assert torch.equal(t, getattr(b, name)), name
    assert int(trace8[-1].n_conns.max()) > 8


def test_widths_grow_and_are_never_capped():
    cfg, batch = _setup(False, node_add_prob=1.0, conn_add_prob=1.0, node_delete_prob=0.0, conn_delete_prob=0.0)
    b = batch.trim()
    counters = Counters(next_node_id=cfg.num_outputs)
    before = b.n_conns.clone()
    widths = [(b.node_width, b.conn_width)]
    for gen in range(25):
        b = mutate_structure(b, torch.arange(len(b)), cfg, Streams(1, gen), counters, _nodes, _conns)
        b.check()
        widths.append((b.node_width, b.conn_width))
        assert b.node_width >= int(b.n_nodes.max()) and b.conn_width >= int(b.n_conns.max())
    assert int(b.n_nodes.min()) == cfg.num_outputs + 25  # one node per pass and row: nothing refused
    assert bool((b.n_conns >= before + 2 * 25).all())
    assert widths[-1][1] > 4 * widths[0][1]
    assert all(w1 >= w0 for (_, w0), (_, w1) in zip(widths, widths[1:]))
    grown = [w for w0, w in zip(widths, widths[1:]) if w != w0]
    assert all(n % 8 == 0 and c % 8 == 0 for n, c in grown)
