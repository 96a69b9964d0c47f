"""The gradient strategy inside the engine loop: training, budget units, exact resume, Ray, and the
same hypernetwork decoder trained by gradient or searched by evolution with only the config changed."""
import pytest
import torch

from evohyper.api.task import NotDifferentiableError
from evohyper.api.training import TrainingJob
from evohyper.config import ComponentsSpec, ConfigError, validate
from evohyper.engine.checkpoint import load_state, save_state
from evohyper.engine.evaluation import Evaluator
from evohyper.engine.runner import build_search

DECODER = {"name": "hyper_static", "layers": ["conv1"], "embedding": 4, "hidden": 4}


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny kernels: 1 thread beats 2 here


def _raw(strategy, genotype="all", generations=3, **extra):
    raw = {"name": "g", "seed": 5, "task": {"name": "digits", "eval_batch": 128},
           "network": {"type": "conv", "channels": [8, 8]}, "decoder": {**DECODER, "genotype": genotype},
           "strategy": strategy, "budget": {"generations": generations},
           "output": {"tensorboard": False, "progress": False}}
    raw.update(extra)
    return raw


GRAD = {"name": "gradient", "lr": 0.01, "steps_per_generation": 4, "batch_size": 32}


def test_gradient_strategy_trains_in_the_engine_loop_and_counts_its_budget():
    search = build_search(validate(_raw(GRAD, generations=4)), None)
    search.run()
    h = search.history
    assert [r.evaluations for r in h] == [1, 2, 3, 4]                    # a population of one
    assert h[-1].sample_forwards == 4 * (4 * 32 + 128)                   # training batches + validation
    assert h[-1].best > h[0].best                                        # the loss went down
    assert h[-1].metrics["val_accuracy_of_best"] > 0.15                  # chance is 0.1
    assert search.strategy.best_genotype.shape == (search.strategy.genome_size,)
    assert search.strategy.steps_done == 16


def test_gradient_resume_from_a_checkpoint_file_is_exact(tmp_path):
    cfg = validate(_raw(GRAD, generations=4))
    whole = build_search(cfg, None)
    whole.run()
    first = build_search(validate(_raw(GRAD, generations=2)), None)
    first.run()
    save_state(first.state_dict(), tmp_path / "c.pt")
    resumed = build_search(cfg, None)
    resumed.load_state_dict(load_state(tmp_path / "c.pt"))
    resumed.run()
    assert [r.best for r in first.history + resumed.history] == [r.best for r in whole.history]
    assert torch.equal(resumed.strategy.genotype, whole.strategy.genotype)
    assert torch.equal(resumed.strategy.best_genotype, whole.strategy.best_genotype)


@pytest.mark.parametrize("strategy,genotype", [(GRAD, "all"), ({"name": "cmaes", "popsize": 6}, "z"),
                                               ({"name": "snes", "popsize": 6, "stdev_init": 0.02}, "theta"),
                                               ({"name": "pgpe", "popsize": 6, "stdev_init": 0.02}, "theta")])
def test_same_decoder_trains_under_gradient_or_evolution_by_config_only(strategy, genotype):
    search = build_search(validate(_raw(strategy, genotype=genotype, generations=2)), None)
    decoder = search.backend.evaluator.decoder
    assert type(decoder).__name__ == "StaticHyperDecoder" and decoder.genotype == genotype
    search.run()
    assert len(search.history) == 2 and search.best_fitness is not None
    assert search.strategy.best_genotype.shape == (decoder.genome_size,)


def test_task_without_loss_is_rejected_at_config_time():
    raw = {"name": "c", "task": {"name": "cartpole"}, "strategy": {"name": "gradient"}, "budget": {"generations": 1}}
    with pytest.raises(ConfigError, match=r"strategy.name.*cartpole.*NotDifferentiableError"):
        validate(raw)


def test_task_without_loss_raises_not_differentiable_in_the_evaluator():
    ev = Evaluator(ComponentsSpec(task={"name": "cartpole"}, decoder={"name": "direct"}))
    job = TrainingJob(None, 1, "Adam", {"lr": 0.01}, None, 1, 8, 0)
    with pytest.raises(NotDifferentiableError, match="cartpole|CartPole"):
        ev.train(job, seed=0)


def test_training_job_slices_and_concatenates_by_rows():
    opt_state = {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.arange(6.0).reshape(3, 2)}},
                 "param_groups": [{"lr": 0.1, "params": [0]}]}
    job = TrainingJob(torch.arange(6.0).reshape(3, 2), 3, "Adam", {"lr": 0.1}, opt_state, 2, 4, 0)
    parts = [job[0:1], job[1:3]]
    assert [len(p) for p in parts] == [1, 2]
    back = TrainingJob.concat(parts)
    assert torch.equal(back.genotypes, job.genotypes)
    assert torch.equal(back.optimizer_state["state"][0]["exp_avg"], opt_state["state"][0]["exp_avg"])
    assert torch.equal(back.optimizer_state["state"][0]["step"], torch.tensor(3.0))


@pytest.mark.ray
def test_gradient_training_on_a_ray_actor_equals_local(ray_local):
    local = build_search(validate(_raw(GRAD, generations=2)), None)
    local.run()
    remote = build_search(validate(_raw(GRAD, generations=2, backend={"name": "ray", "num_actors": 1,
                                                                        "num_cpus_per_actor": 0.5})), None)
    remote.run()
    assert [r.best for r in remote.history] == [r.best for r in local.history]
    assert torch.equal(remote.strategy.genotype, local.strategy.genotype)


@pytest.mark.gpu
def test_gradient_training_on_cuda_returns_cpu_state():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    spec = ComponentsSpec(task={"name": "digits"}, decoder={**DECODER, "genotype": "all"},
                          network={"type": "conv", "channels": [8, 8]})
    ev = Evaluator(spec, "cuda")
    out, trained = ev.train(TrainingJob(None, 1, "Adam", {"lr": 0.01}, None, 3, 32, 0), seed=0)
    assert trained.genotypes.device.type == "cpu" and torch.isfinite(out.fitness).all()
    cpu, _ = Evaluator(spec, "cpu").train(TrainingJob(None, 1, "Adam", {"lr": 0.01}, None, 3, 32, 0), seed=0)
    torch.testing.assert_close(out.fitness, cpu.fitness, atol=1e-3, rtol=1e-3)
