"""``families/neat/attributes.py`` against neat-python 2.0's ``attributes.py`` (S15).

Two kinds of test. *Shared draws* (exact, float64): the engine runs with ``record=True`` and its draws are
served to neat's own ``init_value`` / ``DefaultGenome.mutate`` (structural probabilities 0) in neat's
call order; the genomes must be equal bit for bit, with every queued draw used. *Independent draws*
(distributional, fixed seeds): the engine and neat (its own ``random``) mutate the same converted
population many times; categories (unchanged / clamped at either bound / changed inside) by
chi-squared and the changes by KS must agree at p > 0.01, and a deliberately wrong engine (power * 1.1,
replace rate + 0.05, no flip quirk, repeats in the option list ignored) must fail the same test.
"""
from __future__ import annotations

import copy
import dataclasses
import random

import neat
import numpy as np
import pytest
import torch
from m3a_oracle import ALPHA, RICH, Script, chi2_same, config, counts, ks_same, population, scripted

from evohyper.families.neat import convert
from evohyper.families.neat.activations import ACTIVATION_NAMES, AGGREGATION_NAMES
from evohyper.families.neat.attributes import (
    CONN_ATTRIBUTES,
    NODE_ATTRIBUTES,
    init_bool,
    init_float,
    mutate_attributes,
    new_connections,
    new_nodes,
)
from evohyper.families.neat.config import BoolAttr, FloatAttr, StringAttr
from evohyper.families.neat.genome import GenomeBatch
from evohyper.families.neat.streams import Streams

F64 = torch.float64
NO_STRUCTURE = {"node_add_prob": 0.0, "node_delete_prob": 0.0, "conn_add_prob": 0.0, "conn_delete_prob": 0.0}
#: the rich config, and one where some attributes have zero rates (no draws) or fixed init values
VARIANTS = {
    "rich": {},
    "quiet": {"response_mutate_rate": 0.0, "response_replace_rate": 0.0, "aggregation_mutate_rate": 0.0,
              "time_constant_init_stdev": 0.0, "enabled_mutate_rate": 0.0, "enabled_rate_to_true_add": 0.4,
              "weight_init_type": "uniform", "bias_init_type": "gaussian", "activation_default": "tanh",
              "enabled_default": "true"},
}


# ---------------------------------------------------------------------------------------------- shared draws
class _Draws:
    """One attribute's recorded draws, consumed in the engine's call order."""

    def __init__(self, attr, draws: list[torch.Tensor]) -> None:
        self.attr = attr
        self.r = self.z = self.repl = self.u = None
        take = iter(draws)
        if isinstance(attr, FloatAttr):
            if attr.mutate_rate > 0 or attr.replace_rate > 0:
                self.r = next(take).tolist()
                self.z = iter(next(take).tolist()) if attr.mutate_rate > 0 else None
                if attr.replace_rate > 0 and not _fixed(attr):
                    self.repl = iter(next(take).tolist())
        elif isinstance(attr, BoolAttr):
            if _bool_rates(attr) != (0.0, 0.0):
                self.r, self.u = next(take).tolist(), iter(next(take).tolist())
        elif attr.mutate_rate > 0:
            self.r, self.u = next(take).tolist(), iter(next(take).tolist())
        self.rest = list(take)
        self.eligible = 0


def _fixed(attr: FloatAttr) -> bool:
    if attr.init_type == "uniform":
        return max(attr.min_value, attr.init_mean - 2 * attr.init_stdev) == \
            min(attr.max_value, attr.init_mean + 2 * attr.init_stdev)
    return attr.init_stdev == 0.0


def _bool_rates(attr: BoolAttr) -> tuple[float, float]:
    """(rate of a true value, rate of a false value), each 0 where not positive."""
    t, f = attr.mutate_rate + attr.rate_to_false_add, attr.mutate_rate + attr.rate_to_true_add
    return (t if t > 0 else 0.0, f if f > 0 else 0.0)


def _split_draws(cfg, recorded: list[torch.Tensor]) -> dict[str, _Draws]:
    """The engine's recorded ``attributes`` draws by attribute (its call order: connection attributes,
    then node attributes, each r, then normals, then replacements / flips / choices)."""
    out, rest = {}, list(recorded)
    for name in (*CONN_ATTRIBUTES, *NODE_ATTRIBUTES):
        d = _Draws(getattr(cfg, name), rest)
        out[name], rest = d, d.rest
    assert not rest
    return out


def _queue_init(script: Script, attr, value_draw) -> None:
    """Queue one ``init_value`` of ``attr`` (``value_draw()`` gives the engine's next draw, if it drew)."""
    if isinstance(attr, FloatAttr):
        queue = script.uniform if attr.init_type == "uniform" else script.gauss
        queue.append(0.5 if _fixed(attr) else value_draw())  # neat draws even where the value is fixed
    elif isinstance(attr, BoolAttr):
        if attr.default == "random":
            script.random.append(value_draw())
    elif attr.default is None:
        script.choice.append((int(Streams.choice(torch.tensor(value_draw(), dtype=F64), len(attr.options))),
                              len(attr.options)))


def _queue_mutation(script: Script, attr, d: _Draws, gene: int, value) -> None:
    """Queue what neat's ``mutate_value`` of gene number ``gene`` (row-major among the live genes) draws."""
    if isinstance(attr, FloatAttr):
        if d.r is None:
            script.random.append(0.999)  # neat draws r even when the rates are 0
            return
        r = d.r[gene]
        script.random.append(r)
        if r < attr.mutate_rate:
            script.gauss.append(next(d.z))
        elif r < attr.replace_rate + attr.mutate_rate:
            _queue_init(script, attr, lambda: next(d.repl))
    elif isinstance(attr, BoolAttr):
        rate_true, rate_false = _bool_rates(attr)
        rate = attr.mutate_rate + (attr.rate_to_false_add if value else attr.rate_to_true_add)
        if rate > 0:
            index = gene if rate_true > 0 and rate_false > 0 else d.eligible
            d.eligible += 1
            r = d.r[index]
            script.random.append(r)
            if r < rate:
                script.random.append(next(d.u))
    elif attr.mutate_rate > 0:
        r = d.r[gene]
        script.random.append(r)
        if r < attr.mutate_rate:
            _queue_init(script, dataclasses.replace(attr, default=None), lambda: next(d.u))


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("seed", [3, 11])
def test_mutate_attributes_equals_neat_under_shared_draws(variant, seed):
    neat_cfg, genomes = population(seed, 3)
    neat_cfg0, cfg = config(**{**RICH, **NO_STRUCTURE, **VARIANTS[variant]})
    batch = convert.from_neat_python(genomes).ensure_capacity(30, 60)  # padding must not matter
    rows = torch.randperm(len(batch), generator=torch.Generator().manual_seed(seed))[: len(batch) * 2 // 3]
    streams = Streams(seed, 5, record=True)
    mutated = mutate_attributes(batch, rows, cfg, streams)
    mutated.check()
    draws = _split_draws(cfg, streams.draws.get("attributes", []))

    script = Script()
    expected = [convert.to_neat_python(batch, i, neat_cfg0.genome_config) for i in range(len(batch))]
    conn_gene = node_gene = 0
    for row in rows.tolist():
        g = expected[row]
        for c in g.connections.values():
            for name in CONN_ATTRIBUTES:
                _queue_mutation(script, getattr(cfg, name), draws[name], conn_gene, getattr(c, name))
            conn_gene += 1
        for n in g.nodes.values():
            for name in NODE_ATTRIBUTES:
                _queue_mutation(script, getattr(cfg, name), draws[name], node_gene, getattr(n, name))
            node_gene += 1
    with scripted(script):
        for row in rows.tolist():
            expected[row].mutate(neat_cfg0.genome_config)
    for d in draws.values():  # every engine draw was consumed
        for it in (d.z, d.repl, d.u):
            assert it is None or next(it, None) is None
    assert mutated.equal(convert.from_neat_python(expected))
    changed = ~mutated.row_equal(batch)
    assert bool(changed[rows].any()) and not bool(changed[~torch.isin(torch.arange(len(batch)), rows)].any())


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_new_genes_equal_neat_init_under_shared_draws(variant):
    neat_cfg, cfg = config(**{**RICH, **VARIANTS[variant]})
    streams = Streams(7, 0, record=True)
    n = 400
    nodes = new_nodes(n, cfg, streams, "add_node", F64)
    conns = new_connections(n, cfg, streams, "add_node", F64)
    recorded = iter(streams.draws.get("add_node", []))
    per_attr = {}
    for name in (*NODE_ATTRIBUTES, *CONN_ATTRIBUTES):  # the engine's order of calls
        attr = getattr(cfg, name)
        draws = isinstance(attr, FloatAttr) and not _fixed(attr) or \
            isinstance(attr, BoolAttr) and attr.default == "random" or \
            isinstance(attr, StringAttr) and attr.default is None
        per_attr[name] = iter(next(recorded).tolist()) if draws else None
    assert next(recorded, None) is None

    script = Script()
    for _ in range(n):
        for name in NODE_ATTRIBUTES:
            _queue_init(script, getattr(cfg, name), lambda name=name: next(per_attr[name]))
    for _ in range(n):
        for name in CONN_ATTRIBUTES:
            _queue_init(script, getattr(cfg, name), lambda name=name: next(per_attr[name]))
    gc = neat_cfg.genome_config
    with scripted(script):
        ref_nodes = [neat.DefaultGenome.create_node(gc, i) for i in range(n)]
        ref_conns = [neat.DefaultGenome.create_connection(gc, -1, i, 1) for i in range(n)]
    for name in ("bias", "response", "time_constant"):
        assert [float(x).hex() for x in nodes[name].tolist()] == [float(getattr(g, name)).hex() for g in ref_nodes]
    assert [ACTIVATION_NAMES[c] for c in nodes["activation"].tolist()] == [g.activation for g in ref_nodes]
    assert [AGGREGATION_NAMES[c] for c in nodes["aggregation"].tolist()] == [g.aggregation for g in ref_nodes]
    assert [float(x).hex() for x in conns["weight"].tolist()] == [float(g.weight).hex() for g in ref_conns]
    assert conns["enabled"].tolist() == [g.enabled for g in ref_conns]
    assert nodes["activation"].dtype == torch.int8 and conns["enabled"].dtype == torch.bool


def test_time_constant_defaults_when_the_ini_omits_it():
    _, cfg = config()  # the XOR INI has no time_constant item: neat's built-in defaults
    assert cfg.time_constant == FloatAttr(1.0, 0.0, "gaussian", 0.0, 0.0, 0.0, 10.0, 0.01)
    streams = Streams(0, 0, record=True)
    values = new_nodes(5, cfg, streams, "init", torch.float32)["time_constant"]
    assert values.tolist() == [1.0] * 5
    genomes = population(1, 1, pop_size=20, time_constant_mutate_rate=0.0)[1]
    batch = convert.from_neat_python(genomes)
    out = mutate_attributes(batch, torch.arange(len(batch)), cfg, streams)
    assert out.time_constant is batch.time_constant  # no draw, no copy
    moving = dataclasses.replace(cfg, time_constant=dataclasses.replace(cfg.time_constant, mutate_rate=0.1))
    again = Streams(0, 0, record=True)
    mutate_attributes(batch, torch.arange(len(batch)), moving, again)
    assert len(again.draws["attributes"]) == len(streams.draws["attributes"]) + 2  # its r and its normals


def test_draws_do_not_depend_on_capacity_or_other_rows():
    _, genomes = population(5, 2)
    _, cfg = config(**RICH)
    batch = convert.from_neat_python(genomes, dtype=torch.float32)
    rows = torch.tensor([4, 0, 9, 2])
    a = mutate_attributes(batch, rows, cfg, Streams(1, 2))
    b = mutate_attributes(batch.ensure_capacity(64, 128), rows, cfg, Streams(1, 2))
    assert a.equal(b) and a.weight.dtype == torch.float32
    c = mutate_attributes(batch[rows], torch.arange(4), cfg, Streams(1, 2))
    assert c.equal(a[rows])
    empty = mutate_attributes(batch, torch.zeros(0, dtype=torch.int64), cfg, Streams(1, 2))
    assert empty.equal(batch)


# ---------------------------------------------------------------------------------------------- distributions
REPEATS = 300


@pytest.fixture(scope="module")
def replicated():
    """A converted neat population, each genome ``REPEATS`` times, mutated once by neat (real random)."""
    _, genomes = population(21, 3)
    neat_cfg0, cfg = config(**{**RICH, **NO_STRUCTURE})
    batch = convert.from_neat_python(genomes)
    batch = batch[torch.arange(len(batch)).repeat(REPEATS)]
    copies = [copy.deepcopy(g) for _ in range(REPEATS) for g in genomes]
    random.seed(12345)
    for g in copies:
        g.mutate(neat_cfg0.genome_config)
    return cfg, batch, convert.from_neat_python(copies)


def _engine(batch: GenomeBatch, cfg, seed: int = 99) -> GenomeBatch:
    return mutate_attributes(batch, torch.arange(len(batch)), cfg, Streams(seed, 1))


def _float_p(before: GenomeBatch, after: GenomeBatch, ref: GenomeBatch, name: str, attr: FloatAttr) -> float:
    """min p-value of chi-squared on (unchanged, at max, at min, changed inside) and KS on the changes."""
    live = before.conn_live if name == "weight" else before.node_live
    old = getattr(before, name)[live].numpy()
    stats_ = []
    for out in (after, ref):
        new = getattr(out, name)[live].numpy()
        cat = np.select([new == old, new == attr.max_value, new == attr.min_value], [0, 1, 2], 3)
        stats_.append((counts(cat, 4), (new - old)[cat == 3]))
    return min(chi2_same(stats_[0][0], stats_[1][0]), ks_same(stats_[0][1], stats_[1][1]))


@pytest.mark.parametrize("name", ["weight", "bias", "response", "time_constant"])
def test_float_mutation_distribution_matches_neat(replicated, name):
    cfg, batch, ref = replicated
    attr = getattr(cfg, name)
    assert _float_p(batch, _engine(batch, cfg), ref, name, attr) > ALPHA
    for broken in (dataclasses.replace(attr, mutate_power=attr.mutate_power * 1.1),
                   dataclasses.replace(attr, replace_rate=attr.replace_rate + 0.05)):
        wrong = dataclasses.replace(cfg, **{name: broken})
        assert _float_p(batch, _engine(batch, wrong), ref, name, attr) < ALPHA, broken


def _transitions(before: GenomeBatch, after: GenomeBatch) -> np.ndarray:
    live = before.conn_live
    return counts(2 * before.enabled[live].numpy() + after.enabled[live].numpy(), 4)


def test_enabled_flip_rates_match_neat(replicated):
    cfg, batch, ref = replicated
    engine = _transitions(batch, _engine(batch, cfg))
    assert chi2_same(engine, _transitions(batch, ref)) > ALPHA
    # the quirk: a fired mutation draws random() < 0.5, so the effective flip rate is half the rate
    true_rows = engine[2:]
    assert abs(true_rows[0] / true_rows.sum() - cfg.enabled.mutate_rate / 2) < 0.02
    no_quirk = dataclasses.replace(cfg, enabled=dataclasses.replace(cfg.enabled, mutate_rate=0.4))  # = flip always
    assert chi2_same(_transitions(batch, _engine(batch, no_quirk)), _transitions(batch, ref)) < ALPHA


@pytest.mark.parametrize("name", ["activation", "aggregation"])
def test_choice_frequencies_match_neat(replicated, name):
    cfg, batch, ref = replicated
    live = batch.node_live
    table = len(ACTIVATION_NAMES if name == "activation" else AGGREGATION_NAMES)

    def freq(out: GenomeBatch) -> np.ndarray:
        return counts(getattr(out, name)[live].numpy(), table)

    assert chi2_same(freq(_engine(batch, cfg)), freq(ref)) > ALPHA
    attr = getattr(cfg, name)
    no_repeats = dataclasses.replace(attr, options=tuple(dict.fromkeys(attr.options)))
    assert chi2_same(freq(_engine(batch, dataclasses.replace(cfg, **{name: no_repeats}))), freq(ref)) < ALPHA


@pytest.mark.parametrize("init_type", ["gaussian", "uniform"])
def test_init_float_distribution_matches_neat(init_type):
    bound = 1.5 if init_type == "gaussian" else 3.0  # gaussian: clamped mass; uniform: mean +- 2sd inside
    neat_cfg, cfg = config(**{**RICH, "weight_init_type": init_type, "weight_init_stdev": 1.0,
                              "weight_max_value": bound, "weight_min_value": -bound})
    n = 20000
    random.seed(4)
    ref = np.array([neat.DefaultGenome.create_connection(neat_cfg.genome_config, -1, 0, 1).weight for _ in range(n)])
    engine = init_float(cfg.weight, n, Streams(8, 0), "init", F64).numpy()
    assert engine.min() >= cfg.weight.min_value and engine.max() <= cfg.weight.max_value
    assert chi2_same(counts(np.abs(engine) == bound, 2), counts(np.abs(ref) == bound, 2)) > ALPHA  # clamped mass
    assert ks_same(engine, ref) > ALPHA
    wide = dataclasses.replace(cfg.weight, init_stdev=1.1)
    assert ks_same(init_float(wide, n, Streams(8, 0), "init", F64).numpy(), ref) < ALPHA


def test_init_bool_random_is_fair():
    attr = BoolAttr("random", 0.0, 0.0, 0.0)
    values = init_bool(attr, 20000, Streams(2, 0), "init").numpy()
    random.seed(2)
    ref = np.array([neat.attributes.BoolAttribute("enabled").init_value(
        type("C", (), {"enabled_default": "random"})()) for _ in range(20000)])
    assert chi2_same(counts(values, 2), counts(ref, 2)) > ALPHA
    assert chi2_same(counts(values, 2), counts(np.ones(20000) * (np.arange(20000) < 13000), 2)) < ALPHA
