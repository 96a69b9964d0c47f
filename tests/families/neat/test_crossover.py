"""``families/neat/crossover.py`` against neat-python 2.0's ``DefaultGenome.configure_crossover`` (S6).

Shared draws (exact, float64): the engine's recorded ``crossover`` draws are served to neat's
``BaseGene.crossover`` in neat's own order (connection genes in the iteration order of the Python ``set``
of innovation numbers that neat builds, then node genes in the fitter parent's dict order); the children
must be equal bit for bit. Independent draws: the fraction of matched attributes taken from the fitter
parent and the disabled-after-crossover rates (0.875 with one disabled parent, 1.0 with two) agree with
neat's at p > 0.01, and the same test fails for a wrong engine (fitter taken at 0.6, no 0.75 rule).
Properties (hypothesis): children are valid rows with the fitter parent's genes.
"""
from __future__ import annotations

import random

import neat
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from m3a_oracle import ALPHA, Script, chi2_same, population, scripted

from evohyper.families.neat import convert
from evohyper.families.neat import crossover as xmod
from evohyper.families.neat.crossover import crossover, fitter_parents
from evohyper.families.neat.genome import CONN_FIELDS, NODE_FIELDS, GenomeBatch
from evohyper.families.neat.streams import Streams

VARIANTS = {
    "feed_forward": {},
    "recurrent": {"feed_forward": False, "initial_connection": "full_direct"},
    "hidden": {"num_hidden": 2, "initial_connection": "partial_direct 0.6"},
}
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _case(variant: str, seed: int, generations: int = 4) -> tuple[neat.Config, GenomeBatch]:
    neat_cfg, genomes = population(seed, generations, **VARIANTS[variant])
    return neat_cfg, convert.from_neat_python(genomes)


def _pairs(n_parents: int, k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    p1, p2 = torch.randint(n_parents, (k,), generator=g), torch.randint(n_parents, (k,), generator=g)
    p2[:5] = p1[:5]  # identical parents, as neat's two random.choice may give
    fitness = torch.randint(0, 4, (n_parents,), generator=g).double() / 4  # many ties
    return p1, p2, fitness


def _neat_parents(batch, p1, p2, fitness, genome_config):
    out = []
    for a, b in zip(p1.tolist(), p2.tolist()):
        g1 = convert.to_neat_python(batch, a, genome_config, fitness=float(fitness[a]))
        g2 = g1 if a == b else convert.to_neat_python(batch, b, genome_config, fitness=float(fitness[b]))
        out.append((g1, g2))
    return out


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("seed", [1, 2])
def test_crossover_equals_neat_under_shared_draws(variant, seed):
    neat_cfg, batch = _case(variant, seed)
    batch = batch.ensure_capacity(batch.node_width + 5, batch.conn_width + 9)  # padding must not matter
    p1, p2, fitness = _pairs(len(batch), 120, seed)
    streams = Streams(seed, 4, record=True)
    children = crossover(batch, p1, p2, fitness, None, streams)
    children.check()
    conn_take, disable, node_take = (d.tolist() for d in streams.draws["crossover"])

    script = Script()
    m = d = n = 0
    parents = _neat_parents(batch, p1, p2, fitness, neat_cfg.genome_config)
    for g1, g2 in parents:
        fit, other = (g1, g2) if g1.fitness > g2.fitness else (g2, g1)
        # the engine's draw indices: matched genes in the child's (= fitter's) slot order
        conn_index, dis_index = {}, {}
        for key, cg in fit.connections.items():
            og = other.connections.get(key)
            if og is not None and og.innovation == cg.innovation:
                conn_index[key], m = m, m + 1
                if not (cg.enabled and og.enabled):
                    dis_index[key], d = d, d + 1
        # neat's order: its set of innovation numbers, then the fitter's node dict
        fit_inn = {cg.innovation: cg for cg in fit.connections.values()}
        other_inn = {cg.innovation: cg for cg in other.connections.values()}
        for inn in set(fit_inn.keys()) | set(other_inn.keys()):
            key = fit_inn[inn].key if inn in fit_inn else None
            if key in conn_index:
                script.random.extend(conn_take[conn_index[key]])
                if key in dis_index:
                    script.random.append(disable[dis_index[key]])
        for key in fit.nodes:
            if key in other.nodes:
                script.random.extend(node_take[n])
                n += 1
    assert (m, d, n) == (len(conn_take), len(disable), len(node_take))
    expected = []
    with scripted(script):
        for g1, g2 in parents:
            child = neat.DefaultGenome(0)
            child.configure_crossover(g1, g2, neat_cfg.genome_config)
            expected.append(child)
    assert children.equal(convert.from_neat_python(expected))


# ---------------------------------------------------------------------------------------------- distributions
def _matched(parents: GenomeBatch, p1, p2, fitness):
    """The fitter/other rows and the matched connection and node slots of each child (key + innovation)."""
    fitter, other = fitter_parents(p1, p2, fitness)
    f, o = parents[fitter], parents[other]
    j = torch.searchsorted(o.conn_key, f.conn_key).clamp(max=o.conn_width - 1)
    conn = f.conn_live & (o.conn_key.gather(1, j) == f.conn_key) & (o.innovation.gather(1, j) == f.innovation)
    jn = torch.searchsorted(o.node_id, f.node_id).clamp(max=o.node_width - 1)
    node = f.node_live & (o.node_id.gather(1, jn) == f.node_id)
    return f, o, j, jn, conn, node


def _statistics(parents, p1, p2, fitness, children: GenomeBatch) -> dict[str, np.ndarray]:
    """Counts: [from the other, from the fitter] for matched attributes whose parents differ (weight,
    bias), and [enabled, disabled] children of matched genes with one and with two disabled parents."""
    f, o, j, jn, conn, node = _matched(parents, p1, p2, fitness)
    out = {}
    for name, idx, hit in (("weight", j, conn), ("bias", jn, node)):
        fv, ov, cv = getattr(f, name), getattr(o, name).gather(1, idx), getattr(children, name)
        differ = hit & (fv != ov)
        took = (cv == fv)[differ]
        assert bool(((cv == fv) | (cv == ov))[hit].all())
        out[name] = np.bincount(took.numpy().astype(int), minlength=2)
    disabled = (~f.enabled).int() + (~o.enabled.gather(1, j)).int()
    for n in (1, 2):
        sel = conn & (disabled == n)
        out[f"disabled_{n}"] = np.bincount((~children.enabled[sel]).numpy().astype(int), minlength=2)
    return out


@pytest.fixture(scope="module")
def crossed():
    """3,000 children of random pairs of one converted population, made by neat (its own random)."""
    neat_cfg, batch = _case("hidden", 7, 6)
    g = torch.Generator().manual_seed(7)
    k = 3000
    p1, p2 = torch.randint(len(batch), (k,), generator=g), torch.randint(len(batch), (k,), generator=g)
    fitness = torch.rand(len(batch), generator=g, dtype=torch.float64)
    random.seed(7)
    children = []
    for g1, g2 in _neat_parents(batch, p1, p2, fitness, neat_cfg.genome_config):
        child = neat.DefaultGenome(0)
        child.configure_crossover(g1, g2, neat_cfg.genome_config)
        children.append(child)
    reference = convert.from_neat_python(children).with_widths(batch.node_width, batch.conn_width)
    return batch, p1, p2, fitness, _statistics(batch, p1, p2, fitness, reference)


def _agree(crossed, seed: int = 5) -> dict[str, float]:
    batch, p1, p2, fitness, ref = crossed
    engine = _statistics(batch, p1, p2, fitness, crossover(batch, p1, p2, fitness, None, Streams(seed, 1)))
    return {name: chi2_same(engine[name], ref[name]) for name in ref}


def test_inheritance_and_disable_rates_match_neat(crossed):
    ref = crossed[-1]
    assert ref["disabled_1"].sum() > 500 and ref["disabled_2"].sum() > 50 and ref["weight"].sum() > 3000
    assert abs(ref["disabled_1"][1] / ref["disabled_1"].sum() - 0.875) < 0.03  # neat's own rates
    assert ref["disabled_2"][0] == 0
    p = _agree(crossed)
    assert min(p.values()) > ALPHA, p


def test_wrong_engines_fail(crossed, monkeypatch):
    monkeypatch.setattr(xmod, "TAKE_FITTER", 0.4)  # the fitter's value 60% of the time
    p = _agree(crossed)
    assert p["weight"] < ALPHA and p["bias"] < ALPHA, p
    monkeypatch.setattr(xmod, "TAKE_FITTER", 0.5)
    monkeypatch.setattr(xmod, "DISABLE", 0.0)  # no 0.75 rule
    assert _agree(crossed)["disabled_1"] < ALPHA


# ---------------------------------------------------------------------------------------------- properties
@SETTINGS
@given(st.sampled_from(list(VARIANTS)), st.integers(0, 3), st.integers(1, 60), st.integers(0, 2**31 - 1))
def test_children_are_valid_and_carry_the_fitter_parents_genes(variant, seed, k, draw_seed):
    _, batch = _case(variant, seed, 2)
    p1, p2, fitness = _pairs(len(batch), k, draw_seed)
    children = crossover(batch, p1, p2, fitness, None, Streams(draw_seed, 1))
    children.check()
    assert len(children) == k and bool((children.gid == 0).all())
    f, o, j, jn, conn, node = _matched(batch, p1, p2, fitness)
    assert torch.equal(children.n_nodes, f.n_nodes) and torch.equal(children.n_conns, f.n_conns)
    for names, hit, idx in ((CONN_FIELDS, conn, j), (NODE_FIELDS, node, jn)):
        for name in names:
            cv, fv, ov = getattr(children, name), getattr(f, name), getattr(o, name).gather(1, idx)
            assert torch.equal(cv[~hit], fv[~hit]), name  # unmatched genes and padding: the fitter's
            assert bool(((cv == fv) | (cv == ov) | (name == "enabled"))[hit].all()), name
    both_enabled = conn & f.enabled & o.enabled.gather(1, j)
    assert bool(children.enabled[both_enabled].all())
    assert bool((~children.enabled[conn & ~f.enabled & ~o.enabled.gather(1, j)]).all())
