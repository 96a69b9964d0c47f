"""What the searches over NEAT genomes without speciation share: the ``neat`` strategy's config, NEAT's first
population and variation, and the explicit state of genome batches.

Why a base class of ``NEAT``: MAP-Elites over genomes (``map_elites.py``) and NEAT-NSGA-II (``nsga2.py``)
read the same options and neat-python INI files as strategy ``neat`` (``bind`` learns the genome's inputs
and outputs from the decoder, so they drive the ``neat``, ``hyperneat`` and ``es_hyperneat`` decoders
alike), hand out the same ``GenomeBatch`` and export genomes the same way; they differ only in how
parents are chosen and who survives. Their options are the ``neat`` strategy's minus ``engine`` (always
the batched one's operators) and minus speciation and reproduction (``compatibility_*``,
``max_stagnation``, ``species_elitism``, ``elitism``, ``survival_threshold``, ``min_species_size``,
``reset_on_extinction``): an INI file may still hold those items; they are ignored.

Randomness: every ask draws from ``Streams(seed, generation)`` (the batched engine's derived streams), so
the checkpoint holds no generator state and a resumed run is bit-identical on the same device.
"""
from __future__ import annotations

import functools
import inspect
import typing
from typing import Any, ClassVar

import torch

from evohyper.api.checks import Checks
from evohyper.families.neat import config as _typed_config
from evohyper.families.neat import convert as _convert
from evohyper.families.neat import initial, variation
from evohyper.families.neat.counters import Counters
from evohyper.families.neat.genome import CONN_FIELDS, NODE_FIELDS, GenomeBatch
from evohyper.families.neat.strategy import NEAT
from evohyper.families.neat.streams import Streams

Tensor = torch.Tensor
_checks = Checks("strategy")

#: ``neat`` strategy options these searches do not take: the engine choice and speciation/reproduction
NOT_TAKEN = ("engine", "compatibility_threshold", "compatibility_disjoint_coefficient",
             "compatibility_weight_coefficient", "max_stagnation", "species_elitism", "elitism",
             "survival_threshold", "min_species_size", "reset_on_extinction")


def with_neat_options(init: Any) -> Any:
    """Give a subclass ``__init__(self, genome_size, seed, *, own options..., **neat)`` the signature and
    annotations of its own options followed by the ``neat`` strategy's (less ``NOT_TAKEN``), so the config
    validator, ``evohyper describe`` and the contract read one flat list of typed keyword options."""
    own = inspect.signature(init)
    neat = inspect.signature(NEAT.__init__)
    params = [p for p in own.parameters.values() if p.kind is not p.VAR_KEYWORD]
    names = {p.name for p in params}
    params += [p for name, p in list(neat.parameters.items())[3:] if name not in NOT_TAKEN and name not in names]
    hints = {**{k: v for k, v in typing.get_type_hints(NEAT.__init__).items() if k not in NOT_TAKEN},
             **typing.get_type_hints(init)}

    @functools.wraps(init)
    def wrapper(self: Any, genome_size: int | None, seed: int, **options: Any) -> None:
        unknown = sorted(set(options) - {p.name for p in params})
        if unknown:
            raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {unknown[0]!r}")
        init(self, genome_size, seed, **options)

    wrapper.__signature__ = own.replace(parameters=params)
    wrapper.__annotations__ = {k: v for k, v in hints.items() if k in {p.name for p in params} or k == "return"}
    return wrapper


def genomes_state(batch: GenomeBatch) -> dict[str, Tensor]:
    """A batch as explicit CPU tensors, its live genes ragged (the batched engine's checkpoint layout)."""
    nodes, conns = batch.to_ragged()
    return {"gid": batch.gid.cpu(), "n_nodes": batch.n_nodes.cpu(), "n_conns": batch.n_conns.cpu(),
            **{f"node.{k}": v.cpu() for k, v in nodes.items()}, **{f"conn.{k}": v.cpu() for k, v in conns.items()}}


def genomes_from_state(state: dict[str, Tensor], device: torch.device, dtype: torch.dtype) -> GenomeBatch:
    """The batch ``genomes_state`` wrote, at the narrowest widths."""
    return GenomeBatch.from_ragged(state["gid"].to(device), state["n_nodes"].to(device), state["n_conns"].to(device),
                                   {k: state[f"node.{k}"].to(device) for k in NODE_FIELDS},
                                   {k: state[f"conn.{k}"].to(device) for k in CONN_FIELDS}, dtype=dtype)


def enabled_connections(batch: GenomeBatch) -> Tensor:
    """``[P]`` float64: each genome's enabled connection genes (its network's size)."""
    return (batch.enabled & batch.conn_live).sum(dim=1).to(torch.float64)


class NEATGenomeSearch(NEAT):
    """Base of the searches over NEAT genomes without speciation (not registered as a strategy itself).

    Subclasses set ``KIND`` (their checkpoint's kind) and implement ``_ask``, ``_tell`` and the parts of the
    state that are theirs (``_own_state``, ``_load_own_state``)."""

    KIND: ClassVar[str] = ""

    def __init__(self, genome_size: int | None, seed: int, *, crossover_prob: float, **neat: Any):
        self.crossover_prob = _checks.probability("crossover_prob", crossover_prob)
        super().__init__(genome_size, seed, engine="batched", **neat)
        self.counters = Counters()
        self._cfg: Any = None

    # ---------------------------------------------------------------- NEAT's operators
    def _typed(self) -> Any:
        """The typed reading of the INI config the batched operators take (``config.NEATConfig``)."""
        self._require_config()
        if self._cfg is None:
            self._cfg = _typed_config.from_text(self._ini_text)
        return self._cfg

    def _streams(self) -> Streams:
        return Streams(self.seed, self.generation, self.device)

    def _initial(self, n: int) -> GenomeBatch:
        """``n`` new genomes as NEAT's first population (``create_new``), from this generation's streams."""
        return initial.initial_population(self._typed(), n, self._streams(), self.counters, dtype=self.dtype,
                                          device=self.device)

    def _children(self, parents: GenomeBatch, fitness: Tensor, p1: Tensor, p2: Tensor, u: Tensor) -> GenomeBatch:
        """Children of the rows ``p1[k]`` and ``p2[k]`` of ``parents`` (``fitness``: theirs, higher is better),
        crossed over where the uniform ``u[k] < crossover_prob``, otherwise a mutated copy of ``p1[k]`` (NEAT's
        crossover of a genome with itself), all from this generation's streams."""
        p2 = torch.where(u.to(p1.device) < self.crossover_prob, p2, p1)
        self.counters.reset_generation()
        return variation.offspring(parents, fitness, p1, p2, self._typed(), self._streams(), self.counters,
                                   self.dtype)

    def _make_engine(self) -> Any:
        raise RuntimeError(f"{type(self).__name__} runs no NEAT engine (no speciation)")

    # ---------------------------------------------------------------- checkpoints (explicit data)
    def state_dict(self) -> dict[str, Any]:
        if self._population is not None:
            raise RuntimeError("state_dict() between ask() and tell(): checkpoint after tell()")
        self._require_config()
        return {"kind": self.KIND, "generation": self.generation, "best_fitness": self.best_fitness,
                "best_genotype": None if self.best_genotype is None else
                _convert.genotype_to_data(self.best_genotype, 0),
                "neat_config": self._ini_text, "dtype": str(self.dtype).removeprefix("torch."),
                "counters": self.counters.state(),
                **self._own_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.generation != 0:
            raise RuntimeError("load_state_dict() needs a freshly constructed strategy")
        if state.get("kind") != self.KIND:
            raise ValueError(f"strategy {self.KIND!r} cannot load a {state.get('kind')!r} state")
        self._require_config()
        self._adopt_saved_dtype(state)
        if state["neat_config"] != self._ini_text:
            raise ValueError("checkpoint was written with a different neat-python configuration")
        self._load_own_state(state)
        self.generation = int(state["generation"])
        self.best_fitness = float(state["best_fitness"])
        self.best_genotype = None if state["best_genotype"] is None else \
            _convert.genotype_from_data(state["best_genotype"]).to(self.device, dtype=self.dtype)
        self.counters = Counters.from_state(state["counters"])

    def _own_state(self) -> dict[str, Any]:
        raise NotImplementedError

    def _load_own_state(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def _genomes(self, state: dict[str, Tensor]) -> GenomeBatch:
        return genomes_from_state(state, self.device, self.dtype)
