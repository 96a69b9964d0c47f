"""``NEATConfig``: the typed, frozen reading of a parsed neat-python config that the batched engine uses.

Why a copy of neat's values: the batched engine's operators run on tensors and must not touch neat's
objects on the hot path; reading every item once into plain fields (rates, attribute ranges, option
codes) also gives the one place where what the engine supports is written down (docs/neat_engine.md,
section 5.2). neat-python still parses the INI text (``ini.config_from_text``), so types, required
items and neat's own errors keep their meaning; ``from_neat`` only reads the result.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evohyper.families.neat.activations import ACTIVATION_NAMES, AGGREGATION_NAMES

FLOAT_ATTRIBUTES = ("bias", "response", "time_constant", "weight")
SPECIES_FITNESS = ("max", "min", "mean", "median", "median2")
INIT_TYPES = ("gaussian", "normal", "uniform")


@dataclass(frozen=True)
class FloatAttr:
    """neat's ``FloatAttribute`` items (``attributes.py``): init, perturbation, replacement, clamp."""

    init_mean: float
    init_stdev: float
    init_type: str  # gaussian | normal | uniform
    replace_rate: float
    mutate_rate: float
    mutate_power: float
    max_value: float
    min_value: float


@dataclass(frozen=True)
class BoolAttr:
    """neat's ``BoolAttribute`` items; ``default`` is ``"true" | "false" | "random"`` (``none`` = random)."""

    default: str
    mutate_rate: float
    rate_to_true_add: float
    rate_to_false_add: float


@dataclass(frozen=True)
class StringAttr:
    """neat's ``StringAttribute`` items as codes: ``options`` are indices into the names table of the kind
    (``ACTIVATION_NAMES`` / ``AGGREGATION_NAMES``) in the config's order, repeats kept (neat's ``choice``
    weight); ``default`` is a code or ``None`` for a random choice among ``options``."""

    default: int | None
    options: tuple[int, ...]
    mutate_rate: float


@dataclass(frozen=True)
class NEATConfig:
    """Every item of ``[NEAT]``, ``DefaultGenome``, ``DefaultReproduction``, ``DefaultStagnation`` and
    ``DefaultSpeciesSet`` that the batched engine reads, with neat-python's meaning."""

    pop_size: int
    reset_on_extinction: bool
    num_inputs: int
    num_outputs: int
    num_hidden: int
    feed_forward: bool
    initial_connection: str  # neat's name without the fraction (e.g. "partial_direct")
    connection_fraction: float | None
    compatibility_disjoint_coefficient: float
    compatibility_weight_coefficient: float
    conn_add_prob: float
    conn_delete_prob: float
    node_add_prob: float
    node_delete_prob: float
    single_structural_mutation: bool
    structural_mutation_surer: bool  # resolved: "default" means single_structural_mutation
    bias: FloatAttr
    response: FloatAttr
    time_constant: FloatAttr
    weight: FloatAttr
    activation: StringAttr
    aggregation: StringAttr
    enabled: BoolAttr
    compatibility_threshold: float
    species_fitness_func: str
    max_stagnation: int
    species_elitism: int
    elitism: int
    survival_threshold: float
    min_species_size: int

    def float_attr(self, name: str) -> FloatAttr:
        return getattr(self, name)


def _float_attr(g: Any, name: str) -> FloatAttr:
    init_type = str(getattr(g, f"{name}_init_type")).lower()
    if init_type not in INIT_TYPES:
        raise ValueError(f"invalid neat-python item {name}_init_type={init_type!r}; allowed: {list(INIT_TYPES)}")
    return FloatAttr(*(float(getattr(g, f"{name}_{k}")) for k in ("init_mean", "init_stdev")), init_type,
                     *(float(getattr(g, f"{name}_{k}")) for k in ("replace_rate", "mutate_rate", "mutate_power",
                                                                   "max_value", "min_value")))


def _string_attr(g: Any, name: str, table: tuple[str, ...]) -> StringAttr:
    options = getattr(g, f"{name}_options")
    options = options.split() if isinstance(options, str) else list(options)
    for o in options:
        if o not in table:
            raise ValueError(f"invalid neat-python item {name}_options: {o!r} has no batched version; "
                             f"allowed: {list(table)}")
    default = str(getattr(g, f"{name}_default"))
    if default.lower() in ("none", "random"):
        code = None
    elif default in table:
        code = table.index(default)
    else:
        raise ValueError(f"invalid neat-python item {name}_default={default!r}; allowed: 'random', 'none' "
                         f"or one of {list(table)}")
    return StringAttr(code, tuple(table.index(o) for o in options), float(getattr(g, f"{name}_mutate_rate")))


def _bool_default(value: Any) -> str:
    text = str(value).lower()
    if text in ("1", "on", "yes", "true"):
        return "true"
    if text in ("0", "off", "no", "false"):
        return "false"
    if text in ("random", "none"):
        return "random"
    raise ValueError(f"invalid neat-python item enabled_default={value!r}; allowed: true, false, random, none")


def _surer(value: Any, single: bool) -> bool:
    text = str(value).lower()
    if text == "default":
        return single
    if text in ("1", "on", "yes", "true"):
        return True
    if text in ("0", "off", "no", "false"):
        return False
    raise ValueError(f"invalid neat-python item structural_mutation_surer={value!r}; allowed: true, false, default")


def from_neat(config: Any) -> NEATConfig:
    """The ``NEATConfig`` of a parsed ``neat.Config`` (``ini.config_from_text``)."""
    g, r = config.genome_config, config.reproduction_config
    s, st = config.species_set_config, config.stagnation_config
    if st.species_fitness_func not in SPECIES_FITNESS:
        raise ValueError(f"invalid neat-python item species_fitness_func={st.species_fitness_func!r}; "
                         f"allowed: {list(SPECIES_FITNESS)}")
    single = bool(g.single_structural_mutation)
    return NEATConfig(
        pop_size=int(config.pop_size), reset_on_extinction=bool(config.reset_on_extinction),
        num_inputs=int(g.num_inputs), num_outputs=int(g.num_outputs), num_hidden=int(g.num_hidden),
        feed_forward=bool(g.feed_forward), initial_connection=str(g.initial_connection),
        connection_fraction=None if g.connection_fraction is None else float(g.connection_fraction),
        compatibility_disjoint_coefficient=float(g.compatibility_disjoint_coefficient),
        compatibility_weight_coefficient=float(g.compatibility_weight_coefficient),
        conn_add_prob=float(g.conn_add_prob), conn_delete_prob=float(g.conn_delete_prob),
        node_add_prob=float(g.node_add_prob), node_delete_prob=float(g.node_delete_prob),
        single_structural_mutation=single, structural_mutation_surer=_surer(g.structural_mutation_surer, single),
        **{name: _float_attr(g, name) for name in FLOAT_ATTRIBUTES},
        activation=_string_attr(g, "activation", ACTIVATION_NAMES),
        aggregation=_string_attr(g, "aggregation", AGGREGATION_NAMES),
        enabled=BoolAttr(_bool_default(g.enabled_default), float(g.enabled_mutate_rate),
                         float(g.enabled_rate_to_true_add), float(g.enabled_rate_to_false_add)),
        compatibility_threshold=float(s.compatibility_threshold),
        species_fitness_func=str(st.species_fitness_func), max_stagnation=int(st.max_stagnation),
        species_elitism=int(st.species_elitism), elitism=int(r.elitism),
        survival_threshold=float(r.survival_threshold), min_species_size=int(r.min_species_size))


def from_text(text: str) -> NEATConfig:
    """The ``NEATConfig`` of an INI text: parsed by neat-python, checked item by item (``ini.check_items``:
    unknown ``[DefaultGenome]`` items and foreign sections are refused by name), then read (``from_neat``;
    activation/aggregation names without a batched function are refused by name there)."""
    from evohyper.families.neat import ini

    try:
        parsed = ini.config_from_text(text)
    except ValueError:
        raise
    except Exception as exc:  # neat-python reports config problems with bare Exceptions (and NameError)
        raise ValueError(f"neat-python rejected the configuration: {exc}") from None
    ini.check_items(text, parsed)
    return from_neat(parsed)
