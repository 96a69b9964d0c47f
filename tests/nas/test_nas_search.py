"""Random search and regularized evolution over cells (with a cheap synthetic fitness)."""
from __future__ import annotations

import pytest
import torch

from evohyper.nas.search import random_search, regularized_evolution
from evohyper.nas.space import CellSpace, encoding


def n_convs(graphs):
    return torch.tensor([float(sum("conv" in g.nodes[v]["op"] for v in g)) for g in graphs])


def test_evolution_beats_random_on_a_synthetic_fitness_and_is_seeded():
    space = CellSpace(nodes=8)
    calls = []

    def fit(graphs):
        calls.append(len(graphs))
        return n_convs(graphs)

    evo = regularized_evolution(space, fit, 200, population=20, sample=5, batch=10, seed=0)
    rnd = random_search(space, n_convs, 200, seed=0)
    assert len(evo.graphs) == 200 and calls == [20] + [10] * 18       # batched evaluation per round
    assert max(evo.fitness) == 6 and max(evo.fitness) >= max(rnd.fitness)
    assert sum(evo.fitness[-50:]) > sum(rnd.fitness[-50:])
    again = regularized_evolution(space, n_convs, 200, population=20, sample=5, batch=10, seed=0)
    assert [encoding(g) for g in again.graphs] == [encoding(g) for g in evo.graphs]
    top = evo.top(3)
    assert len({encoding(g) for g, _ in top}) == 3 and top[0][1] == 6


def test_search_options_are_checked():
    with pytest.raises(ValueError, match="'sample'.*<= 'population'"):
        regularized_evolution(CellSpace(), n_convs, 50, population=4, sample=5)
    with pytest.raises(ValueError, match="'evaluations'.*>= 1"):
        random_search(CellSpace(), n_convs, 0)
