"""``families/neat/initial.py`` against neat-python 2.0's ``DefaultReproduction.create_new`` (S12, S13).

Exact where neat is deterministic: genome ids, node ids (the hidden-id quirk: genome ``j`` gets
``O + j*H + h``), the node counter afterwards, connection counts, key sets of ``unconnected`` and the
``full*`` forms, the candidate set and size of ``partial*`` and the targets of ``fs_neat*``, and the
innovation equivalence classes (same number iff same key). Distributional for the random parts (fixed
seeds, p > 0.01, each with a wrong engine that must fail): the input ``fs_neat`` picks, how often each
``partial`` candidate is kept, and the initial attribute values.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import random

import neat
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from m3a_oracle import ALPHA, RICH, chi2_same, config, counts, ks_same

from evohyper.families.neat import convert
from evohyper.families.neat import initial as imod
from evohyper.families.neat.activations import ACTIVATION_NAMES
from evohyper.families.neat.attributes import mutate_attributes
from evohyper.families.neat.counters import Counters
from evohyper.families.neat.crossover import crossover
from evohyper.families.neat.genome import unpack_key
from evohyper.families.neat.initial import FORMS, initial_population
from evohyper.families.neat.streams import Streams

SHAPE = {"num_inputs": 3, "num_outputs": 2}


def _form(name: str) -> str:
    return f"{name} 0.5" if name.startswith("partial") else name


def _neat_new(neat_cfg, n: int):
    repro = neat.DefaultReproduction(neat_cfg.reproduction_config, neat.reporting.ReporterSet(), None)
    with contextlib.redirect_stderr(io.StringIO()):  # neat warns about 'full'/'partial'/'fs_neat' with hidden
        genomes = repro.create_new(neat.DefaultGenome, neat_cfg.genome_config, n)
    return list(genomes.values()), repro.innovation_tracker


def _keys(batch, i: int) -> list[tuple[int, int]]:
    a, b = unpack_key(batch.conn_key[i, : int(batch.n_conns[i])])
    return list(zip(a.tolist(), b.tolist()))


def _classes_by_key(pairs) -> dict:
    """``{key: innovation}`` over all genes; asserts one number per key and one key per number."""
    by_key: dict = {}
    for key, inn in pairs:
        assert by_key.setdefault(key, inn) == inn, key
    assert len(set(by_key.values())) == len(by_key)
    return by_key


@pytest.mark.parametrize("hidden", [0, 2])
@pytest.mark.parametrize("feed_forward", [True, False])
@pytest.mark.parametrize("form", FORMS)
def test_structure_matches_neat(form, feed_forward, hidden):
    neat_cfg, cfg = config(**SHAPE, num_hidden=hidden, feed_forward=feed_forward, initial_connection=_form(form))
    n = 12
    genomes, tracker = _neat_new(neat_cfg, n)
    counters = Counters()
    batch = initial_population(cfg, n, Streams(3, 0), counters, dtype=torch.float64)
    batch.check()
    assert batch.gid.tolist() == [g.key for g in genomes] == list(range(1, n + 1)) and counters.next_gid == n + 1
    assert [batch.node_id[i].tolist() for i in range(n)] == [sorted(g.nodes) for g in genomes]
    indexer = neat_cfg.genome_config.node_indexer
    assert counters.next_node_id == (None if indexer is None else next(indexer))
    assert batch.n_conns.tolist() == [len(g.connections) for g in genomes]
    gc = neat_cfg.genome_config
    for i, g in enumerate(genomes):
        keys = _keys(batch, i)
        if form == "unconnected" or form.startswith("full"):
            assert keys == sorted(g.connections)
        elif form.startswith("partial"):
            candidates = g.compute_full_connections(gc, form == "partial_direct")
            assert set(keys) <= set(candidates) and len(keys) == int(round(len(candidates) * 0.5))
        else:
            ins = {k[0] for k in keys}
            targets = sorted(g.nodes) if form == "fs_neat_hidden" else list(range(cfg.num_outputs))
            assert len(ins) == 1 and ins <= set(gc.input_keys) and sorted(k[1] for k in keys) == targets
    ours = _classes_by_key(((k, int(inn)) for i in range(n) for k, inn in
                            zip(_keys(batch, i), batch.innovation[i, : int(batch.n_conns[i])].tolist())))
    theirs = _classes_by_key(((k, c.innovation) for g in genomes for k, c in g.connections.items()))
    assert counters.innovation == len(ours) and tracker.global_counter == len(theirs)
    if form == "unconnected" or form.startswith("full"):
        assert set(ours) == set(theirs)
    assert counters._keys is None  # the per-generation table is left empty (neat resets it in reproduce)


def test_hidden_ids_follow_neat_population():
    """S12 quirk, on neat.Population itself: genome j's hidden nodes are O + j*H + h."""
    neat_cfg, cfg = config(**SHAPE, num_hidden=3, initial_connection="full_direct", pop_size=7)
    pop = neat.Population(neat_cfg, seed=1)
    batch = initial_population(cfg, 7, Streams(0, 0), Counters())
    expected = [sorted(pop.population[k].nodes) for k in sorted(pop.population)]
    assert [batch.node_id[i].tolist() for i in range(7)] == expected
    assert batch.node_id[3].tolist() == [0, 1, 2 + 3 * 3, 3 + 3 * 3, 4 + 3 * 3]


def test_a_second_population_continues_the_counters():
    """reset_on_extinction: node ids and gids continue, innovations are new (neat's reproduce reset the table)."""
    neat_cfg, cfg = config(**SHAPE, num_hidden=2, initial_connection="full_direct")
    counters = Counters()
    first = initial_population(cfg, 4, Streams(0, 0), counters)
    second = initial_population(cfg, 3, Streams(0, 9), counters)
    repro = neat.DefaultReproduction(neat_cfg.reproduction_config, neat.reporting.ReporterSet(), None)
    a = repro.create_new(neat.DefaultGenome, neat_cfg.genome_config, 4)
    repro.innovation_tracker.reset_generation()
    b = repro.create_new(neat.DefaultGenome, neat_cfg.genome_config, 3)
    assert second.gid.tolist() == list(b) == [5, 6, 7]
    assert [second.node_id[i].tolist() for i in range(3)] == [sorted(g.nodes) for g in b.values()]
    assert not set(first.innovation.flatten().tolist()) & set(second.innovation.flatten().tolist())
    assert not {c.innovation for g in a.values() for c in g.connections.values()} & \
        {c.innovation for g in b.values() for c in g.connections.values()}
    assert counters.innovation == repro.innovation_tracker.global_counter


def test_deterministic_and_device_agnostic_dtype():
    _, cfg = config(**RICH, **SHAPE, num_hidden=1, initial_connection="partial_direct 0.3")
    a = initial_population(cfg, 50, Streams(5, 0), Counters())
    b = initial_population(cfg, 50, Streams(5, 0), Counters())
    assert a.equal(b) and a.weight.dtype == torch.float32 and a.device.type == "cpu"
    c = initial_population(cfg, 50, Streams(6, 0), Counters())
    assert not c.equal(a)


# ---------------------------------------------------------------------------------------------- distributions
N = 3000


def _fs_inputs(batch) -> np.ndarray:
    return (-batch.conn_in[:, 0] - 1).numpy()


def test_fs_neat_input_choice_matches_neat():
    neat_cfg, cfg = config(**SHAPE, initial_connection="fs_neat_hidden", num_hidden=1)
    random.seed(1)
    genomes, _ = _neat_new(neat_cfg, N)
    ref = counts([-next(iter(g.connections))[0] - 1 for g in genomes], 3)
    engine = counts(_fs_inputs(initial_population(cfg, N, Streams(1, 0), Counters())), 3)
    assert chi2_same(engine, ref) > ALPHA
    wrong = dataclasses.replace(cfg, num_inputs=2)  # never the last input
    assert chi2_same(counts(_fs_inputs(initial_population(wrong, N, Streams(1, 0), Counters())), 3), ref) < ALPHA


def _inclusion(keys: list[list[tuple[int, int]]], template: list[tuple[int, int]]) -> np.ndarray:
    index = {k: i for i, k in enumerate(template)}
    return counts([index[k] for row in keys for k in row], len(template))


@pytest.mark.parametrize("feed_forward", [True, False])
def test_partial_keeps_each_candidate_as_often_as_neat(feed_forward, monkeypatch):
    neat_cfg, cfg = config(**SHAPE, initial_connection="partial_direct 0.4", feed_forward=feed_forward)
    template = imod.full_template(cfg, direct=True)  # num_hidden = 0: slot space = ids
    random.seed(2)
    genomes, _ = _neat_new(neat_cfg, N)
    ref = _inclusion([list(g.connections) for g in genomes], template)
    batch = initial_population(cfg, N, Streams(2, 0), Counters())
    engine = _inclusion([_keys(batch, i) for i in range(N)], template)
    assert chi2_same(engine, ref) > ALPHA
    subset = imod._subset
    monkeypatch.setattr(imod, "_subset", lambda u, keep: subset(  # a biased subset: later candidates less often
        u + 0.15 * torch.arange(u.shape[1], dtype=u.dtype) / u.shape[1], keep))
    biased = initial_population(cfg, N, Streams(2, 0), Counters())
    assert chi2_same(_inclusion([_keys(biased, i) for i in range(N)], template), ref) < ALPHA


def test_initial_attributes_match_neat():
    neat_cfg, cfg = config(**RICH, **SHAPE, num_hidden=1, initial_connection="full_direct")
    random.seed(3)
    genomes, _ = _neat_new(neat_cfg, 1500)
    ref = convert.from_neat_python(genomes)

    def p_values(batch) -> dict[str, float]:
        nl, cl = batch.node_live, batch.conn_live
        out = {name: ks_same(getattr(batch, name)[nl].numpy(), getattr(ref, name)[ref.node_live].numpy())
               for name in ("bias", "response", "time_constant")}
        out["weight"] = ks_same(batch.weight[cl].numpy(), ref.weight[ref.conn_live].numpy())
        out["clamped"] = chi2_same(counts(batch.weight[cl].abs().numpy() == 1.5, 2),
                                   counts(ref.weight[ref.conn_live].abs().numpy() == 1.5, 2))
        out["activation"] = chi2_same(counts(batch.activation[nl].numpy(), len(ACTIVATION_NAMES)),
                                      counts(ref.activation[ref.node_live].numpy(), len(ACTIVATION_NAMES)))
        out["enabled"] = chi2_same(counts(batch.enabled[cl].numpy(), 2), counts(ref.enabled[ref.conn_live].numpy(), 2))
        return out

    p = p_values(initial_population(cfg, 1500, Streams(4, 0), Counters(), dtype=torch.float64))
    assert min(p.values()) > ALPHA, p
    wrong = dataclasses.replace(cfg, weight=dataclasses.replace(cfg.weight, init_stdev=1.1 * cfg.weight.init_stdev))
    assert p_values(initial_population(wrong, 1500, Streams(4, 0), Counters(), dtype=torch.float64))["weight"] < ALPHA


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FORMS), st.booleans(), st.integers(0, 3), st.integers(1, 4), st.integers(1, 3),
       st.integers(1, 9), st.sampled_from([0.0, 0.25, 0.5, 0.7, 1.0]), st.integers(0, 2**31 - 1))
def test_any_shape_matches_neat_sizes_and_ids(form, feed_forward, hidden, inputs, outputs, n, fraction, seed):
    """Random shapes: node ids, connection counts and candidate sets as neat's; the rows then go through
    the other M3a operators (empty connection rows included)."""
    text = f"{form} {fraction}" if form.startswith("partial") else form
    neat_cfg, cfg = config(num_inputs=inputs, num_outputs=outputs, num_hidden=hidden, feed_forward=feed_forward,
                           initial_connection=text)
    genomes, _ = _neat_new(neat_cfg, n)
    batch = initial_population(cfg, n, Streams(seed, 0), Counters())
    batch.check()
    assert [batch.node_id[i].tolist() for i in range(n)] == [sorted(g.nodes) for g in genomes]
    assert batch.n_conns.tolist() == [len(g.connections) for g in genomes]
    if not form.startswith("fs_neat"):
        for i, g in enumerate(genomes):
            assert set(_keys(batch, i)) <= set(g.compute_full_connections(neat_cfg.genome_config, "direct" in form
                                                                          and "nodirect" not in form))
    mutated = mutate_attributes(batch, torch.arange(n), cfg, Streams(seed, 1))
    mutated.check()
    children = crossover(mutated, torch.arange(n), torch.arange(n).flip(0), torch.zeros(n, dtype=torch.float64),
                         cfg, Streams(seed, 1))
    children.check()
