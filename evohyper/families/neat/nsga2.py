"""Strategy ``neat_nsga2``: (mu + lambda) NSGA-II over NEAT genomes with NEAT's variation, no speciation.

Why this combination: NSGA-II's survival (non-dominated sorting, then crowding distance; DEAP's
``selNSGA2`` through ``evohyper.strategies.mo.pareto``) keeps a spread-out front and needs nothing of the
genotype but its objectives, so it runs unchanged over NEAT genomes; the children are NEAT's
(``variation.offspring``: crossover, structural and attribute mutation of the batched engine). Speciation
is off: NSGA-II's crowding distance is what keeps diversity here.

One generation, as DEAP's NSGA-II example: parents are picked by DEAP's ``selTournamentDCD`` (binary
tournaments on dominance, then crowding distance; ``pareto.tournament_dcd``) on the survivors' crowding
distances; consecutive picks ``(2i, 2i+1)`` are mates, and each pair has two children (one per parent
order), a child being the pair's crossover with probability ``crossover_prob`` (the fitter gives the
genes, as NEAT: fitter = better non-domination rank, then larger crowding distance) else a mutated copy
of its first parent. The ``offspring`` children are told, then ``selNSGA2`` keeps ``popsize`` of parents
plus children. Chosen over a batched binary tournament on (rank, crowding) so that NEAT-NSGA-II and the
vector ``nsga2`` share DEAP's operator (the comparison of the multi-objective report holds the variation
fixed only); DEAP's rule follows: ``offspring`` a multiple of 4, at most ``popsize``. The tournament's
``random.Random`` is seeded from (seed, generation) at each ask: no generator state to checkpoint.

``size_objective: true`` appends the objective "fewer enabled connections" (computed here from the
genome; a task cannot see it): the front is then over the task's objectives *plus* network size (for a
single-objective task: its fitness and size, the "return vs number of connections" trade-off).
"""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, ClassVar

import torch

from evohyper.api.checks import Checks
from evohyper.api.task import TaskInfo
from evohyper.families.neat.genome import GenomeBatch
from evohyper.families.neat.genome_search import NEATGenomeSearch, enabled_connections, genomes_state, with_neat_options
from evohyper.families.neat.streams import seed64
from evohyper.strategies.mo import front_files
from evohyper.strategies.mo.pareto import hypervolume, nsga2_survivors, pareto_front, tournament_dcd

Tensor = torch.Tensor
_checks = Checks("strategy")
_TOURNAMENT = 0x4E534741  # "NSGA": the tournament generator's seed word
SIZE_NAME = "connections"
#: the smallest default reference of the connection count
MIN_SIZE_REFERENCE = 20


class NEATNSGA2(NEATGenomeSearch):
    """NEAT-NSGA-II: (mu + lambda) NSGA-II survival over NEAT genomes varied by NEAT's crossover and mutation.

    Options (the others are strategy ``neat``'s, same meaning and INI file; speciation and reproduction
    items are not options here and are ignored in an INI file: no species, no stagnation, no elites):
      offspring: lambda, the children per generation, of which and of the popsize (mu, >= 4) parents
        selNSGA2 keeps popsize; the first generation is NEAT's first population of popsize genomes (DEAP's
        selTournamentDCD: a multiple of 4, at most popsize); null: popsize.
      crossover_prob: probability that a child is its parents' NEAT crossover rather than a mutated copy of
        one parent, in [0, 1].
      reference_point: the hypervolume reference point, one value per objective in its own direction (with
        size_objective, one more for the connection count, else 4 x a fully connected first genome's
        connections, at least 20); null: the task's.
      size_objective: append "fewer enabled connections" as a last objective computed from each genome
        (the front is then over the task's objectives plus network size; a task declaring no objectives
        then gives its fitness as the first).
    """

    consumes: ClassVar[tuple[str, ...]] = ()   # decided per task in bind_task (see there)
    KIND: ClassVar[str] = "neat-nsga2"

    @with_neat_options
    def __init__(self, genome_size: int | None, seed: int, *,
                 offspring: int | None = None,
                 crossover_prob: float = 1.0,
                 reference_point: list[float] | None = None,
                 size_objective: bool = False,
                 **neat: Any):
        super().__init__(genome_size, seed, crossover_prob=crossover_prob, **neat)
        self.size_objective = _checks.boolean("size_objective", size_objective)
        self._reference_option = _checks.point("reference_point", reference_point)
        self._offspring = _checks.population("offspring", offspring, 4, optional=True)
        mu = super().popsize
        if mu < 4:
            _checks.fail("popsize", mu, "an integer >= 4 (DEAP's selTournamentDCD picks parents four at a time)")
        lam = self._offspring or mu
        if lam % 4 or lam > mu:
            _checks.fail("offspring" if self._offspring else "popsize", self._offspring or mu,
                         f"a multiple of 4 at most popsize ({mu}) (DEAP's selTournamentDCD)")
        self.names: list[str] = []
        self.signs = torch.zeros(0, dtype=torch.float64)       # +1 maximised, -1 minimised (own direction)
        self.reference = torch.zeros(0, dtype=torch.float64)   # higher-is-better
        self.parents: GenomeBatch | None = None                # the mu survivors
        self.objectives = torch.zeros(0, 0, dtype=torch.float64)   # [mu, m] theirs, higher-is-better
        self.crowding = torch.zeros(0, dtype=torch.float64)    # [mu] selNSGA2's crowding distances
        self.hypervolume, self.front_size = 0.0, 0

    # ---------------------------------------------------------------- task
    def bind_task(self, info: TaskInfo) -> None:
        """Objectives and reference point. A task declaring several objectives gives them (this strategy
        then ``consumes`` them); one declaring none gives its fitness, which needs ``size_objective``."""
        if info.objectives:
            self.consumes = ("objectives",)
            names, maximize = [o.name for o in info.objectives], [o.maximize for o in info.objectives]
        elif self.size_objective:
            self.consumes = ()
            names, maximize = ["fitness"], [bool(info.maximize)]
        else:
            raise ValueError("strategy 'neat_nsga2' needs a task that declares several objectives "
                             "(Task.objective_space), or size_objective: true (fitness vs enabled connections)")
        reference = self._reference_option if self._reference_option is not None else \
            (list(info.reference_point) if info.reference_point is not None else None)
        if self.size_objective:
            names, maximize = [*names, SIZE_NAME], [*maximize, False]
            if reference is not None and len(reference) == len(names) - 1:
                reference = [*reference, float(self._size_reference())]
        if reference is None:
            _checks.refuse("reference_point", f"null; the task declares no reference point: give {len(names)} values, "
                                              f"one per objective ({', '.join(names)}), each worse than any genome "
                                              "worth counting")
        if len(reference) != len(names):
            fewer = " (or one fewer: the connections' default)" if self.size_objective else ""
            _checks.fail("reference_point", list(reference),
                         f"{len(names)} values, one per objective ({', '.join(names)}){fewer}")
        self.names = names
        self.signs = torch.tensor([1.0 if m else -1.0 for m in maximize], dtype=torch.float64)
        self.reference = torch.tensor(reference, dtype=torch.float64) * self.signs

    def _size_reference(self) -> int:
        """The connection count's default reference: 4 x a fully connected first genome's connections, at
        least ``MIN_SIZE_REFERENCE`` (NEAT grows its networks; a member with more adds no hypervolume)."""
        cfg = self._typed()
        i, o, h = cfg.num_inputs, cfg.num_outputs, cfg.num_hidden
        return max(4 * (i * o + (i + o) * h), MIN_SIZE_REFERENCE)

    @property
    def popsize(self) -> int:
        """Genomes the next ask returns: mu first (NEAT's first population), lambda afterwards."""
        mu = super().popsize
        return mu if self.parents is None else (self._offspring or mu)

    # ---------------------------------------------------------------- ask / tell
    def _ask(self) -> GenomeBatch:
        if not self.names:
            raise RuntimeError("strategy 'neat_nsga2' has no objectives yet: call bind_task() with the task's info")
        if self.parents is None:
            return self._initial(super().popsize)
        lam = self._offspring or super().popsize
        rng = random.Random(seed64(self.seed, _TOURNAMENT, self.generation))
        picks = tournament_dcd(self.objectives, self.crowding, lam, rng).to(self.device)
        mates = picks.view(-1, 2).flip(1).reshape(-1)     # (2i, 2i+1) mate; each pair has two children
        u = self._streams().uniform("select", lam)
        return self._children(self.parents, _fitter_key(self.objectives, self.crowding), picks, mates, u)

    def _tell(self, fitness: Tensor, objectives: Tensor | None = None) -> None:
        population = self._population
        told = (fitness[:, None] if objectives is None else objectives).to(torch.float64).cpu()
        if told.shape[1] != len(self.names) - self.size_objective:
            raise ValueError(f"tell() got {told.shape[1]} objectives; the task declared "
                             f"{len(self.names) - self.size_objective}")
        if self.size_objective:
            told = torch.cat([told, -enabled_connections(population).cpu()[:, None]], dim=1)
        if self.parents is None:
            genomes, values = population, told
        else:   # parents first, as DEAP's example's ``pop + offspring``
            genomes, values = GenomeBatch.cat([self.parents, population]), torch.cat([self.objectives, told])
        keep, crowding = nsga2_survivors(values, super().popsize)
        self.parents = genomes[keep.to(genomes.device)].shrink()
        self.objectives, self.crowding = values[keep], crowding
        front = pareto_front(self.objectives)
        self.front_size = int(front.sum())
        self.hypervolume = hypervolume(self.objectives[front], self.reference)

    # ---------------------------------------------------------------- metrics and files
    def metrics(self) -> dict[str, float]:
        """``hypervolume`` of the survivors' first front from the reference point, ``front_size`` its members."""
        return {"hypervolume": float(self.hypervolume), "front_size": float(self.front_size)}

    def front(self) -> tuple[GenomeBatch | None, Tensor]:
        """The survivors' first front: its genomes and objectives ``[F, m]`` in each objective's own direction."""
        if self.parents is None:
            return None, torch.zeros(0, len(self.names), dtype=torch.float64)
        rows = pareto_front(self.objectives).nonzero().squeeze(1)
        return self.parents[rows.to(self.parents.device)], self.objectives[rows] * self.signs

    def write_archive(self, directory: Path) -> list[Path]:
        """``front.json`` (each member's objectives and genotype JSON, as ``export_genotype`` writes
        ``best/genotype.json``), and as the vector ``nsga2``: ``front.pt``, ``front.csv``, ``front.png``."""
        directory = Path(directory)
        genomes, values = self.front()
        reference = (self.reference * self.signs).tolist()
        files = front_files.write(directory, None, values, self.names, reference, self.hypervolume)
        order = torch.argsort(values[:, 0], stable=True) if len(values) else torch.zeros(0, dtype=torch.long)
        members = [{"member": i, "objectives": dict(zip(self.names, values[int(j)].tolist())),
                    "genotype": self.export_genotype(genomes[int(j)])} for i, j in enumerate(order)]
        path = directory / "front.json"
        path.write_text(json.dumps({"names": self.names, "reference_point": reference,
                                    "hypervolume": self.hypervolume, "size_objective": self.size_objective,
                                    "members": members}, indent=1))
        return [path, *files]

    # ---------------------------------------------------------------- checkpoints
    def _own_state(self) -> dict[str, Any]:
        return {"names": list(self.names), "parents": None if self.parents is None else genomes_state(self.parents),
                "objectives": self.objectives.clone(), "crowding": self.crowding.clone(),
                "hypervolume": float(self.hypervolume), "front_size": int(self.front_size)}

    def _load_own_state(self, state: dict[str, Any]) -> None:
        if list(state["names"]) != self.names:
            raise ValueError(f"checkpoint's objectives are {state['names']}; this run's are {self.names}")
        self.parents = None if state["parents"] is None else self._genomes(state["parents"])
        self.objectives, self.crowding = state["objectives"].clone(), state["crowding"].clone()
        self.hypervolume, self.front_size = float(state["hypervolume"]), int(state["front_size"])


def ranks(objectives: Tensor) -> Tensor:
    """``[n]`` int64 non-domination rank of each row (0: the first front), by peeling ``pareto_front``
    front by front (a loop over fronts, each one batched dominance test)."""
    out = torch.full((len(objectives),), -1, dtype=torch.int64)
    left, r = torch.arange(len(objectives)), 0
    while left.numel():
        first = pareto_front(objectives[left])
        out[left[first]] = r
        left, r = left[~first], r + 1
    return out


def _fitter_key(objectives: Tensor, crowding: Tensor) -> Tensor:
    """A fitness for NEAT's crossover (whose fitter parent gives the genes): the crowded-comparison order,
    lower rank first, then larger crowding distance, as ``-position`` (higher is better, no ties)."""
    order = torch.argsort(-crowding, stable=True)
    order = order[torch.argsort(ranks(objectives)[order], stable=True)]
    key = torch.empty(len(order), dtype=torch.float64)
    key[order] = -torch.arange(len(order), dtype=torch.float64)
    return key
