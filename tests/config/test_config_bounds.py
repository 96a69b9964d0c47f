"""Issue 21 item 11: every numeric option of every registered component is bounded at validation.

A value that sizes memory or a loop (episodes, max_steps, popsize, hidden sizes, beams, ...) or a float the
library turns into float32 (a radius or stdev that overflows) used to pass validation and then crash or hang
in the first generation (``radius_init: 1e300`` on PGPE: an OverflowError from evotorch; ``max_steps: 10**16``
on Pendulum: an episode that never ends). The registry drives the test: an option added later without
a bound fails it.
"""
from __future__ import annotations

import copy
import typing
from pathlib import Path

import pytest
import torch

from evohyper.config import ConfigError, validate
from evohyper.config.build import COMPONENTS
from evohyper.config.options import options_of

SPHERE = {"name": "b", "task": {"name": "sphere", "dim": 4}, "strategy": {"name": "cmaes", "popsize": 10},
          "budget": {"generations": 1}}
CARTPOLE = {**SPHERE, "task": {"name": "cartpole", "episodes": 1, "max_steps": 20}, "network": {"hidden": [2]}}
NEAT_XOR = {**SPHERE, "task": {"name": "xor"}, "decoder": {"name": "neat"}, "strategy": {"name": "neat", "popsize": 4}}
DIGITS = {**SPHERE, "task": {"name": "digits"}, "network": {"hidden": [4]}}
GHN = {**DIGITS, "network": {"type": "conv"}, "decoder": {"name": "ghn", "nodes": 3, "channels": 2, "hidden": 4},
       "strategy": {"name": "nas_random", "popsize": 2}}
CIRCUIT = {**SPHERE, "task": {"name": "circuit_design", "target_length": 4}, "decoder": {"name": "circuit"},
           "strategy": {"name": "circuit_ga", "popsize": 4}}



def _agent_embedding_generator() -> str:
    """A tiny trained generator file for the ``agent_embedding`` decoder's base config (one epoch on noise)."""
    import tempfile

    from evohyper.api.phenotypes import MLPSpec
    from evohyper.families.embeddings import network_of, save_generator, train_vae
    target = MLPSpec([4, 2, 1])
    vae, _ = train_vae(torch.randn(16, target.num_params, generator=torch.Generator().manual_seed(0)),
                       torch.arange(4).repeat(4), latent=2, hidden=(4,), epochs=1, log=None)
    path = Path(tempfile.mkdtemp(prefix="evohyper-bounds-")) / "generator.pt"
    save_generator(vae, path, {"network": network_of(target)})
    return str(path)


#: (kind, name) -> the smallest config that uses that component
BASES: dict[tuple[str, str], dict] = {
    ("task", "sphere"): SPHERE,
    ("task", "cartpole"): CARTPOLE,
    ("task", "gym"): {**SPHERE, "task": {"name": "gym", "env": "Pendulum-v1", "max_steps": 5},
                      "network": {"hidden": [2]}},
    ("task", "digits"): DIGITS,
    ("task", "xor"): NEAT_XOR,
    ("task", "visual-discrimination"): {**NEAT_XOR, "task": {"name": "visual-discrimination", "resolution": 11}},
    ("task", "circuit_design"): CIRCUIT,
    ("task", "double_pole"): {**CARTPOLE, "task": {"name": "double_pole", "max_steps": 20, "solve_steps": 20}},
    ("decoder", "direct"): SPHERE,
    ("decoder", "dct"): {**CARTPOLE, "decoder": {"name": "dct"}},
    ("decoder", "neat"): NEAT_XOR,
    ("decoder", "hyperneat"): {**NEAT_XOR, "decoder": {"name": "hyperneat"}},
    ("decoder", "es_hyperneat"): {**NEAT_XOR, "decoder": {"name": "es_hyperneat"}},
    ("decoder", "hyper_static"): {**CARTPOLE, "decoder": {"name": "hyper_static"}},
    ("decoder", "hyper_conditioned"): {**CARTPOLE, "decoder": {"name": "hyper_conditioned"}},
    ("decoder", "hypergan"): {**DIGITS, "decoder": {"name": "hypergan", "noise": 2, "code": 2, "hidden": 4,
                                                    "disc_hidden": 4, "samples": 2, "score_samples": 2}},
    ("decoder", "ghn"): GHN,
    ("decoder", "circuit"): CIRCUIT,
    ("decoder", "agent_embedding"): {**CARTPOLE, "decoder": {"name": "agent_embedding",
                                                             "generator": _agent_embedding_generator()}},
    ("strategy", "neat"): NEAT_XOR,
    **{("strategy", qd): {**SPHERE, "task": {"name": "sphere", "dim": 4, "descriptors": True},
                          "strategy": {"name": qd}} for qd in ("map_elites", "cma_me", "cma_mae")},
    ("strategy", "neat_map_elites"): {**NEAT_XOR, "task": {"name": "gym", "env": "LunarLander-v3", "max_steps": 5,
                                                           "descriptors": ["impact_x", "impact_y_velocity"]},
                                      "strategy": {"name": "neat_map_elites", "popsize": 4, "batch": 4}},
    ("strategy", "neat_nsga2"): {**NEAT_XOR, "strategy": {"name": "neat_nsga2", "popsize": 4, "offspring": 4,
                                                          "size_objective": True,
                                                          "reference_point": [0.0, 100.0]}},
    ("strategy", "circuit_ga"): CIRCUIT,
    ("strategy", "gradient"): {**DIGITS, "strategy": {"name": "gradient", "steps_per_generation": 1}},
    ("strategy", "nas_random"): GHN,
    ("strategy", "nsga2"): {**SPHERE, "task": {"name": "sphere", "dim": 4, "objectives": 2},
                            "strategy": {"name": "nsga2", "popsize": 8}},
    ("strategy", "regularized_evolution"): {**GHN, "strategy": {"name": "regularized_evolution", "population": 4,
                                                                "sample": 2, "children": 2}},
}
VECTOR_STRATEGY = SPHERE   # every other strategy searches the sphere's vector
#: options a huge value suits: seeds (any 64-bit integer is a seed); a gradient-norm clip (a larger one only
#: clips less; torch's clip coefficient saturates at 1)
UNBOUNDED = {"init_seed", "clip_grad_norm"}
HUGE_INT = 10**12
HUGE_FLOATS = (1e300, -1e300)


def _numeric(tp) -> tuple[bool, bool]:
    """(takes an int, takes a float) for an annotation."""
    args = typing.get_args(tp) or (tp,)
    return int in args and float not in args, float in args


def _cases():
    for kind, (reg, skip) in COMPONENTS.items():
        for name in reg.names():
            for option, (tp, _) in options_of(reg.get(name), skip).items():
                is_int, is_float = _numeric(tp)
                if option in UNBOUNDED or not (is_int or is_float):
                    continue
                for value in (HUGE_INT,) if is_int else HUGE_FLOATS:
                    yield pytest.param(kind, name, option, value, id=f"{kind}.{name}.{option}={value:g}")


def _config(kind: str, name: str, option: str, value) -> dict:
    base = BASES.get((kind, name)) or (VECTOR_STRATEGY if kind == "strategy" else None)
    assert base is not None, f"no base config for {kind} {name!r}: add one to BASES"
    raw = copy.deepcopy(base)
    raw[kind] = {**raw.get(kind, {}), "name": name, option: value}
    return raw


@pytest.mark.parametrize("kind,name,option,value", list(_cases()))
def test_a_huge_numeric_option_is_refused_at_validation(kind, name, option, value):
    raw = _config(kind, name, option, value)
    with pytest.raises(ConfigError) as err:
        validate(raw)
    text = str(err.value)
    assert "\n" not in text
    if "memory" in text:   # sized past this machine's memory (config.memory): located at the component or network
        assert err.value.path.split(".")[0] in (kind, "network"), text
        return
    assert err.value.path in (kind, f"{kind}.{option}"), text
    assert option in text and repr(value) in text, text   # the key and the value (and what is allowed)


def test_every_base_config_is_valid():
    """The bases themselves pass (else the test above proves nothing)."""
    for base in {id(b): b for b in [*BASES.values(), VECTOR_STRATEGY]}.values():
        validate(copy.deepcopy(base))


@pytest.mark.parametrize("raw,where", [
    ({**CARTPOLE, "network": {"hidden": [HUGE_INT]}}, "network"),
    ({**CARTPOLE, "network": {"hidden": [1] * 1000}}, "network.hidden"),      # a loop of 1,000 layers per step
    ({**GHN, "decoder": {"name": "direct"}, "strategy": {"name": "snes"}, "network": {"type": "conv",
                                                                                      "channels": [1] * 1000}},
     "network.channels"),
    ({**BASES[("task", "gym")], "decoder": {"name": "hyperneat"}, "strategy": {"name": "neat"},
      "network": {"type": "substrate", "hidden": [[1]] * 1000}}, "network.hidden"),
    ({**SPHERE, "strategy": {"name": "pgpe", "radius_init": 1e300}}, "strategy.radius_init"),
    ({**SPHERE, "strategy": {"name": "pgpe", "stdev_init": 1e39}}, "strategy.stdev_init"),   # float32 overflows
    ({**CARTPOLE, "task": {"name": "cartpole", "episodes": 10**30}}, "task.episodes"),
    ({**CARTPOLE, "task": {"name": "cartpole", "max_steps": 10**30}}, "task.max_steps"),
    ({**BASES[("task", "gym")], "task": {"name": "gym", "max_steps": 10**16}}, "task.max_steps"),
    ({**BASES[("task", "gym")], "task": {"name": "gym", "episodes": 10**12}}, "task.episodes"),
    ({**SPHERE, "strategy": {"name": "snes", "popsize": 10**9}}, "strategy.popsize"),
])
def test_the_values_issue_21_found(raw, where):
    with pytest.raises(ConfigError) as err:
        validate(copy.deepcopy(raw))
    assert err.value.path in (where, where.rsplit(".", 1)[0]), str(err.value)
    assert "\n" not in str(err.value)
    if "." in where:
        assert where.rsplit(".", 1)[1] in str(err.value), str(err.value)


def test_sane_values_stay_valid():
    for raw in ({**SPHERE, "strategy": {"name": "pgpe", "radius_init": 4.5, "stdev_init": 0.1}},
                {**CARTPOLE, "task": {"name": "cartpole", "episodes": 100, "max_steps": 10_000}},
                {**SPHERE, "strategy": {"name": "snes", "popsize": 10_000}}):
        validate(copy.deepcopy(raw))
