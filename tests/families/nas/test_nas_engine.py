"""NAS through the engine: the GHN trained by the ``gradient`` strategy, graph searches (exact resume,
Ray = local), exported files, and config errors that name the problem."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

from evohyper.api.decoder import DecoderInfo
from evohyper.config import ConfigError, load_config, validate
from evohyper.engine.checkpoint import load_state, save_state
from evohyper.engine.runner import build_search, run
from evohyper.families.nas.space import CellSpace, graph_from_json
from evohyper.families.nas.strategies import NASRandom, RegularizedEvolution
from evohyper_tasks.digits import DigitsTask

ROOT = Path(__file__).resolve().parents[3]
GHN = {"name": "ghn", "nodes": 5, "channels": 4, "hidden": 8, "graphs_per_step": 4, "score_graphs": 4}
EVO = {"name": "regularized_evolution", "population": 6, "sample": 3, "children": 4}
OUT = {"tensorboard": False, "progress": False}


def _raw(strategy=None, decoder=None, generations=4, **extra):
    raw = {"name": "nas", "seed": 3, "task": {"name": "digits", "fitness": "accuracy", "eval_batch": 128},
           "network": {"type": "conv"}, "decoder": decoder or GHN, "strategy": strategy or EVO,
           "budget": {"generations": generations}, "output": OUT}
    raw.update(extra)
    return raw


def _held_out_loss(decoder, vector, cells, task):
    decoder.load_parameter_vector(vector)
    x, y = task.split("val", torch.device("cpu"))
    with torch.no_grad():
        return float(task.loss(decoder.decode(cells), (x, y)).mean())


def test_gradient_strategy_trains_the_ghn_and_lowers_the_loss_on_held_out_cells():
    grad = {"name": "gradient", "lr": 0.003, "steps_per_generation": 20, "batch_size": 64, "clip_grad_norm": 5.0}
    dec = {**GHN, "channels": 8, "hidden": 16}
    search = build_search(validate(_raw(strategy=grad, decoder=dec, generations=3)), None)
    decoder = search.backend.evaluator.decoder
    assert search.strategy.genome_size == decoder.trained_size and decoder.genome_size is None
    start = decoder.parameter_vector()
    held_out = [decoder.space.sample(random.Random(10_000 + i)) for i in range(12)]   # never seen in training
    task = DigitsTask()
    task.setup("cpu")
    before = _held_out_loss(decoder, start, held_out, task)
    search.run()
    after = _held_out_loss(decoder, search.strategy.genotype[0], held_out, task)
    assert after < before - 0.5, (before, after)
    assert search.strategy.steps_done == 60
    trained = 60 * 64 - 3 * 9          # 1079 training samples: every 17th batch of 64 holds 55
    assert search.history[-1].sample_forwards == 4 * trained + 3 * 4 * 128        # 4 cells/step + 4 scored
    with torch.no_grad():
        acc = task.evaluate(decoder.decode(held_out), 0).metrics["val_accuracy"]
    assert float(acc.mean()) > 0.35                                               # chance is 0.1


def test_regularized_evolution_ages_and_beats_random_search_on_a_synthetic_fitness():
    info = DecoderInfo(genotype="graph", graph_space=CellSpace(nodes=8))   # what a ghn decoder declares

    def convs(cells):
        return torch.tensor([float(sum("conv" in op for op in c["ops"])) for c in cells])

    def drive(strategy, generations):
        strategy.bind(info)
        told = []
        for _ in range(generations):
            cells = strategy.ask()
            assert all(isinstance(c, dict) and set(c) == {"ops", "edges"} for c in cells)
            f = convs(cells)
            strategy.tell(f)
            told.append(f)
        return told

    evo = RegularizedEvolution(None, 0, population=20, sample=5, children=10)
    told = drive(evo, 19)
    assert [len(f) for f in told] == [20] + [10] * 18 and len(evo._members) == 20
    rnd = drive(NASRandom(None, 0, popsize=10), 20)
    assert evo.best_fitness == 6 and float(torch.cat(told[-5:]).mean()) > float(torch.cat(rnd[-5:]).mean())
    assert graph_from_json(evo.export_genotype(evo.best_genotype)).number_of_nodes() == 8


@pytest.mark.parametrize("strategy", [EVO, {"name": "nas_random", "popsize": 5}])
def test_graph_search_resumes_exactly_from_a_checkpoint_file(tmp_path, strategy):
    whole = build_search(validate(_raw(strategy=strategy, generations=4)), None)
    whole.run()
    first = build_search(validate(_raw(strategy=strategy, generations=2)), None)
    first.run()
    save_state(first.state_dict(), tmp_path / "c.pt")
    resumed = build_search(validate(_raw(strategy=strategy, generations=4)), None)
    resumed.load_state_dict(load_state(tmp_path / "c.pt"))
    resumed.run()

    def stats(search):
        return [(r.best, r.mean, r.median, r.worst, r.evaluations) for r in search.history]

    assert stats(first) + stats(resumed) == stats(whole) and len(whole.history) == 4
    assert resumed.strategy.best_genotype == whole.strategy.best_genotype
    assert resumed.strategy.best_fitness == whole.strategy.best_fitness


def test_ghn_weights_file_must_match_virtual_edges(tmp_path):
    grad = {"name": "gradient", "lr": 0.003, "steps_per_generation": 2, "batch_size": 16}
    _, train_dir = run(validate(_raw(strategy=grad, decoder={**GHN, "virtual_edges": 2}, generations=1,
                                     output={**OUT, "runs_dir": str(tmp_path)})))
    weights = str(train_dir / "best" / "decoder_weights.pt")
    validate(_raw(decoder={**GHN, "virtual_edges": 2, "weights": weights}))       # loads
    with pytest.raises((ConfigError, ValueError), match="does not match this decoder's options"):
        validate(_raw(decoder={**GHN, "weights": weights}))


def test_trained_ghn_file_feeds_a_graph_search_that_exports_the_best_cell(tmp_path):
    grad = {"name": "gradient", "lr": 0.003, "steps_per_generation": 5, "batch_size": 32}
    _, train_dir = run(validate(_raw(strategy=grad, generations=1, output={**OUT, "runs_dir": str(tmp_path)})))
    weights = train_dir / "best" / "decoder_weights.pt"
    assert weights.is_file()
    raw = _raw(decoder={**GHN, "weights": str(weights)}, generations=2, output={**OUT, "runs_dir": str(tmp_path)})
    result, run_dir = run(validate(raw))
    cell = json.loads((run_dir / "best" / "genotype.json").read_text())
    assert cell == result.best_genotype and graph_from_json(cell).number_of_nodes() == 5
    summary = json.loads((run_dir / "best" / "phenotype.json").read_text())
    assert summary["pictures"] == ["best/cell.png"] and (run_dir / "best" / "cell.png").is_file()
    assert set(summary["test_metrics"]) == {"test_accuracy", "test_loss"}


@pytest.mark.parametrize(
    "over, match",
    [
        (
            {"decoder": {"name": "direct"}, "network": {}},
            r"decoder 'direct'.*strategy 'regularized_evolution'.*can drive: ghn",
        ),
        ({"network": {"type": "mlp"}}, r"decoder.*network: \{type: conv\}"),
        ({"strategy": {**EVO, "sample": 7}}, r"strategy.sample: 7; allowed: an integer in \[1, 6\]"),
        ({"decoder": {**GHN, "virtual_edges": 1}}, r"decoder.virtual_edges: 1; "
         r"allowed: 0 \(off\) or an integer in \[2, 4\]"),
        ({"decoder": {**GHN, "passes": 9}}, r"decoder.passes: 9; allowed: an integer in \[1, 8\]"),
    ],
)
def test_config_errors_name_the_problem(over, match):
    with pytest.raises(ConfigError, match=match):
        validate(_raw(**over))


@pytest.mark.parametrize("name", ["ghn_train_digits", "nas_regularized_evolution_digits", "nas_random_digits"])
def test_shipped_nas_configs_validate(name, monkeypatch):
    monkeypatch.chdir(ROOT)  # the configs name files relative to the repo
    config = load_config(ROOT / "search_spaces" / f"{name}.yaml")
    assert config.decoder["name"] == "ghn"


@pytest.mark.ray
def test_graph_search_on_ray_equals_local(ray_local):
    local = build_search(validate(_raw(generations=3)), None)
    local.run()
    remote = build_search(
        validate(_raw(generations=3, backend={"name": "ray", "num_actors": 2, "num_cpus_per_actor": 0.5})), None
    )
    remote.run()
    assert [(r.best, r.mean, r.worst) for r in remote.history] == [(r.best, r.mean, r.worst) for r in local.history]
    assert remote.strategy.best_genotype == local.strategy.best_genotype
