"""Strategy ``nsga2``: the shipped contract, hypervolume growth on the two-objective sphere, exact resume,
NaN objectives ranking last, the front's files and its option refusals."""
import io

import pytest
import torch

from evohyper.api.checks import OptionError
from evohyper.api.phenotypes import VectorPhenotypes, VectorSpec
from evohyper.api.task import Objective, TaskInfo
from evohyper.strategies.mo import hypervolume, pareto_front
from evohyper.strategies.mo.nsga2 import NSGA2
from evohyper.testing import StrategyContract
from evohyper_tasks.sphere import SphereTask


class TestNSGA2Contract(StrategyContract):
    strategy_class = NSGA2
    options = {"popsize": 16}


def sphere_task(dim=6):
    return SphereTask(dim=dim, objectives=2, shift=1.0)


def phen(x):
    return VectorPhenotypes(VectorSpec(x.shape[1]), {"x": x})


def make(task, seed=0, **options):
    s = NSGA2(task.dim, seed, **{"popsize": 24, "bounds": [-2.0, 2.0], **options})
    s.bind_task(task.info())
    return s


def step(s, task, seed=0):
    x = s.ask()
    f = task.evaluate(phen(x), seed).fitness     # [P, 2], both minimised
    s.tell(-f[:, 0], objectives=-f)                          # what the engine hands a strategy: flipped


def test_hypervolume_grows_on_the_two_objective_sphere():
    task = sphere_task()
    s = make(task, seed=1)
    step(s, task)
    first = s.metrics()["hypervolume"]
    curve = [first]
    for _ in range(19):
        step(s, task)
        curve.append(s.metrics()["hypervolume"])
    assert all(b >= a for a, b in zip(curve, curve[1:])), "elitist survival never loses hypervolume"
    assert curve[-1] > 1.5 * first and s.metrics()["front_size"] >= 10
    # and the hypervolume reported is that of the survivors' front against the task's reference point
    genes, values = s.front()
    ref = torch.tensor(task.reference_point(), dtype=torch.float64)
    assert curve[-1] == pytest.approx(hypervolume(-values, -ref))


def test_interrupted_and_resumed_is_bit_identical_for_five_more_generations():
    task = sphere_task()
    a = make(task, seed=3)
    for _ in range(6):
        step(a, task)
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    buf.seek(0)
    b = make(task, seed=3)
    b.load_state_dict(torch.load(buf, weights_only=True))
    for _ in range(5):
        xa, xb = a.ask(), b.ask()
        assert torch.equal(xa, xb)
        f = task.evaluate(phen(xa), 0).fitness
        a.tell(-f[:, 0], objectives=-f)
        b.tell(-f[:, 0], objectives=-f)
        assert a.metrics() == b.metrics()
    assert all(torch.equal(x, y) for x, y in zip(a.front(), b.front()))


def test_nan_objectives_rank_last():
    task = sphere_task()
    s = make(task, popsize=8)
    x = s.ask()
    f = -task.evaluate(phen(x), 0).fitness
    f[0, 0] = float("nan")          # cleaned below the column's worst: row 0 is then dominated ...
    f[1] = float("nan")             # ... and row 1 worst in both
    s.tell(f[:, 0], objectives=f)
    x2 = s.ask()
    f2 = -task.evaluate(phen(x2), 0).fitness
    s.tell(f2[:, 0], objectives=f2)
    survivors = {tuple(row) for row in s._genes.tolist()}
    assert tuple(x[1].tolist()) not in survivors


def test_survivors_are_deaps_nsga2_of_parents_and_children():
    task = sphere_task()
    s = make(task, popsize=8)
    step(s, task)
    parents, parent_values = torch.from_numpy(s._genes.copy()), torch.from_numpy(s._objectives.copy())
    x = s.ask()
    f = -task.evaluate(phen(x), 0).fitness
    s.tell(f[:, 0], objectives=f)
    from evohyper.strategies.mo import nsga2_select
    keep = nsga2_select(torch.cat([parent_values, f]), 8)
    assert torch.equal(torch.from_numpy(s._genes), torch.cat([parents, x])[keep])
    assert pareto_front(torch.from_numpy(s._objectives)).sum() == s.metrics()["front_size"]


def test_write_archive_writes_the_front(tmp_path):
    task = sphere_task()
    s = make(task)
    for _ in range(5):
        step(s, task)
    paths = s.write_archive(tmp_path / "archive")
    assert [p.name for p in paths] == ["front.pt", "front.csv", "front.png"] and all(p.exists() for p in paths)
    blob = torch.load(paths[0], weights_only=True)
    assert blob["names"] == ["f1", "f2"] and blob["solutions"].shape == (s.metrics()["front_size"], task.dim)
    # objectives in the task's own direction (both minimised: positive sphere values) match the solutions
    again = task.evaluate(phen(blob["solutions"]), 0).fitness
    assert torch.equal(blob["objectives"], again) and (blob["objectives"] >= 0).all()
    rows = paths[1].read_text().splitlines()
    assert rows[0].startswith("member,f1,f2,x0") and len(rows) == 1 + len(blob["objectives"])
    assert blob["hypervolume"] == s.metrics()["hypervolume"]


def test_three_objectives_plot_pairwise(tmp_path):
    info = TaskInfo(maximize=True, objectives=(Objective("a"), Objective("b"), Objective("c", False)),
                    reference_point=(-10.0, -10.0, 10.0))
    s = NSGA2(4, 0, popsize=8)
    s.bind_task(info)
    for _ in range(3):
        x = s.ask().double()
        s.tell(x[:, 0], objectives=torch.stack([x[:, 0], x[:, 1], -x[:, 2]], 1))
    paths = s.write_archive(tmp_path)
    assert paths[2].stat().st_size > 0 and s.metrics()["hypervolume"] > 0


@pytest.mark.parametrize("options, key", [
    ({"popsize": 6}, "strategy.popsize"),
    ({"popsize": 8, "offspring": 6}, "strategy.offspring"),
    ({"popsize": 8, "offspring": 12}, "strategy.offspring"),
    ({"bounds": [1.0, -1.0]}, "strategy.bounds"),
    ({"init_bounds": [-3.0, 0.0]}, "strategy.init_bounds"),
    ({"crossover_eta": 0.0}, "strategy.crossover_eta"),
    ({"indpb": 0.0}, "strategy.indpb"),
    ({"reference_point": []}, "strategy.reference_point"),
])
def test_bad_options_are_refused_naming_the_key(options, key):
    with pytest.raises(OptionError) as err:
        NSGA2(4, 0, **options)
    assert err.value.path == key and "allowed" in str(err.value)


def test_a_reference_point_is_required_when_the_task_declares_none():
    info = TaskInfo(objectives=(Objective("return"), Objective("cost", False)))
    s = NSGA2(4, 0, popsize=8)
    with pytest.raises(OptionError, match=r"^strategy.reference_point: null; the task declares no reference point"):
        s.bind_task(info)
    with pytest.raises(OptionError, match=r"strategy.reference_point: \[1.0\]; allowed: 2 values"):
        NSGA2(4, 0, popsize=8, reference_point=[1.0]).bind_task(info)
    ok = NSGA2(4, 0, popsize=8, reference_point=[-5.0, 3.0])
    ok.bind_task(info)   # the option, in each objective's own direction, flipped for the cost
    assert ok._reference.tolist() == [-5.0, -3.0]
