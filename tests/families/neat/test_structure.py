"""``structure.mutate_structure`` (S7-S12) against neat-python 2.0's ``DefaultGenome.mutate`` and its four
``mutate_*`` operators.

Exact, under shared draws: the engine runs with ``Streams(record=True)``; neat then mutates the same
genomes (``convert.to_neat_python``) with ``neat.genome.random`` serving the engine's ``structure``
uniforms and ``neat.genome.choice`` picking, from neat's own candidate list, the element the engine's
uniform selects under the engine's order (connections by key, nodes by id, inputs -1, -2, ... before
hidden nodes). The operator calling ``choice`` is read from the caller's frame, and add-node's fallback to
add-connection from the frame above it, so each operator consumes its own queue; every queue must be
empty at the end. Attribute mutation is switched off on neat's side (the structural pass alone) and new
genes' attributes are fixed constants on both sides. Compared: every key, node id, attribute, weight and
enabled flag exactly; innovation numbers up to one bijection over the population (S12, 3.1).

Distributional, under independent draws: operator firing counts and the joint change in node and
connection counts, chi-squared at p > 0.01 with fixed seeds, and a power check where a wrong rate fails.
"""
from __future__ import annotations

import configparser
import copy
import dataclasses
import io
import math
import random
import sys
import zlib
from collections import Counter as Tally
from collections import deque
from itertools import count
from pathlib import Path
from unittest import mock

import neat
import neat.genome
import networkx as nx
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from neat.innovation import InnovationTracker
from scipy.stats import chi2_contingency

from evohyper.families.neat import config as neat_config
from evohyper.families.neat import convert, ini
from evohyper.families.neat.activations import ACTIVATION_NAMES, AGGREGATION_NAMES
from evohyper.families.neat.counters import Counters
from evohyper.families.neat.streams import Streams
from evohyper.families.neat.structure import mutate_structure

pytestmark = pytest.mark.usefixtures("one_torch_thread")
XOR = Path(__file__).resolve().parents[3] / "search_spaces" / "neat_python" / "xor-config-feedforward"
#: what the evolved test populations look like (grown, with hidden nodes and disabled genes)
GROW = {"node_add_prob": 0.5, "node_delete_prob": 0.2, "conn_add_prob": 0.6, "conn_delete_prob": 0.3,
        "enabled_mutate_rate": 0.3}
NEW_NODE = {"bias": 0.5, "response": 1.5, "time_constant": 2.5, "activation": "tanh", "aggregation": "max"}
NEW_CONN = {"weight": 0.75, "enabled": False}  # add-node overwrites both; add-connection keeps them
_CACHE: dict[tuple, list] = {}


def make_config(pop_size: int = 40, **genome_items) -> neat.Config:
    """The XOR example config with ``[DefaultGenome]`` items replaced."""
    parser = configparser.ConfigParser()
    parser.read_string(XOR.read_text())
    parser.set("NEAT", "pop_size", str(pop_size))
    parser.set("DefaultGenome", "activation_options", "sigmoid tanh")
    parser.set("DefaultGenome", "aggregation_options", "sum max")
    for k, v in genome_items.items():
        parser.set("DefaultGenome", k, str(v))
    out = io.StringIO()
    parser.write(out)
    return ini.config_from_text(out.getvalue())


def population(seed: int, generations: int = 6, pop_size: int = 40, empty: int = 4, **items) -> list:
    """neat genomes after ``generations`` of neat's reproduction under random fitness; the first ``empty``
    lose every connection (add node's fallback), one keeps only its outputs' nodes."""
    key = (seed, generations, pop_size, empty, tuple(sorted(items.items())))
    if key not in _CACHE:
        config = make_config(pop_size, **{**GROW, **items})
        pop = neat.Population(config, seed=seed)
        rng = random.Random(seed)

        def fitness(genomes, _config):
            for _, g in genomes:
                g.fitness = rng.random()

        pop.run(fitness, generations)
        genomes = [copy.deepcopy(g) for g in pop.population.values()]
        outputs = set(config.genome_config.output_keys)
        for g in genomes[:empty]:
            g.connections.clear()
        if empty:
            genomes[0].nodes = {k: n for k, n in genomes[0].nodes.items() if k in outputs}
        _CACHE[key] = genomes
    return _CACHE[key]


def new_nodes(n: int) -> dict[str, torch.Tensor]:
    out = {k: torch.full((n,), NEW_NODE[k], dtype=torch.float64) for k in ("bias", "response", "time_constant")}
    out["activation"] = torch.full((n,), ACTIVATION_NAMES.index(NEW_NODE["activation"]), dtype=torch.int8)
    out["aggregation"] = torch.full((n,), AGGREGATION_NAMES.index(NEW_NODE["aggregation"]), dtype=torch.int8)
    return out


def new_connections(n: int) -> dict[str, torch.Tensor]:
    return {"weight": torch.full((n,), NEW_CONN["weight"], dtype=torch.float64),
            "enabled": torch.full((n,), NEW_CONN["enabled"], dtype=torch.bool)}


def _node_init(self, config):
    for k, v in NEW_NODE.items():
        setattr(self, k, v)


def _conn_init(self, config):
    for k, v in NEW_CONN.items():
        setattr(self, k, v)


def _pick(u: float, items: list):
    return items[min(int(u * len(items)), len(items) - 1)]


class SharedDraws:
    """neat's ``random``/``choice`` fed from the engine's recorded draws (see the module docstring)."""

    def __init__(self, draws: dict[str, list[torch.Tensor]], surer: bool):
        self.random = deque(draws["structure"][0].reshape(-1).tolist())
        self.queues = {op: deque(draws[op][0].tolist()) for op in ("add_node", "delete_node", "delete_connection")}
        calls = draws["add_connection"]
        self.queues["fallback"] = deque(calls[0].tolist() if surer else [])
        self.queues["add_connection"] = deque(calls[-1].tolist())
        assert len(calls) == (2 if surer else 1)
        self.pending: float | None = None

    def next_random(self) -> float:
        return self.random.popleft()

    def choice(self, seq):
        caller = sys._getframe(1).f_code.co_name
        seq = list(seq)
        if caller == "mutate_add_node":
            return _pick(self.queues["add_node"].popleft(), sorted(seq, key=lambda c: c.key))
        if caller == "mutate_delete_node":
            return _pick(self.queues["delete_node"].popleft(), sorted(seq))
        if caller == "mutate_delete_connection":
            return _pick(self.queues["delete_connection"].popleft(), sorted(seq))
        assert caller == "mutate_add_connection", caller
        if any(x < 0 for x in seq):  # the inputs' list: inputs -1, -2, ... first, then hidden ascending
            u, self.pending = self.pending, None
            return _pick(u, sorted(seq, key=lambda x: (0, -x) if x < 0 else (1, x)))
        fallback = sys._getframe(2).f_code.co_name == "mutate_add_node"
        u_out, self.pending = self.queues["fallback" if fallback else "add_connection"].popleft()
        return _pick(u_out, sorted(seq))

    def assert_used(self) -> None:
        assert not self.random and self.pending is None
        assert all(not q for q in self.queues.values()), {k: len(q) for k, q in self.queues.items()}


def neat_structural(genomes: list, config: neat.Config, draws=None, node_start: int | None = None,
                    innovation_start: int = 10**7) -> list:
    """neat's ``mutate`` on copies of ``genomes`` with attribute mutation switched off; shared draws if given."""
    gc = config.genome_config
    gc.node_indexer = None if node_start is None else count(node_start)
    gc.innovation_tracker = InnovationTracker(innovation_start)
    patches = [mock.patch.object(neat.genes.DefaultConnectionGene, "mutate", lambda self, c: None),
               mock.patch.object(neat.genes.DefaultNodeGene, "mutate", lambda self, c: None),
               mock.patch.object(neat.genes.DefaultNodeGene, "init_attributes", _node_init),
               mock.patch.object(neat.genes.DefaultConnectionGene, "init_attributes", _conn_init)]
    shared = None
    if draws is not None:
        shared = SharedDraws(draws, gc.check_structural_mutation_surer())
        patches += [mock.patch.object(neat.genome, "random", shared.next_random),
                    mock.patch.object(neat.genome, "choice", shared.choice)]
    out = []
    for p in patches:
        p.start()
    try:
        for g in genomes:
            g = copy.deepcopy(g)
            g.mutate(gc)
            out.append(g)
    finally:
        for p in reversed(patches):
            p.stop()
    if shared is not None:
        shared.assert_used()
    return out


def engine(batch, config: neat.Config, seed: int, rows=None, node_start: int | None = None, record: bool = True,
           cfg=None):
    cfg = cfg or neat_config.from_neat(config)
    streams = Streams(seed, 5, record=record)
    counters = Counters(next_node_id=node_start, innovation=10**6)
    rows = torch.arange(len(batch)) if rows is None else rows
    out = mutate_structure(batch, rows, cfg, streams, counters, new_nodes, new_connections)
    out.check()
    return out, streams, counters


def assert_same_up_to_innovations(got, ref) -> None:
    """Same genes and attributes bit for bit; innovation numbers related by one bijection."""
    n, c = max(got.node_width, ref.node_width), max(got.conn_width, ref.conn_width)
    a, b = got.with_widths(n, c), ref.with_widths(n, c)
    for name in ("gid", "n_nodes", "n_conns", "node_id", "bias", "response", "time_constant", "activation",
                 "aggregation", "conn_key", "weight", "enabled"):
        x, y = getattr(a, name), getattr(b, name)
        assert torch.equal(x, y), (name, (x != y).nonzero()[:5].tolist())
    live = a.conn_live
    pairs = torch.stack([a.innovation[live], b.innovation[live]], dim=1)
    assert len(torch.unique(pairs, dim=0)) == len(torch.unique(pairs[:, 0])) == len(torch.unique(pairs[:, 1]))


RATES = {  # one operator alone, all four, all four always
    "add_node": dict(node_add_prob=0.9, node_delete_prob=0.0, conn_add_prob=0.0, conn_delete_prob=0.0),
    "delete_node": dict(node_add_prob=0.0, node_delete_prob=0.9, conn_add_prob=0.0, conn_delete_prob=0.0),
    "add_connection": dict(node_add_prob=0.0, node_delete_prob=0.0, conn_add_prob=0.9, conn_delete_prob=0.0),
    "delete_connection": dict(node_add_prob=0.0, node_delete_prob=0.0, conn_add_prob=0.0, conn_delete_prob=0.9),
    "all": dict(node_add_prob=0.4, node_delete_prob=0.3, conn_add_prob=0.5, conn_delete_prob=0.3),
    "always": dict(node_add_prob=1.0, node_delete_prob=1.0, conn_add_prob=1.0, conn_delete_prob=1.0),
}
MODES = {"plain": dict(single_structural_mutation=False, structural_mutation_surer="default"),
         "plain_surer": dict(single_structural_mutation=False, structural_mutation_surer="true"),
         "single": dict(single_structural_mutation=True, structural_mutation_surer="default"),
         "single_unsure": dict(single_structural_mutation=True, structural_mutation_surer="false")}
KINDS = {"ff": {}, "recurrent": dict(feed_forward=False), "hidden": dict(num_hidden=2),
         "wide": dict(num_inputs=12, num_outputs=10, num_hidden=3, initial_connection="full_direct")}
GENERATIONS = {"ff": 6, "recurrent": 6, "hidden": 6, "wide": 2}  # wide: neat's crossover is slow there


@pytest.mark.parametrize("rates", list(RATES))
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("kind", list(KINDS))
def test_equals_neat_mutate_under_shared_draws(rates, mode, kind):
    seed = zlib.crc32(f"{rates}/{mode}/{kind}".encode()) % 1000
    genomes = population(seed % 3, GENERATIONS[kind], **KINDS[kind])
    config = make_config(**RATES[rates], **MODES[mode], **KINDS[kind])
    batch = convert.from_neat_python(genomes)
    start = 1000 + seed
    got, streams, counters = engine(batch, config, seed, node_start=start)
    ref = neat_structural(genomes, config, streams.draws, node_start=start)
    assert_same_up_to_innovations(got, convert.from_neat_python(ref))
    assert counters.next_node_id == next(config.genome_config.node_indexer)
    assert not got.equal(batch)  # something happened


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2), st.integers(0, 2**31), st.sampled_from(list(MODES)), st.sampled_from(list(KINDS)),
       st.lists(st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]), min_size=4, max_size=4))
def test_equals_neat_mutate_under_shared_draws_any_seed_and_rates(pop_seed, seed, mode, kind, rates):
    genomes = population(pop_seed, GENERATIONS[kind], **KINDS[kind])
    probs = dict(zip(("node_add_prob", "node_delete_prob", "conn_add_prob", "conn_delete_prob"), rates))
    config = make_config(**probs, **MODES[mode], **KINDS[kind])
    batch = convert.from_neat_python(genomes)
    got, streams, _ = engine(batch, config, seed, node_start=5000)
    ref = neat_structural(genomes, config, streams.draws, node_start=5000)
    assert_same_up_to_innovations(got, convert.from_neat_python(ref))


def test_lazy_node_counter_starts_like_neat():
    """Unstarted counters: both start at the first genome that splits a connection (S12)."""
    genomes = population(3)
    config = make_config(**RATES["add_node"])  # no deletion: the first genome with a new node split first
    batch = convert.from_neat_python(genomes)
    got, streams, counters = engine(batch, config, 11)
    ref = neat_structural(genomes, config, streams.draws)
    assert_same_up_to_innovations(got, convert.from_neat_python(ref))
    first = next(i for i, (a, b) in enumerate(zip(genomes, ref)) if set(b.nodes) - set(a.nodes))
    first_new = min(set(ref[first].nodes) - set(genomes[first].nodes))
    assert first_new == max(genomes[first].nodes) + 1


def test_only_the_given_rows_change_in_the_given_order():
    genomes = population(4)
    config = make_config(**RATES["always"])
    batch = convert.from_neat_python(genomes)
    rows = torch.tensor([7, 2, 30, 11, 0])
    got, streams, _ = engine(batch, config, 5, rows=rows, node_start=500)
    untouched = torch.ones(len(batch), dtype=torch.bool)
    untouched[rows] = False
    assert bool(got.row_equal(batch)[untouched].all()) and not bool(got.row_equal(batch)[rows].all())
    wide = batch.with_widths(got.node_width, got.conn_width)
    for name, t in wide._tensors().items():  # every slot, padding included
        assert torch.equal(getattr(got, name)[untouched], t[untouched]), name
    ref = neat_structural([genomes[i] for i in rows.tolist()], config, streams.draws, node_start=500)
    assert_same_up_to_innovations(got[rows], convert.from_neat_python(ref))
    assert convert.from_neat_python(genomes).equal(batch)  # the input batch is not modified


def test_add_connection_shares_numbers_within_the_generation():
    """Two genomes adding the same key in one call get one number; neat agrees up to the bijection."""
    genomes = [copy.deepcopy(g) for g in population(5)[4:]] * 3  # each genome three times: same candidates
    config = make_config(**RATES["add_connection"])
    batch = convert.from_neat_python(genomes)
    got, streams, _ = engine(batch, config, 9, node_start=900)
    ref = neat_structural(genomes, config, streams.draws, node_start=900)
    assert_same_up_to_innovations(got, convert.from_neat_python(ref))
    new = got.innovation[got.conn_live & (got.innovation > 10**6)]
    assert len(new) > len(torch.unique(new))  # at least one key was added twice


# ---------------------------------------------------------------------------------------------- distributions
def _outcomes(before: list, after: list) -> list[tuple[int, int]]:
    return [(len(b.nodes) - len(a.nodes), len(b.connections) - len(a.connections)) for a, b in zip(before, after)]


def _chi2_p(a: Tally, b: Tally) -> float:
    """p of a chi-squared test of two samples of categories; categories rarer than 10 in all are pooled."""
    cats = sorted(set(a) | set(b))
    rare = [k for k in cats if a[k] + b[k] < 10]
    keep = [k for k in cats if k not in rare]
    table = [[a[k] for k in keep] + [sum(a[k] for k in rare)], [b[k] for k in keep] + [sum(b[k] for k in rare)]]
    table = [list(col) for col in zip(*table) if sum(col) > 0]
    table = [list(row) for row in zip(*table)]
    if len(table[0]) < 2:
        return 1.0
    return float(chi2_contingency(table)[1])


def _neat_firing(genomes: list, config: neat.Config, seed: int) -> tuple[list, Tally]:
    """neat's structural pass under its own draws, counting the operators ``mutate`` itself called."""
    fired: Tally = Tally()
    originals = {op: getattr(neat.DefaultGenome, op) for op in
                 ("mutate_add_node", "mutate_delete_node", "mutate_add_connection", "mutate_delete_connection")}

    def counting(op):
        def wrapper(self, *args):
            if sys._getframe(1).f_code.co_name == "mutate":
                fired[op] += 1
            return originals[op](self, *args)
        return wrapper

    random.seed(seed)
    with mock.patch.multiple(neat.DefaultGenome, **{op: counting(op) for op in originals}):
        after = neat_structural(genomes, config, node_start=10_000)
    return after, fired


def _engine_firing(batch, config, seed, cfg=None) -> tuple[list[tuple[int, int]], Tally]:
    cfg = cfg or neat_config.from_neat(config)
    got, streams, _ = engine(batch, config, seed, node_start=10_000, cfg=cfg)
    u = streams.draws["structure"][0]
    probs = [cfg.node_add_prob, cfg.node_delete_prob, cfg.conn_add_prob, cfg.conn_delete_prob]
    names = ("mutate_add_node", "mutate_delete_node", "mutate_add_connection", "mutate_delete_connection")
    if cfg.single_structural_mutation:
        div = max(1, sum(probs))
        edges = [sum(probs[:i + 1]) / div for i in range(4)]
        which = [next((i for i, e in enumerate(edges) if x < e), None) for x in u.tolist()]
        fired = Tally(names[i] for i in which if i is not None)
    else:
        fired = Tally({names[i]: int((u[:, i] < probs[i]).sum()) for i in range(4)})
    changes = list(zip((got.n_nodes - batch.n_nodes).tolist(), (got.n_conns - batch.n_conns).tolist()))
    return changes, fired


REPEATS = 30


@pytest.mark.parametrize("mode", list(MODES))
def test_structural_pass_distribution_equals_neat(mode):
    genomes = population(8, pop_size=60, empty=10) * REPEATS  # 1,800 structural passes per engine
    config = make_config(pop_size=60, **RATES["all"], **MODES[mode])
    after, neat_fired = _neat_firing(genomes, config, seed=17)
    neat_changes = Tally(_outcomes(genomes, after))
    batch = convert.from_neat_python(genomes)
    changes, fired = _engine_firing(batch, config, seed=23)
    p_changes = _chi2_p(neat_changes, Tally(changes))
    assert p_changes > 0.01, (p_changes, neat_changes, Tally(changes))
    for op in ("mutate_add_node", "mutate_delete_node", "mutate_add_connection", "mutate_delete_connection"):
        n = len(genomes)
        p = _chi2_p(Tally({0: neat_fired[op], 1: n - neat_fired[op]}), Tally({0: fired[op], 1: n - fired[op]}))
        assert p > 0.01, (op, p, neat_fired[op], fired[op])
    # power: the same test on an engine with one wrong rate must fail
    wrong = neat_config.from_neat(config)
    wrong = dataclasses.replace(wrong, node_delete_prob=wrong.node_delete_prob * 1.6)
    bad_changes, _ = _engine_firing(batch, config, seed=23, cfg=wrong)
    assert _chi2_p(neat_changes, Tally(bad_changes)) < 0.01


# ---------------------------------------------------------------------------------------------- properties
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**20), st.sampled_from(list(MODES)))
def test_feed_forward_offspring_stay_acyclic(seed, mode):
    """Many passes at high rates: every row passes ``check()`` and its graph (all genes) stays acyclic."""
    config = make_config(**{**RATES["all"], "conn_add_prob": 0.9}, **MODES[mode])
    cfg = neat_config.from_neat(config)
    batch = convert.from_neat_python(population(seed % 3))
    counters = Counters(next_node_id=int(batch.node_id[batch.node_live].max()) + 1, innovation=10**6)
    for gen in range(12):
        batch = mutate_structure(batch, torch.arange(len(batch)), cfg, Streams(seed, gen), counters,
                                 new_nodes, new_connections)
        batch.check()
    assert math.isfinite(float(batch.n_conns.float().mean())) and int(batch.n_nodes.max()) > 3
    for r in range(len(batch)):
        c = int(batch.n_conns[r])
        graph = nx.DiGraph(zip(batch.conn_in[r, :c].tolist(), batch.conn_out[r, :c].tolist()))
        assert nx.is_directed_acyclic_graph(graph), r
        ids = set(batch.node_id[r, :int(batch.n_nodes[r])].tolist())
        sources = {x for x in batch.conn_in[r, :c].tolist() if x >= 0}
        assert set(batch.conn_out[r, :c].tolist()) | sources <= ids  # no gene at a deleted node
        assert not sources & set(range(cfg.num_outputs))  # never a link out of an output (S10 quirk)


@pytest.mark.parametrize("grow", [False, True])
def test_inplace_gives_the_same_result_and_writes_the_input(grow):
    genomes = population(6)
    config = make_config(**RATES["all"])
    batch = convert.from_neat_python(genomes)
    batch = batch if grow else batch.with_widths(batch.node_width + 1, batch.conn_width + 3)
    before = {k: t.clone() for k, t in batch._tensors().items()}
    rows = torch.arange(1, len(batch), 2)
    copied, _, _ = engine(batch, config, 2, rows=rows, node_start=700)
    assert all(torch.equal(t, before[k]) for k, t in batch._tensors().items())  # not modified
    cfg = neat_config.from_neat(config)
    inplace = mutate_structure(batch, rows, cfg, Streams(2, 5), Counters(next_node_id=700, innovation=10**6),
                               new_nodes, new_connections, inplace=True)
    for k, t in copied._tensors().items():
        assert torch.equal(getattr(inplace, k), t), k
    written = not all(torch.equal(t, before[k]) for k, t in batch._tensors().items())
    assert written == (not grow)  # a batch that had to grow cannot be written in place
