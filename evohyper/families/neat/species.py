"""Species of the batched NEAT engine: the species table, stagnation (S1) and speciation (S17).

Why a table of tensors and not neat-python's ``Species`` objects: membership is one ``species_of [P]``
vector (table row of each genome) and every per-species statistic is a segment reduction over it, so a
generation never loops over genomes. Only neat's walks that are O(S) and whose exact order matters (the
stagnation walk, the stable sort of species fitness) run as Python over S numbers. Of neat's fitness
history only ``max(history)`` is ever read, so the table keeps that one number (``best``).

Speciation (docs/neat_engine.md, section 3 step 9) is neat's ``DefaultSpeciesSet.speciate``: existing
species pick their new representative in ascending species id (the unspeciated genome closest to the old
representative, first minimum in genome-id order); the other genomes join, in ascending genome id, the
closest representative under the threshold or found a new species. The loop over genomes is replaced by
*rounds*: with the representatives known so far, every unspeciated genome either has a candidate or is an
orphan. The orphan with the smallest genome id founds the next species, and no genome before it can be
reached by a representative created later, so everything before it is final. A round takes the next
``ROUND`` orphans in genome-id order at once: their distances to the population are one batched call, and
which of them found species is decided among themselves (orphan ``j`` founds one unless a founder before it
in the round is under the threshold: only those can reach it), a walk over a ``[k, k]`` boolean matrix on
the host. The founders' distances then update every later genome's best candidate. A round is a handful of
tensor ops and two host syncs; a first generation in which every genome founds its own species (S12's
distinct hidden ids) takes ``P / ROUND`` rounds, a usual generation one or two.
"""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass

import torch

from evohyper.families.neat.config import NEATConfig
from evohyper.families.neat.counters import Counters
from evohyper.families.neat.distance import PopulationDistances
from evohyper.families.neat.genome import GenomeBatch

Tensor = torch.Tensor

#: neat's ``prev_fitness`` of a species without history (``-sys.float_info.max``)
NO_FITNESS = -sys.float_info.max
_FIELDS = ("sid", "created", "last_improved", "best", "fitness", "adjusted_fitness", "representative")
_FLOAT_FIELDS = ("best", "fitness", "adjusted_fitness")
#: orphans examined per speciation round (their distances computed together; founders resolved among them)
ROUND = 64


@dataclass(eq=False)
class SpeciesTable:
    """One row per species in ascending species id (neat's iteration order everywhere it matters)."""

    sid: Tensor  # [S] int64
    created: Tensor  # [S] int64, generation the species was founded
    last_improved: Tensor  # [S] int64
    best: Tensor  # [S] float64, max of neat's fitness_history; NO_FITNESS when empty
    fitness: Tensor  # [S] float64, last species fitness (nan before the first update)
    adjusted_fitness: Tensor  # [S] float64 (nan when not computed)
    representative: Tensor  # [S] int64, row of the representative in the population the table belongs to

    @classmethod
    def empty(cls, device: torch.device | str | None = None) -> SpeciesTable:
        return cls(**{k: torch.zeros(0, dtype=torch.float64 if k in _FLOAT_FIELDS else torch.int64,
                                     device=device) for k in _FIELDS})

    def __len__(self) -> int:
        return int(self.sid.shape[0])

    @property
    def device(self) -> torch.device:
        return self.sid.device

    def select(self, index: Tensor | list[int] | slice) -> SpeciesTable:
        """The rows ``index`` (in that order)."""
        if isinstance(index, list):
            if index == list(range(len(self))):
                return self
            index = torch.as_tensor(index, dtype=torch.int64, device=self.device)
        if isinstance(index, Tensor) and index.dtype == torch.int64:
            return SpeciesTable(**{k: getattr(self, k).index_select(0, index) for k in _FIELDS})
        return SpeciesTable(**{k: getattr(self, k)[index] for k in _FIELDS})

    def replace(self, **tensors: Tensor) -> SpeciesTable:
        return dataclasses.replace(self, **tensors)

    def state(self) -> dict[str, Tensor]:
        """Plain tensors (checkpoint, section 5.5)."""
        return {k: getattr(self, k).clone() for k in _FIELDS}

    @classmethod
    def from_state(cls, data: dict[str, Tensor], device: torch.device | str | None = None) -> SpeciesTable:
        return cls(**{k: torch.as_tensor(data[k]).to(device=device, dtype=torch.float64 if k in _FLOAT_FIELDS
                                                        else torch.int64) for k in _FIELDS})


# ---------------------------------------------------------------------------------------------- statistics
def member_segments(species_of: Tensor, fitness: Tensor, n_species: int) -> tuple[Tensor, Tensor, Tensor]:
    """Members grouped by species, ascending fitness within a species: ``(order [P], start [S], count [S])``
    where species ``s``'s members are ``order[start[s] : start[s] + count[s]]``."""
    f = fitness.to(torch.float64) + 0.0  # -0.0 -> 0.0: Python sorts them as equal
    order = torch.sort(f, stable=True).indices
    order = order[torch.sort(species_of[order], stable=True).indices]
    count = torch.bincount(species_of, minlength=n_species)[:n_species]
    start = torch.cumsum(count, 0) - count
    return order, start, count


def species_means(species_of: Tensor, fitness: Tensor, n_species: int) -> Tensor:
    """``[S]`` float64 ``math_util.mean`` of the members' fitness (``sum / len``; nan for an empty species).

    The sum runs in another order than neat's member dict, so it equals neat's bit for bit when the sums are
    exact (dyadic fitness) and to an ulp or so otherwise."""
    f = fitness.to(torch.float64)
    total = torch.zeros(n_species, dtype=torch.float64, device=f.device)
    if f.device.type == "cpu":
        total.index_add_(0, species_of, f)
    else:  # CUDA float index_add uses atomics (order not fixed): sort + segment sum instead
        order = torch.sort(species_of, stable=True).indices
        count = torch.bincount(species_of, minlength=n_species)[:n_species]
        total = torch.segment_reduce(f[order], "sum", lengths=count, unsafe=True)
    count = torch.bincount(species_of, minlength=n_species)[:n_species]
    return total / count.to(torch.float64)


def species_fitness(species_of: Tensor, fitness: Tensor, n_species: int, func: str) -> Tensor:
    """``[S]`` float64 neat's ``species_fitness_func`` (``math_util.stat_functions[func]``) per species."""
    if func == "mean":
        return species_means(species_of, fitness, n_species)
    order, start, count = member_segments(species_of, fitness, n_species)
    f = fitness.to(torch.float64)[order]
    if func == "min":
        return f[start]
    if func == "max":
        return f[start + count - 1]
    if func == "median":  # the upper middle element
        return f[start + count // 2]
    if func == "median2":  # mean of the two middle elements; math_util.mean for n <= 2
        upper = f[start + count // 2]
        lower = f[start + (count - 1) // 2]
        middle = torch.where(count % 2 == 1, upper, (lower + upper) / 2.0)
        return torch.where(count <= 2, species_means(species_of, fitness, n_species), middle)
    raise ValueError(f"unknown species_fitness_func {func!r}; allowed: min, max, mean, median, median2")


def _check_members(species_of: Tensor, fitness: Tensor, n_species: int) -> None:
    if species_of.shape != fitness.shape:
        raise ValueError(f"species_of {tuple(species_of.shape)} and fitness {tuple(fitness.shape)} differ")
    if bool(torch.isnan(fitness).any()):
        raise ValueError("fitness holds NaN; the strategy sanitises fitness before a NEAT generation")
    if species_of.numel() and (int(species_of.min()) < 0 or int(species_of.max()) >= n_species):
        raise ValueError(f"species_of outside the table's {n_species} rows")
    if n_species and int(torch.bincount(species_of, minlength=n_species).min()) == 0:
        raise ValueError("a species has no members (neat-python fails on it too)")


# ---------------------------------------------------------------------------------------------- stagnation
def update_stagnation(table: SpeciesTable, species_of: Tensor, fitness: Tensor, generation: int,
                      cfg: NEATConfig) -> tuple[SpeciesTable, Tensor, list[int]]:
    """neat's ``DefaultStagnation.update`` (S1).

    Returns the updated table (species fitness, ``best``, ``last_improved``; ``adjusted_fitness`` reset to
    nan as neat resets it to None), ``stagnant [S]`` bool, and neat's returned order (stable sort by species
    fitness ascending, ties in ascending species id) as table rows.
    """
    S = len(table)
    _check_members(species_of, fitness, S)
    fit = species_fitness(species_of, fitness, S, cfg.species_fitness_func)
    improved = fit > table.best  # best is NO_FITNESS while the history is empty, as neat's prev_fitness
    last_improved = torch.where(improved, torch.full_like(table.last_improved, int(generation)),
                                table.last_improved)
    first = torch.isnan(table.fitness)  # no history yet: max(history) becomes this fitness, even -inf
    best = torch.where(improved | first, fit, table.best)  # = max(history + [fit])
    new = table.replace(fitness=fit, best=best, last_improved=last_improved,
                        adjusted_fitness=torch.full_like(fit, float("nan")))
    fit_list = fit.tolist()
    since = (int(generation) - last_improved).tolist()
    order = sorted(range(S), key=fit_list.__getitem__)  # Python's stable sort on the very floats neat sorts
    stagnant = [False] * S
    num_non_stagnant = S
    for idx, row in enumerate(order):  # neat's walk, line by line
        is_stagnant = False
        if num_non_stagnant > cfg.species_elitism:
            is_stagnant = since[row] >= cfg.max_stagnation
        if S - idx <= cfg.species_elitism:
            is_stagnant = False
        if is_stagnant:
            num_non_stagnant -= 1
        stagnant[row] = is_stagnant
    return new, torch.tensor(stagnant, dtype=torch.bool, device=table.device), order


# ---------------------------------------------------------------------------------------------- speciation
def speciate(population: GenomeBatch, table: SpeciesTable, old_reps: GenomeBatch, generation: int,
             cfg: NEATConfig, counters: Counters) -> tuple[SpeciesTable, Tensor]:
    """neat's ``DefaultSpeciesSet.speciate`` (S17) of ``population`` given the species that survived
    reproduction (``table``, ascending sid) and their representatives ``old_reps`` (row ``i`` = the
    representative of table row ``i``, from the previous population).

    Every existing species gets a new representative (the closest unspeciated genome, however far: neat
    never drops a species here) and keeps its other fields; new species take ids from
    ``counters.next_sid`` (advanced) with ``created = last_improved = generation``, no history
    (``best = NO_FITNESS``, ``fitness`` and ``adjusted_fitness`` nan). Returns the new table (ascending sid,
    ``representative`` = row in ``population``) and ``species_of [P]`` (table row of each genome).
    neat raises ``ValueError`` (``min()`` of an empty sequence) when there are more species than genomes;
    so does this.
    """
    device = population.device
    P, S_old = len(population), len(table)
    if len(old_reps) != S_old:
        raise ValueError(f"{len(old_reps)} old representatives for {S_old} species")
    if S_old > P:
        raise ValueError(f"{S_old} species but only {P} genomes: every species needs a new representative")
    if S_old and int(table.sid.max()) >= counters.next_sid:
        raise ValueError(f"counters.next_sid={counters.next_sid} is not above the species ids in use")
    threshold = float(cfg.compatibility_threshold)
    by_gid = torch.argsort(population.gid)  # gids are unique; everything below works in this order ("rank")
    dist = PopulationDistances(population, cfg, order=by_gid)  # columns in ascending gid: argmin's first
    inf = torch.tensor(float("inf"), dtype=torch.float64, device=device)  # minimum is neat's first

    # new representatives of the existing species, in ascending sid: the closest genome not taken yet
    rep_rank = torch.empty(S_old, dtype=torch.int64, device=device)
    if S_old:
        d_old = dist.ranked_batch(old_reps)
        rep_rank = torch.argmin(d_old, dim=1)
        if int(torch.unique(rep_rank).numel()) != S_old:  # two species want one genome: neat's walk in order
            taken = torch.zeros(P, dtype=torch.bool, device=device)
            for s in range(S_old):
                j = torch.argmin(torch.where(taken, inf, d_old[s]))
                taken[j] = True
                rep_rank[s] = j
    rep_rows = by_gid.index_select(0, rep_rank)

    # assignment: best candidate so far per genome (distance < threshold, first minimum in species order)
    species_of = torch.full((P,), -1, dtype=torch.int64, device=device)  # by rank until the end
    species_of[rep_rank] = torch.arange(S_old, device=device)
    unspeciated = species_of < 0
    best_d = torch.full((P,), float("inf"), dtype=torch.float64, device=device)
    best_s = torch.full((P,), -1, dtype=torch.int64, device=device)
    if S_old:
        d = dist.ranked(rep_rows)  # [S_old, P]
        d = torch.where(d < threshold, d, inf)
        best_d, best_s = torch.min(d, dim=0)  # first minimum: the earlier species on ties
    founders: list[Tensor] = []
    n_founded, done_rank = 0, -1
    positions = torch.arange(P, device=device)
    while True:  # rounds: the next orphans (no candidate so far) in gid order, ROUND at a time
        orphan = unspeciated & torch.isinf(best_d)
        if done_rank >= 0:
            orphan &= positions > done_rank
        cand_rank = orphan.nonzero().squeeze(1)[:ROUND]  # ascending
        if cand_rank.numel() == 0:  # the host sync of the round
            break
        first, last = (int(x) for x in cand_rank[[0, -1]].tolist())
        cand = by_gid.index_select(0, cand_rank)
        # only genomes from the first candidate on can change: columns in gid order from there
        d = dist.ranked(cand, first)  # [k, P - first]
        # candidate j founds a species unless a founder before it in this round reaches it
        reach = (d.index_select(1, cand_rank - first) < threshold).tolist()
        chosen: list[int] = []
        for j in range(len(reach)):
            if not any(reach[i][j] for i in chosen):
                chosen.append(j)
        pick = torch.tensor(chosen, dtype=torch.int64, device=device)
        new_rank, d_new = cand_rank.index_select(0, pick), d.index_select(0, pick)
        ids = torch.arange(S_old + n_founded, S_old + n_founded + len(chosen), device=device)
        n_founded += len(chosen)
        founders.append(new_rank)
        species_of[new_rank] = ids
        unspeciated[new_rank] = False
        # a founder counts only for the genomes after it (neat handles the earlier ones before it exists)
        after = new_rank[:, None] < positions[None, first:]
        d_new = torch.where(after & (d_new < threshold), d_new, inf)
        low, which = torch.min(d_new, dim=0)
        better = unspeciated[first:] & (low < best_d[first:])  # strict: earlier species win ties, as neat's min()
        best_d[first:] = torch.where(better, low, best_d[first:])
        best_s[first:] = torch.where(better, ids[which], best_s[first:])
        done_rank = last
    by_rank = torch.where(unspeciated, best_s, species_of)
    species_of = torch.empty_like(by_rank)
    species_of[by_gid] = by_rank
    founders_t = by_gid.index_select(0, torch.cat(founders)) if founders else rep_rows[:0]

    n_new = int(founders_t.numel())
    sids = torch.arange(counters.next_sid, counters.next_sid + n_new, dtype=torch.int64, device=device)
    counters.next_sid += n_new
    if n_new:
        new_rows = founders_t
        gen = torch.full((n_new,), int(generation), dtype=torch.int64, device=device)
        nan = torch.full((n_new,), float("nan"), dtype=torch.float64, device=device)
        table = SpeciesTable(
            sid=torch.cat([table.sid, sids]), created=torch.cat([table.created, gen]),
            last_improved=torch.cat([table.last_improved, gen]),
            best=torch.cat([table.best, torch.full_like(nan, NO_FITNESS)]),
            fitness=torch.cat([table.fitness, nan]), adjusted_fitness=torch.cat([table.adjusted_fitness, nan]),
            representative=torch.cat([rep_rows, new_rows]))
    else:
        table = table.replace(representative=rep_rows)
    return table, species_of
