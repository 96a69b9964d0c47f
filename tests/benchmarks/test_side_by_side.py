"""Issue 13, item 10: a side-by-side benchmark compares the same computation or stops. The HyperNEAT
baseline (neat-python's loop) must score a trial with the task's tie rule, so both sides agree."""
import pytest
import torch

from benchmarks import bench_hyperneat
from benchmarks.timing import NotTheSameComputation, require_same
from evohyper.testing.neat_genomes import reference_substrate_weights


def test_require_same_stops_on_a_difference_or_nan():
    assert require_same("x", 1e-7, 1e-6) == 1e-7
    for diff in (1e-3, float("nan")):
        with pytest.raises(NotTheSameComputation, match="stated tolerance"):
            require_same("x", diff, 1e-6)


def test_neat_python_baseline_scores_like_the_task_on_random_genomes():
    task, decoder, config, genomes = bench_hyperneat.setup(11, 6)
    fitness = task.evaluate(decoder.decode(genomes[:3]), 0).fitness
    for i, genome in enumerate(genomes[:3]):
        weights = reference_substrate_weights(genome, config, decoder)
        loop = bench_hyperneat.substrate_fitness_loop(weights, task._x, task)
        assert loop == pytest.approx(float(fitness[i]), abs=bench_hyperneat.FITNESS_TOL)


def test_neat_python_baseline_uses_the_task_tie_rule():
    task, decoder, _, _ = bench_hyperneat.setup(11, 0)
    n = task._x.shape[1]
    flat = [[0.0] * n for _ in range(n)]           # every output equal: all nodes tie, the farthest one scores
    loop = bench_hyperneat.substrate_fitness_loop(flat, task._x, task)
    phen = decoder.target.build({"w0": torch.zeros(1, n, n)})
    assert loop == pytest.approx(float(task.evaluate(phen, 0).fitness[0]), abs=bench_hyperneat.FITNESS_TOL)
