"""RayBackend: chunking invariance, actor death, hangs, task errors (one shared local Ray, 2 CPUs)."""
from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import ray_test_tasks  # noqa: E402  (registers the raytest_* tasks in this process)

from evohyper.config import ComponentsSpec, ConfigError  # noqa: E402
from evohyper.engine.backends.local import LocalBackend  # noqa: E402
from evohyper.engine.backends.ray import BackendError, EvaluationTimeout, RayBackend, split_bounds  # noqa: E402
from evohyper.engine.evaluation import TaskError  # noqa: E402

DIM = 4


def spec(task: str = "raytest_sphere", on_error: str = "strict", **task_kwargs) -> ComponentsSpec:
    return ComponentsSpec(task={"name": task, "dim": DIM, **task_kwargs}, decoder={"name": "direct"},
                          on_error=on_error)


def backend(s: ComponentsSpec, **kwargs) -> RayBackend:
    # 2 CPUs in the session instance: fractional CPUs let 3 actors (plus a replacement) fit.
    opts = dict(num_actors=2, num_cpus_per_actor=0.25, preload_modules=["ray_test_tasks"], sys_path=[str(HERE)],
                timeout_s=60, startup_timeout_s=60, max_retries=2)
    opts.update(kwargs)
    return RayBackend(s, **opts)


def population(n: int, seed: int = 0, marker_row: int | None = None) -> torch.Tensor:
    g = torch.randn(n, DIM, generator=torch.Generator().manual_seed(seed))
    if marker_row is not None:
        g[marker_row, 0] = ray_test_tasks.MARKER
    return g


def local_result(genotypes: torch.Tensor, seed: int = 3):
    return LocalBackend(spec()).evaluate(genotypes, seed)


# ----------------------------------------------------------------------------- no Ray needed
def test_split_bounds_contiguous_and_balanced():
    assert split_bounds(10, 3) == [(0, 4), (4, 7), (7, 10)]
    assert split_bounds(2, 3) == [(0, 1), (1, 2)]  # no empty chunks
    assert split_bounds(6, 1) == [(0, 6)]
    for n in range(0, 20):
        for k in range(1, 6):
            b = split_bounds(n, k)
            assert b[0][0] == 0 and b[-1][1] == n
            assert all(x[1] == y[0] for x, y in zip(b, b[1:]))
            sizes = [e - s for s, e in b]
            assert max(sizes) - min(sizes) <= 1


def test_importing_the_backend_does_not_import_ray():
    code = ("import sys, evohyper, evohyper.engine.backends.ray, evohyper.engine.backends.ray.runtime; "
            "assert 'ray' not in sys.modules, 'ray imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# ----------------------------------------------------------------------------- with the shared Ray
@pytest.mark.ray
def test_results_identical_for_any_actor_count_and_equal_to_local(ray_local, monkeypatch):
    import evohyper.engine.backends.ray.wire as rb

    genotypes = population(11)
    expected = local_result(genotypes)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    for n_actors in (1, 2, 3):
        # chunks inline with the call (small) and through ray.put (INLINE_BYTES = 0) give the same
        monkeypatch.setattr(rb, "INLINE_BYTES", 0 if n_actors == 2 else 256 * 1024)
        with backend(spec(), num_actors=n_actors) as b:
            assert torch.get_num_threads() == 1                          # driver_threads default
            got = b.evaluate(genotypes, 3)
            assert len(b.actor_nodes()) == n_actors
            small = b.evaluate(genotypes[:2], 3)  # fewer individuals than actors
        assert torch.equal(got.fitness, expected.fitness), n_actors
        assert got.metrics.keys() == expected.metrics.keys()
        assert torch.equal(got.metrics["norm"], expected.metrics["norm"])
        assert got.sample_forwards == expected.sample_forwards == 11
        assert torch.equal(small.fitness, expected.fitness[:2])
        assert torch.get_num_threads() == 2                              # restored by close()
    torch.set_num_threads(before)
    assert ray_local.is_initialized(), "close() must not shut down a Ray it did not start"


def test_wire_format_round_trips_chunk_results_bit_for_bit():
    import numpy as np

    from evohyper.engine.backends.ray.wire import from_wire, to_wire
    from evohyper.engine.evaluation import ChunkResult

    chunk = ChunkResult(fitness=torch.tensor([0.1, float("nan"), -3.0], dtype=torch.float64),
                        metrics={"m": torch.tensor([1.5, 2.5, 3.5])}, sample_forwards=7, errors=1)
    wire = to_wire(chunk)
    assert isinstance(wire["fitness"], np.ndarray) and isinstance(wire["metrics"]["m"], np.ndarray)
    back = from_wire(wire)
    assert torch.equal(back.fitness[[0, 2]], chunk.fitness[[0, 2]]) and back.fitness.dtype == torch.float64
    assert torch.isnan(back.fitness[1]) and torch.equal(back.metrics["m"], chunk.metrics["m"])
    assert (back.sample_forwards, back.errors) == (7, 1)
    g = torch.randn(4, 3, dtype=torch.float64)
    assert torch.equal(from_wire(to_wire(g)), g)
    assert to_wire([1, 2]) == [1, 2]                                      # non-tensor genotypes pass as-is


def test_wire_ships_a_row_batch_as_named_arrays_and_rebuilds_it():
    """A GenomeBatch chunk crosses as {"__rows__": kind, "arrays": numpy, "meta"}: no pickled gene objects,
    widths trimmed to the chunk's own genomes, and the same rows on arrival."""
    import pickle

    import numpy as np

    from evohyper.engine.backends.ray.wire import chunk, from_wire, nbytes, split_bounds
    from evohyper.families.neat.genome import GenomeBatch
    from evohyper.testing.neat_genomes import cppn_config, random_batch

    batch = random_batch(cppn_config(3, 2), 9, mutations=30, seed=4)
    parts = [chunk(batch, a, b) for a, b in split_bounds(len(batch), 3)]
    for (a, b), part in zip(split_bounds(len(batch), 3), parts):
        assert part["__rows__"] == "neat-genomes" and part["meta"] == {}
        assert all(isinstance(v, np.ndarray) for v in part["arrays"].values())
        assert part["arrays"]["conn_key"].shape[1] == int(batch.n_conns[a:b].max())     # trimmed
        assert nbytes(part) == sum(v.nbytes for v in part["arrays"].values())
        assert b"neat.genes" not in pickle.dumps(part) and b"DefaultGenome" not in pickle.dumps(part)
        back = from_wire(pickle.loads(pickle.dumps(part)))
        assert isinstance(back, GenomeBatch) and back.equal(batch[a:b])
        back.check()


@pytest.mark.ray
def test_actor_death_mid_generation_is_replaced_and_chunk_resubmitted(ray_local, tmp_path, caplog):
    flag = tmp_path / "died"
    genotypes = population(8, marker_row=6)  # chunk 1 of 2 (rows 4..7) kills its actor once
    expected = local_result(genotypes)
    with backend(spec("raytest_die_once", flag=str(flag)), num_actors=2) as b:
        before = b.actor_info()
        with caplog.at_level(logging.WARNING, logger="evohyper.ray"):
            got = b.evaluate(genotypes, 3)
        after = b.actor_info()
        assert flag.exists(), "the actor never died: the test did not exercise the failure"
        assert got.fitness.shape == (8,)
        assert torch.equal(got.fitness, expected.fitness)  # each individual scored once, in order
        assert got.sample_forwards == 8  # no chunk counted twice
        assert b.replacements == 1
        assert len(after) == len(before) == 2  # pool size unchanged
        assert after[0]["actor_id"] == before[0]["actor_id"]
        assert after[1]["actor_id"] != before[1]["actor_id"]
        assert any("replaced evaluator actor 1" in r.getMessage() for r in caplog.records)
        assert torch.equal(b.evaluate(genotypes, 3).fitness, expected.fitness)  # the new pool works


@pytest.mark.ray
def test_hung_chunk_is_killed_and_retried_on_a_fresh_actor(ray_local, tmp_path):
    flag = tmp_path / "hung"
    genotypes = population(6, marker_row=1)  # chunk 0 hangs the first time only
    expected = local_result(genotypes)
    with backend(spec("raytest_hang_once", flag=str(flag)), num_actors=2, timeout_s=2.0, max_retries=1) as b:
        before = b.actor_info()
        start = time.monotonic()
        got = b.evaluate(genotypes, 3)
        elapsed = time.monotonic() - start
        after = b.actor_info()
    assert flag.exists()
    assert elapsed >= 2.0
    assert torch.equal(got.fitness, expected.fitness)
    assert b.replacements == 1
    assert after[0]["actor_id"] != before[0]["actor_id"] and after[1]["actor_id"] == before[1]["actor_id"]


@pytest.mark.ray
def test_chunk_that_always_hangs_raises_after_max_retries(ray_local):
    genotypes = population(6, marker_row=4)  # chunk 1 always hangs
    with backend(spec("raytest_hang_always"), num_actors=2, timeout_s=1.0, max_retries=1) as b:
        with pytest.raises(EvaluationTimeout) as info:
            b.evaluate(genotypes, 3)
        msg = str(info.value)
        assert "chunk 1" in msg and "individuals 3..5" in msg
        assert "timeout_s=1s" in msg and "max_retries=1" in msg
        assert isinstance(info.value, BackendError)
        assert b.replacements == 2  # first try + one retry, each hung actor killed and replaced
        clean = population(6)
        assert torch.equal(b.evaluate(clean, 3).fitness, local_result(clean).fitness)  # still usable


@pytest.mark.ray
def test_strict_task_error_surfaces_with_its_type_and_is_not_retried(ray_local):
    with backend(spec("raytest_raise"), num_actors=1) as b:
        with pytest.raises(TaskError) as info:
            b.evaluate(population(4), 3)
        assert type(info.value) is TaskError  # the original class, not a Ray wrapper
        assert "raytest_raise" in str(info.value) and "deliberate failure" in str(info.value)
        assert b.replacements == 0


@pytest.mark.ray
def test_lenient_task_error_scores_worst_inside_the_actor(ray_local):
    with backend(spec("raytest_raise", on_error="lenient"), num_actors=1) as b:
        got = b.evaluate(population(5), 3)
    assert got.fitness.shape == (5,) and torch.isnan(got.fitness).all()
    assert got.errors == 5


@pytest.mark.ray
def test_actor_construction_error_is_raised_in_the_driver(ray_local):
    with pytest.raises(ConfigError, match="task.name: unknown task 'no_such_task'"):
        backend(ComponentsSpec(task={"name": "no_such_task"}, decoder={"name": "direct"}), num_actors=1)


@pytest.mark.gpu
@pytest.mark.ray
def test_fractional_gpu_actors_match_local_cuda(ray_local):
    if not torch.cuda.is_available() or not ray_local.cluster_resources().get("GPU"):
        pytest.skip("needs a CUDA device visible to Ray")
    genotypes = population(9)
    expected = LocalBackend(spec(), device="cuda").evaluate(genotypes, 3)
    with backend(spec(), num_actors=2, num_gpus_per_actor=0.5) as b:
        assert {i["device"] for i in b.actor_info()} == {"cuda"}
        got = b.evaluate(genotypes, 3)
    assert torch.equal(got.fitness, expected.fitness)
