"""INI items (docs/neat_engine.md, section 5.2): ``config.from_text`` reads every supported item to neat-python's
own parsed value and refuses, by name, what the batched engine cannot run or what neat would silently ignore.
"""
from __future__ import annotations

import configparser
import io
from pathlib import Path

import pytest

from evohyper.families.neat import config as neat_config
from evohyper.families.neat import ini
from evohyper.families.neat.activations import ACTIVATION_NAMES, AGGREGATION_NAMES

INIS = Path(__file__).resolve().parents[3] / "search_spaces" / "neat_python"
SHIPPED = sorted(p.name for p in INIS.iterdir() if not p.name.startswith(("README", "LICENSE")))
REFUSED = {"memory-fixed-config": "my_sinc_function"}


def _set(text: str, section: str, item: str, value: object) -> str:
    parser = configparser.ConfigParser()
    parser.read_string(text)
    if not parser.has_section(section):
        parser.add_section(section)
    parser.set(section, item, str(value))
    out = io.StringIO()
    parser.write(out)
    return out.getvalue()


def _neat_values(parsed) -> dict:
    """neat's parsed values in ``NEATConfig``'s shape, read straight from neat's objects."""
    g, r = parsed.genome_config, parsed.reproduction_config
    s, st = parsed.species_set_config, parsed.stagnation_config

    def float_attr(name):
        return {k: getattr(g, f"{name}_{k}") for k in ("init_mean", "init_stdev", "replace_rate", "mutate_rate",
                                                        "mutate_power", "max_value", "min_value")} | \
            {"init_type": getattr(g, f"{name}_init_type").lower()}

    def string_attr(name, table):
        default = getattr(g, f"{name}_default")
        return {"default": None if default.lower() in ("none", "random") else default,
                "options": [o for o in getattr(g, f"{name}_options")], "mutate_rate": getattr(g, f"{name}_mutate_rate"),
                "table": table}

    enabled_default = str(g.enabled_default).lower()
    return {
        "pop_size": parsed.pop_size, "reset_on_extinction": parsed.reset_on_extinction,
        **{k: getattr(g, k) for k in ("num_inputs", "num_outputs", "num_hidden", "feed_forward", "initial_connection",
                                      "connection_fraction", "compatibility_disjoint_coefficient",
                                      "compatibility_weight_coefficient", "conn_add_prob", "conn_delete_prob",
                                      "node_add_prob", "node_delete_prob", "single_structural_mutation")},
        "structural_mutation_surer": g.check_structural_mutation_surer(),
        **{name: float_attr(name) for name in ("bias", "response", "time_constant", "weight")},
        "activation": string_attr("activation", ACTIVATION_NAMES),
        "aggregation": string_attr("aggregation", AGGREGATION_NAMES),
        "enabled": {"default": {"1": "true", "yes": "true", "on": "true", "0": "false", "no": "false",
                                "off": "false", "none": "random"}.get(enabled_default, enabled_default),
                    "mutate_rate": g.enabled_mutate_rate, "rate_to_true_add": g.enabled_rate_to_true_add,
                    "rate_to_false_add": g.enabled_rate_to_false_add},
        "compatibility_threshold": s.compatibility_threshold, "species_fitness_func": st.species_fitness_func,
        "max_stagnation": st.max_stagnation, "species_elitism": st.species_elitism, "elitism": r.elitism,
        "survival_threshold": r.survival_threshold, "min_species_size": r.min_species_size,
    }


def _assert_reads_neat(text: str) -> None:
    cfg = neat_config.from_text(text)
    want = _neat_values(ini.config_from_text(text))
    for name, value in want.items():
        got = getattr(cfg, name)
        if name in ("activation", "aggregation"):
            table = value.pop("table")
            assert [table[c] for c in got.options] == value["options"], name
            assert (None if got.default is None else table[got.default]) == value["default"], name
            assert got.mutate_rate == value["mutate_rate"], name
        elif isinstance(value, dict):
            assert {k: getattr(got, k) for k in value} == value, name
        else:
            assert got == value and type(got) is type(value) or got == value is None, name


@pytest.mark.parametrize("name", [n for n in SHIPPED if n not in REFUSED])
def test_every_shipped_config_reads_to_neats_values(name):
    _assert_reads_neat((INIS / name).read_text())


def test_every_shipped_config_is_covered():
    assert len(SHIPPED) == 10


@pytest.mark.parametrize("name,item", sorted(REFUSED.items()))
def test_functions_without_a_batched_version_are_refused_by_name(name, item):
    with pytest.raises(ValueError, match=item):
        neat_config.from_text((INIS / name).read_text())


XOR = (INIS / "xor-config-feedforward").read_text()
#: every supported item, changed to another valid value: the reading must follow neat's
CHANGES = [
    ("NEAT", "pop_size", 77), ("NEAT", "reset_on_extinction", "True"),
    ("DefaultGenome", "num_hidden", 3), ("DefaultGenome", "feed_forward", "False"),
    ("DefaultGenome", "initial_connection", "partial_nodirect 0.25"),
    ("DefaultGenome", "initial_connection", "fs_neat"),
    ("DefaultGenome", "compatibility_disjoint_coefficient", 1.25),
    ("DefaultGenome", "compatibility_weight_coefficient", 0.6), ("DefaultGenome", "conn_add_prob", 0.11),
    ("DefaultGenome", "conn_delete_prob", 0.12), ("DefaultGenome", "node_add_prob", 0.13),
    ("DefaultGenome", "node_delete_prob", 0.14), ("DefaultGenome", "single_structural_mutation", "True"),
    ("DefaultGenome", "structural_mutation_surer", "true"), ("DefaultGenome", "structural_mutation_surer", "yes"),
    *[("DefaultGenome", f"{attr}_{item}", value) for attr in ("bias", "response", "weight", "time_constant")
      for item, value in (("init_mean", 0.3), ("init_stdev", 0.4), ("init_type", "uniform"), ("replace_rate", 0.05),
                          ("mutate_rate", 0.33), ("mutate_power", 0.21), ("max_value", 7.0), ("min_value", -6.0))],
    ("DefaultGenome", "activation_default", "random"), ("DefaultGenome", "activation_options", "sigmoid relu sigmoid"),
    ("DefaultGenome", "activation_mutate_rate", 0.4), ("DefaultGenome", "aggregation_default", "random"),
    ("DefaultGenome", "aggregation_options", "sum max mean"), ("DefaultGenome", "aggregation_mutate_rate", 0.2),
    ("DefaultGenome", "enabled_default", "random"), ("DefaultGenome", "enabled_default", "False"),
    ("DefaultGenome", "enabled_mutate_rate", 0.03), ("DefaultGenome", "enabled_rate_to_true_add", 0.02),
    ("DefaultGenome", "enabled_rate_to_false_add", 0.04),
    ("DefaultSpeciesSet", "compatibility_threshold", 2.5),
    ("DefaultStagnation", "species_fitness_func", "median2"), ("DefaultStagnation", "max_stagnation", 9),
    ("DefaultStagnation", "species_elitism", 4),
    ("DefaultReproduction", "elitism", 5), ("DefaultReproduction", "survival_threshold", 0.35),
    ("DefaultReproduction", "min_species_size", 3),
]


@pytest.mark.parametrize("section,item,value", CHANGES)
def test_each_supported_item_is_read(section, item, value):
    text = _set(XOR, section, item, value)
    _assert_reads_neat(text)
    assert neat_config.from_text(text) != neat_config.from_text(XOR)  # the item changed the reading


@pytest.mark.parametrize("item,hint", [("weight_mutate_rat", "weight_mutate_rate"), ("bias_init_sd", None),
                                       ("node_ad_prob", "node_add_prob")])
def test_unknown_genome_items_are_refused_by_name(item, hint):
    text = _set(XOR, "DefaultGenome", item, "0.5")
    ini.config_from_text(text)  # neat itself ignores it
    with pytest.raises(ValueError, match=item) as err:
        neat_config.from_text(text)
    assert "[DefaultGenome]" in str(err.value) and (hint is None or f"did you mean {hint!r}" in str(err.value))


@pytest.mark.parametrize("section,item", [("DefaultReproduction", "elitsm"), ("DefaultStagnation", "max_stagnaton"),
                                          ("DefaultSpeciesSet", "threshold"), ("NEAT", "popsize")])
def test_unknown_items_elsewhere_are_refused_by_neat_by_name(section, item):
    with pytest.raises(ValueError, match=item):
        neat_config.from_text(_set(XOR, section, item, "3"))


def test_foreign_sections_and_functions_are_refused_by_name():
    with pytest.raises(ValueError, match=r"\[MyGenome\]"):
        neat_config.from_text(_set(XOR, "MyGenome", "num_inputs", "2"))
    with pytest.raises(ValueError, match="species_fitness_func"):
        neat_config.from_text(_set(XOR, "DefaultStagnation", "species_fitness_func", "mode"))
    with pytest.raises(ValueError, match="aggregation_options.*my_l2norm"):
        neat_config.from_text(_set(XOR, "DefaultGenome", "aggregation_options", "sum my_l2norm"))
