"""NEAT strategy with engine ``neat-python`` (the reference; the default engine is ``batched``, tested in
test_batched_*.py): neat-python's own algorithm handing out GenomeBatches, deterministic, explicit checkpoints
that resume exactly."""
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
from evohyper.families.neat.convert import from_neat_python, genotype_to_data
from evohyper.families.neat.genome import GenomeBatch
from evohyper.families.neat.strategy import NEAT

SMALL = dict(popsize=24, num_inputs=3, num_outputs=2, node_add_prob=0.3, conn_add_prob=0.5,
             compatibility_threshold=1.5, max_stagnation=3, species_elitism=1, engine="neat-python")


def fitness_of(genomes):
    """Cheap, structure-sensitive fitness: reward weight sum near 2 and a few hidden nodes."""
    enabled = genomes.weight * (genomes.enabled & genomes.conn_live)
    return -(enabled.sum(dim=1) - 2.0).abs() + 0.1 * genomes.n_nodes.clamp(max=6).double()


def snapshot(genomes):
    return [genotype_to_data(genomes, i) for i in range(len(genomes))]


def run(strategy, generations):
    seen = []
    for _ in range(generations):
        pop = strategy.ask()
        seen.append(snapshot(pop))
        strategy.tell(fitness_of(pop))
    return seen


def test_hands_out_a_genome_batch_of_neat_pythons_population_and_speciates():
    s = NEAT(None, 0, **SMALL)
    pop = s.ask()
    assert isinstance(pop, GenomeBatch) and len(pop) == 24 and pop.dtype == torch.float64
    neat_pop = list(s._engine._pop.population.values())
    assert all(isinstance(g, neat.DefaultGenome) for g in neat_pop)
    assert pop.equal(from_neat_python(neat_pop))                # a lossless copy, rows in population order
    f = fitness_of(pop)
    s.tell(f)
    assert [g.fitness for g in neat_pop] == f.tolist()          # fitness written into neat's own objects, in order
    assert isinstance(s._engine._pop.species, neat.DefaultSpeciesSet) and len(s._engine._pop.species.species) >= 1
    assert s.best_fitness == pytest.approx(float(f.max()))
    best = int(f.argmax())
    assert isinstance(s.best_genotype, GenomeBatch) and len(s.best_genotype) == 1
    assert s.best_genotype.equal(pop[best])


@pytest.mark.parametrize("engine", ["neat-python", "batched"])
def test_the_species_count_is_a_metric(engine):
    s = NEAT(None, 1, **{**SMALL, "engine": engine})
    assert s.metrics() == {"species": 0.0}
    counts = []
    for _ in range(4):
        pop = s.ask()
        s.tell(fitness_of(pop))
        counts.append(s.metrics()["species"])
        if engine == "neat-python":
            assert counts[-1] == len(s._engine._pop.species.species)
        else:
            assert counts[-1] == len(s._engine.table) == int(s._engine.species_of.max()) + 1
    assert min(counts) >= 1 and max(counts) > 1      # threshold 1.5 on these genomes: several species


def test_evolves_neat_pythons_objects_not_the_converted_copy():
    """The batch's genes are sorted; neat-python's dicts keep insertion order, which its mutation iterates:
    every generation equals neat-python's own Population.run, fed the same fitness and random stream."""
    from evohyper.api.rng import python_random

    s = NEAT(None, 3, **SMALL)
    config = NEAT(None, 3, **SMALL).config        # a config of its own (neat-python keeps counters in it)
    rng = random.Random(3)
    with python_random(rng):
        pop = neat.Population(config)
    for _ in range(5):
        batch = s.ask()
        genomes = list(pop.population.values())
        assert snapshot(batch) == snapshot(from_neat_python(genomes))
        f = fitness_of(batch)
        s.tell(f)
        for g, v in zip(genomes, f.tolist()):
            g.fitness = v
        with python_random(rng):
            pop.run(lambda genomes, config: None, 1)


def test_genotype_json_keeps_the_neat_genome_format_and_old_files_load(tmp_path):
    s = NEAT(None, 0, **SMALL)
    pop = s.ask()
    s.tell(fitness_of(pop))
    data = s.export_genotype(s.best_genotype)
    assert data["kind"] == "neat-genome" and (data["num_inputs"], data["num_outputs"]) == (3, 2)
    assert data["genome"]["fitness"] == s.best_fitness and data["neat_config"] == s.ini_text
    assert s.import_genotype(data).equal(s.best_genotype)
    old = dict(data, genome=_neat_state.genome_to_data(list(s._engine._pop.population.values())[0]))  # before the batch
    one = s.import_genotype(old)
    assert isinstance(one, GenomeBatch) and one.equal(from_neat_python([list(s._engine._pop.population.values())[0]]))
    assert s.export_genotype(pop[3])["genome"]["fitness"] is None     # any other row: no recorded fitness


def test_initial_hidden_nodes_with_a_default_activation():
    """num_hidden/activation_default reach neat-python: every first genome has the hidden nodes, gauss."""
    s = NEAT(None, 0, **{**SMALL, "num_hidden": 2, "activation_default": "gauss"})
    assert "num_hidden = 2" in s.ini_text
    s.ask()
    for g in s._engine._pop.population.values():
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
    assert resumed.best_genotype.equal(reference.best_genotype)
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
    (dict(popsize=1), r"^strategy\.popsize: 1; allowed: an integer in \[2, 1000000\]$"),
    (dict(activation_options=["sigmoid", "swish"]), "activation_options"),
    (dict(aggregation_default="max"), r"^strategy\.aggregation_default: 'max'; allowed: 'random' or one of \['sum'\]$"),
    (dict(survival_threshold=1.5), r"^strategy\.survival_threshold: 1\.5; allowed: a finite number in \[0, 1\]$"),
    (dict(weight_max=-1.0), r"^strategy\.weight_max: -1\.0; allowed: a finite number in \(0, 1e\+06\]$"),
    (dict(num_hidden=-1), r"^strategy\.num_hidden: -1; allowed: an integer in \[0, 10000\]$"),
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
    with pytest.raises(ValueError, match=r"^strategy\.num_inputs: 5; allowed: 6 \(what the decoder needs\) or null$"):
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
