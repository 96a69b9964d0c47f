"""Populations evolved by neat-python itself for the exact tests of the deterministic NEAT steps (M2).

``evolved(name, seed, generations, popsize)`` runs ``neat.Population`` a few generations under random
fitness on one of several configs (the XOR example, the HyperNEAT visual CPPN options of ``ini.DEFAULTS``,
``num_hidden = 2``, ``partial_direct``) and returns neat's own objects, so every test compares the batched
step with neat's function on the very species, genomes and fitness neat produced. ``dyadic`` rounds every
gene attribute (and fitness) to a multiple of ``2^-8``: sums of such terms are exact in any order, so the
batched values must equal neat's bit for bit (docs/neat_engine.md, section 4.2).
"""
from __future__ import annotations

import configparser
import io
import itertools
import math
import random
import sys
from pathlib import Path

import neat
import torch

from evohyper.families.neat import config as neat_config
from evohyper.families.neat import convert, ini
from evohyper.families.neat.species import SpeciesTable

INIS = Path(__file__).resolve().parents[3] / "search_spaces" / "neat_python"
STEP = 2.0 ** -8


def _set(text: str, section: str, **items: object) -> str:
    parser = configparser.ConfigParser()
    parser.read_string(text)
    for k, v in items.items():
        parser.set(section, k, str(v))
    out = io.StringIO()
    parser.write(out)
    return out.getvalue()


def _texts() -> dict[str, str]:
    xor = (INIS / "xor-config-feedforward").read_text()
    visual_text = ini._TEMPLATE.format(**ini._values({**ini.DEFAULTS, "num_inputs": 4, "num_outputs": 1,
                                                      "feed_forward": True}))
    hidden = _set(xor, "DefaultGenome", num_hidden=2, initial_connection="full_nodirect",
                  activation_options="sigmoid tanh relu", activation_mutate_rate=0.3)
    hidden = _set(hidden, "DefaultSpeciesSet", compatibility_threshold=5.0)  # distinct hidden ids (S12)
    partial = _set(xor, "DefaultGenome", initial_connection="partial_direct 0.5", num_inputs=5, num_outputs=2,
                   response_mutate_rate=0.3, response_mutate_power=0.2, aggregation_options="sum max",
                   aggregation_mutate_rate=0.3)
    return {"xor": xor, "visual": visual_text, "hidden2": hidden, "partial": partial}


TEXTS = _texts()
NAMES = tuple(TEXTS)
#: every config the tests use, with more structural churn so genomes differ in nodes and connections
CHURN = {"node_add_prob": 0.4, "node_delete_prob": 0.1, "conn_add_prob": 0.5, "conn_delete_prob": 0.2,
         "enabled_mutate_rate": 0.2}


def text(name: str, popsize: int, **genome_items: object) -> str:
    out = _set(TEXTS[name], "NEAT", pop_size=popsize, no_fitness_termination=True, fitness_threshold=1e308)
    return _set(out, "DefaultGenome", **{**CHURN, **genome_items})


class Run:
    """One neat-python run: ``config``, ``pop`` (``neat.Population``), the ``NEATConfig`` ``cfg``."""

    def __init__(self, name: str, seed: int, popsize: int, species_set: dict | None = None,
                 stagnation: dict | None = None, reproduction: dict | None = None, **genome_items: object):
        t = text(name, popsize, **genome_items)
        for section, items in (("DefaultSpeciesSet", species_set), ("DefaultStagnation", stagnation),
                               ("DefaultReproduction", reproduction)):
            if items:
                t = _set(t, section, **items)
        self.text = t
        self.config = ini.config_from_text(t)
        self.cfg = neat_config.from_neat(self.config)
        self.pop = neat.Population(self.config, seed=seed)
        self.rng = random.Random(seed)

    def fitness(self, dyadic: bool = True, ties: bool = True) -> None:
        """Random fitness on every genome (dyadic: multiples of 1/8 from a small range, so ties happen)."""
        for g in self.pop.population.values():
            if dyadic:
                g.fitness = self.rng.randint(-40 if ties else -10**6, 40 if ties else 10**6) / 8
            else:
                g.fitness = self.rng.gauss(0.0, 3.0)

    def run(self, generations: int, dyadic: bool = True) -> Run:
        def fitness(genomes, _config):
            for _, g in genomes:
                g.fitness = self.rng.randint(-40, 40) / 8 if dyadic else self.rng.gauss(0.0, 3.0)

        if generations:
            self.pop.run(fitness, generations)
        return self

    @property
    def genomes(self) -> list:
        return list(self.pop.population.values())


def make_dyadic(genomes) -> None:
    """Round every float attribute of neat genomes (in place) to a multiple of ``STEP``."""
    for g in genomes:
        for n in g.nodes.values():
            n.bias, n.response, n.time_constant = (_round(n.bias), _round(n.response), _round(n.time_constant))
        for c in g.connections.values():
            c.weight = _round(c.weight)


def _round(x: float) -> float:
    return round(x / STEP) * STEP


def table_from_neat(species_set, population_order: list[int]) -> SpeciesTable:
    """neat's species set as a ``SpeciesTable``: rows ascending sid, ``representative`` = position of the
    representative's genome id in ``population_order`` (-1 when it is not there)."""
    row_of = {gid: i for i, gid in enumerate(population_order)}
    rows = []
    for sid in sorted(species_set.species):
        s = species_set.species[sid]
        rows.append((sid, s.created, s.last_improved,
                     max(s.fitness_history) if s.fitness_history else -sys.float_info.max,
                     math.nan if s.fitness is None else s.fitness,
                     math.nan if s.adjusted_fitness is None else s.adjusted_fitness,
                     row_of.get(s.representative.key, -1) if s.representative is not None else -1))
    cols = list(zip(*rows)) if rows else [[]] * 7
    return SpeciesTable(*(torch.tensor(c, dtype=torch.float64 if k in (3, 4, 5) else torch.int64)
                          for k, c in enumerate(cols)))


def species_of_from_neat(species_set, population_order: list[int]) -> torch.Tensor:
    """Table row (ascending sid) of each genome id of ``population_order``, from neat's species members."""
    sid_row = {sid: i for i, sid in enumerate(sorted(species_set.species))}
    of = {gid: sid_row[sid] for sid, s in species_set.species.items() for gid in s.members}
    return torch.tensor([of[g] for g in population_order], dtype=torch.int64)


def assert_tables_equal(got: SpeciesTable, want: SpeciesTable) -> None:
    for name in ("sid", "created", "last_improved", "best", "fitness", "adjusted_fitness", "representative"):
        torch.testing.assert_close(getattr(got, name), getattr(want, name), rtol=0, atol=0, equal_nan=True,
                                   msg=lambda m, name=name: f"{name}: {m}")


def next_sid(species_set) -> int:
    """neat's species indexer's next value, without consuming it."""
    value = next(species_set.indexer)
    species_set.indexer = itertools.count(value)
    return value


def next_gid(reproduction) -> int:
    """neat's genome indexer's next value, without consuming it."""
    value = next(reproduction.genome_indexer)
    reproduction.genome_indexer = itertools.count(value)
    return value


def batch(genomes) -> object:
    return convert.from_neat_python(genomes, dtype=torch.float64)
