"""Whole generations of the batched engine against neat-python, in distribution (docs/neat_engine.md, 4.2 point
3 and 4.3 ``test_distributions``).

Both engines start from the very same state: a population neat-python evolved (``m2_populations.Run``), its
fitness, its species set and its counters (for the batched engine: ``from_neat_python``, a species table from
neat's species, neat's counters), and run one generation many times with different seeds (neat: Python's
``random`` seeded; batched: the run seed). Deterministic steps (stagnation, spawn, elites) agree exactly, so
the same children counts are compared; per child, against its fitter parent, the statistics are: nodes and
connections, the change of both (which structural operators fired), disabled genes, and the weight and bias
changes of genes it shares with that parent. Chi-squared (counts, rare values pooled) and two-sample KS
(changes) at p > 0.01 with Bonferroni over the family; seeds are fixed, so the outcome is deterministic. The
power checks run the same family on deliberately broken engines (``weight_mutate_power * 1.1``; crossover's
0.75 disable rule removed) and require it to fail.
"""
from __future__ import annotations

import dataclasses
import functools
import pickle
import random

import m2_populations as m2
import numpy as np
import pytest
import torch
from scipy import stats

from evohyper.families.neat import crossover
from evohyper.families.neat.batched_engine import BatchedEngine
from evohyper.families.neat.config import NEATConfig, from_text
from evohyper.families.neat.convert import from_neat_python
from evohyper.families.neat.counters import Counters
from evohyper.families.neat.genome import GenomeBatch

pytestmark = pytest.mark.usefixtures("one_torch_thread")
ALPHA = 0.01
COUNTS = ("nodes", "conns", "structure", "disabled")
CHANGES = ("dweight", "dbias")


class Start:
    """One neat-python state (population after ``generations`` with gaussian fitness), kept pickled so every
    repeat starts from a fresh copy, and its translation for the batched engine."""

    def __init__(self, name: str, seed: int, generations: int, popsize: int = 150, **genome_items):
        run = m2.Run(name, seed, popsize, **genome_items).run(generations, dyadic=False)
        run.fitness(dyadic=False)
        self.cfg = from_text(run.text)
        self.blob = pickle.dumps(run.pop)
        pop = run.pop
        self.order = list(pop.population)
        self.row_of = {g: i for i, g in enumerate(self.order)}
        self.parents = m2.batch([pop.population[g] for g in self.order])
        self.fitness = torch.tensor([pop.population[g].fitness for g in self.order], dtype=torch.float64)
        self.table = m2.table_from_neat(pop.species, self.order)
        self.species_of = m2.species_of_from_neat(pop.species, self.order)
        nodes = pop.config.genome_config.node_indexer   # consumed here: the pickled copy keeps its own
        self.counters = dict(next_node_id=None if nodes is None else next(nodes),
                             innovation=pop.reproduction.innovation_tracker.global_counter,
            next_gid=m2.next_gid(pop.reproduction), next_sid=m2.next_sid(pop.species))
        self.generation = pop.generation

    def neat(self):
        return pickle.loads(self.blob)

    def engine(self, seed: int, cfg: NEATConfig | None = None) -> BatchedEngine:
        eng = BatchedEngine(cfg or self.cfg, seed, dtype=torch.float64)
        eng.population, eng.table, eng.species_of = self.parents, self.table, self.species_of
        eng.counters, eng.generation = Counters(**self.counters), self.generation
        return eng


def neat_children(start: Start, seed: int) -> tuple[GenomeBatch, torch.Tensor, torch.Tensor]:
    """One generation of neat's ``Population.run``: the children (new genome ids) and their parents' rows."""
    pop = start.neat()
    random.seed(seed)
    pop.run(lambda genomes, config: None, 1)   # fitness is already set
    kids = [g for k, g in pop.population.items() if k not in start.row_of]
    ancestors = pop.reproduction.ancestors
    p1 = torch.tensor([start.row_of[ancestors[g.key][0]] for g in kids])
    p2 = torch.tensor([start.row_of[ancestors[g.key][1]] for g in kids])
    return from_neat_python(kids, dtype=torch.float64), p1, p2


def batched_children(start: Start, seed: int, cfg: NEATConfig | None = None):
    eng = start.engine(seed, cfg)
    seen = []
    plan = eng._offspring
    eng._offspring = lambda pop, f, offspring, streams: (seen.append(offspring), plan(pop, f, offspring, streams))[1]
    eng.tell(start.fitness)
    (offspring,) = seen
    assert torch.equal(eng.population.gid, offspring.gid)
    rows = torch.nonzero(~offspring.is_elite).reshape(-1)
    return eng.population[rows], offspring.source[rows], offspring.parent2[rows]


def _matched_change(child_keys, child_values, parent_keys, parent_values, live) -> np.ndarray:
    """``child - parent`` value of every live child gene whose key the parent row has too."""
    w = max(child_keys.shape[1], parent_keys.shape[1])

    def widen(t, fill):   # torch.cat, not F.pad: pad's float fill value cannot hold the int64 padding key
        return torch.cat([t, torch.full((t.shape[0], w - t.shape[1]), fill, dtype=t.dtype)], dim=1)

    pad = torch.iinfo(torch.int64).max
    ck, pk = widen(child_keys.to(torch.int64), pad), widen(parent_keys.to(torch.int64), pad)
    cv, pv, live = widen(child_values, 0.0), widen(parent_values, 0.0), widen(live, False)
    j = torch.searchsorted(pk, ck).clamp(max=w - 1)
    hit = live & (pk.gather(1, j) == ck)
    return (cv - pv.gather(1, j))[hit].numpy()


def child_stats(start: Start, children: GenomeBatch, p1: torch.Tensor, p2: torch.Tensor) -> dict[str, np.ndarray]:
    """Per child: sizes, size change against the fitter parent (neat's rule, ties to the second), disabled
    genes; per gene shared with the fitter parent: weight and bias change."""
    fitter, _ = crossover.fitter_parents(p1, p2, start.fitness)
    parent = crossover.take_rows(start.parents, fitter)
    dn, dc = children.n_nodes - parent.n_nodes, children.n_conns - parent.n_conns
    return {"nodes": children.n_nodes.numpy(), "conns": children.n_conns.numpy(),
            "structure": ((dn + 8) * 64 + (dc + 32)).numpy(),
            "disabled": (children.conn_live & ~children.enabled).sum(1).numpy(),
            "dweight": _matched_change(children.conn_key, children.weight, parent.conn_key, parent.weight,
                                       children.conn_live),
            "dbias": _matched_change(children.node_id, children.bias, parent.node_id, parent.bias,
                                     children.node_live)}


def collect(start: Start, make, seeds) -> dict[str, np.ndarray]:
    out: dict[str, list[np.ndarray]] = {}
    for seed in seeds:
        for name, values in child_stats(start, *make(start, seed)).items():
            out.setdefault(name, []).append(values)
    return {name: np.concatenate(v) for name, v in out.items()}


def chi2_same(a: np.ndarray, b: np.ndarray, min_count: int = 20) -> float:
    """p of a chi-squared test that two samples of counts share one distribution (rare values pooled)."""
    values = np.union1d(a, b)
    ca = np.array([(a == v).sum() for v in values])
    cb = np.array([(b == v).sum() for v in values])
    common = ca + cb >= min_count
    table = [list(ca[common]) + [ca[~common].sum()], list(cb[common]) + [cb[~common].sum()]]
    table = np.array(table)[:, np.array(table).sum(0) > 0]
    return float(stats.chi2_contingency(table).pvalue) if table.shape[1] > 1 else 1.0


def family(a: dict[str, np.ndarray], b: dict[str, np.ndarray], extra: tuple[str, ...] = ()) -> dict[str, float]:
    p = {name: chi2_same(a[name], b[name]) for name in COUNTS + extra}
    assert all(len(a[name]) and len(b[name]) for name in CHANGES)
    p.update({name: float(stats.ks_2samp(a[name], b[name]).pvalue) for name in CHANGES})
    return p


def failures(p: dict[str, float]) -> list[str]:
    return [name for name, value in p.items() if value <= ALPHA / len(p)]


@functools.cache
def xor_start() -> Start:
    return Start("xor", 0, 5)


@functools.cache
def neat_sample(repeats: int = 150) -> dict[str, np.ndarray]:
    return collect(xor_start(), neat_children, range(repeats))


def batched_sample(cfg: NEATConfig | None = None, repeats: int = 150) -> dict[str, np.ndarray]:
    return collect(xor_start(), lambda s, seed: batched_children(s, seed, cfg), range(1000, 1000 + repeats))


def test_one_generation_matches_neat_python_in_distribution():
    """150 repeats at P = 150 (22,000 children, ~130,000 shared connection genes) from the XOR example's state."""
    start = xor_start()
    kids, _, _ = neat_children(start, 0)
    assert len(kids) == len(batched_children(start, 0)[0])       # same spawn and elites: same number of children
    neat, batched = neat_sample(), batched_sample()
    assert len(neat["nodes"]) == len(batched["nodes"]) > 20_000 and len(neat["dweight"]) > 100_000
    p = family(neat, batched)
    assert not failures(p), p


def test_power_mutate_power_times_1_1_is_detected():
    cfg = xor_start().cfg
    weight = dataclasses.replace(cfg.weight, mutate_power=cfg.weight.mutate_power * 1.1)
    broken = dataclasses.replace(cfg, weight=weight)
    p = family(neat_sample(), batched_sample(broken))
    assert "dweight" in failures(p), p


def test_power_crossover_without_the_disable_rule_is_detected(monkeypatch):
    monkeypatch.setattr(crossover, "DISABLE", 0.0)      # a gene disabled in a parent is never disabled by the rule
    p = family(neat_sample(), batched_sample())
    assert "disabled" in failures(p), p


@pytest.mark.slow
def test_one_generation_in_distribution_with_hidden_nodes_and_activation_choices():
    """300 repeats on a config with two initial hidden nodes, three activations and response mutation; the
    family adds the activation of every child node (chi-squared)."""
    start = Start("hidden2", 1, 6, response_mutate_rate=0.3, response_mutate_power=0.2)

    def with_activations(make):
        def run(s, seed):
            kids, p1, p2 = make(s, seed)
            run.activations.append(kids.activation[kids.node_live].numpy())
            return kids, p1, p2
        run.activations = []
        return run

    neat_make, batched_make = with_activations(neat_children), with_activations(batched_children)
    neat = collect(start, neat_make, range(300))
    batched = collect(start, batched_make, range(5000, 5300))
    neat["activation"], batched["activation"] = (np.concatenate(m.activations) for m in (neat_make, batched_make))
    assert len(np.unique(neat["activation"])) == 3
    p = family(neat, batched, extra=("activation",))
    assert not failures(p), p


def _species_after(start: Start, engine: str, seed: int, generations: int = 5, cfg: NEATConfig | None = None) -> int:
    """Species after ``generations`` more generations under a fitness that depends on the genomes only."""
    def fitness(batch: GenomeBatch) -> torch.Tensor:
        enabled = batch.weight * (batch.enabled & batch.conn_live)
        return -(enabled.sum(1) - 2.0).abs() + 0.1 * batch.n_nodes.clamp(max=6).double()

    if engine == "neat":
        pop = start.neat()
        random.seed(seed)
        for _ in range(generations):
            genomes = list(pop.population.values())
            for g, f in zip(genomes, fitness(from_neat_python(genomes)).tolist()):
                g.fitness = f
            pop.run(lambda genomes, config: None, 1)
        return len(pop.species.species)
    eng = start.engine(seed, cfg)
    for _ in range(generations):
        eng.tell(fitness(eng.population))
    return eng.species_count


@pytest.mark.slow
def test_species_counts_after_five_generations_match_neat_python():
    """50 seeds per engine, chi-squared on the number of species (speciation, stagnation and spawn together);
    power: the batched engine at 0.8 x compatibility_threshold must fail."""
    start = xor_start()
    neat = np.array([_species_after(start, "neat", s) for s in range(50)])
    batched = np.array([_species_after(start, "batched", s) for s in range(1000, 1050)])
    assert neat.std() > 0
    p = chi2_same(neat, batched, min_count=10)
    assert p > ALPHA / 2, (p, np.bincount(neat), np.bincount(batched))
    cfg = dataclasses.replace(start.cfg, compatibility_threshold=start.cfg.compatibility_threshold * 0.8)
    broken = np.array([_species_after(start, "batched", s, cfg=cfg) for s in range(1000, 1050)])
    assert chi2_same(neat, broken, min_count=10) <= ALPHA / 2
