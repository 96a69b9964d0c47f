"""Reproduction plan of the batched NEAT engine: adjusted fitness (S2), spawn counts (S4), and the layout of
the next population with its elites and parents (S3, S5; docs/neat_engine.md, section 3 steps 2-4).

Why this split: ``compute_spawn`` and ``adjust_spawn_exact`` are O(S) and their rounding must be Python's,
so they are neat-python's functions ported verbatim onto Python lists. Everything that scales with the
population is tensor work: one sort ranks the members of every species by ``(fitness, genome id)``
descending, the slots of the new population are one ``repeat_interleave`` over the species, and every
child's two parents are drawn at once from stream ``select`` (``floor(u * pool)`` into its species' pool).
The plan says *which* old rows become which new rows; crossover and mutation (M3) build the genomes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from evohyper.families.neat.config import NEATConfig
from evohyper.families.neat.counters import Counters
from evohyper.families.neat.species import SpeciesTable, species_means
from evohyper.families.neat.streams import Streams

Tensor = torch.Tensor


# ---------------------------------------------------------------------------------------------- S4, verbatim
def compute_spawn(adjusted_fitness: list[float], previous_sizes: list[int], pop_size: int,
                  min_species_size: int) -> list[int]:
    """neat's ``DefaultReproduction.compute_spawn``, line for line."""
    af_sum = sum(adjusted_fitness)

    spawn_amounts = []
    for af, ps in zip(adjusted_fitness, previous_sizes):
        if af_sum > 0:
            s = max(min_species_size, af / af_sum * pop_size)
        else:
            s = min_species_size

        d = (s - ps) * 0.5
        c = int(round(d))
        spawn = ps
        if abs(c) > 0:
            spawn += c
        elif d > 0:
            spawn += 1
        elif d < 0:
            spawn -= 1

        spawn_amounts.append(spawn)

    total_spawn = sum(spawn_amounts)
    norm = pop_size / total_spawn
    return [max(min_species_size, int(round(n * norm))) for n in spawn_amounts]


def adjust_spawn_exact(spawn_amounts: list[int], pop_size: int, min_species_size: int) -> list[int]:
    """neat's ``DefaultReproduction._adjust_spawn_exact``, line for line (on a copy of the list).

    Raises ``RuntimeError`` with neat's messages (``num_species * min_species_size`` above ``pop_size``;
    the internal-error case)."""
    spawn_amounts = list(spawn_amounts)
    total_spawn = sum(spawn_amounts)
    if total_spawn == pop_size:
        return spawn_amounts

    num_species = len(spawn_amounts)
    min_total = num_species * min_species_size
    if min_total > pop_size:
        raise RuntimeError(
            f"Configuration conflict: population size {pop_size} is less than "
            f"num_species * min_species_size {min_total} ({num_species} * {min_species_size}). "
            "Cannot satisfy per-species minima.")

    diff = pop_size - total_spawn
    indexed = list(enumerate(spawn_amounts))

    if diff > 0:
        indexed.sort(key=lambda x: x[1])
        i = 0
        while diff > 0 and indexed:
            idx, val = indexed[i]
            val += 1
            spawn_amounts[idx] = val
            indexed[i] = (idx, val)
            diff -= 1
            i = (i + 1) % len(indexed)
    else:
        remaining = -diff
        indexed.sort(key=lambda x: x[1], reverse=True)
        i = 0
        while remaining > 0 and indexed:
            idx, val = indexed[i]
            if val > min_species_size:
                val -= 1
                spawn_amounts[idx] = val
                indexed[i] = (idx, val)
                remaining -= 1
            i = (i + 1) % len(indexed)
            if i == 0 and remaining > 0:
                break

    if sum(spawn_amounts) != pop_size:
        raise RuntimeError(
            f"Internal error adjusting spawn counts: could not match pop_size={pop_size} "
            f"with min_species_size={min_species_size}")

    return spawn_amounts


# ---------------------------------------------------------------------------------------------- S2
def adjusted_fitness(species_of: Tensor, fitness: Tensor, stagnant: Tensor) -> Tensor:
    """``[S]`` float64 neat's adjusted fitness (S2) of the non-stagnant species; nan for stagnant ones.

    ``min_f``/``max_f`` over the members of non-stagnant species only, ``range = max(1.0, max_f - min_f)``,
    ``af = (mean(member fitness) - min_f) / range``."""
    S = int(stagnant.shape[0])
    f = fitness.to(torch.float64)
    alive = ~stagnant.index_select(0, species_of)
    inf = float("inf")
    low, high = torch.stack([torch.where(alive, f, inf).min(), torch.where(alive, f, -inf).max()]).tolist()
    if low == inf:  # every member's species is stagnant
        return torch.full((S,), float("nan"), dtype=torch.float64, device=f.device)
    fitness_range = max(1.0, high - low)
    af = (species_means(species_of, f, S) - low) / fitness_range
    return torch.where(stagnant, float("nan"), af)


# ---------------------------------------------------------------------------------------------- S3, S5
@dataclass(eq=False)
class Offspring:
    """The rows of the next population, in neat's order (S3, S5): per surviving species, its elites (best
    first) then its children; children's genome ids ascend in slot order."""

    source: Tensor  # [P_new] int64, row in the old population: the elite itself, or parent 1
    parent2: Tensor  # [P_new] int64 (== source for elites)
    is_elite: Tensor  # [P_new] bool
    gid: Tensor  # [P_new] int64, elites keep theirs; children get counters.gids(...) in slot order
    species: Tensor  # [P_new] int64, row of the parents' species in the returned (surviving) table
    pool: Tensor  # [P_new] int64, size of the parent pool a child drew from (the top of its species); 0 for elites

    def __len__(self) -> int:
        return int(self.gid.shape[0])


def rank_members(species_of: Tensor, fitness: Tensor, gid: Tensor, n_species: int) -> tuple[Tensor, Tensor, Tensor]:
    """Members of each species sorted by ``(fitness, genome id)`` descending, as neat's ``old_members.sort(
    reverse=True, ...)``: ``(order [P], start [S], count [S])``; species ``s``'s ranking is
    ``order[start[s] : start[s] + count[s]]`` (its first ``elitism`` are the elites, the first ``pool`` the
    parents)."""
    f = fitness.to(torch.float64) + 0.0  # -0.0 -> 0.0: Python compares them equal, then by genome id
    order = torch.sort(gid, descending=True, stable=True).indices
    order = order.index_select(0, torch.sort(f.index_select(0, order), descending=True, stable=True).indices)
    order = order.index_select(0, torch.sort(species_of.index_select(0, order), stable=True).indices)
    count = torch.bincount(species_of, minlength=n_species)[:n_species]
    return order, torch.cumsum(count, 0) - count, count


def plan_offspring(table: SpeciesTable, species_of: Tensor, fitness: Tensor, gid: Tensor, stagnant: Tensor,
                   order: list[int], cfg: NEATConfig, pop_size: int, streams: Streams,
                   counters: Counters) -> tuple[SpeciesTable, Offspring | None]:
    """neat's ``DefaultReproduction.reproduce`` up to crossover (S2-S5).

    ``table``, ``stagnant``, ``order``: what ``species.update_stagnation`` returned for this population
    (``species_of``, ``fitness``, ``gid`` are per old row). Returns the surviving species (ascending sid,
    ``adjusted_fitness`` set, ``representative`` still rows of the old population) and the plan of the new
    population, or ``(empty table, None)`` when every species is stagnant (extinction: the caller decides).
    Parents are drawn from ``streams.uniform("select", n_children, 2)`` (column 0 parent 1, column 1 parent 2);
    children's ids from ``counters.gids``. ``RuntimeError`` from ``adjust_spawn_exact`` passes through.
    """
    device = species_of.device
    S = len(table)
    stagnant_list = stagnant.tolist()
    remaining = [row for row in order if not stagnant_list[row]]
    if not remaining:
        return SpeciesTable.empty(device), None
    af = adjusted_fitness(species_of, fitness, stagnant)
    rank, start, count = rank_members(species_of, fitness, gid, S)
    af_list, sizes = af.tolist(), count.tolist()
    msz = max(cfg.min_species_size, cfg.elitism)
    spawn = compute_spawn([af_list[r] for r in remaining], [sizes[r] for r in remaining], pop_size, msz)
    spawn = adjust_spawn_exact(spawn, pop_size, msz)

    # slots: per species in `remaining` order, e elites then c children (Python lists over the species only)
    first_l = start.tolist()
    elites, children, pools, base = [], [], [], []
    slot = 0
    for row, n in zip(remaining, spawn):
        n = max(n, cfg.elitism)
        e = min(cfg.elitism, sizes[row]) if cfg.elitism > 0 else 0
        elites.append(e)
        children.append(max(0, n - e))
        pools.append(min(sizes[row], max(int(math.ceil(cfg.survival_threshold * sizes[row])), 2)))
        base.append(slot)
        slot += e + children[-1]
    n_slots, n_children = slot, sum(children)

    # every small index list of the layout in one host-to-tensor copy, sliced
    c_start = [0]
    for c in children[:-1]:
        c_start.append(c_start[-1] + c)
    survivors = sorted(remaining)
    new_row = {row: i for i, row in enumerate(survivors)}
    E, K = sum(elites), len(remaining)
    lists = ([first_l[row] + j for row, e in zip(remaining, elites) for j in range(e)]  # elites' ranking places
             + [b + j for b, e in zip(base, elites) for j in range(e)]  # their slots
             + [v for row, b, e, cs, pool in zip(remaining, base, elites, c_start, pools)
                for v in (first_l[row], pool, b + e - cs)]  # per species: ranking start, pool, child slot base
             + children + [e + c for e, c in zip(elites, children)] + [new_row[row] for row in remaining] + pools)
    flat = torch.tensor(lists, dtype=torch.int64, device=device)
    elite_at, elite_slot, per_species = flat[:E], flat[E:2 * E], flat[2 * E:2 * E + 3 * K].view(K, 3)
    children_t, per, species_t, pools_t = flat[2 * E + 3 * K:].view(4, K)
    elite_src = rank.index_select(0, elite_at)
    # children: per child (species block order) its ranking start, its pool, and its slot
    per_child = torch.repeat_interleave(per_species, children_t, dim=0, output_size=n_children)  # [C, 3]
    u = streams.uniform("select", n_children, 2)
    picks = Streams.choice(u, per_child[:, 1:2])  # [n_children, 2] ranks within the pool
    parents = rank.index_select(0, (per_child[:, 0:1] + picks).view(-1)).view(n_children, 2)
    child_slot = per_child[:, 2] + torch.arange(n_children, device=device)
    source = torch.empty(n_slots, dtype=torch.int64, device=device)
    source.index_copy_(0, elite_slot, elite_src).index_copy_(0, child_slot, parents[:, 0])
    parent2 = source.clone().index_copy_(0, child_slot, parents[:, 1])
    is_elite = torch.zeros(n_slots, dtype=torch.bool, device=device).index_fill_(0, elite_slot, True)
    new_gid = torch.empty_like(source).index_copy_(0, elite_slot, gid.index_select(0, elite_src))
    new_gid.index_copy_(0, child_slot, counters.gids(n_children).to(device))  # ids ascend in slot order
    species = torch.repeat_interleave(species_t, per, output_size=n_slots)
    pool = torch.repeat_interleave(pools_t, per, output_size=n_slots).index_fill_(0, elite_slot, 0)
    kept = table.replace(adjusted_fitness=af).select(survivors)
    return kept, Offspring(source=source, parent2=parent2, is_elite=is_elite, gid=new_gid, species=species, pool=pool)
