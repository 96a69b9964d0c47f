"""Direct NEAT through the engine: learning, solving (slow), Ray = local, tune, kill -9 + resume bit-identical."""
import sys
from pathlib import Path

import pytest
import torch
from run_helpers import kill_and_resume, write_config
from run_helpers import metric_rows as _rows

from evohyper.config import apply_overrides, load_raw, validate
from evohyper.engine.runner import build_search, run

ROOT = Path(__file__).resolve().parents[3]
XOR = ROOT / "search_spaces" / "neat_xor.yaml"
CARTPOLE = ROOT / "search_spaces" / "neat_cartpole.yaml"
CLI = [sys.executable, "-m", "evohyper.cli"]


def config(path, *overrides, tmp=None):
    over = ["backend.name=local", "output.progress=false", "output.tensorboard=false", *overrides]
    if tmp is not None:
        over.append(f"output.runs_dir={tmp}")
    return validate(apply_overrides(load_raw(path), over))


def test_xor_improves_on_a_small_budget():
    """The population moves from the random start to XOR's linear plateau (3.0) within 10 generations."""
    search = build_search(config(XOR, "budget.generations=10", "budget.target_fitness=null"), None)
    search.run()
    first, last = search.history[0], search.history[-1]
    assert last.mean > first.mean + 0.2 and last.best_so_far > first.best_so_far, (first, last)


@pytest.mark.slow
def test_neat_pythons_xor_config_solves_xor_in_two_of_three_seeds(tmp_path):
    """Done-when of issue 14: fitness >= 3.9 within 300 generations in >= 2 of 3 seeds (measured: 3 of 3)."""
    results = [run(config(XOR, f"seed={s}", tmp=tmp_path))[0] for s in (0, 1, 2)]
    solved = [r.best_fitness >= 3.9 and r.generations <= 300 for r in results]
    assert sum(solved) >= 2, [(r.best_fitness, r.generations) for r in results]


@pytest.mark.slow
def test_neat_pythons_single_pole_config_solves_cartpole(tmp_path):
    result, _ = run(config(CARTPOLE, tmp=tmp_path))
    assert result.best_fitness == 500.0, result.best_fitness


@pytest.mark.ray
def test_neat_decoder_on_ray_matches_local(ray_local, monkeypatch):
    """The GenomeBatch travels to the actors as named arrays (kind neat-genomes) and scores as locally."""
    from evohyper.engine.backends.ray import wire

    shipped = []
    chunk = wire.chunk
    monkeypatch.setattr(wire, "chunk", lambda *a: shipped.append(chunk(*a)) or shipped[-1])
    over = ["strategy.popsize=40", "task.episodes=2", "task.max_steps=100", "budget.target_fitness=null"]
    path = ROOT / "search_spaces" / "neat_cartpole_po_recurrent.yaml"     # recurrent genomes, per-network inputs
    local = build_search(config(path, *over), None)
    remote = build_search(config(path, *over, "backend.name=ray", "backend.num_actors=2"), None)
    try:
        for _ in range(3):
            a, b = local.step(), remote.step()
            assert (b.best, b.mean, b.evaluations, b.sample_forwards) == (a.best, a.mean, a.evaluations,
                                                                          a.sample_forwards)
    finally:
        local.backend.close()
        remote.backend.close()
    assert len(shipped) == 6 and all(c["__rows__"] == "neat-genomes" for c in shipped)
    assert sum(len(c["arrays"]["gid"]) for c in shipped[:2]) == 40


@pytest.mark.ray
def test_neat_decoder_in_a_tune_meta_search(ray_local, tmp_path):
    from evohyper.tune.driver import run_tune

    raw = load_raw(XOR)
    raw.update(budget={"generations": 3}, output={"tensorboard": False, "progress": False})
    raw["strategy"] = {**raw["strategy"], "popsize": 30}
    raw["tune"] = {"params": {"strategy.node_add_prob": {"grid": [0.1, 0.4]}}, "storage_path": str(tmp_path / "t")}
    outcome = run_tune(raw, verbose=0, name="neat")
    assert len(outcome.results) == 2 and all(r.error is None for r in outcome.results)
    assert sorted(r.config["strategy.node_add_prob"] for r in outcome.results) == [0.1, 0.4]
    assert all(int(r.metrics["generation"]) == 3 for r in outcome.results)


def _write(tmp_path, name):
    raw = load_raw(XOR)
    raw.update(name=name, budget={"generations": 40}, backend={"name": "local"},
               output={"runs_dir": str(tmp_path / "runs"), "tensorboard": False, "progress": False,
                       "checkpoint_every": 1, "keep_checkpoints": 3})
    raw["strategy"] = {**raw["strategy"], "popsize": 60, "neat_config": str(ROOT / raw["strategy"]["neat_config"]),
                       "engine": "neat-python"}   # the batched engine's kill -9 test: test_batched_runs.py
    return write_config(tmp_path, raw)


def test_sigkill_and_resume_is_bit_identical(tmp_path):
    ref, killed, a, b = kill_and_resume(tmp_path, _write, kill_after=6, generations=40)
    assert a["counters"]["generation"] == b["counters"]["generation"] == 40
    assert a["strategy"]["population"] == b["strategy"]["population"]     # every genome, gene for gene
    assert a["strategy"]["species"] == b["strategy"]["species"] and a["best_fitness"] == b["best_fitness"]
    assert _rows(ref) == _rows(killed)
    assert (ref / "best" / "genotype.json").read_text() == (killed / "best" / "genotype.json").read_text()


def test_recurrent_networks_keep_one_state_per_gym_episode():
    """gym runs a stateful policy's E episodes in one call per step: episode 0 of E = 2 is episode 0 of E = 1
    (to rounding: one and two columns take different sparse-product kernels; see tasks/gym.py), and the
    states of the two episodes never mix (a mixed state would change the return by far more)."""
    from evohyper.families.neat.direct import NEATDecoder
    from evohyper.testing.neat_genomes import cppn_config, random_genomes
    from evohyper_tasks.gym import GymTask

    genomes = random_genomes(cppn_config(3, 1, feed_forward=False, activations=["tanh", "sigmoid"]), 6,
                             mutations=30, seed=2)
    scores = {}
    for episodes in (1, 2):
        task = GymTask(env="Pendulum-v1", episodes=episodes, max_steps=30)
        task.setup()
        phen = NEATDecoder(task.target({}), recurrent=True).decode(genomes)
        scores[episodes] = task.evaluate(phen, 5).fitness
        assert phen.stateful and torch.equal(task.evaluate(phen, 5).fitness, scores[episodes])   # reset per call
        task.close()
    torch.testing.assert_close(scores[2][:, 0], scores[1][:, 0], rtol=1e-7, atol=1e-6)
    assert not torch.allclose(scores[2][:, 1], scores[1][:, 0], rtol=1e-3)  # the episodes differ
