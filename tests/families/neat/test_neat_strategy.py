"""NEAT strategy: neat-python's own algorithm, deterministic, explicit checkpoints that resume exactly."""
import gc
import random

import neat
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from evohyper.api.decoder import DecoderInfo
from evohyper.engine.checkpoint import load_state, save_state
from evohyper.families.neat import neat_state as _neat_state
from evohyper.families.neat.strategy import NEAT

SMALL = dict(popsize=24, num_inputs=3, num_outputs=2, node_add_prob=0.3, conn_add_prob=0.5,
             compatibility_threshold=1.5, max_stagnation=3, species_elitism=1)


def fitness_of(genomes):
    """Cheap, structure-sensitive fitness: reward weight sum near 2 and a few hidden nodes."""
    return torch.tensor([-abs(sum(c.weight for c in g.connections.values() if c.enabled) - 2.0)
                         + 0.1 * min(len(g.nodes), 6) for g in genomes], dtype=torch.float64)


def snapshot(genomes):
    return [_neat_state.genome_to_data(g) for g in genomes]


def run(strategy, generations):
    seen = []
    for _ in range(generations):
        pop = strategy.ask()
        seen.append(snapshot(pop))
        strategy.tell(fitness_of(pop))
    return seen


def test_uses_neat_python_objects_and_speciates():
    s = NEAT(None, 0, **SMALL)
    pop = s.ask()
    assert all(isinstance(g, neat.DefaultGenome) for g in pop) and len(pop) == 24
    s.tell(fitness_of(pop))
    assert isinstance(s._pop.species, neat.DefaultSpeciesSet) and len(s._pop.species.species) >= 1
    assert s.best_fitness == pytest.approx(float(fitness_of(pop).max()))


def test_initial_hidden_nodes_with_a_default_activation():
    """num_hidden/activation_default reach neat-python: every first genome has the hidden nodes, gauss."""
    s = NEAT(None, 0, **{**SMALL, "num_hidden": 2, "activation_default": "gauss"})
    assert "num_hidden = 2" in s.ini_text
    for g in s.ask():
        hidden = [k for k in g.nodes if k >= 2]
        assert len(hidden) == 2 and all(g.nodes[k].activation == "gauss" for k in g.nodes)
        assert all((-1, h) in g.connections and (h, 0) in g.connections for h in hidden)   # full_direct


def test_too_many_species_for_the_population_is_a_clear_error():
    """neat-python's RuntimeError (species * min_species_size > popsize) names the options to change."""
    s = NEAT(None, 0, **{**SMALL, "num_hidden": 2, "compatibility_threshold": 0.01})
    pop = s.ask()
    with pytest.raises(ValueError, match="compatibility_threshold"):
        s.tell(fitness_of(pop))


def test_same_seed_same_run_whatever_the_global_random_state():
    random.seed(1)
    a = run(NEAT(None, 5, **SMALL), 6)
    random.seed(999)
    state = random.getstate()
    b = run(NEAT(None, 5, **SMALL), 6)
    assert a == b
    assert random.getstate() == state, "the strategy must not consume the global random state"
    assert run(NEAT(None, 6, **SMALL), 6) != a


def test_cyclic_gc_paused_inside_neat_python_and_restored_after(monkeypatch):
    """neat-python's reproduction allocates a gene object per connection (millions for P-NEAT); the cyclic
    collector, which finds nothing there, is paused for those calls and left as the caller had it."""
    s = NEAT(None, 0, **SMALL)
    seen = []
    reproduce = neat.DefaultReproduction.reproduce
    monkeypatch.setattr(neat.DefaultReproduction, "reproduce",
                        lambda self, *a: seen.append(gc.isenabled()) or reproduce(self, *a))
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            s.tell(fitness_of(s.ask()))
            assert gc.isenabled() is enabled
        finally:
            gc.enable()
    assert seen == [False, False]


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 1000), split=st.integers(0, 5))
def test_checkpoint_round_trip_resumes_bit_identically(seed, split, tmp_path_factory):
    total = 6
    reference = NEAT(None, seed, **SMALL)
    expected = run(reference, total)
    first = NEAT(None, seed, **SMALL)
    got = run(first, split)
    path = save_state({"strategy": first.state_dict()}, tmp_path_factory.mktemp("ckpt") / "s.pt")
    resumed = NEAT(None, seed, **SMALL)
    resumed.load_state_dict(load_state(path)["strategy"])
    got += run(resumed, total - split)
    assert got == expected
    assert resumed.best_fitness == reference.best_fitness
    assert snapshot([resumed.best_genotype]) == snapshot([reference.best_genotype])
    assert snapshot(resumed.ask()) == snapshot(reference.ask())


def test_neat_python_ini_file_is_accepted_as_is(tmp_path):
    ini = NEAT(None, 0, **SMALL).ini_text.replace("pop_size = 24", "pop_size = 10")
    path = tmp_path / "config-feedforward"
    path.write_text(ini)

    s = NEAT(None, 0, neat_config=str(path))
    s.bind(DecoderInfo(genotype="neat", genome_inputs=3, genome_outputs=2))
    assert len(s.ask()) == 10 and s.popsize == 10
    with pytest.raises(ValueError, match="num_inputs=3"):
        NEAT(None, 0, neat_config=str(path)).bind(DecoderInfo(genotype="neat", genome_inputs=6, genome_outputs=1))
    with pytest.raises(ValueError, match="neat_config"):
        NEAT(None, 0, neat_config=str(tmp_path / "missing.ini"))


@pytest.mark.parametrize("opts, match", [
    (dict(popsize=1), "popsize=1"),
    (dict(activation_options=["sigmoid", "swish"]), "activation_options"),
    (dict(aggregation_default="max"), "aggregation_default='max'"),
    (dict(survival_threshold=1.5), "survival_threshold=1.5"),
    (dict(weight_max=-1.0), "weight_max=-1.0"),
    (dict(num_hidden=-1), "num_hidden=-1"),
])
def test_option_errors_name_the_option(opts, match):
    with pytest.raises(ValueError, match=match):
        NEAT(None, 0, **{**SMALL, **opts})


def test_bind_sets_or_checks_the_cppn_shape():
    info = DecoderInfo(genotype="neat", genome_inputs=6, genome_outputs=1)
    s = NEAT(None, 0, popsize=10)
    with pytest.raises(RuntimeError, match="bind"):
        s.ask()
    s.bind(info)
    assert s.config.genome_config.num_inputs == 6
    with pytest.raises(ValueError, match="num_inputs=5"):
        NEAT(None, 0, popsize=10, num_inputs=5).bind(info)
    with pytest.raises(ValueError, match="num_inputs and num_outputs"):
        NEAT(None, 0, popsize=10).bind(DecoderInfo(genotype="vector", genome_size=3))


def test_checkpoint_is_plain_data(tmp_path):
    s = NEAT(None, 0, **SMALL)
    run(s, 2)
    path = save_state(s.state_dict(), tmp_path / "c.pt")
    raw = torch.load(path, weights_only=True)  # loads without executing code
    assert "population" in raw["meta"] and "innovation" in raw["meta"]
    with pytest.raises(ValueError, match="neat"):
        NEAT(None, 0, **SMALL).load_state_dict({"kind": "replay"})
