"""The thread benchmark measures what it says: each grid setting reaches the driver and the evaluators,
and the default row runs the policy with no override."""
import pytest

from benchmarks import bench_threads
from evohyper.engine import threads
from evohyper.engine.threads import ThreadPolicy, Threads


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_grid_settings_reach_driver_and_evaluators(backend):
    base = bench_threads._mlp(backend)
    default = bench_threads._with_setting(base, None).backend
    assert [default.driver_threads, default.driver_blas_threads, default.evaluator_torch_threads,
            default.evaluator_blas_threads] == [None] * 4                         # the policy decides
    for blas, torch_threads in bench_threads.GRID:
        cfg = bench_threads._with_setting(base, (blas, torch_threads))
        assert threads.choose(cfg.backend, cores=2) == ThreadPolicy(Threads(blas, torch_threads),
                                                                    Threads(blas, torch_threads))
        assert cfg.budget.generations == base.budget.generations and cfg.seed == base.seed
