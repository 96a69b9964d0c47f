"""NEAT's variation operators on chosen parent pairs, batched: crossover, then structural and attribute mutation.

Why its own module: the batched engine (``BatchedEngine``) breeds children inside its speciated
reproduction, while the quality-diversity and multi-objective searches over NEAT genomes (``map_elites.py``,
``nsga2.py``) choose parents their own way (uniformly from an archive, by NSGA-II tournaments) and need only
"children of these pairs, as NEAT makes them". Both call ``breed``, so the operators, their order and their
draws (docs/neat_engine.md, section 3: crossover -> structure -> attributes, streams ``crossover``,
``structure``, ``add_node``, ... ``attributes``) are one piece of code.

A child of the pair ``(a, a)`` is NEAT's single-parent child (neat's ``reproduce`` crosses a parent with
itself when a species has one member): its genes are ``a``'s, then mutated.
"""
from __future__ import annotations

from functools import partial

import torch

from evohyper.families.neat import attributes, crossover, structure
from evohyper.families.neat.config import NEATConfig
from evohyper.families.neat.counters import Counters
from evohyper.families.neat.genome import GenomeBatch
from evohyper.families.neat.streams import Streams

Tensor = torch.Tensor


def breed(parents: GenomeBatch, fitness: Tensor, source: Tensor, parent2: Tensor, rows: Tensor, gid: Tensor,
          cfg: NEATConfig, streams: Streams, counters: Counters, dtype: torch.dtype) -> GenomeBatch:
    """A new batch whose row ``j`` is a copy of ``parents[source[j]]``, except the rows ``rows`` (ascending),
    which become children of ``source[rows]`` and ``parent2[rows]``: crossed over (the fitter of the two by
    ``fitness [len(parents)]``, ties to ``parent2`` as neat), structurally mutated and attribute-mutated in
    place, in ``rows`` order (the order neat mutates them in; new node ids and innovations follow it).
    Rows not in ``rows`` are copied unchanged (the engine's elites). ``gid [len(source)]`` numbers the rows.

    One gather builds the whole batch (each copied row's own row, each child's fitter parent's row)."""
    fitter, other = crossover.fitter_parents(source.index_select(0, rows), parent2.index_select(0, rows), fitness)
    source = source.index_copy(0, rows, fitter)  # copies: themselves
    new = crossover.take_rows(parents, source)
    new.gid = gid.to(new.gid.device)
    crossover.cross_into(new, rows, parents, fitter, other, streams, cfg.num_inputs)
    new = structure.mutate_structure(
        new, rows, cfg, streams, counters,
        new_nodes=partial(attributes.new_nodes, cfg=cfg, streams=streams, op="add_node", dtype=dtype),
        new_connections=partial(attributes.new_connections, cfg=cfg, streams=streams, op="add_connection",
                                dtype=dtype), inplace=True)  # the new rows are this call's own
    new = attributes.mutate_attributes(new, rows, cfg, streams, inplace=True)
    return new.shrink()


def offspring(parents: GenomeBatch, fitness: Tensor, p1: Tensor, p2: Tensor, cfg: NEATConfig, streams: Streams,
              counters: Counters, dtype: torch.dtype) -> GenomeBatch:
    """``K`` children, child ``k`` of ``parents[p1[k]]`` and ``parents[p2[k]]`` (``p1[k] == p2[k]``: a
    mutated copy), with fresh gids from ``counters``: NEAT's crossover + structural + attribute mutation
    without speciation or elites. ``fitness [len(parents)]`` (higher is better) picks each pair's fitter
    parent, whose genes the child inherits. The caller starts each generation with
    ``counters.reset_generation()`` (neat shares an innovation number between identical new connections
    of one generation) and hands a ``Streams`` of that generation."""
    device = parents.device
    p1 = torch.as_tensor(p1, device=device).reshape(-1).to(torch.int64)
    p2 = torch.as_tensor(p2, device=device).reshape(-1).to(torch.int64)
    if p1.shape != p2.shape:
        raise ValueError(f"offspring() got {p1.numel()} first parents and {p2.numel()} second parents")
    fitness = torch.as_tensor(fitness, dtype=torch.float64, device=device).reshape(-1)
    if fitness.numel() != len(parents):
        raise ValueError(f"offspring() got {fitness.numel()} fitness values for {len(parents)} parents")
    k = p1.numel()
    gid = counters.gids(k).to(device)
    return breed(parents, fitness, p1, p2, torch.arange(k, device=device), gid, cfg, streams, counters, dtype)
