"""M6's distance paths (sparse pairing, tables indexed by key cells, ``cw`` folded into the presence table) give
the very same bits as the plain dense path, on non-dyadic values (where any change of the order of a sum or of
an operation would show), for every layout the population side can take."""
from __future__ import annotations

import pytest
import torch
from m2_populations import NAMES, Run, batch

from evohyper.families.neat import distance, distance_pairs
from evohyper.families.neat.distance import PopulationDistances

LAYOUTS = {"joint": {"JOINT_SLOTS": 1 << 60}, "padded": {"JOINT_SLOTS": -1, "FLAT_RATIO": 1e9},
           "flat": {"JOINT_SLOTS": -1, "FLAT_RATIO": 0.0},
           "table": {"JOINT_SLOTS": -1, "FLAT_RATIO": 1e9, "TABLE_MIN_GENES": 0, "TABLE_RATIO": 10**6}}


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.view(torch.int64)


def _all(pop, reps, cfg, order):
    d = PopulationDistances(pop, cfg, order=order)
    return [d.ranked_batch(reps), d.ranked(torch.tensor([4, 0, 9]), 5), d.rows(torch.tensor([2, 7]))]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_sparse_and_scaled_paths_are_bit_identical(name, layout, monkeypatch):
    run = Run(name, 11, 40).run(4)
    pop = batch(run.genomes)
    reps = pop[torch.arange(0, len(pop), 4)]
    order = torch.randperm(len(pop), generator=torch.Generator().manual_seed(3))
    for k, v in LAYOUTS[layout].items():
        monkeypatch.setattr(distance, k, v)
    monkeypatch.setattr(distance_pairs, "SPARSE_RATIO", -1.0)  # dense everywhere, cw folded where cw > 0
    dense = _all(pop, reps, run.cfg, order)
    monkeypatch.setattr(distance_pairs, "SPARSE_RATIO", 1e9)  # sparse wherever the tables allow it
    sparse = _all(pop, reps, run.cfg, order)
    monkeypatch.setattr(distance_pairs, "SPARSE_RATIO", -1.0)
    monkeypatch.setattr(distance.math, "isfinite", lambda x: False)  # the plain ``where``, never folded
    plain = _all(pop, reps, run.cfg, order)
    for a, b, c in zip(dense, sparse, plain):
        assert torch.equal(_bits(a), _bits(c)) and torch.equal(_bits(b), _bits(c))


def test_table_paths_fold_and_match(monkeypatch):
    """The key-cell tables are indexed by the cells themselves when they are small (``folded``), through the
    representatives' key union otherwise: the same bits, and old representatives' ids outside the population's
    space match nothing in both."""
    run = Run("hidden2", 3, 30).run(5)
    pop = batch(run.genomes)
    reps = pop[torch.tensor([1, 8, 20])]
    for k, v in LAYOUTS["table"].items():
        monkeypatch.setattr(distance, k, v)
    monkeypatch.setattr(distance_pairs, "FOLD_RATIO", 10**9)
    folded = PopulationDistances(pop, run.cfg)
    assert all(side.space is not None for side in folded.sides)
    assert distance_pairs.Dense(folded._genes[1].rows(torch.tensor([0])), folded.sides[1]).folded
    out = [folded(reps), folded.ranked(torch.tensor([3, 5]), 2)]
    monkeypatch.setattr(distance_pairs, "FOLD_RATIO", 0)
    plain = PopulationDistances(pop, run.cfg)
    assert not distance_pairs.Dense(plain._genes[1].rows(torch.tensor([0])), plain.sides[1]).folded
    for a, b in zip(out, [plain(reps), plain.ranked(torch.tensor([3, 5]), 2)]):
        assert torch.equal(_bits(a), _bits(b))
    # representatives from another run hold ids outside this population's space: they match nothing, folded or not
    others = batch(Run("hidden2", 4, 30).run(9).genomes)[:6]
    monkeypatch.setattr(distance_pairs, "FOLD_RATIO", 10**9)
    a = PopulationDistances(pop, run.cfg)(others)
    monkeypatch.setattr(distance_pairs, "FOLD_RATIO", 0)
    assert torch.equal(_bits(a), _bits(PopulationDistances(pop, run.cfg)(others)))
    assert torch.equal(_bits(a), _bits(distance.distances(others, pop, run.cfg)))


@pytest.mark.parametrize("layout", ["joint", "padded"])
def test_non_finite_terms_fall_back_to_the_where(layout, monkeypatch):
    """An infinite weight makes an unmatched pair's term infinite: ``cw`` folded into the presence table would
    give ``inf * 0 = nan`` there, so that component is recomputed with the ``where`` (the plain numbers)."""
    run = Run("xor", 5, 30).run(3)
    pop = batch(run.genomes)
    pop.weight[3, 0] = float("inf")
    pop.bias[5, 0] = float("-inf")
    reps = pop[torch.tensor([0, 3, 5, 11])]
    for k, v in LAYOUTS[layout].items():
        monkeypatch.setattr(distance, k, v)
    monkeypatch.setattr(distance_pairs, "SPARSE_RATIO", -1.0)
    folded = PopulationDistances(pop, run.cfg)(reps)
    monkeypatch.setattr(distance.math, "isfinite", lambda x: False)
    plain = PopulationDistances(pop, run.cfg)(reps)
    assert not bool(torch.isfinite(plain).all())  # (|inf - inf| is nan: the representatives with themselves)
    assert torch.equal(_bits(folded), _bits(plain))
