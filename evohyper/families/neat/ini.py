"""neat-python configuration from evohyper options, or from a neat-python INI file as-is.

Why an INI round trip: ``neat.Config`` only parses files. Writing the YAML options into neat-python's
own INI format and letting ``neat.Config`` parse it means every option is checked by neat-python's
own parser (unknown or missing items fail there) and the INI file a user already has works unchanged.
Options given explicitly next to an INI file (``--set strategy.popsize=50``) replace the INI's items
they map to in ``_TEMPLATE`` (``override_ini``); every other item is the file's.
"""
from __future__ import annotations

import configparser
import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import neat

_TEMPLATE = """\
[NEAT]
pop_size = {popsize}
fitness_criterion = max
fitness_threshold = 1e308
no_fitness_termination = True
reset_on_extinction = {reset_on_extinction}

[DefaultGenome]
num_inputs = {num_inputs}
num_outputs = {num_outputs}
num_hidden = {num_hidden}
feed_forward = {feed_forward}
initial_connection = {initial_connection}
compatibility_disjoint_coefficient = {compatibility_disjoint_coefficient}
compatibility_weight_coefficient = {compatibility_weight_coefficient}
conn_add_prob = {conn_add_prob}
conn_delete_prob = {conn_delete_prob}
node_add_prob = {node_add_prob}
node_delete_prob = {node_delete_prob}
single_structural_mutation = False
structural_mutation_surer = default
activation_default = {activation_default}
activation_options = {activation_options}
activation_mutate_rate = {activation_mutate_rate}
aggregation_default = {aggregation_default}
aggregation_options = {aggregation_options}
aggregation_mutate_rate = {aggregation_mutate_rate}
bias_init_mean = 0.0
bias_init_stdev = {bias_init_stdev}
bias_init_type = gaussian
bias_max_value = {weight_max}
bias_min_value = {weight_min}
bias_mutate_power = {weight_mutate_power}
bias_mutate_rate = {bias_mutate_rate}
bias_replace_rate = {weight_replace_rate}
response_init_mean = 1.0
response_init_stdev = 0.0
response_init_type = gaussian
response_max_value = 5.0
response_min_value = -5.0
response_mutate_power = 0.0
response_mutate_rate = 0.0
response_replace_rate = 0.0
weight_init_mean = 0.0
weight_init_stdev = {weight_init_stdev}
weight_init_type = gaussian
weight_max_value = {weight_max}
weight_min_value = {weight_min}
weight_mutate_power = {weight_mutate_power}
weight_mutate_rate = {weight_mutate_rate}
weight_replace_rate = {weight_replace_rate}
enabled_default = True
enabled_mutate_rate = {enabled_mutate_rate}
enabled_rate_to_true_add = 0.0
enabled_rate_to_false_add = 0.0

[DefaultSpeciesSet]
compatibility_threshold = {compatibility_threshold}

[DefaultStagnation]
species_fitness_func = max
max_stagnation = {max_stagnation}
species_elitism = {species_elitism}

[DefaultReproduction]
elitism = {elitism}
survival_threshold = {survival_threshold}
min_species_size = {min_species_size}
"""


#: the strategy's options when neither the config nor an INI file sets them
DEFAULTS: dict[str, Any] = dict(
    popsize=150, reset_on_extinction=True, initial_connection="full_direct", num_hidden=0,
    activation_default="random", activation_options=["sigmoid", "tanh", "sin", "gauss", "abs", "identity"],
    activation_mutate_rate=0.2, aggregation_default="sum", aggregation_options=["sum"], aggregation_mutate_rate=0.0,
    conn_add_prob=0.3, conn_delete_prob=0.1, node_add_prob=0.15, node_delete_prob=0.05, weight_init_stdev=1.0,
    bias_init_stdev=1.0, weight_mutate_rate=0.8, bias_mutate_rate=0.7, weight_mutate_power=0.5,
    weight_replace_rate=0.1, weight_max=5.0, enabled_mutate_rate=0.01, compatibility_threshold=3.0,
    compatibility_disjoint_coefficient=1.0, compatibility_weight_coefficient=0.5, max_stagnation=20,
    species_elitism=2, elitism=2, survival_threshold=0.2, min_species_size=2)


def _values(options: dict[str, Any]) -> dict[str, Any]:
    """Template values: lists joined by spaces, booleans as neat-python writes them, weight_min derived."""
    values = {k: (" ".join(v) if isinstance(v, (list, tuple)) else v) for k, v in options.items()}
    if "weight_max" in values:
        values["weight_min"] = -float(values["weight_max"])
    return values


def ini_items() -> dict[str, list[tuple[str, str]]]:
    """``{option: [(section, INI key), ...]}``: where ``_TEMPLATE`` writes each option."""
    out: dict[str, list[tuple[str, str]]] = {}
    section = ""
    for line in _TEMPLATE.splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif m := re.match(r"^(\w+) = \{(\w+)\}$", line):
            out.setdefault(m.group(2), []).append((section, m.group(1)))
    return out


def override_ini(text: str, options: dict[str, Any]) -> str:
    """The INI ``text`` with the items that ``options`` map to replaced (unchanged when there are none)."""
    items = ini_items()
    unknown = sorted(set(options) - set(items))
    if unknown:
        raise ValueError(f"option(s) {unknown} have no neat-python INI item; allowed: {sorted(items)}")
    if not options:
        return text
    parser = configparser.ConfigParser()
    parser.read_string(text)
    for name, value in _values(options).items():
        for section, key in items.get(name, []):
            if not parser.has_section(section):
                parser.add_section(section)
            parser.set(section, key, str(value))
    out = io.StringIO()
    parser.write(out)
    return out.getvalue()


def _load(path: str | Path) -> neat.Config:
    return neat.Config(neat.DefaultGenome, neat.DefaultReproduction, neat.DefaultSpeciesSet,
                       neat.DefaultStagnation, str(path))


def config_from_options(options: dict[str, Any]) -> tuple[neat.Config, str]:
    """A ``neat.Config`` and its INI text from the strategy's options (lists joined by spaces)."""
    text = _TEMPLATE.format(**_values(options))
    return config_from_text(text), text


def config_from_text(text: str) -> neat.Config:
    fd, tmp = tempfile.mkstemp(prefix="neat-", suffix=".ini")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        return _load(tmp)
    finally:
        os.unlink(tmp)


def read_ini(path: str) -> str:
    """The INI text of a user's neat-python config file (checked to exist and to parse)."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"invalid strategy option neat_config={path!r}; allowed: a path to an existing "
                         "neat-python INI config file")
    text = p.read_text()
    parser = configparser.ConfigParser()
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise ValueError(f"invalid strategy option neat_config={path!r}: not a valid INI file ({exc})") from None
    return text


#: the sections neat.Config reads with the Default* classes (the section name is the class name)
SECTIONS = ("NEAT", "DefaultGenome", "DefaultSpeciesSet", "DefaultStagnation", "DefaultReproduction")


def check_items(text: str, config: neat.Config) -> None:
    """Refuse what neat-python would silently ignore, naming it (docs/neat_engine.md, section 5.2).

    neat refuses unknown items of ``[NEAT]``, ``[DefaultSpeciesSet]``, ``[DefaultStagnation]`` and
    ``[DefaultReproduction]`` itself, but ``DefaultGenomeConfig`` never looks at items it does not know, so
    a mistyped ``[DefaultGenome]`` item (``weight_mutate_rat``) would run with neat's default or fail later
    without naming the typo. A section no ``Default*`` class reads (another genome class) is refused too.
    ``config`` is ``text`` parsed by ``config_from_text``; its genome config lists the items neat knows.
    """
    from evohyper.api.registry import did_you_mean

    parser = configparser.ConfigParser()
    parser.read_string(text)
    for section in parser.sections():
        if section not in SECTIONS:
            raise ValueError(f"invalid neat-python section [{section}]: the batched engine reads only "
                             f"{', '.join(f'[{s}]' for s in SECTIONS)}; {did_you_mean(section, SECTIONS)}"
                             "(a genome, reproduction, species or stagnation class other than neat's Default* "
                             "ones is not supported)")
    known = [p.name for p in config.genome_config._params]  # neat's own list (genome items + gene attributes)
    for item in parser.options("DefaultGenome"):
        if item not in known and item not in parser.defaults():
            raise ValueError(f"invalid neat-python item [DefaultGenome] {item}: unknown item (neat-python "
                             f"ignores it, the batched engine refuses it); {did_you_mean(item, known)}"
                             f"allowed: {sorted(known)}")
