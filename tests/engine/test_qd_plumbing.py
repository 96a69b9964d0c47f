"""Issue 23 engine plumbing: a task's declared descriptors and objectives reach the strategy that consumes
them (objectives flipped to higher-is-better), its metrics reach metrics.csv in a stable order across a
resume, what is declared is checked, and lenient/Ray evaluation keep them."""
import math

import pytest
import qd_test_parts
import torch
from run_helpers import metric_rows

from evohyper.config import ComponentsSpec, ConfigError, validate
from evohyper.engine.backends.local import LocalBackend
from evohyper.engine.evaluation import ChunkResult, Evaluator, TaskShapeError
from evohyper.engine.run_dir import RunDir
from evohyper.engine.runner import build_search, resume, run
from evohyper_tasks.sphere import SphereTask, sphere_measures


@pytest.fixture(autouse=True)
def parts(monkeypatch):
    qd_test_parts.register(monkeypatch)


def _raw(task, strategy="test-qd", generations=4, **extra):
    return {"name": "qd", "seed": 5, "task": task, "strategy": {"name": strategy, "popsize": 8},
            "budget": {"generations": generations}, "output": {"tensorboard": False, "progress": False}, **extra}


def _search(task, strategy="test-qd", **kw):
    return build_search(validate(_raw(task, strategy, **kw)), None)


def _sphere(**options):
    return SphereTask(**{"dim": 6, **options})


def test_a_qd_strategy_receives_exactly_the_tasks_descriptors():
    search = _search({"name": "sphere", "dim": 6, "descriptors": True})
    search.step()
    (told,) = search.strategy.told
    x = search.last_population.double()   # direct decoder: the phenotype is the genotype
    assert told["descriptors"].dtype == torch.float64 and told["descriptors"].shape == (8, 2)
    assert torch.equal(told["descriptors"], sphere_measures(x))
    assert "objectives" not in told
    assert search.strategy.bound.descriptors == _sphere(descriptors=True).descriptor_space()


def test_sphere_measures_are_pyribs_sums_of_folded_halves():
    x = torch.tensor([[1.0, -2.0, 10.0, -6.4, 0.5, 0.0]], dtype=torch.float64)
    # pyribs folds a coordinate outside [-5.12, 5.12] to 5.12 / x: 10 -> 0.512, -6.4 -> -0.8
    assert torch.allclose(sphere_measures(x), torch.tensor([[1.0 - 2.0 + 0.512, -0.8 + 0.5 + 0.0]],
                                                           dtype=torch.float64))
    low, high = _sphere(descriptors=True).descriptor_space()
    assert (low.low, low.high) == (-3 * 5.12, 3 * 5.12) and high.name == "sum_high_half"


def test_a_mo_strategy_receives_every_objective_flipped_to_higher_is_better():
    search = _search({"name": "sphere", "dim": 6, "objectives": 2, "shift": 1.0}, "test-mo")
    record = search.step()
    (told,) = search.strategy.told
    x = search.last_population.double()
    f1, f2 = (x ** 2).sum(1), ((x - 1.0) ** 2).sum(1)
    assert torch.equal(told["objectives"], -torch.stack([f1, f2], 1))   # both minimised: both negated
    assert torch.equal(told["fitness"], -f1)                            # fitness: the first objective
    assert "descriptors" not in told
    assert record.best == float(f1.min()) and search.best_fitness == float(f1.min())
    # each objective's best and mean, in its own direction
    assert record.metrics["f1_best"] == float(f1.min()) and record.metrics["f2_best"] == float(f2.min())
    assert record.metrics["f2_mean"] == pytest.approx(float(f2.mean()))
    assert search.strategy.bound.reference_point == pytest.approx((6.6, 6.6))


def test_mixed_directions_flip_only_the_minimised_columns():
    search = _search({"name": "test-qd-raise", "dim": 4}, "test-qdmo")
    search.strategy._low, search.strategy._high = -1.0, 0.4   # never raises (x0 <= 0.4)
    record = search.step()
    (told,) = search.strategy.told
    x = search.last_population.double()
    assert torch.equal(told["objectives"], torch.stack([-(x ** 2).sum(1), x[:, 1]], 1))
    assert torch.equal(told["descriptors"], x[:, :2])
    assert record.metrics["g_best"] == float(x[:, 1].max())      # maximised objective: its max


def test_a_task_without_declarations_keeps_todays_path_bit_for_bit():
    plain = LocalBackend(ComponentsSpec(task={"name": "sphere", "dim": 5}, decoder={"name": "direct"}))
    g = torch.randn(9, 5, generator=torch.Generator().manual_seed(1))
    got = plain.evaluate(g, 0)
    assert got.objectives is None and got.descriptors is None
    assert torch.equal(got.fitness, ((g.double() - 0.5) ** 2).sum(1))
    assert torch.equal(got.metrics["distance"], ((g.double() - 0.5) ** 2).sum(1).sqrt().float())


def test_k_repeats_of_objectives_and_descriptors_are_averaged():
    evaluator = Evaluator(ComponentsSpec(task={"name": "test-qd-shape", "mode": "ok"}, decoder={"name": "direct"}))
    from evohyper.api.task import EvalResult
    obj = torch.arange(24, dtype=torch.float64).reshape(4, 3, 2)
    chunk = evaluator._check(EvalResult(obj, descriptors=obj * 2), 4)
    assert torch.equal(chunk.objectives, obj.mean(1)) and torch.equal(chunk.fitness, obj.mean(1)[:, 0])
    assert torch.equal(chunk.descriptors, (obj * 2).mean(1)) and chunk.descriptors.dtype == torch.float64


@pytest.mark.parametrize("mode,match", [
    ("fitness_1d", r"'test-qd-shape' returned fitness of shape \(8,\); expected \[8, 2\] or \[8, k, 2\].*"
                   r"'f', 'g'.*Task.objective_space"),
    ("missing", r"'test-qd-shape' returned no descriptors; expected \[8, 2\].*'a', 'b'.*Task.descriptor_space"),
    ("three", r"'test-qd-shape' returned descriptors of shape \(8, 3\); expected \[8, 2\] or \[8, k, 2\]"),
    ("undeclared_descriptors", r"'test-qd-shape' returned descriptors of shape \(8, 2\); expected none"),
])
def test_a_task_breaking_its_declaration_is_a_shape_error_naming_field_and_shapes(mode, match):
    search = _search({"name": "test-qd-shape", "mode": mode}, "random")
    with pytest.raises(TaskShapeError, match=match):
        search.step()


def test_lenient_failures_get_nan_objectives_and_descriptors():
    cfg = validate(_raw({"name": "test-qd-raise"}, "test-qdmo", evaluation={"on_error": "lenient"}))
    search = build_search(cfg, None)
    g = search.strategy.ask()
    result = search.backend.evaluate(g, seed=0)
    failing = g[:, 0] > 0.5
    assert failing.any() and (~failing).any()
    assert torch.isnan(result.objectives[failing]).all() and torch.isnan(result.descriptors[failing]).all()
    assert torch.equal(result.descriptors[~failing], g[~failing, :2].double())
    assert result.objectives.shape == (8, 2) and result.descriptors.shape == (8, 2)


def test_concat_carries_objectives_and_descriptors():
    parts = [ChunkResult(torch.ones(n, dtype=torch.float64), {}, n, objectives=torch.full((n, 2), float(n)),
                         descriptors=torch.full((n, 3), -float(n))) for n in (2, 3)]
    whole = ChunkResult.concat(parts)
    assert whole.objectives.shape == (5, 2) and whole.descriptors.shape == (5, 3)
    assert whole.objectives[:2].eq(2).all() and whole.descriptors[2:].eq(-3).all()
    assert ChunkResult.concat([ChunkResult(torch.ones(1), {}, 1)]).objectives is None


@pytest.mark.parametrize("strategy,needs", [("test-qd", "behaviour descriptors"),
                                            ("test-mo", "several objectives")])
def test_a_strategy_needing_what_the_task_lacks_is_refused_at_strategy_name(strategy, needs):
    with pytest.raises(ConfigError, match=rf"strategy.name.*strategy '{strategy}' needs {needs}; "
                                          r"task 'sphere' declares none \(Task\.(descriptor|objective)_space\)"):
        validate(_raw({"name": "sphere", "dim": 4}, strategy))


def test_a_task_whose_direction_disagrees_with_its_first_objective_is_refused(monkeypatch):
    monkeypatch.setattr(qd_test_parts.WrongShapeTask, "objective_space",
                        lambda self: (qd_test_parts.Objective("f", True), qd_test_parts.Objective("g", False)))
    with pytest.raises(ConfigError, match=r"task.name.*maximize=False.*first objective 'f' has maximize=True"):
        validate(_raw({"name": "test-qd-shape", "mode": "ok"}, "random"))


def test_strategy_metrics_land_in_metrics_csv_in_a_stable_order_across_resume(tmp_path):
    out = {"runs_dir": str(tmp_path / "runs"), "tensorboard": False, "progress": False}
    task = {"name": "sphere", "dim": 6, "descriptors": True}
    _, full = run(validate({**_raw(task, generations=6), "name": "full", "output": out}))
    _, short = run(validate({**_raw(task, generations=3), "name": "short", "output": out}))
    resume(short, ["budget.generations=6"])
    rows = metric_rows(full)
    assert rows == metric_rows(short) and len(rows) == 6
    assert [r["a_generation"] for r in rows] == [str(float(g)) for g in range(1, 7)]
    assert list(rows[0])[-4:] == ["a_generation", "distance_mean", "distance_of_best", "zz_best"]
    assert math.isfinite(float(rows[-1]["zz_best"]))
    assert RunDir(full).archive == full / "archive"


def test_bind_task_is_called_again_when_resume_rebuilds_the_strategy():
    from evohyper.config.build import build_strategy
    cfg = validate(_raw({"name": "sphere", "dim": 6, "descriptors": True}))
    components = cfg.components()
    rebuilt = build_strategy(cfg.spec(), components.info, task_info=components.task.info())
    assert rebuilt.bound.descriptors == components.task.descriptor_space()


def test_write_archive_is_called_at_the_end_of_a_run_with_the_run_dirs_archive(tmp_path, monkeypatch):
    seen = []

    def write_archive(self, directory):
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "elites.csv").write_text(f"{self.generation}\n")
        seen.append(directory)
        return [directory / "elites.csv"]

    monkeypatch.setattr(qd_test_parts.FakeQD, "write_archive", write_archive)
    out = {"runs_dir": str(tmp_path / "runs"), "tensorboard": False, "progress": False}
    _, run_dir = run(validate({**_raw({"name": "sphere", "dim": 4, "descriptors": True}), "output": out}))
    assert seen == [RunDir(run_dir).archive] and (run_dir / "archive" / "elites.csv").read_text() == "4\n"


@pytest.mark.ray
def test_ray_with_two_actors_gives_the_local_descriptors_and_objectives(ray_local):
    from evohyper.engine.backends.ray import RayBackend
    spec = ComponentsSpec(task={"name": "sphere", "dim": 6, "descriptors": True, "objectives": 2},
                          decoder={"name": "direct"})
    g = torch.randn(11, 6, generator=torch.Generator().manual_seed(2)) * 4
    local = LocalBackend(spec).evaluate(g, 3)
    with RayBackend(spec, num_actors=2, num_cpus_per_actor=0.25, timeout_s=60, startup_timeout_s=60) as ray:
        got = ray.evaluate(g, 3)
    assert torch.equal(got.objectives, local.objectives) and torch.equal(got.descriptors, local.descriptors)
    assert torch.equal(got.fitness, local.fitness) and got.objectives.dtype == torch.float64


@pytest.mark.slow
def test_sigkill_and_resume_with_a_descriptor_and_two_objective_sphere_is_bit_identical(tmp_path):
    from run_helpers import kill_and_resume, same_state, write_config

    def write(tmp, name):
        return write_config(tmp, {"name": name, "seed": 7, "task": {"name": "sphere", "dim": 8, "descriptors": True,
                                                                     "objectives": 2},
                                  "strategy": {"name": "cmaes", "popsize": 16}, "budget": {"generations": 120},
                                  "output": {"runs_dir": str(tmp / "runs"), "tensorboard": False, "progress": False,
                                             "checkpoint_every": 1}})

    ref_dir, run_dir, a, b = kill_and_resume(tmp_path, write, kill_after=20, generations=120)
    assert a["counters"]["generation"] == b["counters"]["generation"] == 120
    assert same_state(a["strategy"], b["strategy"]) and a["best_fitness"] == b["best_fitness"]
    rows = metric_rows(ref_dir)
    assert rows == metric_rows(run_dir) and {"f1_best", "f2_mean"} <= rows[0].keys()
