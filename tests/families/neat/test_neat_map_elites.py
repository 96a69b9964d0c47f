"""Strategy ``neat_map_elites``: pyribs' archive rules over NEAT genomes, elites in step with the archive, a run
on XOR whose coverage grows, exact resume, files, the shipped StrategyContract and refusals."""
import io
import json

import numpy as np
import pytest
import torch
from ribs.archives import GridArchive

from evohyper.api.decoder import DecoderInfo
from evohyper.api.task import Descriptor, TaskInfo
from evohyper.families.neat.direct import NEATDecoder
from evohyper.families.neat.genome import GenomeBatch
from evohyper.families.neat.map_elites import NEATMapElites
from evohyper.testing import StrategyContract
from evohyper_tasks.xor import XOR_INPUTS, XOR_TARGETS, XorTask

IO = DecoderInfo(genotype="neat", genome_inputs=3, genome_outputs=2)
TWO = TaskInfo(descriptors=(Descriptor("d0", -1.0, 1.0), Descriptor("d1", -1.0, 1.0)))


def make(seed=0, info=IO, task=TWO, **options):
    s = NEATMapElites(None, seed, **{"popsize": 16, "archive": {"dims": [8, 8]}, **options})
    s.bind(info)
    s.bind_task(task)
    return s


def toy(population: GenomeBatch):
    """Fitness: summed enabled weight; descriptors: tanh of the mean bias and of the mean weight."""
    live = population.enabled & population.conn_live
    f = (population.weight * live).sum(1).double()
    d0 = torch.tanh((population.bias * population.node_live).sum(1) / population.n_nodes.clamp(min=1))
    d1 = torch.tanh(f / population.n_conns.clamp(min=1))
    return f, torch.stack([d0, d1], 1).double()


def run(s, generations, record=None):
    asked = []
    for _ in range(generations):
        pop = s.ask()
        f, d = toy(pop)
        s.tell(f, descriptors=d)
        asked.append(pop)
        if record is not None:
            record.update({int(g): pop[i] for i, g in enumerate(pop.gid.tolist())})
    return asked


def occupants(s):
    data = s.archive.data(["index", "solution", "objective"])
    order = np.argsort(data["index"])
    return data["index"][order], data["solution"][order, 0].astype(np.int64), data["objective"][order]


def assert_elites_are_the_archive(s, told):
    cells, gid, objective = occupants(s)
    assert s.elite_cells.tolist() == cells.tolist()
    assert s.elites.gid.tolist() == gid.tolist()
    assert s.elite_objective.tolist() == objective.tolist()
    assert s.elites.equal(GenomeBatch.cat([told[int(g)] for g in gid]))   # the very genome told with that gid
    s.elites.check()


def test_insertion_and_replacement_follow_pyribs_and_keep_the_winners_genome():
    s = make()
    pop = s.ask()
    reference = GridArchive(solution_dim=1, dims=[8, 8], ranges=[(-1, 1), (-1, 1)], dtype=np.float64)
    told = {int(g): pop[i] for i, g in enumerate(pop.gid.tolist())}
    cell = torch.tensor([[-0.99, 0.99]]).double()   # off the diagonal the other rows fill
    # rows 0..2 land in one cell: row 1 is best; rows 3.. each in their own cell
    d = torch.cat([cell.expand(3, 2), torch.linspace(-0.9, 0.9, 13).double()[:, None].expand(13, 2)])
    f = torch.tensor([1.0, 5.0, 2.0, *range(13)], dtype=torch.float64)
    s.tell(f, descriptors=d)
    info = reference.add(pop.gid.double()[:, None].numpy(), f.numpy(), d.numpy())
    assert (reference.data("solution")[np.argsort(reference.data("index"))] ==
            occupants(s)[1][:, None]).all()
    assert_elites_are_the_archive(s, told)
    winner = int(pop.gid[1])
    assert winner in s.elites.gid.tolist() and info["status"][1] == 2
    # a worse genome into that cell changes nothing, a better one replaces the elite and its genome is kept
    children = s.ask()
    told.update({int(g): children[i] for i, g in enumerate(children.gid.tolist())})
    f2 = torch.full((len(children),), -100.0, dtype=torch.float64)
    d2 = cell.expand(len(children), 2).clone()
    f2[3], f2[5] = 4.0, 7.5            # 4 < 5: not added; 7.5 > 5: replaces
    before = s.elites.gid.tolist()
    s.tell(f2, descriptors=d2)
    status = reference.add(children.gid.double()[:, None].numpy(), f2.numpy(), d2.numpy())["status"]
    assert status[3] == 0 and status[5] == 1
    after = s.elites.gid.tolist()
    assert int(children.gid[5]) in after and winner not in after and int(children.gid[3]) not in after
    assert len(after) == len(before)
    assert_elites_are_the_archive(s, told)
    assert s.metrics()["archive_best"] == 12.0 and s.metrics()["elites"] == len(after)


def test_the_elites_batch_is_always_the_archive_over_a_run_and_failed_rows_stay_out():
    s = make(batch=12, crossover_prob=0.5)
    told: dict = {}
    for g in range(8):
        pop = s.ask()
        told.update({int(x): pop[i] for i, x in enumerate(pop.gid.tolist())})
        f, d = toy(pop)
        d[0] = float("nan")                  # an evaluation that raised: never in the archive
        f[1] = float("nan")                  # nor one whose fitness is not finite (tell ranks it last)
        d[1] = torch.tensor([-0.99, 0.99])   # a corner cell it would otherwise fill (at the worst value)
        s.tell(f, descriptors=d)
        assert int(pop.gid[0]) not in s.elites.gid.tolist() and int(pop.gid[1]) not in s.elites.gid.tolist()
        assert_elites_are_the_archive(s, told)
        assert len(pop) == (16 if g == 0 else 12)


def test_xor_run_coverage_and_qd_score_grow():
    """XOR through the ``neat`` decoder; descriptors: the network's outputs on (0, 1) and (1, 0)."""
    task = XorTask()
    decoder = NEATDecoder(task.target({}))
    s = NEATMapElites(None, 0, popsize=50, crossover_prob=0.3, archive={"dims": [10, 10]})
    s.bind(decoder.info())
    s.bind_task(TaskInfo(descriptors=(Descriptor("out01", 0.0, 1.0), Descriptor("out10", 0.0, 1.0))))
    x = torch.tensor(XOR_INPUTS)
    coverage, qd = [], []
    for _ in range(15):
        pop = s.ask()
        out = decoder.decode(pop).forward(x.double())[..., 0]
        fitness = 4.0 - ((out - torch.tensor(XOR_TARGETS, dtype=out.dtype)) ** 2).sum(1)
        s.tell(fitness.double(), descriptors=out[:, 1:3].double())
        coverage.append(s.metrics()["coverage"])
        qd.append(s.metrics()["qd_score"])
    assert all(b >= a for a, b in zip(coverage, coverage[1:]))
    assert coverage[-1] >= 2 * coverage[0] and qd[-1] > qd[0], (coverage, qd)


def test_resume_is_bit_identical():
    a = make(seed=7, batch=12, crossover_prob=0.5)
    run(a, 4)
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    buf.seek(0)
    b = make(seed=7, batch=12, crossover_prob=0.5)
    b.load_state_dict(torch.load(buf, weights_only=True))
    assert b.metrics() == a.metrics()
    for x, y in zip(run(a, 5), run(b, 5)):
        assert x.equal(y)
        assert a.metrics() == b.metrics()
    assert occupants(a)[1].tolist() == occupants(b)[1].tolist() and a.elites.equal(b.elites)
    assert float(a.archive.stats.qd_score) == float(b.archive.stats.qd_score)


def test_write_archive_files_and_exported_elites_import_back(tmp_path):
    s = make()
    run(s, 3)
    files = s.write_archive(tmp_path / "archive")
    assert sorted(p.name for p in files) == ["archive.csv", "elites.json", "heatmap.png"]
    assert all(p.stat().st_size > 0 for p in files)
    data = json.loads((tmp_path / "archive" / "elites.json").read_text())
    assert len(data["elites"]) == len(s.elites) == int(s.metrics()["elites"])
    first = data["elites"][0]
    assert first["gid"] == int(s.elites.gid[0]) and first["index"] == int(s.elite_cells[0])
    back = s.import_genotype(first["genotype"])
    back.gid = s.elites.gid[:1]
    assert back.equal(s.elites[0])
    assert len((tmp_path / "archive" / "archive.csv").read_text().splitlines()) == len(s.elites) + 1


@pytest.mark.parametrize("options, match", [
    ({"archive": {"dims": [8, 8], "cells": 3}}, "strategy.archive.cells"),
    ({"archive": {"dims": [0, 8]}}, "strategy.archive.dims"),
    ({"archive": {"dims": [8, 8], "ranges": [[1, 0], [0, 1]]}}, "strategy.archive.ranges"),
    ({"archive": {"dims": [8, 8], "ranges": [[0, 1]]}}, "strategy.archive.ranges"),
    ({"archive": {"dims": [8], "ranges": [[0, 1]]}}, "strategy.archive.dims"),
    ({"archive": {"qd_score_offset": float("inf")}}, "strategy.archive.qd_score_offset"),
    ({"batch": 0}, "strategy.batch"),
    ({"crossover_prob": 1.5}, "strategy.crossover_prob"),
])
def test_bad_options_are_refused_naming_the_key(options, match):
    with pytest.raises(ValueError, match=match):
        make(**options)


def test_refusals_task_without_descriptors_speciation_options_and_other_archives():
    with pytest.raises(ValueError, match="descriptors"):
        make(task=TaskInfo())
    with pytest.raises(TypeError, match="compatibility_threshold"):
        NEATMapElites(None, 0, compatibility_threshold=3.0)
    with pytest.raises(TypeError, match="engine"):
        NEATMapElites(None, 0, engine="neat-python")
    a = make()
    run(a, 2)
    with pytest.raises(ValueError, match="dims"):
        make(archive={"dims": [4, 4]}).load_state_dict(a.state_dict())
    with pytest.raises(RuntimeError, match="bind_task"):
        NEATMapElites(None, 0, num_inputs=2, num_outputs=1).ask()


class TestNEATMapElitesContract(StrategyContract):
    strategy_class = NEATMapElites
    genome_size = None
    options = {"popsize": 20, "archive": {"dims": [6, 6]}, "crossover_prob": 0.3}
    generations = 15

    def decoder_info(self):
        return IO

    def fitness(self, population):
        return toy(population)[0]

    def extras(self, population):
        return {"descriptors": toy(population)[1]}

    def state_scale(self, strategy):
        """The state is the elites' genes (and the best genotype's): bytes per gene stay constant."""
        e, best = strategy.elites, strategy.best_genotype
        return float(e.n_nodes.sum() + e.n_conns.sum() + best.n_nodes[0] + best.n_conns[0] + 8 * len(e))


def test_drives_the_hyperneat_decoder_like_strategy_neat():
    """The genome's inputs/outputs come from the decoder (``bind``): a CPPN for a HyperNEAT substrate."""
    from evohyper.families.hyperneat import HyperNEATDecoder
    from evohyper.families.hyperneat.substrate import SubstrateSpec, sandwich

    decoder = HyperNEATDecoder(SubstrateSpec(sandwich([3, 2])))
    s = NEATMapElites(None, 0, popsize=10, archive={"dims": [4, 4]})
    s.bind(decoder.info())
    s.bind_task(TWO)
    assert s.config.genome_config.num_inputs == decoder.info().genome_inputs
    for _ in range(3):
        pop = s.ask()
        assert len(decoder.decode(pop)) == len(pop)
        f, d = toy(pop)
        s.tell(f, descriptors=d)
