"""Strategy ``neat``: NEAT's ask/tell with neat-python 2.0's semantics, run by one of two engines.

``engine: batched`` runs the whole generation as tensor ops on a ``GenomeBatch`` (``batched_engine.py``:
reproduction, mutation and speciation over all genomes at once, on ``device``); ``engine: neat-python``
runs neat-python's own ``Population`` (``python_engine.py``), the reference the batched engine is tested
against. Both hand out a ``GenomeBatch``, the genotype of kind ``neat`` every NEAT decoder reads, and both
read the same options and INI files with the same meaning (docs/neat_engine.md, section 5).

The genome's number of inputs and outputs, and whether it is feed-forward, come from the decoder
(``bind``: the HyperNEAT decoder knows its substrate, the ``neat`` decoder the task's network), or from
the options ``num_inputs``/``num_outputs``. Options map onto neat-python's INI config; ``neat_config:
path.ini`` uses a neat-python config file as-is instead (``num_inputs``/``num_outputs``/``feed_forward``
there must match the decoder; ``no_fitness_termination`` is forced on and ``seed`` off because the
engine, not neat-python, decides when to stop and how to seed). An option given next to the file
replaces the file's item (``--set strategy.popsize=50`` sets ``pop_size``). Checkpoints are explicit
data and resume bit-identically (on the same device for the batched engine).
"""
from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
from neat.population import CompleteExtinctionException

from evohyper.api.checks import MAX_SCALE, Checks
from evohyper.api.decoder import DecoderInfo
from evohyper.api.strategy import Strategy
from evohyper.families.neat import config as _typed_config
from evohyper.families.neat import convert as _convert
from evohyper.families.neat import ini as _neat_config
from evohyper.families.neat.activations import ACTIVATION_NAMES, AGGREGATION_NAMES
from evohyper.families.neat.batched_engine import BatchedEngine, CompleteExtinction
from evohyper.families.neat.genome import GenomeBatch
from evohyper.families.neat.python_engine import PythonEngine

_checks = Checks("strategy")

MAX_HIDDEN = 10_000   # hidden nodes every first genome starts with
ENGINES = ("batched", "neat-python")  # the engine running the generation (docs/neat_engine.md, section 5.1)
DTYPES = {"float32": torch.float32, "float64": torch.float64}
#: the batched engine's gene storage when ``dtype`` is null: float64, the configuration whose parity with neat-python
#: the study holds (reports/neat_engines.md: float32 genes solved HyperNEAT visual discrimination 35 of 60 seeds
#: against neat-python's 43; float64 44). float32 halves gene memory and traffic, a choice for speed.
DEFAULT_DTYPE = "float64"
#: the engine when ``engine`` is not given: the batched one, whose parity with neat-python the study holds
DEFAULT_ENGINE = "batched"
CONNECTIONS = ("unconnected", "fs_neat_nohidden", "fs_neat_hidden", "full_nodirect", "full_direct")


def _check_options(options: dict[str, Any]) -> None:
    """Range checks of the options present (each error names the option, the value and what is allowed)."""
    checks = {
        "popsize": lambda n, v: _checks.population(n, v, 2),
        "initial_connection": lambda n, v: _checks.one_of(n, v, CONNECTIONS),
        "num_hidden": lambda n, v: _checks.integer(n, v, 0, MAX_HIDDEN),
        "max_stagnation": lambda n, v: _checks.loop(n, v, 1),
        "species_elitism": lambda n, v: _checks.population(n, v, 0),
        "elitism": lambda n, v: _checks.population(n, v, 0),
        "min_species_size": lambda n, v: _checks.population(n, v, 1),
        "reset_on_extinction": _checks.boolean,
    }
    for name in ("activation_mutate_rate", "aggregation_mutate_rate", "conn_add_prob", "conn_delete_prob",
                 "node_add_prob", "node_delete_prob", "weight_mutate_rate", "bias_mutate_rate",
                 "weight_replace_rate", "enabled_mutate_rate", "survival_threshold"):
        checks[name] = _checks.probability
    for name in ("weight_init_stdev", "bias_init_stdev", "weight_mutate_power"):
        checks[name] = lambda n, v: _checks.real(n, v, 0.0, MAX_SCALE)
    for name in ("weight_max", "compatibility_threshold", "compatibility_disjoint_coefficient",
                 "compatibility_weight_coefficient"):
        checks[name] = _checks.scale
    for name, value in options.items():
        if name in checks:
            checks[name](name, value)
    for name, allowed in (("activation_options", ACTIVATION_NAMES), ("aggregation_options", AGGREGATION_NAMES)):
        values = options.get(name)
        if values is not None and (not values or any(v not in allowed for v in values)):
            _checks.fail(name, values, f"a non-empty list from {list(allowed)} (those have batched versions)")
    for kind in ("activation", "aggregation"):
        default, allowed = options.get(f"{kind}_default"), options.get(f"{kind}_options")
        if default is not None and allowed is not None and default != "random" and default not in allowed:
            _checks.fail(f"{kind}_default", default, f"'random' or one of {list(allowed)}")


class NEAT(Strategy):
    """NEAT from neat-python (speciation, innovations, stagnation) evolving genomes (CPPNs or networks), ask/tell.

    Options (the rest map onto neat-python's INI config sections of the same names):
      popsize: genomes per generation (>= 2; neat-python's ``pop_size``).
      neat_config: path of a neat-python INI file used as-is instead of the options below; null: none.
      engine: which engine runs the generation: ``batched`` (the whole generation as tensor ops on
        ``device``, neat-python's semantics) or ``neat-python`` (neat-python's own objects, the reference).
      device: where the batched engine keeps the genomes and runs the generation (``cpu``, ``cuda``,
        ``cuda:N``); null: cpu. Batched engine only.
      dtype: storage of gene attributes in the batched engine: ``float32`` or ``float64``; null: float64
        (the configuration the parity study holds for; float32 halves gene memory). Batched engine only
        (decisions are computed in float64 either way). A resumed run keeps its checkpoint's dtype.
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
      compatibility_threshold: genomic distance below which genomes share a species (> 0). neat-python divides
        disjoint genes by the genome's gene count, so a NEAT paper's threshold can put every small genome in
        one species (the ``species`` metrics column shows it; the double pole needed 1.5, not the paper's 3.0).
      compatibility_disjoint_coefficient, compatibility_weight_coefficient: weights of disjoint genes and
        of weight differences in that distance (> 0).
      max_stagnation: generations without improvement after which a species is removed (>= 1).
      species_elitism: species protected from stagnation (>= 0).
      elitism: best genomes of each species kept unchanged (>= 0).
      survival_threshold: fraction of each species allowed to reproduce, in [0, 1].
      min_species_size: smallest number of offspring a species gets (>= 1).
      reset_on_extinction: start a new random population when every species went extinct (otherwise
        the run stops with an error naming this option).
    """

    genotype_kind: ClassVar[str] = "neat"

    def __init__(self, genome_size: int | None, seed: int, *,
                 neat_config: str | None = None,
                 engine: Literal["batched", "neat-python"] = DEFAULT_ENGINE,
                 device: str | None = None,
                 dtype: Literal["float32", "float64"] | None = None,
                 num_inputs: int | None = None,
                 num_outputs: int | None = None,
                 popsize: int | None = None,
                 initial_connection: Literal["unconnected", "fs_neat_nohidden", "fs_neat_hidden",
                                             "full_nodirect", "full_direct"] | None = None,
                 num_hidden: int | None = None,
                 activation_default: str | None = None,
                 activation_options: list[str] | None = None,
                 activation_mutate_rate: float | None = None,
                 aggregation_default: str | None = None,
                 aggregation_options: list[str] | None = None,
                 aggregation_mutate_rate: float | None = None,
                 conn_add_prob: float | None = None,
                 conn_delete_prob: float | None = None,
                 node_add_prob: float | None = None,
                 node_delete_prob: float | None = None,
                 weight_init_stdev: float | None = None,
                 bias_init_stdev: float | None = None,
                 weight_mutate_rate: float | None = None,
                 bias_mutate_rate: float | None = None,
                 weight_mutate_power: float | None = None,
                 weight_replace_rate: float | None = None,
                 weight_max: float | None = None,
                 enabled_mutate_rate: float | None = None,
                 compatibility_threshold: float | None = None,
                 compatibility_disjoint_coefficient: float | None = None,
                 compatibility_weight_coefficient: float | None = None,
                 max_stagnation: int | None = None,
                 species_elitism: int | None = None,
                 elitism: int | None = None,
                 survival_threshold: float | None = None,
                 min_species_size: int | None = None,
                 reset_on_extinction: bool | None = None):
        """Every NEAT option left null takes the INI file's value (``neat_config``) or else the default in
        ``neat_config.DEFAULTS``; an option given replaces the INI item it maps to."""
        super().__init__(genome_size, seed)
        _checks.one_of("engine", engine, ENGINES)
        self.engine = engine
        for name, value in (("device", device), ("dtype", dtype)):
            if value is not None and engine != "batched":
                _checks.fail(name, value, "null with engine 'neat-python' (only the batched engine reads it)")
        if dtype is not None:
            _checks.one_of("dtype", dtype, DTYPES)
        self.device = _device(device)
        self.dtype = DTYPES[dtype or DEFAULT_DTYPE]
        self._dtype_given = dtype is not None
        given = {k: v for k, v in locals().items() if k in _neat_config.DEFAULTS and v is not None}
        _checks.integer("num_inputs", num_inputs, 1, optional=True)
        _checks.integer("num_outputs", num_outputs, 1, optional=True)
        self._ini_text = _neat_config.read_ini(neat_config) if neat_config is not None else None
        _check_options(given if self._ini_text is not None else {**_neat_config.DEFAULTS, **given})
        self._given = given
        self.config: Any = None
        self._engine: Any = None   # BatchedEngine or PythonEngine, made on the first ask
        self._io = (num_inputs, num_outputs)
        if num_inputs is not None and num_outputs is not None:
            self._configure(num_inputs, num_outputs)

    # ---------------------------------------------------------------- configuration
    def bind(self, info: DecoderInfo) -> None:
        """Learn the genome's inputs/outputs (and whether it is feed-forward) from a decoder that declares them."""
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
            self._configure(int(n_in), int(n_out), info.genome_feed_forward)
            return
        gc = self.config.genome_config
        if (gc.num_inputs, gc.num_outputs) != (n_in, n_out):
            raise ValueError(f"strategy 'neat' is configured for {gc.num_inputs} inputs / "
                             f"{gc.num_outputs} outputs, the decoder needs {n_in} / {n_out}")
        self._check_feed_forward(info.genome_feed_forward)

    def _configure(self, num_inputs: int, num_outputs: int, feed_forward: bool | None = None) -> None:
        try:
            if self._ini_text is not None:
                self._ini_text = _neat_config.override_ini(self._ini_text, self._given)
                self.config = _neat_config.config_from_text(self._ini_text)
                gc = self.config.genome_config
                if (gc.num_inputs, gc.num_outputs) != (num_inputs, num_outputs):
                    raise ValueError(f"neat_config has num_inputs={gc.num_inputs}, num_outputs={gc.num_outputs}; "
                                     f"the decoder needs num_inputs={num_inputs}, num_outputs={num_outputs} "
                                     "(the task's network inputs and outputs)")
                self.config.no_fitness_termination = True  # the engine's budget decides when to stop
                self.config.seed = None                   # the run's seed decides the randomness
                _check_options({"activation_options": list(gc.activation_options),
                                "aggregation_options": list(gc.aggregation_options)})
            else:
                self.config, self._ini_text = _neat_config.config_from_options(
                    {**_neat_config.DEFAULTS, **self._given, "num_inputs": num_inputs, "num_outputs": num_outputs,
                     "feed_forward": True if feed_forward is None else bool(feed_forward)})
        except ValueError:
            raise
        except Exception as exc:  # neat-python reports config problems with bare Exceptions
            raise ValueError(f"strategy 'neat': neat-python rejected the configuration: {exc}") from None
        self._check_feed_forward(feed_forward)

    def _check_feed_forward(self, needed: bool | None) -> None:
        have = bool(self.config.genome_config.feed_forward)
        if needed is not None and have != needed:
            raise ValueError(f"neat_config has feed_forward = {have}, the decoder runs feed_forward = {needed} "
                             "networks (decoder 'neat' runs recurrent genomes with recurrent: true)")

    @property
    def popsize(self) -> int:
        return int(self.config.pop_size) if self.config is not None else \
            int(self._given.get("popsize", _neat_config.DEFAULTS["popsize"]))

    @property
    def ini_text(self) -> str | None:
        """The neat-python INI config this strategy runs with (to reproduce a run with neat-python alone)."""
        return self._ini_text

    def _require_config(self) -> None:
        if self.config is None:
            raise RuntimeError("strategy 'neat' has no genome inputs/outputs yet: call bind() "
                               "or pass num_inputs/num_outputs")

    # ---------------------------------------------------------------- ask / tell
    def _make_engine(self) -> Any:
        self._require_config()
        if self._engine is None:
            if self.engine == "batched":
                self._engine = BatchedEngine(_typed_config.from_text(self._ini_text), self.seed,
                                             device=self.device, dtype=self.dtype)
            else:
                self._engine = PythonEngine(self.config, self.seed)
        return self._engine

    @property
    def species_count(self) -> int:
        """Species of the current population (0 before the first ask)."""
        return 0 if self._engine is None else self._engine.species_count

    def metrics(self) -> dict[str, float]:
        """``species`` of the population just told (a metrics.csv column): one species for many generations
        means speciation is off (neat-python's distance divides disjoint genes by the genome's size, so a
        threshold from a NEAT paper can put every genome in one species)."""
        return {"species": float(self.species_count)}

    def _ask(self) -> GenomeBatch:
        return self._make_engine().ask()

    def _tell(self, fitness: torch.Tensor) -> None:
        from evohyper.config.options import ConfigError  # a ValueError the CLI reports as a config error

        try:
            self._engine.tell(fitness)
        except (CompleteExtinction, CompleteExtinctionException):
            raise ConfigError(
                "strategy.reset_on_extinction",
                f"every species went extinct at generation {self.generation} (each stagnated for max_stagnation "
                f"generations); set reset_on_extinction: true to start a new random population, or raise "
                f"max_stagnation or species_elitism",
            ) from None
        except RuntimeError as exc:
            if "num_species * min_species_size" not in str(exc) and "Internal error" not in str(exc):
                raise
            rc = self.config.reproduction_config
            raise ConfigError(
                "strategy.compatibility_threshold",
                f"{self._engine.species_count} species cannot share popsize={self.popsize} genomes at "
                f"min_species_size={rc.min_species_size}, elitism={rc.elitism}; raise compatibility_threshold "
                f"(fewer species) or popsize, or lower min_species_size/elitism (neat-python's rule: {exc})",
            ) from None

    @staticmethod
    def _copy_genotype(population: GenomeBatch, i: int) -> GenomeBatch:
        """Row ``i`` as a one-row batch of its own (copied: it keeps no view of the population's storage)."""
        return population[torch.tensor([i], device=population.device)]

    def export_genotype(self, genotype: GenomeBatch) -> dict[str, Any]:
        """JSON description of one genome (``best/genotype.json``: ``kind: neat-genome``, the gene lists of
        ``neat_state.genome_to_data``, genes in sorted order), loadable with ``import_genotype``; its
        ``fitness`` is the search's best fitness for the best genotype, else null."""
        self._require_config()
        one = _convert.as_genome_batch([genotype])
        fitness = self.best_fitness if genotype is self.best_genotype else None
        return {
            "kind": "neat-genome",
            "num_inputs": self.config.genome_config.num_inputs,
            "num_outputs": self.config.genome_config.num_outputs,
            "genome": _convert.genotype_to_data(one, 0, fitness),
            "neat_config": self._ini_text,
        }

    def import_genotype(self, data: dict[str, Any]) -> GenomeBatch:
        """A one-row ``GenomeBatch`` from ``export_genotype``'s JSON (files written before the batch, by
        ``neat_state.genome_to_data``, load too); inputs and outputs must be this strategy's."""
        self._require_config()
        gc = self.config.genome_config
        if data.get("kind") != "neat-genome" or (data.get("num_inputs"), data.get("num_outputs")) != \
                (gc.num_inputs, gc.num_outputs):
            raise ValueError(f"not a NEAT genome with {gc.num_inputs} inputs / {gc.num_outputs} outputs: "
                             f"kind {data.get('kind')!r}, {data.get('num_inputs')} / {data.get('num_outputs')}")
        return _convert.genotype_from_data(data["genome"])

    # ---------------------------------------------------------------- checkpoints (explicit data)
    def state_dict(self) -> dict[str, Any]:
        if self._population is not None:
            raise RuntimeError("state_dict() between ask() and tell(): checkpoint after tell()")
        self._require_config()
        state: dict[str, Any] = {
            "kind": "neat",
            "engine": self.engine,
            "generation": self.generation,
            "best_fitness": self.best_fitness,
            "best_genotype": None if self.best_genotype is None else _convert.genotype_to_data(self.best_genotype, 0),
            "neat_config": self._ini_text,
        }
        if self.engine == "batched":
            state["dtype"] = _dtype_name(self.dtype)
        state.update(self._make_engine().state_dict())
        return state

    def _adopt_saved_dtype(self, state: dict[str, Any]) -> None:
        """A run resumes in the dtype it was written with (exact resume, also across a change of the default):
        ``dtype`` null adopts it, a different explicit ``dtype`` is a config error. States written before the
        key existed carry it in their gene tensors."""
        saved = state.get("dtype")
        weights = (state.get("population") or {}).get("conn.weight")
        if saved is None and isinstance(weights, torch.Tensor):
            saved = _dtype_name(weights.dtype)
        if saved is None or DTYPES.get(saved) == self.dtype:
            return
        if self._dtype_given or saved not in DTYPES:
            from evohyper.config.options import ConfigError

            raise ConfigError("strategy.dtype", f"{_dtype_name(self.dtype)!r} cannot resume this "
                                                f"checkpoint: its genes are {saved} (resume with dtype: {saved}, "
                                                "or null)")
        self.dtype = DTYPES[saved]

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.generation != 0 or self._engine is not None:
            raise RuntimeError("load_state_dict() needs a freshly constructed strategy")
        if state.get("kind") != "neat":
            raise ValueError(f"strategy 'neat' cannot load a {state.get('kind')!r} state")
        saved = state.get("engine", "neat-python")  # states written before the batched engine were neat-python's
        if saved != self.engine:
            from evohyper.config.options import ConfigError

            raise ConfigError("strategy.engine", f"{self.engine!r} cannot resume this checkpoint: it was written by "
                                                 f"engine {saved!r} (engines do not share states; resume with "
                                                 f"engine: {saved})")
        self._require_config()
        if self.engine == "batched":
            self._adopt_saved_dtype(state)
        if state["neat_config"] != self._ini_text:
            raise ValueError("checkpoint was written with a different neat-python configuration")
        self.generation = int(state["generation"])
        self.best_fitness = float(state["best_fitness"])
        self.best_genotype = (   # a one-row GenomeBatch (checkpoints of neat-python genomes hold the same JSON)
            None if state["best_genotype"] is None
            else _convert.genotype_from_data(state["best_genotype"]).to(
                self.device, dtype=self.dtype if self.engine == "batched" else None)   # as the population's rows
        )
        self._make_engine().load_state_dict(state)


def _dtype_name(dtype: torch.dtype) -> str:
    """``torch.float64`` -> ``float64``: a dtype as the option and the checkpoint spell it."""
    return str(dtype).removeprefix("torch.")


def _device(device: str | None) -> torch.device:
    """``device`` checked: cpu, or a CUDA device that exists here."""
    if device is None:
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        _checks.fail("device", device, "cpu, cuda or cuda:N")
    if dev.type not in ("cpu", "cuda"):
        _checks.fail("device", device, "cpu, cuda or cuda:N")
    if dev.type == "cuda" and (not torch.cuda.is_available() or (dev.index or 0) >= torch.cuda.device_count()):
        _checks.fail("device", device, f"cpu (this machine has {torch.cuda.device_count()} CUDA devices)")
    return dev
