import math

import engine_tasks  # noqa: F401  (registers the test tasks)
import pytest
import torch
from run_helpers import same_state

from evohyper.config import validate
from evohyper.config.budget import Budget
from evohyper.engine.evaluation import TaskError, TaskShapeError
from evohyper.engine.runner import build_search


def _config(task, strategy="cmaes", **budget):
    return validate({"name": "t", "seed": 3, "task": task, "strategy": {"name": strategy, "popsize": 16},
                     "budget": budget or {"generations": 6}, "output": {"tensorboard": False, "progress": False}})


def test_nonfinite_fitness_is_worst_counted_and_never_best():
    search = build_search(_config({"name": "test-nan", "dim": 4}, strategy="random"), None)
    # random search samples x0 uniformly in [-1, 1]: plenty of NaN and inf
    result = search.run()
    assert search.counters.nonfinite > 0
    assert sum(r.nonfinite for r in search.history) == search.counters.nonfinite
    assert math.isfinite(result.best_fitness)
    best = search.strategy.best_genotype
    assert -0.8 <= float(best[0]) <= 0.8          # a NaN/inf individual was never chosen as best
    assert result.best_fitness == pytest.approx(-float((best ** 2).sum()), rel=1e-5)


def test_strict_task_exception_stops_with_the_task_named():
    search = build_search(_config({"name": "test-raise"}, strategy="random"), None)
    with pytest.raises(TaskError, match="test-raise.*simulator exploded"):
        search.run()


def test_lenient_task_exception_scores_only_failing_individuals_worst():
    cfg = _config({"name": "test-raise"}, strategy="random")
    cfg.evaluation.on_error = "lenient"
    search = build_search(cfg, None)
    genotypes = search.strategy.ask()
    result = search.backend.evaluate(genotypes, seed=0)
    failing = genotypes[:, 0] > 0.5
    assert failing.any() and (~failing).any()
    assert torch.isnan(result.fitness[failing]).all()
    torch.testing.assert_close(result.fitness[~failing], -(genotypes[~failing].double() ** 2).sum(1))
    assert result.errors == int(failing.sum())


def test_wrong_shape_names_task_and_expected_shape():
    search = build_search(_config({"name": "test-shape"}, strategy="random"), None)
    with pytest.raises(TaskShapeError, match=r"'test-shape'.*\(17,\).*expected \[16\] or \[16, k\]"):
        search.run()


@pytest.mark.parametrize("budget,expect", [({"generations": 7}, 7), ({"evaluations": 50}, 4),
                                           ({"target_fitness": 1.0, "generations": 500}, None)])
def test_budget_stops_at_first_limit(budget, expect):
    search = build_search(_config({"name": "sphere", "dim": 3}, **budget), None)
    result = search.run()
    if expect is not None:
        assert result.generations == expect
    else:   # sphere is minimised: the target is reached, well before 500 generations
        assert result.best_fitness <= 1.0 and result.generations < 500
        assert "target" in result.stop_reason


def test_budget_requires_a_limit():
    with pytest.raises(ValueError, match="at least one"):
        Budget()


def test_in_process_resume_is_bit_identical(tmp_path):
    from evohyper.engine.checkpoint import load_latest
    from evohyper.engine.observers import Checkpointer
    cfg = _config({"name": "sphere", "dim": 8}, generations=12)
    full = build_search(cfg, None)
    full.run()

    first = build_search(cfg, None)
    first.observers.append(Checkpointer(tmp_path, every=1))
    for _ in range(5):
        first.step()
    state, _ = load_latest(tmp_path)
    resumed = build_search(cfg, None)
    resumed.load_state_dict(state)
    resumed.run()
    assert same_state(full.strategy.state_dict(), resumed.strategy.state_dict())
    assert torch.equal(full.strategy.best_genotype, resumed.strategy.best_genotype)
    assert full.best_fitness == resumed.best_fitness
    assert torch.equal(full.strategy.ask(), resumed.strategy.ask())   # RNG states agree too


def test_target_metric_stops_after_the_first_generation_above_it_and_survives_resume(tmp_path):
    """``budget.target_metric``: stop after the first generation whose metrics.csv column is above the value
    (the study's "stop at the first solver", for a fitness with no fixed maximum such as the double pole's
    damping fitness); a resumed run that had reached it stays stopped."""
    from evohyper.engine.checkpoint import load_latest
    from evohyper.engine.observers import Checkpointer

    # cma stops at once on a step this small (tolx), so a restart follows within a few generations
    cfg = validate({"name": "t", "seed": 3, "task": {"name": "sphere", "dim": 3},
                    "strategy": {"name": "cmaes", "popsize": 16, "sigma0": 1e-13, "restarts": 3},
                    "budget": {"generations": 500, "target_metric": {"name": "restarts", "above": 0}},
                    "output": {"tensorboard": False, "progress": False}})
    search = build_search(cfg, None)
    search.observers.append(Checkpointer(tmp_path, every=1))
    result = search.run()
    restarts = [r.metrics["restarts"] for r in search.history]
    assert restarts[-1] > 0 and all(v == 0 for v in restarts[:-1]) and result.generations < 500
    assert result.stop_reason == f"target metric restarts above 0 reached ({restarts[-1]:g})"
    state, _ = load_latest(tmp_path)
    resumed = build_search(cfg, None)
    resumed.load_state_dict(state)
    assert resumed.run().generations == result.generations          # nothing more to do


def test_target_metric_is_checked_and_an_unknown_column_stops_with_one_line():
    from evohyper.config import ConfigError

    with pytest.raises(ValueError, match=r"target_metric must be \{name: <a metrics.csv column>, above: <number>\}"):
        Budget(generations=3, target_metric={"name": "solved_mean"})
    with pytest.raises(ValueError, match="target_metric must be"):
        Budget(generations=3, target_metric={"name": "", "above": 0.5})
    assert Budget(target_metric={"name": "x", "above": 0}).target_metric == {"name": "x", "above": 0.0}
    from evohyper.config.budget import unbounded_warning

    assert "only target_metric (x > 0): the run stops only if" in unbounded_warning(
        Budget(target_metric={"name": "x", "above": 0}))
    assert unbounded_warning(Budget(generations=3, target_metric={"name": "x", "above": 0})) is None
    search = build_search(_config({"name": "test-metrics", "dim": 3}, generations=5,
                                  target_metric={"name": "solved_mean", "above": 0}), None)
    with pytest.raises(ConfigError, match=r"^budget.target_metric.name: 'solved_mean'; allowed: one of this run's "
                                          r"metrics.csv columns: alpha_mean, alpha_of_best, mid_mean"):
        search.run()
