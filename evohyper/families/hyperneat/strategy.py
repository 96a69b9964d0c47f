"""NEAT (neat-python) driven ask/tell: genomes, reproduction, speciation and stagnation are neat-python's.

``ask`` returns the current neat-python population (a list of ``DefaultGenome``); ``tell`` writes the
fitness into the genomes and runs one generation of neat-python's own ``Population.run`` (which
reproduces with ``DefaultReproduction``, checks ``DefaultStagnation`` and re-speciates with
``DefaultSpeciesSet``). Nothing of NEAT is re-implemented here.

The CPPN's number of inputs and outputs comes from the decoder (``bind``: the HyperNEAT
decoder knows its substrate), or from the options ``num_inputs``/``num_outputs``. Options map onto
neat-python's INI config; ``neat_config: path.ini`` uses a neat-python config file as-is instead
(``num_inputs``/``num_outputs`` there must match the decoder; ``no_fitness_termination`` is forced
on because the engine, not neat-python, decides when to stop).

neat-python draws from Python's global ``random``; every neat-python call runs with this strategy's
private ``random.Random`` swapped in, so a run depends on ``seed`` only. Checkpoints are explicit
data (``_neat_state``) and resume bit-identically.
"""
from __future__ import annotations

import copy
import itertools
import random
from typing import Any, ClassVar, Literal

import neat
import torch

from evohyper.api import checks as _checks
from evohyper.api import rng as _rng
from evohyper.api.decoder import DecoderInfo
from evohyper.api.strategy import Strategy
from evohyper.families.hyperneat import neat_config as _neat_config
from evohyper.families.hyperneat import neat_state as _neat_state
from evohyper.families.hyperneat.activations import ACTIVATION_NAMES, AGGREGATION_NAMES

CONNECTIONS = ("unconnected", "fs_neat_nohidden", "fs_neat_hidden", "full_nodirect", "full_direct")
CPPN_ACTIVATIONS = ("sigmoid", "tanh", "sin", "gauss", "abs", "identity")


class NEAT(Strategy):
    """NEAT from neat-python (speciation, innovations, stagnation) evolving CPPN genomes, ask/tell.

    Options (the rest map onto neat-python's INI config sections of the same names):
      popsize: genomes per generation (>= 2; neat-python's ``pop_size``).
      neat_config: path of a neat-python INI file used as-is instead of the options below; null: none.
      num_inputs, num_outputs: the genome's inputs/outputs (>= 1); null: what the decoder declares.
      initial_connection: how new genomes are wired (neat-python): ``full_direct``, ``full_nodirect``,
        ``fs_neat_nohidden``, ``fs_neat_hidden`` or ``unconnected``.
      num_hidden: hidden nodes of a new genome (>= 0).
      activation_default: activation of new nodes: one of ``activation_options``, or ``random``.
      activation_options: activations a node may have (neat-python names with batched versions:
        sigmoid, tanh, sin, gauss, abs, identity, relu, ...).
      aggregation_default: aggregation of new nodes: one of ``aggregation_options``, or ``random``.
      aggregation_options: aggregations a node may have (neat-python names with batched versions).
      activation_mutate_rate, aggregation_mutate_rate: per-node probability of a new activation /
        aggregation per generation, in [0, 1].
      conn_add_prob, conn_delete_prob, node_add_prob, node_delete_prob: per-genome probabilities of the
        structural mutations, in [0, 1].
      weight_init_stdev, bias_init_stdev: standard deviation of new weights / biases (>= 0).
      weight_mutate_rate, bias_mutate_rate: per-gene probability of a Gaussian perturbation, in [0, 1].
      weight_mutate_power: standard deviation of that perturbation (>= 0).
      weight_replace_rate: per-weight probability of a fresh value instead, in [0, 1].
      weight_max: weights (and biases) are clamped to [-weight_max, weight_max] (> 0).
      enabled_mutate_rate: per-connection probability of toggling it, in [0, 1].
      compatibility_threshold: genomic distance below which genomes share a species (> 0).
      compatibility_disjoint_coefficient, compatibility_weight_coefficient: weights of disjoint genes and
        of weight differences in that distance (> 0).
      max_stagnation: generations without improvement after which a species is removed (>= 1).
      species_elitism: species protected from stagnation (>= 0).
      elitism: best genomes of each species kept unchanged (>= 0).
      survival_threshold: fraction of each species allowed to reproduce, in [0, 1].
      min_species_size: smallest number of offspring a species gets (>= 1).
      reset_on_extinction: start a new random population when every species went extinct (otherwise
        neat-python raises).
    """

    genotype_kind: ClassVar[str] = "neat"

    def __init__(self, genome_size: int | None, seed: int, *,
                 popsize: int = 150,
                 neat_config: str | None = None,
                 num_inputs: int | None = None,
                 num_outputs: int | None = None,
                 initial_connection: Literal["unconnected", "fs_neat_nohidden", "fs_neat_hidden",
                                             "full_nodirect", "full_direct"] = "full_direct",
                 num_hidden: int = 0,
                 activation_default: str = "random",
                 activation_options: list[str] = list(CPPN_ACTIVATIONS),  # noqa: B006 - never mutated
                 activation_mutate_rate: float = 0.2,
                 aggregation_default: str = "sum",
                 aggregation_options: list[str] = ["sum"],  # noqa: B006 - never mutated
                 aggregation_mutate_rate: float = 0.0,
                 conn_add_prob: float = 0.3,
                 conn_delete_prob: float = 0.1,
                 node_add_prob: float = 0.15,
                 node_delete_prob: float = 0.05,
                 weight_init_stdev: float = 1.0,
                 bias_init_stdev: float = 1.0,
                 weight_mutate_rate: float = 0.8,
                 bias_mutate_rate: float = 0.7,
                 weight_mutate_power: float = 0.5,
                 weight_replace_rate: float = 0.1,
                 weight_max: float = 5.0,
                 enabled_mutate_rate: float = 0.01,
                 compatibility_threshold: float = 3.0,
                 compatibility_disjoint_coefficient: float = 1.0,
                 compatibility_weight_coefficient: float = 0.5,
                 max_stagnation: int = 20,
                 species_elitism: int = 2,
                 elitism: int = 2,
                 survival_threshold: float = 0.2,
                 min_species_size: int = 2,
                 reset_on_extinction: bool = True):
        super().__init__(genome_size, seed)
        _checks.integer("popsize", popsize, 2)
        _checks.integer("num_inputs", num_inputs, 1, optional=True)
        _checks.integer("num_outputs", num_outputs, 1, optional=True)
        _checks.one_of("initial_connection", initial_connection, CONNECTIONS)
        _checks.integer("num_hidden", num_hidden, 0)
        for name, values, allowed in (("activation_options", activation_options, ACTIVATION_NAMES),
                                      ("aggregation_options", aggregation_options, AGGREGATION_NAMES)):
            if not values or any(v not in allowed for v in values):
                _checks.fail(name, values, f"a non-empty list from {list(allowed)} (those have batched versions)")
        if activation_default != "random" and activation_default not in activation_options:
            _checks.fail("activation_default", activation_default, f"'random' or one of {list(activation_options)}")
        if aggregation_default != "random" and aggregation_default not in aggregation_options:
            _checks.fail("aggregation_default", aggregation_default, f"'random' or one of {list(aggregation_options)}")
        for name in ("activation_mutate_rate", "aggregation_mutate_rate", "conn_add_prob", "conn_delete_prob",
                     "node_add_prob", "node_delete_prob", "weight_mutate_rate", "bias_mutate_rate",
                     "weight_replace_rate", "enabled_mutate_rate", "survival_threshold"):
            _checks.probability(name, locals()[name])
        for name in ("weight_init_stdev", "bias_init_stdev", "weight_mutate_power"):
            _checks.real(name, locals()[name], 0.0)
        for name in ("weight_max", "compatibility_threshold", "compatibility_disjoint_coefficient",
                     "compatibility_weight_coefficient"):
            _checks.positive(name, locals()[name])
        _checks.integer("max_stagnation", max_stagnation, 1)
        _checks.integer("species_elitism", species_elitism, 0)
        _checks.integer("elitism", elitism, 0)
        _checks.integer("min_species_size", min_species_size, 1)
        _checks.boolean("reset_on_extinction", reset_on_extinction)
        self._ini_text = _neat_config.read_ini(neat_config) if neat_config is not None else None
        self._options = dict(
            popsize=int(popsize), reset_on_extinction=bool(reset_on_extinction), initial_connection=initial_connection,
            num_hidden=int(num_hidden),
            activation_default=activation_default, activation_options=list(activation_options),
            activation_mutate_rate=activation_mutate_rate, aggregation_default=aggregation_default,
            aggregation_options=list(aggregation_options), aggregation_mutate_rate=aggregation_mutate_rate,
            conn_add_prob=conn_add_prob, conn_delete_prob=conn_delete_prob, node_add_prob=node_add_prob,
            node_delete_prob=node_delete_prob, weight_init_stdev=weight_init_stdev, bias_init_stdev=bias_init_stdev,
            weight_mutate_rate=weight_mutate_rate, bias_mutate_rate=bias_mutate_rate,
            weight_mutate_power=weight_mutate_power, weight_replace_rate=weight_replace_rate,
            weight_max=float(weight_max), weight_min=-float(weight_max), enabled_mutate_rate=enabled_mutate_rate,
            compatibility_threshold=compatibility_threshold,
            compatibility_disjoint_coefficient=compatibility_disjoint_coefficient,
            compatibility_weight_coefficient=compatibility_weight_coefficient, max_stagnation=max_stagnation,
            species_elitism=species_elitism, elitism=elitism, survival_threshold=survival_threshold,
            min_species_size=min_species_size)
        self._random = random.Random(self.seed)
        self.config: Any = None
        self._pop: Any = None
        self._io = (num_inputs, num_outputs)
        if num_inputs is not None and num_outputs is not None:
            self._configure(num_inputs, num_outputs)

    # ---------------------------------------------------------------- configuration
    def bind(self, info: DecoderInfo) -> None:
        """Learn the genome's inputs/outputs from a decoder that declares them (e.g. ``hyperneat``)."""
        n_in, n_out = info.genome_inputs, info.genome_outputs
        if n_in is None or n_out is None:
            if self.config is None:
                raise ValueError("strategy 'neat' needs the genome's inputs/outputs: the decoder does not "
                                 "declare them; set the strategy options num_inputs and num_outputs")
            return
        for name, mine, theirs in (("num_inputs", self._io[0], n_in), ("num_outputs", self._io[1], n_out)):
            if mine is not None and mine != theirs:
                _checks.fail(name, mine, f"{theirs} (what the decoder needs) or null")
        if self.config is None:
            self._configure(int(n_in), int(n_out))
        elif (self.config.genome_config.num_inputs, self.config.genome_config.num_outputs) != (n_in, n_out):
            raise ValueError(f"strategy 'neat' is configured for {self.config.genome_config.num_inputs} inputs / "
                             f"{self.config.genome_config.num_outputs} outputs, the decoder needs {n_in} / {n_out}")

    def _configure(self, num_inputs: int, num_outputs: int) -> None:
        try:
            if self._ini_text is not None:
                self.config = _neat_config.config_from_text(self._ini_text)
                gc = self.config.genome_config
                if (gc.num_inputs, gc.num_outputs) != (num_inputs, num_outputs):
                    raise ValueError(f"neat_config has num_inputs={gc.num_inputs}, num_outputs={gc.num_outputs}; "
                                     f"the CPPN needs num_inputs={num_inputs}, num_outputs={num_outputs}")
                self.config.no_fitness_termination = True
            else:
                self.config, self._ini_text = _neat_config.config_from_options(
                    {**self._options, "num_inputs": num_inputs, "num_outputs": num_outputs})
        except ValueError:
            raise
        except Exception as exc:  # neat-python reports config problems with bare Exceptions
            raise ValueError(f"strategy 'neat': neat-python rejected the configuration: {exc}") from None

    @property
    def popsize(self) -> int:
        return int(self.config.pop_size) if self.config is not None else int(self._options["popsize"])

    @property
    def ini_text(self) -> str | None:
        """The neat-python INI config this strategy runs with (to reproduce a run with neat-python alone)."""
        return self._ini_text

    def _require_config(self) -> None:
        if self.config is None:
            raise RuntimeError("strategy 'neat' has no genome inputs/outputs yet: call bind() "
                               "or pass num_inputs/num_outputs")

    # ---------------------------------------------------------------- ask / tell
    def _ask(self) -> list[Any]:
        self._require_config()
        if self._pop is None:
            with _rng.python_random(self._random):
                self._pop = neat.Population(self.config)
        return list(self._pop.population.values())

    def _tell(self, fitness: torch.Tensor) -> None:
        for genome, f in zip(self._population, fitness.tolist()):
            genome.fitness = float(f)
        with _rng.python_random(self._random):
            try:
                self._pop.run(lambda genomes, config: None, 1)  # fitness is already assigned
            except RuntimeError as exc:
                if "num_species * min_species_size" not in str(exc):
                    raise
                from evohyper.config.options import ConfigError  # a ValueError the CLI reports as a config error

                raise ConfigError(
                    "strategy.compatibility_threshold",
                    f"{len(self._pop.species.species)} species need more than popsize="
                    f"{self.popsize} genomes at min_species_size={self.config.reproduction_config.min_species_size}; "
                    "raise compatibility_threshold (fewer species) or popsize, or lower min_species_size "
                    f"(neat-python: {exc})",
                ) from None
        self._pop.reproduction.ancestors.clear()  # neat-python's lineage log only grows; not state

    @staticmethod
    def _copy_genotype(population: Any, i: int) -> Any:
        return copy.deepcopy(population[i])  # elites live on in neat-python and get new fitness later

    def export_genotype(self, genotype: Any) -> dict[str, Any]:
        """JSON description of one genome (``best/genotype.json``), loadable with ``genome_from_data``."""
        self._require_config()
        return {
            "kind": "neat-genome",
            "num_inputs": self.config.genome_config.num_inputs,
            "num_outputs": self.config.genome_config.num_outputs,
            "genome": _neat_state.genome_to_data(genotype),
            "neat_config": self._ini_text,
        }

    # ---------------------------------------------------------------- checkpoints (explicit data)
    def state_dict(self) -> dict[str, Any]:
        if self._population is not None:
            raise RuntimeError("state_dict() between ask() and tell(): checkpoint after tell()")
        self._require_config()
        state: dict[str, Any] = {
            "kind": "neat",
            "generation": self.generation,
            "best_fitness": self.best_fitness,
            "best_genotype": _neat_state.genome_to_data(self.best_genotype) if self.best_genotype is not None else None,
            "rng": _neat_state.rng_to_data(self._random),
            "neat_config": self._ini_text,
            "started": self._pop is not None,
        }
        if self._pop is None:
            return state
        pop, gc = self._pop, self.config.genome_config
        genome_next, pop.reproduction.genome_indexer = _neat_state.peek_count(pop.reproduction.genome_indexer)
        node_next = None
        if gc.node_indexer is not None:
            node_next, gc.node_indexer = _neat_state.peek_count(gc.node_indexer)
        state.update(
            {
                "neat_generation": pop.generation,
                "population": [_neat_state.genome_to_data(g) for g in pop.population.values()],
                "species": _neat_state.species_to_data(pop.species),
                "genome_indexer_next": genome_next,
                "node_indexer_next": node_next,
                "innovation": _neat_state.innovation_to_data(pop.reproduction.innovation_tracker),
            }
        )
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.generation != 0 or self._pop is not None:
            raise RuntimeError("load_state_dict() needs a freshly constructed strategy")
        if state.get("kind") != "neat":
            raise ValueError(f"strategy 'neat' cannot load a {state.get('kind')!r} state")
        self._require_config()
        if state["neat_config"] != self._ini_text:
            raise ValueError("checkpoint was written with a different neat-python configuration")
        gc = self.config.genome_config
        self.generation = int(state["generation"])
        self.best_fitness = float(state["best_fitness"])
        self.best_genotype = (
            None if state["best_genotype"] is None else _neat_state.genome_from_data(state["best_genotype"], gc)
        )
        if state["started"]:
            population = {}
            for data in state["population"]:
                g = _neat_state.genome_from_data(data, gc)
                population[g.key] = g
            species = _neat_state.species_from_data(state["species"], self.config, population)
            with _rng.python_random(random.Random(0)):  # Population() may reseed; our RNG is set below
                self._pop = neat.Population(
                    self.config, initial_state=(population, species, int(state["neat_generation"]))
                )
            self._pop.reproduction.genome_indexer = itertools.count(int(state["genome_indexer_next"]))
            gc.node_indexer = (
                None if state["node_indexer_next"] is None else itertools.count(int(state["node_indexer_next"]))
            )
            _neat_state.innovation_from_data(self._pop.reproduction.innovation_tracker, state["innovation"])
            gc.innovation_tracker = self._pop.reproduction.innovation_tracker
        self._random = _neat_state.rng_from_data(state["rng"])
