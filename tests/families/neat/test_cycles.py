"""``cycles.creates_cycle`` (the batched cycle test of add-connection) against ``neat.graphs.creates_cycle``.

Genomes are random graphs over inputs (sources only, as in neat: nothing links into an input) and node
genes, acyclic or not, with disabled genes (they count), several genomes per batch at different sizes and
extra padding, so rows, masks and the level-by-level expansion are all exercised. Every query, including
``src == dst`` and inputs as ``src``, must give neat's answer.
"""
from __future__ import annotations

import neat.graphs
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evohyper.families.neat.cycles import creates_cycle
from evohyper.families.neat.genome import GenomeBatch, pack_key

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def genome(draw):
    """``(node ids, edges, queries)``: a random genome graph and ``(src, dst)`` questions about it."""
    n_in = draw(st.integers(1, 4))
    n_out = draw(st.integers(1, 3))
    hidden = draw(st.lists(st.integers(n_out, 60), max_size=8, unique=True))
    nodes = list(range(n_out)) + sorted(hidden)
    sources = [-(k + 1) for k in range(n_in)] + nodes
    dag = draw(st.booleans())
    rank = {x: i for i, x in enumerate(draw(st.permutations(nodes)))}
    pairs = draw(st.lists(st.tuples(st.sampled_from(sources), st.sampled_from(nodes)), max_size=40))
    edges = sorted({(a, b) for a, b in pairs if not dag or a < 0 or rank[a] < rank[b]})
    queries = draw(st.lists(st.tuples(st.sampled_from(sources), st.sampled_from(nodes)), min_size=1, max_size=6))
    return nodes, edges, queries


def _batch(genomes, pad: int) -> GenomeBatch:
    nodes = [g[0] for g in genomes]
    edges = [g[1] for g in genomes]
    flat_e = [e for es in edges for e in es]
    n = sum(len(x) for x in nodes)
    node_t = {"node_id": torch.tensor([x for xs in nodes for x in xs], dtype=torch.int64)}
    node_t.update({k: torch.zeros(n) for k in ("bias", "response", "time_constant")})
    node_t.update({k: torch.zeros(n, dtype=torch.int64) for k in ("activation", "aggregation")})
    ins = torch.tensor([a for a, _ in flat_e], dtype=torch.int64)
    outs = torch.tensor([b for _, b in flat_e], dtype=torch.int64)
    conn_t = {"conn_key": pack_key(ins, outs), "innovation": torch.arange(len(flat_e)),
              "weight": torch.zeros(len(flat_e)), "enabled": torch.arange(len(flat_e)) % 3 != 0}
    batch = GenomeBatch.from_ragged(torch.arange(len(genomes)), torch.tensor([len(x) for x in nodes]),
                                    torch.tensor([len(x) for x in edges]), node_t, conn_t)
    batch.check()
    return batch.with_widths(batch.node_width + pad, batch.conn_width + pad)


@SETTINGS
@given(st.lists(genome(), min_size=1, max_size=5), st.integers(0, 9))
def test_creates_cycle_equals_neat(genomes, pad):
    batch = _batch(genomes, pad)
    rows, src, dst, expected = [], [], [], []
    for r, (_, edges, queries) in enumerate(genomes):
        for a, b in queries:
            rows.append(r)
            src.append(a)
            dst.append(b)
            expected.append(neat.graphs.creates_cycle(edges, (a, b)))
    got = creates_cycle(batch, torch.tensor(rows), torch.tensor(src), torch.tensor(dst))
    assert got.dtype == torch.bool
    assert got.tolist() == expected


def test_long_chain_needs_many_levels_and_self_loop_is_a_cycle():
    """A path 0 <- 5 <- 6 <- ... <- 40 (36 levels): the expansion must not stop early; ``in == out`` is a cycle."""
    chain = list(range(5, 41))
    edges = [(-1, 40)] + [(b, a) for a, b in zip([0] + chain[:-1], chain)]
    g = ([0] + chain, sorted(edges), [])
    batch = _batch([g, g], 3)
    src, dst = torch.tensor([0, 40]), torch.tensor([40, 0])
    assert creates_cycle(batch, torch.tensor([0, 1]), src, dst).tolist() == \
        [neat.graphs.creates_cycle(edges, (0, 40)), neat.graphs.creates_cycle(edges, (40, 0))] == [True, False]
    same = creates_cycle(batch, torch.tensor([0, 1]), torch.tensor([7, -1]), torch.tensor([7, 0]))
    assert same.tolist() == [True, False]
    assert creates_cycle(batch, torch.tensor([], dtype=torch.int64), torch.tensor([]), torch.tensor([])).numel() == 0
