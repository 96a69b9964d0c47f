"""``BatchedEngine``: one NEAT generation of neat-python 2.0's semantics as tensor ops on a ``GenomeBatch``.

Why its own engine: neat-python holds one Python object per gene and runs reproduction, mutation and
speciation gene by gene on the driver, so a NEAT search could not get faster with actors or GPUs
(issue 22). Here every step runs on the whole population at once (docs/neat_engine.md, section 3):
stagnation and spawn per species (a loop over tens of species), crossover, structural and attribute
mutation batched over all children, speciation in rounds per new species. The order of the steps is
``Population.run``'s loop body: evaluate -> reproduce (stagnation, adjusted fitness, spawn, elites,
crossover, mutation) -> extinction check -> speciate -> generation += 1.

Randomness comes from ``Streams`` derived from ``(seed, generation)``, so the checkpoint holds no
generator state and a resumed run is bit-identical on the same device.
"""
from __future__ import annotations

import ctypes
import os
import platform
from typing import Any

import torch

from evohyper.families.neat import initial, reproduction, species, variation
from evohyper.families.neat.config import NEATConfig
from evohyper.families.neat.counters import Counters
from evohyper.families.neat.genome import CONN_FIELDS, NODE_FIELDS, GenomeBatch
from evohyper.families.neat.streams import Streams

Tensor = torch.Tensor
STATE_KIND = "neat-batched"
STATE_VERSION = 1


#: glibc ``mallopt`` parameters (malloc.h) and the values ``keep_freed_memory`` sets
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value
_TRIM_THRESHOLD = (1 << 31) - 1
_MALLOPT_DONE: list[bool] = []


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to serve blocks up to 32 MB from its heap and to keep freed memory (``mallopt``:
    ``M_MMAP_THRESHOLD`` 32 MB, ``M_TRIM_THRESHOLD`` 2 GB); once per process, on Linux with glibc; returns
    whether it was set. ``EVOHYPER_NEAT_MALLOPT=0`` turns it off.

    Why: a CPU generation allocates and frees hundreds of tensors of 10-30 MB (P-NEAT: 2.5 million gene slots
    per field). With glibc's defaults many of them are fresh ``mmap``s (or heap memory trimmed and handed back),
    which the kernel zero-fills page by page on first touch: ~100 ms of P-NEAT's ~400 ms per generation (issue
    22, M6). Kept, the memory is reused; the resident size stays near the generation's peak (measured: 663 MB
    vs 645 MB for P-NEAT). Results are unchanged (an allocator decides no value). The setting is process-wide."""
    if _MALLOPT_DONE:
        return _MALLOPT_DONE[0]
    ok = False
    if os.environ.get("EVOHYPER_NEAT_MALLOPT", "1") != "0" and platform.system() == "Linux" and \
            platform.libc_ver()[0] == "glibc":
        try:
            mallopt = ctypes.CDLL(None).mallopt
            ok = bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) & bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
        except (OSError, AttributeError):
            ok = False
    _MALLOPT_DONE.append(ok)
    return ok


class CompleteExtinction(RuntimeError):
    """Every species stagnated away and ``reset_on_extinction`` is off (neat's ``CompleteExtinctionException``)."""


class BatchedEngine:
    """The population, the species table and the identity counters of a batched NEAT run."""

    def __init__(self, cfg: NEATConfig, seed: int, *, device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32):
        self.cfg, self.seed = cfg, int(seed)
        self.device, self.dtype = torch.device(device), dtype
        if self.device.type == "cpu":
            keep_freed_memory()
        self.counters = Counters()
        self.generation = 0  # neat's Population.generation
        self.population: GenomeBatch | None = None
        self.table: species.SpeciesTable | None = None
        self.species_of: Tensor | None = None

    # ---------------------------------------------------------------- generation
    def _streams(self, generation: int) -> Streams:
        return Streams(self.seed, generation, self.device)

    @property
    def species_count(self) -> int:
        return 0 if self.table is None else len(self.table)

    def ask(self) -> GenomeBatch:
        """The current population (after the last ``tell``'s speciation, as neat's ``population``)."""
        return self.start()

    def start(self) -> GenomeBatch:
        """neat's ``Population.__init__``: ``create_new`` then ``speciate(..., 0)``."""
        if self.population is None:
            self._fresh_population(self._streams(0))
        return self.population

    def _fresh_population(self, streams: Streams) -> None:
        pop = initial.initial_population(self.cfg, self.cfg.pop_size, streams, self.counters,
                                         dtype=self.dtype, device=self.device)
        self._speciate(pop, species.SpeciesTable.empty(self.device), pop[:0])

    def _speciate(self, pop: GenomeBatch, table: species.SpeciesTable, old_reps: GenomeBatch) -> None:
        self.table, self.species_of = species.speciate(pop, table, old_reps, self.generation, self.cfg,
                                                       self.counters)
        self.population = pop

    def tell(self, fitness: Tensor) -> None:
        """One pass of neat's generation loop after the evaluation; ``fitness [P]`` float64, finite."""
        pop, cfg = self.start(), self.cfg
        fitness = torch.as_tensor(fitness, dtype=torch.float64, device=self.device).reshape(-1)
        if fitness.numel() != len(pop):
            raise ValueError(f"tell() got {fitness.numel()} fitness values for {len(pop)} genomes")
        streams = self._streams(self.generation + 1)
        self.counters.reset_generation()
        table, stagnant, order = species.update_stagnation(self.table, self.species_of, fitness,
                                                           self.generation, cfg)
        survivors, offspring = reproduction.plan_offspring(table, self.species_of, fitness, pop.gid, stagnant,
                                                           order, cfg, cfg.pop_size, streams, self.counters)
        if offspring is None:
            if not cfg.reset_on_extinction:
                raise CompleteExtinction("every species went extinct; set the neat-python item "
                                         "reset_on_extinction = True to start a new random population")
            self._fresh_population(streams)
            self.generation += 1
            return
        new_pop = self._offspring(pop, fitness, offspring, streams)
        old_reps = pop[survivors.representative]
        self._speciate(new_pop, survivors, old_reps)
        self.generation += 1

    def _offspring(self, pop: GenomeBatch, fitness: Tensor, offspring: Any, streams: Streams) -> GenomeBatch:
        """Elites copied unchanged, children crossed over and mutated, in the layout's population order
        (``variation.breed``: the children are crossed over, mutated and attribute-mutated in place at their
        slots, in slot order, which is the order neat mutates them in)."""
        rows = (~offspring.is_elite).nonzero().squeeze(1)  # the children's slots, ascending
        return variation.breed(pop, fitness, offspring.source, offspring.parent2, rows, offspring.gid, self.cfg,
                               streams, self.counters, self.dtype)

    # ---------------------------------------------------------------- state (docs/neat_engine.md, 5.5)
    def state_dict(self) -> dict[str, Any]:
        """Explicit data: counters, generation, the population ragged (size per gene), the species table.

        Its keys sit beside the strategy's own (``kind``, ``engine``, ``generation``, ...) in one flat state,
        as the neat-python engine's do, so none of them may repeat a strategy key."""
        state: dict[str, Any] = {"format": STATE_KIND, "format_version": STATE_VERSION,
                                 "neat_generation": self.generation, "counters": self.counters.state(),
                                 "started": self.population is not None}
        if self.population is None:
            return state
        pop = self.population
        nodes, conns = pop.to_ragged()
        state["population"] = {"gid": pop.gid.cpu(), "n_nodes": pop.n_nodes.cpu(), "n_conns": pop.n_conns.cpu(),
                               **{f"node.{k}": v.cpu() for k, v in nodes.items()},
                               **{f"conn.{k}": v.cpu() for k, v in conns.items()}}
        state["species"] = {k: v.cpu() for k, v in self.table.state().items()}
        state["species_of"] = self.species_of.cpu()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("format") != STATE_KIND or int(state.get("format_version", -1)) != STATE_VERSION:
            raise ValueError(f"not a batched NEAT engine state (format {state.get('format')!r}, "
                             f"version {state.get('format_version')!r}; expected {STATE_KIND!r} v{STATE_VERSION})")
        self.generation = int(state["neat_generation"])
        self.counters = Counters.from_state(state["counters"])
        if not state["started"]:
            return
        p = state["population"]
        dev = self.device
        nodes = {k: p[f"node.{k}"].to(dev) for k in NODE_FIELDS}
        conns = {k: p[f"conn.{k}"].to(dev) for k in CONN_FIELDS}
        self.population = GenomeBatch.from_ragged(p["gid"].to(dev), p["n_nodes"].to(dev), p["n_conns"].to(dev),
                                                  nodes, conns, dtype=self.dtype)
        self.table = species.SpeciesTable.from_state({k: v.to(dev) for k, v in state["species"].items()})
        self.species_of = state["species_of"].to(dev)
