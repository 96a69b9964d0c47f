"""Digits: the fixed split, the evaluation modes, and a gradient-trained network that generalises."""
import numpy as np
import pytest
import torch

from evohyper.decoders import DirectDecoder
from evohyper_tasks.digits import DigitsTask, load_split


@pytest.fixture(scope="module")
def task():
    t = DigitsTask()
    t.setup("cpu")
    return t


def random_phenotypes(task, population=4, seed=0, network=None):
    decoder = DirectDecoder(task.target(network or {}))
    g = torch.Generator().manual_seed(seed)
    return decoder.decode(0.3 * torch.randn(population, decoder.genome_size, generator=g))


def test_split_sizes_are_fixed_disjoint_and_cover_the_data(task):
    split = load_split()
    assert task.split_sizes() == {"train": 1079, "val": 359, "test": 359}
    assert sum(task.split_sizes().values()) == 1797
    # identify samples by their pixels + label (the split stores features, not indices)
    keys = {name: {(x.tobytes(), int(label)) for x, label in zip(*split[name])} for name in split}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        assert not keys[a] & keys[b], f"{a} and {b} overlap"
    for name, (x, y) in split.items():
        assert x.dtype == np.float32 and x.shape == (len(y), 64) and x.min() >= 0 and x.max() <= 1
        counts = np.bincount(y, minlength=10)  # stratified: about 20 % of each class's ~180 samples
        if name == "train":
            assert counts.min() >= 100
        else:
            assert counts.min() >= 34 and counts.max() <= 37


def test_split_does_not_depend_on_seeds_or_instances(task):
    torch.manual_seed(123)
    np.random.seed(5)
    load_split.cache_clear()
    again = load_split()
    other = DigitsTask(fitness="accuracy", eval_batch=10)
    other.setup("cpu")
    for name in ("train", "val", "test"):
        assert torch.equal(other._data[name][0], task._data[name][0])
        assert torch.equal(other._data[name][1], task._data[name][1])
        assert np.array_equal(again[name][1], task._data[name][1].numpy())


def test_evaluate_full_validation_set(task):
    ph = random_phenotypes(task, population=5)
    result = task.evaluate(ph, seed=0)
    assert result.fitness.shape == (5,)
    assert set(result.metrics) == {"val_accuracy", "val_loss"}
    assert torch.allclose(result.fitness, -result.metrics["val_loss"])  # default: neg_cross_entropy
    assert result.sample_forwards == 5 * 359
    assert torch.equal(result.fitness, task.evaluate(ph, seed=99).fitness)  # full set: the seed is irrelevant
    # the metrics are the plain per-network accuracy / cross-entropy of the validation set
    x, y = task._data["val"]
    logits = ph.forward(x)
    assert torch.allclose(result.metrics["val_accuracy"], (logits.argmax(-1) == y).float().mean(1))
    ce = torch.stack([torch.nn.functional.cross_entropy(logits[i], y) for i in range(5)])
    assert torch.allclose(result.metrics["val_loss"], ce, rtol=1e-5)


def test_accuracy_fitness():
    task = DigitsTask(fitness="accuracy")
    ph = random_phenotypes(task)
    result = task.evaluate(ph, seed=0)
    assert torch.equal(result.fitness, result.metrics["val_accuracy"])


def test_eval_batch_is_a_seeded_minibatch_shared_by_everyone():
    task = DigitsTask(eval_batch=50)
    task.setup("cpu")
    ph = random_phenotypes(task, population=6)
    a, b = task.evaluate(ph, seed=1), task.evaluate(ph, seed=2)
    assert a.sample_forwards == 6 * 50
    assert not torch.equal(a.fitness, b.fitness)  # another seed, another minibatch
    assert torch.equal(a.fitness, task.evaluate(ph, seed=1).fitness)
    # individual 3 alone sees the same minibatch as inside the population
    assert torch.allclose(task.evaluate(ph.select([3]), seed=1).fitness, a.fitness[3:4], rtol=1e-5, atol=1e-6)


def test_train_batches_cover_the_training_set_once_in_a_seeded_order(task):
    batches = list(task.train_batches(batch_size=100, seed=0))
    assert [len(y) for _, y in batches] == [100] * 10 + [79]
    ys = torch.cat([y for _, y in batches])
    assert torch.equal(torch.sort(ys).values, torch.sort(task._data["train"][1]).values)
    again = torch.cat([y for _, y in task.train_batches(batch_size=100, seed=0)])
    other = torch.cat([x for x, _ in task.train_batches(batch_size=100, seed=1)])
    assert torch.equal(ys, again)
    assert not torch.equal(torch.cat([x for x, _ in batches]), other)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"fitness": "f1"}, r"^task\.fitness: 'f1'; allowed: one of 'neg_cross_entropy', 'accuracy'$"),
    ({"eval_batch": 0}, r"^task\.eval_batch: 0; allowed: an integer in \[1, 359\]$"),
    ({"eval_batch": 360}, r"^task\.eval_batch: 360; allowed: an integer in \[1, 359\]$"),
    ({"eval_batch": 3.0}, r"^task\.eval_batch: 3\.0; allowed: an integer in \[1, 359\]$"),
])
def test_bad_options_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DigitsTask(**kwargs)


def test_network_block(task):
    assert task.target({}).sizes == [64, 16, 10]
    assert task.target({"hidden": [32, 16]}).sizes == [64, 32, 16, 10]
    with pytest.raises(ValueError, match=r"^network\.layers: unknown key; allowed keys: hidden, activation, "
                       r"output_activation, bias, recurrent$"):
        task.target({"layers": 2})


def test_loss_matches_cross_entropy_and_is_differentiable(task):
    ph = random_phenotypes(task, population=3)
    x, y = next(iter(task.train_batches(batch_size=40, seed=0)))
    loss = task.loss(ph, (x, y))
    logits = ph.forward(x)
    expected = torch.stack([torch.nn.functional.cross_entropy(logits[i], y) for i in range(3)])
    assert torch.allclose(loss, expected, rtol=1e-5)


def test_gradient_training_through_loss_generalises_to_test(task, adam):
    """A network trained briefly by gradient through ``loss`` beats 85 % held-out test accuracy."""
    decoder = DirectDecoder(task.target({"hidden": [32]}))
    g0 = 0.1 * torch.randn(2, decoder.genome_size, generator=torch.Generator().manual_seed(0))
    batches = [b for epoch in range(3) for b in task.train_batches(batch_size=64, seed=epoch)]
    g = adam(lambda g, batch: task.loss(decoder.decode(g), batch), g0, batches, lr=0.02)
    with torch.no_grad():
        ph = decoder.decode(g)
        test = task.test_metrics(ph)
        val = task.evaluate(ph, seed=0)
    assert set(test) == {"test_accuracy", "test_loss"} and test["test_accuracy"].shape == (2,)
    assert bool((test["test_accuracy"] > 0.85).all()), test
    assert bool((val.metrics["val_accuracy"] > 0.85).all())
