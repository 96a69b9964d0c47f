"""Strategy ``neat_nsga2``: (mu + lambda) NSGA-II survival over NEAT genomes (DEAP's selNSGA2 through
``pareto.py``), the size objective, hypervolume growth on two-objective toys, exact resume, front files, the
shipped StrategyContract and refusals."""
import io
import json

import pytest
import torch

from evohyper.api.decoder import DecoderInfo
from evohyper.api.task import Objective, TaskInfo
from evohyper.families.neat.genome import GenomeBatch
from evohyper.families.neat.genome_search import enabled_connections
from evohyper.families.neat.nsga2 import NEATNSGA2, ranks
from evohyper.strategies.mo.pareto import nsga2_select, pareto_front
from evohyper.testing import StrategyContract

IO = DecoderInfo(genotype="neat", genome_inputs=3, genome_outputs=2)
TWO = TaskInfo(objectives=(Objective("f", True), Objective("g", False)), reference_point=(-50.0, 50.0))


def make(seed=0, task=TWO, **options):
    s = NEATNSGA2(None, seed, **{"popsize": 24, "offspring": 16, **options})
    s.bind(IO)
    s.bind_task(task)
    return s


def toy(population: GenomeBatch) -> torch.Tensor:
    """Objectives in their own directions: f = summed enabled weight (maximised), g = summed |bias|
    (minimised); told higher-is-better, as the engine flips g."""
    live = population.enabled & population.conn_live
    f = (population.weight * live).sum(1).double()
    g = (population.bias.abs() * population.node_live).sum(1).double()
    return torch.stack([f, g], 1)


def run(s, generations, size_only=False):
    asked = []
    for _ in range(generations):
        pop = s.ask()
        o = toy(pop)
        if size_only:
            s.tell(o[:, 0])
        else:
            s.tell(o[:, 0], objectives=o * torch.tensor([1.0, -1.0], dtype=torch.float64))
        asked.append(pop)
    return asked


def test_survival_is_selnsga2_over_parents_then_children():
    s = make()
    run(s, 3)
    parents, objectives = s.parents, s.objectives.clone()
    children = s.ask()
    told = toy(children) * torch.tensor([1.0, -1.0], dtype=torch.float64)
    s.tell(told[:, 0], objectives=told)
    merged = GenomeBatch.cat([parents, children])
    keep = nsga2_select(torch.cat([objectives, told]), 24)
    assert s.parents.gid.tolist() == merged.gid[keep].tolist()
    assert s.parents.equal(merged[keep])
    front = pareto_front(s.objectives)
    assert s.metrics()["front_size"] == int(front.sum()) and bool((ranks(s.objectives)[front] == 0).all())


def test_hypervolume_grows_on_a_two_objective_toy():
    s = make(popsize=40, offspring=40)
    volumes = []
    for _ in range(20):
        run(s, 1)
        volumes.append(s.metrics()["hypervolume"])
    assert volumes[-1] > 1.2 * volumes[0] > 0, volumes   # measured: 2811 -> 3674 (seed 0)
    assert all(b >= a for a, b in zip(volumes, volumes[1:])), volumes   # front smaller than mu: never shrinks


def test_size_objective_with_a_single_objective_task_return_vs_connections():
    s = make(task=TaskInfo(), size_objective=True, reference_point=[-50.0])
    assert s.names == ["fitness", "connections"] and s.consumes == ()
    assert s.reference.tolist() == [-50.0, -24.0]     # the connections' default: max(4 x 3 x 2, 20), negated
    volumes = []
    for _ in range(15):
        run(s, 1, size_only=True)
        volumes.append(s.metrics()["hypervolume"])
    assert torch.equal(s.objectives[:, 1], -enabled_connections(s.parents))
    assert volumes[-1] > volumes[0] > 0, volumes
    three = make(size_objective=True)                # a two-objective task plus size: three objectives
    assert three.names == ["f", "g", "connections"] and three.consumes == ("objectives",)
    run(three, 2)
    assert three.objectives.shape == (24, 3)


def test_resume_is_bit_identical():
    a = make(seed=3, crossover_prob=0.7)
    run(a, 4)
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    buf.seek(0)
    b = make(seed=3, crossover_prob=0.7)
    b.load_state_dict(torch.load(buf, weights_only=True))
    assert b.metrics() == a.metrics()
    for x, y in zip(run(a, 5), run(b, 5)):
        assert x.equal(y)
        assert a.metrics() == b.metrics()
    assert a.parents.equal(b.parents) and torch.equal(a.objectives, b.objectives)


def test_write_archive_front_files_and_members_import_back(tmp_path):
    s = make()
    run(s, 4)
    files = s.write_archive(tmp_path / "archive")
    assert sorted(p.name for p in files) == ["front.csv", "front.json", "front.png", "front.pt"]
    data = json.loads((tmp_path / "archive" / "front.json").read_text())
    assert len(data["members"]) == s.metrics()["front_size"] and data["reference_point"] == [-50.0, 50.0]
    genomes, values = s.front()
    member = data["members"][0]
    j = int(torch.argsort(values[:, 0], stable=True)[0])
    assert member["objectives"] == {"f": float(values[j, 0]), "g": float(values[j, 1])}
    back = s.import_genotype(member["genotype"])
    back.gid = genomes.gid[j:j + 1]
    assert back.equal(genomes[j])
    assert float(values[j, 1]) >= 0   # g in its own (minimised) direction
    assert torch.load(tmp_path / "archive" / "front.pt", weights_only=True)["objectives"].shape == values.shape


@pytest.mark.parametrize("options, match", [
    ({"offspring": 10}, "strategy.offspring"),
    ({"offspring": 28}, "strategy.offspring"),
    ({"popsize": 3, "offspring": None}, "strategy.popsize"),
    ({"popsize": 22, "offspring": None}, "strategy.popsize"),
    ({"reference_point": [1.0]}, "strategy.reference_point"),
    ({"reference_point": "far"}, "strategy.reference_point"),
    ({"crossover_prob": -0.1}, "strategy.crossover_prob"),
    ({"size_objective": "yes"}, "strategy.size_objective"),
])
def test_bad_options_are_refused_naming_the_key(options, match):
    with pytest.raises(ValueError, match=match):
        make(**options)


def test_refusals_tasks_it_cannot_serve_and_other_checkpoints():
    with pytest.raises(ValueError, match="size_objective"):
        make(task=TaskInfo())
    with pytest.raises(ValueError, match="strategy.reference_point"):
        make(task=TaskInfo(objectives=(Objective("f"), Objective("g"))))
    with pytest.raises(ValueError, match="strategy.reference_point"):
        make(task=TaskInfo(), size_objective=True)
    with pytest.raises(TypeError, match="elitism"):
        NEATNSGA2(None, 0, elitism=2)
    a = make()
    run(a, 2)
    other = make(size_objective=True)
    with pytest.raises(ValueError, match="objectives"):
        other.load_state_dict(a.state_dict())


class TestNEATNSGA2Contract(StrategyContract):
    strategy_class = NEATNSGA2
    genome_size = None
    options = {"popsize": 20, "offspring": 20}
    generations = 15

    def decoder_info(self):
        return IO

    def task_info(self):
        return TWO

    def fitness(self, population):
        return toy(population)[:, 0]

    def extras(self, population):
        return {"objectives": toy(population) * torch.tensor([1.0, -1.0], dtype=torch.float64)}

    def state_scale(self, strategy):
        p, best = strategy.parents, strategy.best_genotype
        return float(p.n_nodes.sum() + p.n_conns.sum() + best.n_nodes[0] + best.n_conns[0] + 8 * len(p))
