"""Visual discrimination: the paper's 75 trials, scaling to finer fields, and a full HyperNEAT run."""
import json

import pytest
import torch

from evohyper.cli import main
from evohyper.config import apply_overrides, load_raw, validate
from evohyper.engine.checkpoint import load_state, save_state
from evohyper.engine.runner import build_search, run
from evohyper.testing import TaskContract
from evohyper_tasks.visual_discrimination import BASE, VisualDiscriminationTask, trials, visual_fields


class TestVisualDiscriminationContract(TaskContract):
    population = 4

    def make_task(self):
        return VisualDiscriminationTask()


def test_75_trials_boxes_inside_the_field_and_apart():
    small, large = trials()
    assert len(small) == len(large) == 75 and len(set(small)) == 25
    for (sc, sr), (lc, lr) in zip(small, large):
        assert 1 <= lc <= BASE - 2 and 1 <= lr <= BASE - 2             # large box fully in view
        assert max(abs(sc - lc), abs(sr - lr)) >= 2                     # boxes do not touch
    x, centres = visual_fields(11)
    assert x.shape == (75, 121) and set(x.sum(dim=1).tolist()) == {10.0}   # 1 + 9 lit cells
    x33, c33 = visual_fields(33)
    assert x33.shape == (75, 1089) and set(x33.sum(dim=1).tolist()) == {90.0} and torch.equal(c33, centres)


def neighbourhood_sum(resolution):
    """A hand-built solution: every target node sums the inputs in a window the large box's size."""
    task = VisualDiscriminationTask(resolution)
    spec = task.target({})
    coords = torch.tensor(spec.substrate.layers[0])
    k = resolution // BASE
    half_width = (3 * k - 1) / 2 * (2.0 / resolution)   # the large box spans 3k fine cells
    near = ((coords[:, None, :] - coords[None, :, :]).abs().amax(-1) <= half_width + 1e-6).float()
    task.setup()
    return task, spec.build({"w0": near[None]})


@pytest.mark.parametrize("resolution", [11, 33])
def test_a_perfect_network_scores_100_at_any_resolution(resolution):
    task, phen = neighbourhood_sum(resolution)
    res = task.evaluate(phen, 0)
    assert float(res.fitness[0]) == pytest.approx(100.0)
    assert float(res.metrics["hit_rate"][0]) == 1.0 and float(res.metrics["mean_distance"][0]) == 0.0


def test_a_blind_network_scores_badly_and_fitness_follows_distance():
    task, phen = neighbourhood_sum(11)
    zero = task.target({}).build({"w0": torch.zeros(1, 121, 121)})  # all outputs tied: the farthest node
    f = task.evaluate(zero, 0)
    d = task.distances(zero)[0]
    assert float(f.fitness[0]) == pytest.approx(10000 / (100 + float((d ** 2).sum())))
    assert float(f.fitness[0]) < 20 and float(f.metrics["hit_rate"][0]) == 0.0


def test_tied_outputs_earn_no_credit():
    """A trial whose highest output is shared by several nodes scores the farthest of them, not the first."""
    task = VisualDiscriminationTask(11)
    task.setup()
    spec = task.target({})
    coords = torch.tensor(spec.substrate.layers[0])
    step = 2.0 / BASE
    # target t sums the inputs at offsets -3..+1 cells from it: the large box (9 lit cells) fills that window
    # for every t in [centre, centre + 2]^2, a plateau whose first (top-left) node is the centre.
    off = (coords[:, None, :] - coords[None, :, :]) / step          # [src, tgt, 2] in cells
    window = ((off >= -3 - 1e-6) & (off <= 1 + 1e-6)).all(-1).float()
    phen = spec.build({"w0": window[None]})
    res = task.evaluate(phen, 0)                                    # argmax (first tied node) scored 100
    assert float(res.metrics["hit_rate"][0]) == 0.0 and float(res.fitness[0]) < 20
    # all outputs equal (no weights): every node is tied, the trial scores the farthest node
    zero = spec.build({"w0": torch.zeros(1, 121, 121)})
    far = torch.cdist(task._centres, task._nodes).amax(-1) * (BASE / 2.0)
    assert torch.allclose(task.distances(zero)[0], far)


def test_resolution_and_network_option_errors():
    with pytest.raises(ValueError, match="resolution.*multiple of 11"):
        VisualDiscriminationTask(resolution=12)
    with pytest.raises(ValueError, match="hidden"):
        VisualDiscriminationTask().target({"hidden": [3]})


def _config(tmp_path, *overrides):
    raw = apply_overrides(load_raw("search_spaces/hyperneat_visual.yaml"), [
        "backend.name=local", "strategy.popsize=16", "budget.generations=3", "output.progress=false",
        f"output.runs_dir={tmp_path}", "output.checkpoint_every=1", *overrides])
    return validate(raw)


def test_hyperneat_run_writes_genome_pictures_and_show_lists_them(tmp_path, capsys):
    result, run_dir = run(_config(tmp_path))
    assert result.generations == 3
    genome = json.loads((run_dir / "best" / "genotype.json").read_text())
    assert (
        genome["kind"] == "neat-genome"
        and genome["num_inputs"] == 5
        and genome["num_outputs"] == 1
        and genome["genome"]["connections"]
    )
    assert main(["show", str(run_dir)]) == 0
    shown = capsys.readouterr().out
    for name in ("fitness.png", "cppn.png", "weights_0.png"):
        assert name in shown and any(p.name == name for p in run_dir.rglob("*.png"))
    from evohyper.viz.run_report import write_run_report

    assert "cppn.png" in write_run_report(run_dir).read_text()


def test_hyperneat_search_resumes_bit_identically(tmp_path):
    config = _config(tmp_path, "budget.generations=4")
    straight = build_search(config, None)
    [straight.step() for _ in range(4)]
    first = build_search(config, None)
    [first.step() for _ in range(2)]
    state = load_state(save_state(first.state_dict(), tmp_path / "c.pt"))
    resumed = build_search(config, None)
    resumed.load_state_dict(state)
    [resumed.step() for _ in range(2)]
    assert [r.best for r in first.history + resumed.history] == [r.best for r in straight.history]
    assert [r.mean for r in first.history + resumed.history] == [r.mean for r in straight.history]
    assert (
        resumed.strategy.export_genotype(resumed.strategy.best_genotype)["genome"]
        == straight.strategy.export_genotype(straight.strategy.best_genotype)["genome"]
    )


@pytest.mark.ray
def test_hyperneat_on_ray_ships_genomes_to_actors_and_matches_local(tmp_path, ray_local):
    local = build_search(_config(tmp_path), None)
    remote = build_search(_config(tmp_path, "backend.name=ray", "backend.num_actors=2"), None)
    try:
        for _ in range(2):
            a, b = local.step(), remote.step()
            assert b.evaluations == a.evaluations
            assert b.best == pytest.approx(a.best) and b.mean == pytest.approx(a.mean)
    finally:
        local.backend.close()
        remote.backend.close()


def test_heldout_trials_are_new_placements_and_scored_as_metrics():
    from evohyper_tasks.visual_discrimination import heldout_trials

    small, large = heldout_trials(200)
    assert len(small) == len(set(zip(small, large))) == 200
    assert not set(zip(small, large)) & set(zip(*trials()))                 # never a training trial
    assert heldout_trials(200) == (small, large)                            # fixed once and for all
    for (sc, sr), (lc, lr) in zip(small, large):
        assert 1 <= lc <= BASE - 2 and 1 <= lr <= BASE - 2 and max(abs(sc - lc), abs(sr - lr)) >= 2
    task, phen = neighbourhood_sum(11)
    task = VisualDiscriminationTask(heldout=200)
    task.setup()
    res = task.evaluate(phen, 0)
    assert float(res.metrics["heldout_hit_rate"][0]) == 1.0 and float(res.metrics["heldout_mean_distance"][0]) == 0
    assert res.sample_forwards == 75 + 200
    zero = task.target({}).build({"w0": torch.zeros(1, 121, 121)})
    assert float(task.evaluate(zero, 0).metrics["heldout_hit_rate"][0]) == 0.0
