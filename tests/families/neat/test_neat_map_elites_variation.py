"""``variation.offspring``/``breed``: NEAT's crossover + structural + attribute mutation of chosen parent pairs,
the operator MAP-Elites and NSGA-II over genomes share with the batched engine (whose refactor onto ``breed``
is bit-identical: the engine's parity/state tests, and ``benchmarks/check_identical.py --baseline-rev 3ce316e``
for xor-150/1000 and pneat-150 in float32/float64)."""
import pytest
import torch

from evohyper.api.decoder import DecoderInfo
from evohyper.families.neat import variation
from evohyper.families.neat.batched_engine import BatchedEngine
from evohyper.families.neat.counters import Counters
from evohyper.families.neat.genome import GenomeBatch
from evohyper.families.neat.map_elites import NEATMapElites
from evohyper.families.neat.streams import Streams

STILL = dict(conn_add_prob=0.0, conn_delete_prob=0.0, node_add_prob=0.0, node_delete_prob=0.0,
             weight_mutate_rate=0.0, weight_replace_rate=0.0, bias_mutate_rate=0.0, enabled_mutate_rate=0.0,
             activation_mutate_rate=0.0, aggregation_mutate_rate=0.0)


def _config(**options):
    s = NEATMapElites(None, 0, dtype="float64", **options)
    s.bind(DecoderInfo(genotype="neat", genome_inputs=3, genome_outputs=2))
    return s._typed()


def _evolved(n=12, generations=6, seed=1):
    """Genomes of varied structure (hidden nodes, new links) from a few batched NEAT generations."""
    cfg = _config(popsize=n, node_add_prob=0.6, conn_add_prob=0.6)
    engine = BatchedEngine(cfg, seed, dtype=torch.float64)
    for g in range(generations):
        pop = engine.ask()
        engine.tell(torch.linspace(0, 1, len(pop), dtype=torch.float64) + g)
    return engine.ask()


def test_children_of_a_genome_with_itself_and_no_mutation_are_that_genome():
    parents = _evolved()
    parents.enabled[parents.conn_live] = True  # neat may re-enable a gene disabled in a parent (25%)
    cfg = _config(**STILL)
    k = torch.tensor([0, 3, 3, 7, 11])
    counters = Counters(next_node_id=10_000, innovation=10_000, next_gid=500)
    children = variation.offspring(parents, torch.zeros(len(parents)), k, k, cfg, Streams(0, 1), counters,
                                   torch.float64)
    assert children.gid.tolist() == [500, 501, 502, 503, 504]
    children.gid = parents.gid[k]
    assert bool(children.row_equal(parents[k]).all())
    children.check()


def test_mutation_on_changes_the_children_and_they_stay_well_formed():
    parents = _evolved()
    cfg = _config(node_add_prob=1.0, conn_add_prob=1.0, weight_mutate_rate=1.0, node_delete_prob=0.0,
                  conn_delete_prob=0.0)
    k = torch.arange(len(parents))
    children = variation.offspring(parents, torch.zeros(len(parents)), k, k, cfg, Streams(0, 1), Counters(
        next_node_id=10_000, innovation=10_000, next_gid=500), torch.float64)
    children.check()
    grew = children.n_nodes == parents.n_nodes + 1   # add node fires in every child that has a link to split
    assert bool(grew[parents.n_conns > 0].all()) and bool((parents.n_conns > 0).any())
    assert not bool(children.row_equal(parents).any())


def test_a_crossed_child_has_the_fitter_parents_genes_and_values_from_either():
    parents = _evolved()
    cfg = _config(**STILL)
    p1, p2 = torch.tensor([0, 1, 2, 5]), torch.tensor([4, 6, 2, 9])
    fitness = torch.arange(len(parents), dtype=torch.float64)       # the later row is the fitter
    child = variation.offspring(parents, fitness, p1, p2, cfg, Streams(3, 2), Counters(next_gid=900),
                                torch.float64)
    fitter = torch.maximum(p1, p2)
    assert torch.equal(child.n_conns, parents.n_conns[fitter]) and torch.equal(child.n_nodes, parents.n_nodes[fitter])
    assert torch.equal(child.trim().conn_key, parents[fitter].trim().conn_key)
    other = torch.minimum(p1, p2)
    for i in range(len(p1)):   # each weight is the fitter's or, for a gene both have, the other's
        mine, theirs = parents[int(fitter[i])], parents[int(other[i])]
        for slot in range(int(child.n_conns[i])):
            key, w = child.conn_key[i, slot], child.weight[i, slot]
            options = {float(mine.weight[0, slot])}
            at = (theirs.conn_key[0, :int(theirs.n_conns[0])] == key).nonzero()
            if at.numel():
                options.add(float(theirs.weight[0, int(at[0, 0])]))
            assert float(w) in options


def test_children_do_not_depend_on_the_parents_padding():
    """Draw shapes depend on data only: the same parents at wider widths give the same children."""
    parents = _evolved()
    cfg = _config(node_add_prob=0.5, conn_add_prob=0.5, weight_mutate_rate=0.8)
    p1, p2 = torch.tensor([0, 2, 4, 6, 8, 1]), torch.tensor([1, 2, 3, 7, 9, 1])
    f = torch.rand(len(parents), generator=torch.Generator().manual_seed(0), dtype=torch.float64)

    def kids(batch: GenomeBatch) -> GenomeBatch:
        return variation.offspring(batch, f, p1, p2, cfg, Streams(5, 4), Counters(next_node_id=5000, innovation=900,
                                                                                  next_gid=77), torch.float64)
    a = kids(parents)
    b = kids(parents.with_widths(parents.node_width + 9, parents.conn_width + 17))
    assert a.equal(b)


def test_bad_parent_arguments_are_refused():
    parents = _evolved(n=6, generations=1)
    cfg = _config()
    with pytest.raises(ValueError, match="first parents"):
        variation.offspring(parents, torch.zeros(6), torch.tensor([0, 1]), torch.tensor([0]), cfg, Streams(0, 1),
                            Counters(), torch.float64)
    with pytest.raises(ValueError, match="fitness values"):
        variation.offspring(parents, torch.zeros(5), torch.tensor([0]), torch.tensor([0]), cfg, Streams(0, 1),
                            Counters(), torch.float64)
