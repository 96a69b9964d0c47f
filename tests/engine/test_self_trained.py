"""Self-trained decoders (a HyperGAN generator) trained by the ``gradient`` strategy inside the engine:
the flat parameter vector, the training objective's gradients, exact resume, Ray = local, and the
exported ``best/decoder_weights.pt`` feeding a later evolutionary search through ``decoder.weights``."""
import pytest
import torch

from evohyper.api.phenotypes import MLPSpec
from evohyper.config import validate
from evohyper.engine.checkpoint import load_state, save_state
from evohyper.engine.runner import build_search, run
from evohyper.families.hypergan.decoder import HyperGANDecoder
from evohyper_tasks.digits import DigitsTask

DECODER = {"name": "hypergan", "noise": 8, "code": 8, "hidden": 16, "samples": 4, "score_samples": 8}
GRAD = {"name": "gradient", "lr": 0.003, "steps_per_generation": 5, "batch_size": 32}


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny kernels: 1 thread beats 2 here


def _raw(generations=3, decoder=None, strategy=None, **extra):
    raw = {"name": "hg", "seed": 2, "task": {"name": "digits", "eval_batch": 128}, "network": {"hidden": [16]},
           "decoder": decoder or DECODER, "strategy": strategy or GRAD, "budget": {"generations": generations},
           "output": {"tensorboard": False, "progress": False}}
    raw.update(extra)
    return raw


def test_parameter_vector_round_trips_and_unflattens_to_views():
    dec = HyperGANDecoder(MLPSpec([64, 16, 10]), noise=8, code=8, hidden=16)
    vec = dec.parameter_vector()
    assert vec.shape == (dec.trained_size,) and dec.trained_size == sum(p.numel() for p in dec.parameters())
    other = HyperGANDecoder(MLPSpec([64, 16, 10]), noise=8, code=8, hidden=16, init_seed=7)
    assert not torch.equal(other.parameter_vector(), vec)
    other.load_parameter_vector(vec)
    assert torch.equal(other.parameter_vector(), vec)
    views = dec.unflatten(vec)
    assert views["mixer.weights.0"].data_ptr() == vec.data_ptr()      # views, not copies
    with pytest.raises(ValueError, match="parameter vector"):
        dec.unflatten(vec[:-1])


def test_each_player_gets_only_its_own_gradient():
    """Generator parameters must not receive the discriminator's loss and vice versa: with the task
    loss removed (a task whose loss is 0), the generator's gradient is exactly beta x d(adv)/d(gen)."""
    task = DigitsTask()
    task.setup("cpu")
    dec = HyperGANDecoder(MLPSpec([64, 16, 10]), noise=8, code=8, hidden=16, samples=4, beta=1.0)
    batch = next(iter(task.train_batches(16, 0)))
    vec = dec.parameter_vector().requires_grad_(True)
    loss, logs = dec.functional_loss(vec, task, batch, torch.Generator().manual_seed(0))
    loss.backward()
    grads = dec.unflatten(vec.grad)
    # The generators' output layers do not touch the discriminator loss, only the task loss:
    beta0 = HyperGANDecoder(MLPSpec([64, 16, 10]), noise=8, code=8, hidden=16, samples=4, beta=0.0)
    vec0 = beta0.parameter_vector().requires_grad_(True)
    beta0.functional_loss(vec0, task, batch, torch.Generator().manual_seed(0))[0].backward()
    g0 = beta0.unflatten(vec0.grad)
    torch.testing.assert_close(grads["generators.0.weights.1"], g0["generators.0.weights.1"])
    assert torch.count_nonzero(g0["discriminator.weights.0"]) == 0     # beta = 0: the adversary is idle
    assert torch.count_nonzero(grads["discriminator.weights.0"]) > 0
    assert set(logs) == {"task_loss", "adv_loss", "disc_loss"}


def test_gradient_strategy_trains_a_hypergan_in_the_engine_loop():
    search = build_search(validate(_raw(generations=6)), None)
    dec = search.backend.evaluator.decoder
    assert search.strategy.genome_size == dec.trained_size
    search.run()
    h = search.history
    assert h[-1].best > h[0].best                                        # the generated networks improved
    assert h[-1].metrics["val_accuracy_of_best"] > 0.3
    assert {"train_task_loss_of_best", "train_disc_loss_of_best"} <= set(h[-1].metrics)
    assert h[-1].sample_forwards == 6 * (5 * 4 * 32 + 8 * 128)           # 4 nets x 5 steps + 8 scored
    assert search.strategy.steps_done == 30


def test_hypergan_training_resumes_exactly(tmp_path):
    whole = build_search(validate(_raw(generations=4)), None)
    whole.run()
    first = build_search(validate(_raw(generations=2)), None)
    first.run()
    save_state(first.state_dict(), tmp_path / "c.pt")
    resumed = build_search(validate(_raw(generations=4)), None)
    resumed.load_state_dict(load_state(tmp_path / "c.pt"))
    resumed.run()
    assert [r.best for r in first.history + resumed.history] == [r.best for r in whole.history]
    assert torch.equal(resumed.strategy.genotype, whole.strategy.genotype)


def test_exported_generator_seeds_a_latent_space_search(tmp_path):
    result, run_dir = run(validate(_raw(generations=3, output={"runs_dir": str(tmp_path), "progress": False,
                                                               "tensorboard": False})))
    weights = run_dir / "best" / "decoder_weights.pt"
    assert weights.is_file() and (run_dir / "best" / "phenotype.json").is_file()
    trained = HyperGANDecoder(MLPSpec([64, 16, 10]), noise=8, code=8, hidden=16, weights=str(weights))
    fresh = HyperGANDecoder(MLPSpec([64, 16, 10]), noise=8, code=8, hidden=16)
    assert not torch.equal(trained.parameter_vector(), fresh.parameter_vector())
    cma = build_search(validate(_raw(generations=2, decoder={**DECODER, "weights": str(weights)},
                                     strategy={"name": "cmaes", "popsize": 6, "sigma0": 1.0})), None)
    assert cma.strategy.genome_size == 8                                 # evolution searches the noise s
    cma.run()
    untrained = build_search(validate(_raw(generations=2, strategy={"name": "cmaes", "popsize": 6})), None)
    untrained.run()
    assert cma.best_fitness > untrained.best_fitness                     # the trained generator was loaded


@pytest.mark.ray
def test_hypergan_training_on_a_ray_actor_equals_local(ray_local):
    local = build_search(validate(_raw(generations=2)), None)
    local.run()
    remote = build_search(validate(_raw(generations=2, backend={"name": "ray", "num_actors": 1,
                                                                "num_cpus_per_actor": 0.5})), None)
    remote.run()
    assert [r.best for r in remote.history] == [r.best for r in local.history]
    assert torch.equal(remote.strategy.genotype, local.strategy.genotype)
