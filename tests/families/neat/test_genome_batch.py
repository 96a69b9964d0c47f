"""``GenomeBatch`` (families/neat/genome.py) and ``convert.py`` against neat-python's own genomes.

Populations come from neat's own config (an INI of search_spaces/neat_python/ read by ``ini.py``) and are
evolved a few generations by neat's own reproduction, so they hold hidden nodes, deleted genes, disabled
connections and mixed activations/aggregations. Every gene, key and attribute must survive the round trip
bit for bit (floats compared by ``float.hex``), and the layout must be sorted as docs/neat_engine.md, 2 says.
"""
from __future__ import annotations

import configparser
import copy
import io
import random
from pathlib import Path

import neat
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evohyper.families.neat import convert, ini
from evohyper.families.neat.activations import ACTIVATION_NAMES, AGGREGATION_NAMES
from evohyper.families.neat.genome import (
    CONN_FIELDS,
    INT32_MAX,
    NODE_FIELDS,
    GenomeBatch,
    grown_width,
    pack_key,
    unpack_key,
)
from evohyper.families.neat.neat_state import genome_to_data

INIS = Path(__file__).resolve().parents[3] / "search_spaces" / "neat_python"
FILES = ["xor-config-feedforward", "lunar-lander-config-feedforward", "memory-variable-config",
         "single-pole-balancing-config-feedforward"]
SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_CACHE: dict[tuple, tuple] = {}


def _population(name: str, seed: int, generations: int, popsize: int) -> tuple[neat.Config, list]:
    """A neat population after ``generations`` of neat's reproduction under random fitness."""
    key = (name, seed, generations, popsize)
    if key not in _CACHE:
        text = ini.override_ini((INIS / name).read_text(), {
            "popsize": popsize, "activation_options": list(ACTIVATION_NAMES), "activation_mutate_rate": 0.5,
            "aggregation_options": list(AGGREGATION_NAMES), "aggregation_mutate_rate": 0.5,
            "node_add_prob": 0.5, "node_delete_prob": 0.2, "conn_add_prob": 0.5, "conn_delete_prob": 0.3,
            "enabled_mutate_rate": 0.3, "bias_mutate_rate": 0.7, "weight_mutate_rate": 0.8,
            "compatibility_threshold": 20.0, "min_species_size": 2})
        config = ini.config_from_text(_vary_response_and_time_constant(text))
        pop = neat.Population(config, seed=seed)
        rng = random.Random(seed)

        def fitness(genomes, _config):
            for _, g in genomes:
                g.fitness = -1e9 - rng.random()  # below every INI's fitness_threshold

        pop.run(fitness, generations)
        _CACHE[key] = (config, list(pop.population.values()))
    return _CACHE[key]


def _vary_response_and_time_constant(text: str) -> str:
    """INI items ``ini.py`` has no option for: response and time_constant vary, so tests can tell them apart."""
    parser = configparser.ConfigParser()
    parser.read_string(text)
    for attr in ("response", "time_constant"):
        for item, value in (("init_stdev", 0.5), ("mutate_rate", 0.5), ("mutate_power", 0.3)):
            parser.set("DefaultGenome", f"{attr}_{item}", str(value))
    out = io.StringIO()
    parser.write(out)
    return out.getvalue()


populations = st.tuples(st.sampled_from(FILES), st.integers(0, 2**16), st.integers(2, 4), st.integers(20, 40))


def _hex(x: float) -> str:
    return float(x).hex()


def _assert_same_genome(a, b) -> None:
    """Every key, gene and attribute equal (floats bit for bit); neat's gene __eq__ is not enough."""
    assert a.key == b.key
    assert set(a.nodes) == set(b.nodes) and set(a.connections) == set(b.connections)
    for k, n in a.nodes.items():
        m = b.nodes[k]
        assert m.key == k
        assert [_hex(n.bias), _hex(n.response), _hex(n.time_constant), n.activation, n.aggregation] == \
            [_hex(m.bias), _hex(m.response), _hex(m.time_constant), m.activation, m.aggregation], k
    for k, c in a.connections.items():
        d = b.connections[k]
        assert (d.key, d.innovation, _hex(d.weight), d.enabled) == (k, c.innovation, _hex(c.weight), c.enabled), k
        assert type(d.enabled) is bool and type(d.innovation) is int


@SETTINGS
@given(populations)
def test_neat_python_round_trip_is_exact(case):
    config, genomes = _population(*case)
    assert any(len(g.nodes) > config.genome_config.num_outputs for g in genomes)  # hidden nodes exist
    batch = convert.from_neat_python(genomes)
    assert batch.dtype == torch.float64 and len(batch) == len(genomes)
    back = [convert.to_neat_python(batch, i, config.genome_config) for i in range(len(batch))]
    for g, h in zip(genomes, back):
        _assert_same_genome(g, h)
        assert list(h.nodes) == sorted(h.nodes) and list(h.connections) == sorted(h.connections)
    again = convert.from_neat_python(back)
    assert again.equal(batch)
    for name, t in batch._tensors().items():
        assert torch.equal(getattr(again, name), t), name


@SETTINGS
@given(populations)
def test_layout_is_sorted_padded_and_outputs_first(case):
    config, genomes = _population(*case)
    batch = convert.from_neat_python(genomes)
    batch.check()
    n_out = config.genome_config.num_outputs
    assert batch.node_width == max(len(g.nodes) for g in genomes)
    assert batch.conn_width == max(len(g.connections) for g in genomes)
    for r, g in enumerate(genomes):
        n, c = int(batch.n_nodes[r]), int(batch.n_conns[r])
        assert (n, c, int(batch.gid[r])) == (len(g.nodes), len(g.connections), g.key)
        assert batch.node_id[r, :n].tolist() == sorted(g.nodes)
        assert batch.node_id[r, :n_out].tolist() == list(range(n_out))
        assert set(batch.node_id[r, n:].tolist()) <= {INT32_MAX}
        keys = batch.conn_key[r, :c]
        assert keys.tolist() == sorted(keys.tolist())
        assert list(zip(batch.conn_in[r, :c].tolist(), batch.conn_out[r, :c].tolist())) == sorted(g.connections)
        assert batch.innovation[r, :c].tolist() == [g.connections[k].innovation for k in sorted(g.connections)]
        assert batch.enabled[r, :c].tolist() == [g.connections[k].enabled for k in sorted(g.connections)]
        codes = [ACTIVATION_NAMES.index(g.nodes[k].activation) for k in sorted(g.nodes)]
        assert batch.activation[r, :n].tolist() == codes
    assert not bool(batch.enabled.all())  # disabled connections are in the sample
    for name in ("bias", "response", "time_constant", "activation", "aggregation"):
        assert len(set(getattr(batch, name)[batch.node_live].tolist())) > 1, name  # attributes vary
    assert bool(batch.conn_live.sum() == batch.n_conns.sum())


@SETTINGS
@given(populations, st.integers(0, 40), st.integers(0, 40))
def test_capacity_growth_keeps_contents(case, extra_nodes, extra_conns):
    _, genomes = _population(*case)
    batch = convert.from_neat_python(genomes)
    need_n, need_c = batch.node_width + extra_nodes, batch.conn_width + extra_conns
    grown = batch.ensure_capacity(need_n, need_c)
    for width, old, need in ((grown.node_width, batch.node_width, need_n),
                             (grown.conn_width, batch.conn_width, need_c)):
        if need <= old:
            assert width == old
        else:
            assert width >= need and width >= 1.5 * old and width % 8 == 0
    grown.check()
    assert grown.equal(batch) and batch.equal(grown)
    trimmed = grown.trim()
    for name, t in batch._tensors().items():
        assert torch.equal(getattr(trimmed, name), t), name
    with pytest.raises(ValueError, match="below the live genes"):
        batch.with_widths(batch.node_width - 1, batch.conn_width)


@SETTINGS
@given(populations, st.lists(st.integers(0, 24), max_size=4))
def test_slices_concatenated_give_the_original(case, cuts):
    _, genomes = _population(*case)
    batch = convert.from_neat_python(genomes)
    bounds = [0, *sorted(min(c, len(batch)) for c in cuts), len(batch)]
    parts = [batch[a:b] for a, b in zip(bounds, bounds[1:])]
    parts = [p.trim() for p in parts]  # Ray chunks travel trimmed
    whole = GenomeBatch.cat(parts)
    for name, t in batch._tensors().items():
        assert torch.equal(getattr(whole, name), t), name
    perm = torch.randperm(len(batch), generator=torch.Generator().manual_seed(len(cuts)))
    shuffled = batch[perm]
    assert shuffled.gid.tolist() == [genomes[i].key for i in perm.tolist()]
    assert shuffled[torch.argsort(perm)].equal(batch)
    assert batch[3].equal(convert.from_neat_python([genomes[3]]))


@SETTINGS
@given(populations, st.integers(0, 2**16))
def test_from_ragged_sorts_rows_and_compact_drops_only_the_marked_genes(case, seed):
    _, genomes = _population(*case)
    batch = convert.from_neat_python(genomes)
    nodes, conns = batch.to_ragged()
    rng = random.Random(seed)
    shuffled = GenomeBatch.from_ragged(batch.gid, batch.n_nodes, batch.n_conns, *_shuffle_within_rows(
        batch, nodes, conns, rng), dtype=batch.dtype)
    for name, t in batch._tensors().items():
        assert torch.equal(getattr(shuffled, name), t), name
    gen = torch.Generator().manual_seed(seed)
    keep_n = batch.node_live & (torch.rand(batch.node_id.shape, generator=gen) < 0.7)
    keep_c = batch.conn_live & (torch.rand(batch.conn_key.shape, generator=gen) < 0.7)
    out = batch.compact(keep_n, keep_c)
    out.check()
    kept = []
    for r, g in enumerate(genomes):
        h = neat.DefaultGenome(g.key)
        h.nodes = {k: g.nodes[k] for k, keep in zip(batch.node_id[r].tolist(), keep_n[r].tolist()) if keep}
        h.connections = {k: g.connections[k] for k, keep in zip(
            zip(batch.conn_in[r].tolist(), batch.conn_out[r].tolist()), keep_c[r].tolist()) if keep}
        kept.append(h)
    expect = convert.from_neat_python(kept).with_widths(batch.node_width, batch.conn_width)
    for name, t in expect._tensors().items():
        assert torch.equal(getattr(out, name), t), name


def _shuffle_within_rows(batch, nodes, conns, rng):
    out = []
    for fields, counts, values in ((NODE_FIELDS, batch.n_nodes, nodes), (CONN_FIELDS, batch.n_conns, conns)):
        order, start = [], 0
        for n in counts.tolist():
            idx = list(range(start, start + n))
            rng.shuffle(idx)
            order += idx
            start += n
        order_t = torch.tensor(order, dtype=torch.int64)
        out.append({f: values[f][order_t] for f in fields})
    return out


@SETTINGS
@given(populations)
def test_genotype_json_matches_neat_state_and_round_trips(case):
    config, genomes = _population(*case)
    batch = convert.from_neat_python(genomes)
    for r in (0, len(batch) - 1):
        data = convert.genotype_to_data(batch, r, fitness=1.5)
        ref = genome_to_data(genomes[r])
        assert data["key"] == ref["key"] and data["fitness"] == 1.5
        assert sorted(map(str, data["nodes"])) == sorted(map(str, ref["nodes"]))
        assert sorted(map(str, data["connections"])) == sorted(map(str, ref["connections"]))
        assert convert.genotype_from_data(ref).equal(batch[r])
        _assert_same_genome(convert.to_neat_python(convert.genotype_from_data(data), 0, config.genome_config),
                            genomes[r])


@given(st.lists(st.tuples(st.integers(-(2**31), 2**31 - 2), st.integers(-(2**31), 2**31 - 2)), min_size=1, max_size=50))
def test_packed_keys_sort_like_tuples_and_unpack(pairs):
    i = torch.tensor([p[0] for p in pairs])
    o = torch.tensor([p[1] for p in pairs])
    keys = pack_key(i, o)
    a, b = unpack_key(keys)
    assert list(zip(a.tolist(), b.tolist())) == pairs
    order = torch.sort(keys, stable=True).indices.tolist()
    assert [pairs[j] for j in order] == sorted(pairs)
    assert bool((keys < 2**63 - 1).all())


def test_growth_rule_and_memory_error():
    assert grown_width(8, 9) == 16 and grown_width(16, 17) == 24 and grown_width(0, 1) == 8
    assert grown_width(100, 400) == 400
    with pytest.raises(MemoryError, match="cannot allocate"):
        GenomeBatch.empty(4, 2**40, 1)


def test_unknown_activation_names_the_value():
    config, genomes = _population("xor-config-feedforward", 1, 1, 6)
    g = copy.deepcopy(genomes[0])  # the cached population stays intact
    next(iter(g.nodes.values())).activation = "my_sinc_function"
    with pytest.raises(ValueError, match="'my_sinc_function'.*allowed"):
        convert.from_neat_python([g])


def test_float32_batch_holds_rounded_attributes():
    config, genomes = _population("xor-config-feedforward", 2, 2, 6)
    b32 = convert.from_neat_python(genomes, dtype=torch.float32)
    b64 = convert.from_neat_python(genomes)
    assert b32.dtype == torch.float32 and torch.equal(b32.weight, b64.weight.float())
    assert b64.to(dtype=torch.float32).equal(b32)


@SETTINGS
@given(populations)
def test_compact_sorts_genes_appended_at_the_tail(case):
    """In flight a row holds appended genes after its sorted prefix; compaction puts them in place."""
    _, genomes = _population(*case)
    batch = convert.from_neat_python(genomes)
    rows = torch.nonzero(batch.n_conns > 1).flatten()
    moved = batch.with_widths(batch.node_width, batch.conn_width + 1)
    tail = moved.n_conns[rows].to(torch.int64)
    for name in CONN_FIELDS:  # slot 0 goes to the tail, slot 0 dies
        t = getattr(moved, name)
        t[rows, tail] = t[rows, 0]
    keep = moved.conn_live
    keep[rows, tail] = True
    keep[rows, 0] = False
    out = moved.compact(None, keep)
    out.check()
    assert out.equal(batch)
    assert out.trim().conn_width == batch.conn_width


@SETTINGS
@given(populations, st.integers(0, 2**16))
def test_equal_sees_every_field(case, seed):
    _, genomes = _population(*case)
    batch = convert.from_neat_python(genomes)
    for name in ("gid", *NODE_FIELDS, *CONN_FIELDS):
        other = convert.from_neat_python(genomes)
        live = batch.conn_live if name in CONN_FIELDS else batch.node_live
        candidates = torch.nonzero(live[:, 0]).flatten().tolist()
        r = candidates[seed % len(candidates)]
        t = getattr(other, name)
        if name == "gid":
            t[r] += 1
        elif t.dtype == torch.bool:
            t[r, 0] = ~t[r, 0]
        else:
            t[r, 0] = t[r, 0] + 1 if name not in ("activation", "aggregation") else (t[r, 0] + 1) % 2
        assert batch.row_equal(other).tolist() == [i != r for i in range(len(batch))], name
        assert not batch.equal(other), name
        padded = other.with_widths(other.node_width + 2, other.conn_width + 2)
        assert padded.row_equal(other).all()  # widths do not matter, padding is never compared
