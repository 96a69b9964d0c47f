"""neat-python 2.0 as the oracle of the M3a tests (attributes, crossover, initial population).

Three things every test of that package needs: a ``neat.Config`` with any INI item replaced (``config``),
populations evolved by neat's own reproduction under random fitness and converted to ``GenomeBatch``
(``population``), and a patch of the names neat's attribute and gene modules call for randomness
(``scripted``) that serves the engine's recorded draws in neat's call order (docs/neat_engine.md, 4.3).
"""
from __future__ import annotations

import configparser
import contextlib
import io
import random
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import neat
import numpy as np
from scipy import stats

from evohyper.families.neat import config as neat_config
from evohyper.families.neat import ini

INIS = Path(__file__).resolve().parents[3] / "search_spaces" / "neat_python"
XOR = "xor-config-feedforward"

#: every attribute varies, with clamping at narrow bounds, repeated options and asymmetric bool rates
RICH = {
    "activation_default": "random", "activation_options": "sigmoid tanh sigmoid relu sigmoid",
    "activation_mutate_rate": 0.4, "aggregation_default": "random", "aggregation_options": "sum product max sum",
    "aggregation_mutate_rate": 0.3, "weight_max_value": 1.5, "weight_min_value": -1.5, "weight_mutate_rate": 0.7,
    "weight_replace_rate": 0.15, "weight_mutate_power": 0.6, "bias_init_type": "uniform", "bias_init_stdev": 0.8,
    "bias_max_value": 1.2, "bias_min_value": -2.0, "bias_mutate_rate": 0.6, "bias_replace_rate": 0.2,
    "response_init_stdev": 0.5, "response_mutate_rate": 0.5, "response_mutate_power": 0.3,
    "response_replace_rate": 0.2, "time_constant_init_mean": 1.0, "time_constant_init_stdev": 0.5,
    "time_constant_init_type": "gaussian", "time_constant_max_value": 2.0, "time_constant_min_value": 0.1,
    "time_constant_mutate_rate": 0.5, "time_constant_mutate_power": 0.2, "time_constant_replace_rate": 0.1,
    "enabled_default": "random", "enabled_mutate_rate": 0.2, "enabled_rate_to_true_add": 0.3,
    "node_add_prob": 0.5, "node_delete_prob": 0.2, "conn_add_prob": 0.5, "conn_delete_prob": 0.3,
    "compatibility_threshold": 20.0, "min_species_size": 2,
}
_SECTION_OF = {"pop_size": "NEAT", "reset_on_extinction": "NEAT", "compatibility_threshold": "DefaultSpeciesSet",
               "elitism": "DefaultReproduction", "survival_threshold": "DefaultReproduction",
               "min_species_size": "DefaultReproduction", "species_fitness_func": "DefaultStagnation",
               "max_stagnation": "DefaultStagnation", "species_elitism": "DefaultStagnation"}
_CACHE: dict[tuple, list] = {}


def config_text(base: str = XOR, **items: object) -> str:
    parser = configparser.ConfigParser()
    parser.read_string((INIS / base).read_text())
    for key, value in items.items():
        text = " ".join(value) if isinstance(value, list) else str(value)
        parser.set(_SECTION_OF.get(key, "DefaultGenome"), key, text)
    out = io.StringIO()
    parser.write(out)
    return out.getvalue()


def config(base: str = XOR, **items: object) -> tuple[neat.Config, neat_config.NEATConfig]:
    """A fresh ``neat.Config`` (its node counter unstarted) with ``items`` replaced, and its ``NEATConfig``."""
    c = ini.config_from_text(config_text(base, **items))
    return c, neat_config.from_neat(c)


def population(seed: int, generations: int, pop_size: int = 60, **items: object) -> tuple[neat.Config, list]:
    """neat genomes after ``generations`` of neat's reproduction under random fitness (``RICH`` + items)."""
    key = (seed, generations, pop_size, tuple(sorted(items.items())))
    if key not in _CACHE:
        c, _ = config(**{**RICH, "pop_size": pop_size, **items})
        pop = neat.Population(c, seed=seed)
        rng = random.Random(seed)

        def fitness(genomes, _config):
            for _, g in genomes:
                g.fitness = -1e9 - rng.random()  # below the INI's fitness_threshold

        with contextlib.redirect_stderr(io.StringIO()):
            pop.run(fitness, generations)
        _CACHE[key] = [c, list(pop.population.values())]
    return _CACHE[key][0], _CACHE[key][1]


class Script:
    """Queues of the values neat's random functions return, in neat's call order. ``gauss(mu, s)`` returns
    ``mu + z*s`` (Python's formula) for the next queued ``z``; ``uniform(a, b)`` ``a + (b - a)*u``;
    ``choice(seq)`` ``seq[i]`` for the next queued index; ``random()`` the next queued uniform."""

    def __init__(self) -> None:
        self.random: deque[float] = deque()
        self.gauss: deque[float] = deque()
        self.uniform: deque[float] = deque()
        self.choice: deque[tuple[int, int]] = deque()  # (index, expected len(seq))

    def _random(self) -> float:
        return self.random.popleft()

    def _gauss(self, mu: float, sigma: float) -> float:
        return mu + self.gauss.popleft() * sigma

    def _uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.uniform.popleft()

    def _choice(self, seq):
        index, n = self.choice.popleft()
        assert len(seq) == n, (len(seq), n)
        return seq[index]

    def left(self) -> dict[str, int]:
        return {k: len(q) for k, q in (("random", self.random), ("gauss", self.gauss),
                                       ("uniform", self.uniform), ("choice", self.choice)) if q}


@contextlib.contextmanager
def scripted(script: Script) -> Iterator[Script]:
    """Patch ``neat.attributes.{random, gauss, uniform, choice}`` and ``neat.genes.random`` with ``script``;
    on exit every queue must be empty (no draw left unused, none missing: a missing one raises IndexError)."""
    with mock.patch.object(neat.attributes, "random", script._random), \
            mock.patch.object(neat.attributes, "gauss", script._gauss), \
            mock.patch.object(neat.attributes, "uniform", script._uniform), \
            mock.patch.object(neat.attributes, "choice", script._choice), \
            mock.patch.object(neat.genes, "random", script._random):
        yield script
    assert not script.left(), f"draws left unused: {script.left()}"


# ---------------------------------------------------------------------------------------------- statistics
ALPHA = 0.01


def chi2_same(a: np.ndarray, b: np.ndarray) -> float:
    """p-value that two count vectors over the same categories come from one distribution (empty
    categories in both are dropped)."""
    table = np.array([a, b], dtype=float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def ks_same(a: np.ndarray, b: np.ndarray) -> float:
    return float(stats.ks_2samp(a, b).pvalue)


def counts(values: np.ndarray, categories: int) -> np.ndarray:
    return np.bincount(np.asarray(values, dtype=np.int64), minlength=categories)
