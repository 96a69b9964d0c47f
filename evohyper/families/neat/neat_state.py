"""neat-python objects <-> explicit JSON data (genomes, species, counters, RNG), never pickle.

Why explicit: checkpoints must load without executing code, and a NEAT run's state *is* data:
genomes (node and connection genes, in their dict order, which neat-python's mutation and crossover
iterate), species (representative, members, fitness history), the genome/species/node indexers,
the innovation tracker and the RNG. Restoring all of it resumes a run bit-identically.
"""
from __future__ import annotations

import itertools
import random
from typing import Any

import neat
from neat.species import Species

_NODE_ATTRS = ("bias", "response", "activation", "aggregation", "time_constant")


def genome_to_data(g: Any) -> dict[str, Any]:
    nodes = [[k, *(getattr(n, a) for a in _NODE_ATTRS)] for k, n in g.nodes.items()]
    conns = [[i, o, c.innovation, c.weight, bool(c.enabled)] for (i, o), c in g.connections.items()]
    return {"key": g.key, "fitness": g.fitness, "nodes": nodes, "connections": conns}


def genome_from_data(data: dict[str, Any], genome_config: Any) -> Any:
    g = neat.DefaultGenome(int(data["key"]))
    for k, *values in data["nodes"]:
        node = genome_config.node_gene_type(int(k))
        for a, v in zip(_NODE_ATTRS, values):
            setattr(node, a, v)
        g.nodes[int(k)] = node
    for i, o, innovation, weight, enabled in data["connections"]:
        c = genome_config.connection_gene_type((int(i), int(o)), innovation=int(innovation))
        c.weight, c.enabled = float(weight), bool(enabled)
        g.connections[(int(i), int(o))] = c
    g.fitness = None if data["fitness"] is None else float(data["fitness"])
    return g


def peek_count(counter: Any) -> tuple[int, Any]:
    """The next value of an ``itertools.count`` and an equivalent fresh counter (peeking consumes)."""
    value = next(counter)
    return value, itertools.count(value)


def rng_to_data(rng: random.Random) -> list[Any]:
    version, internal, gauss_next = rng.getstate()
    return [version, list(internal), gauss_next]


def rng_from_data(data: list[Any]) -> random.Random:
    rng = random.Random()
    rng.setstate((int(data[0]), tuple(int(x) for x in data[1]), data[2]))
    return rng


def species_to_data(species_set: Any) -> dict[str, Any]:
    nxt, species_set.indexer = peek_count(species_set.indexer)
    out = []
    for sid, s in species_set.species.items():
        out.append({"key": sid, "created": s.created, "last_improved": s.last_improved,
                    "representative": genome_to_data(s.representative) if s.representative is not None else None,
                    "members": list(s.members), "fitness": s.fitness, "adjusted_fitness": s.adjusted_fitness,
                    # neat-python's stagnation reads only max(fitness_history): the max keeps the state constant-size
                    "fitness_history": [max(s.fitness_history)] if s.fitness_history else []})
    return {"indexer_next": nxt, "species": out,
            "genome_to_species": [[g, s] for g, s in species_set.genome_to_species.items()]}


def species_from_data(data: dict[str, Any], config: Any, population: dict[int, Any]) -> Any:
    species_set = config.species_set_type(config.species_set_config, neat.reporting.ReporterSet())
    species_set.indexer = itertools.count(int(data["indexer_next"]))
    for d in data["species"]:
        s = Species(int(d["key"]), int(d["created"]))
        s.last_improved = int(d["last_improved"])
        rep = d["representative"]
        if rep is not None:  # the representative may be a genome of an earlier generation
            s.representative = population.get(int(rep["key"])) if _same(population.get(int(rep["key"])), rep) \
                else genome_from_data(rep, config.genome_config)
        s.members = {int(k): population[int(k)] for k in d["members"]}
        s.fitness, s.adjusted_fitness = d["fitness"], d["adjusted_fitness"]
        s.fitness_history = list(d["fitness_history"])
        species_set.species[s.key] = s
    species_set.genome_to_species = {int(g): int(s) for g, s in data["genome_to_species"]}
    return species_set


def _same(genome: Any, data: dict[str, Any]) -> bool:
    return genome is not None and genome_to_data(genome) == data


def innovation_to_data(tracker: Any) -> dict[str, Any]:
    return {"global_counter": tracker.global_counter,
            "generation": [[i, o, kind, n] for (i, o, kind), n in tracker.generation_innovations.items()]}


def innovation_from_data(tracker: Any, data: dict[str, Any]) -> None:
    tracker.global_counter = int(data["global_counter"])
    tracker.generation_innovations = {(int(i), int(o), str(kind)): int(n) for i, o, kind, n in data["generation"]}
