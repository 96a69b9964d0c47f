"""State learned during evaluation (observation normalisation): exact, order-free merge; the search
carries it to every evaluator, into checkpoints and into the best export; the budget counts env steps."""
import json
import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from evohyper import EvalResult, Task, VectorSpec
from evohyper.api.evaluation_state import merge_evaluation_state
from evohyper.config import ComponentsSpec, validate
from evohyper.config.build import Components
from evohyper.decoders.direct import DirectDecoder
from evohyper.engine.checkpoint import load_state, save_state
from evohyper.engine.evaluation import Evaluator
from evohyper.engine.runner import build_search, run
from evohyper.engine.search import generation_seed

pytestmark = pytest.mark.usefixtures("one_torch_thread")

finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)


# ----------------------------------------------------------------------------- the merge
@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(finite, min_size=3, max_size=3), min_size=1, max_size=40), st.randoms(use_true_random=False))
def test_merge_is_exact_whatever_the_order_and_split(values, rnd):
    """The merged sum is the correctly rounded exact sum (Fractions), so any order of the rows, any
    split into chunks merged one after another... is the same float: 1 vs N actors are bit-identical."""
    rows = torch.tensor(values, dtype=torch.float64)
    whole = merge_evaluation_state(None, {"s": rows})["s"]
    exact = [float(sum(Fraction(v) for v in col)) for col in zip(*values)]
    assert whole.tolist() == exact
    order = list(range(len(values)))
    rnd.shuffle(order)
    assert torch.equal(merge_evaluation_state(None, {"s": rows[order]})["s"], whole)
    earlier = torch.tensor([[1e12, -3.0, 0.1]], dtype=torch.float64)
    total = merge_evaluation_state(None, {"s": earlier})
    expect = [math.fsum([a, *col]) for a, col in zip(earlier[0].tolist(), zip(*values))]
    assert merge_evaluation_state(total, {"s": rows[order]})["s"].tolist() == expect


def test_merge_keeps_shapes_drops_non_finite_individuals_and_checks_names():
    rows = {"n": torch.tensor([1.0, 2.0, 4.0]), "m": torch.tensor([[1.0, 1.0], [float("nan"), 0.0], [2.0, 3.0]])}
    merged = merge_evaluation_state(None, rows)
    assert merged["n"].shape == () and float(merged["n"]) == 5.0      # individual 1 (NaN row) left out
    assert merged["m"].tolist() == [3.0, 4.0] and merged["m"].dtype == torch.float64
    assert merge_evaluation_state(merged, {}) is merged                # nothing learned: unchanged
    with pytest.raises(ValueError, match="differ"):
        merge_evaluation_state(merged, {"n": torch.ones(2)})
    with pytest.raises(ValueError, match="shape"):
        merge_evaluation_state(merged, {"n": torch.ones(2), "m": torch.ones(2, 3)})
    with pytest.raises(ValueError, match="population axis"):
        merge_evaluation_state(None, {"n": torch.ones(2), "m": torch.ones(3, 2)})


# ----------------------------------------------------------------------------- a task that learns
class DriftTask(Task):
    """Fitness -(x - mean of every x seen before)^2; learns the sums of the genotypes it scores."""

    def __init__(self, dim: int = 3, fail_above: float | None = None):
        self.dim, self.fail_above, self.loaded = dim, fail_above, []

    def target(self, network):
        return VectorSpec(self.dim)

    def load_evaluation_state(self, state):
        self.loaded.append(state)
        self.mean = torch.zeros(self.dim, dtype=torch.float64) if state is None else state["sum"] / state["count"]

    def evaluate(self, phenotypes, seed):
        x = phenotypes.x.double()
        if self.fail_above is not None and bool((x[:, 0] > self.fail_above).any()):
            raise RuntimeError("boom")
        f = -((x - self.mean) ** 2).sum(1)
        return EvalResult(f, state={"sum": x, "count": torch.ones(len(x), dtype=torch.float64)},
                          env_steps=10 * len(x))


@pytest.fixture
def drift(monkeypatch):
    from evohyper.api import registry
    registry.tasks.names()
    monkeypatch.setitem(registry.tasks._entries, "drift", DriftTask)


def _raw(**over):
    raw = {"name": "drift", "seed": 4, "task": {"name": "drift"}, "strategy": {"name": "snes", "popsize": 6},
           "budget": {"generations": 5}, "backend": {"name": "local"}}
    raw.update(over)
    return raw


def test_search_merges_and_hands_the_state_to_the_next_generation(drift):
    search = build_search(validate(_raw()), None)
    task = search.backend.evaluator.task
    seen = []
    original = task.evaluate
    task.evaluate = lambda ph, seed: seen.append(ph.x.double().clone()) or original(ph, seed)
    search.run()
    assert task.loaded[0] is None and len(task.loaded) == 5
    xs = torch.cat(seen)
    assert float(search.evaluation_state["count"]) == 30
    assert search.evaluation_state["sum"].tolist() == [math.fsum(c) for c in xs.T.tolist()]
    for g in range(1, 5):                 # generation g evaluated with the sums of generations < g
        assert float(task.loaded[g]["count"]) == 6 * g
    assert search.counters.env_steps == 300 and [r.env_steps for r in search.history] == [60, 120, 180, 240, 300]


def test_env_steps_budget_stops_the_search(drift):
    search = build_search(validate(_raw(budget={"env_steps": 150})), None)
    result = search.run()
    assert result.generations == 3 and "env_steps budget (150)" in result.stop_reason


def test_checkpoint_round_trip_resumes_the_state_exactly(drift, tmp_path):
    whole = build_search(validate(_raw(budget={"generations": 6})), None)
    whole.run()
    first = build_search(validate(_raw(budget={"generations": 3})), None)
    first.run()
    save_state(first.state_dict(), tmp_path / "c.pt")
    rest = build_search(validate(_raw(budget={"generations": 6})), None)
    rest.load_state_dict(load_state(tmp_path / "c.pt"))
    assert torch.equal(rest.evaluation_state["sum"], first.evaluation_state["sum"])
    rest.run()
    assert [r.best for r in first.history + rest.history] == [r.best for r in whole.history]
    for key in ("sum", "count"):
        assert torch.equal(rest.evaluation_state[key], whole.evaluation_state[key])
    assert rest.best_evaluation["seed"] == whole.best_evaluation["seed"]


def test_a_failing_individual_teaches_nothing_in_lenient_mode():
    task = DriftTask(dim=2, fail_above=0.5)
    decoder = DirectDecoder(task.target({}))
    spec = ComponentsSpec(task={"name": "drift"}, decoder={"name": "direct"}, on_error="lenient")
    evaluator = Evaluator(spec, components=Components(task, decoder, None, decoder.info(), True, False))
    x = torch.tensor([[0.1, 1.0], [0.9, 2.0], [0.2, 3.0]])
    result = evaluator.evaluate(x, seed=0, state={"sum": torch.ones(2, dtype=torch.float64),
                                                  "count": torch.tensor(2.0, dtype=torch.float64)})
    assert task.mean.tolist() == [0.5, 0.5]
    assert result.errors == 1 and math.isnan(result.fitness[1])
    assert result.state["count"].tolist() == [1.0, 0.0, 1.0]
    assert result.state["sum"][1].tolist() == [0.0, 0.0] and result.env_steps == 20


def test_best_export_carries_the_state_and_seed_it_was_scored_with(drift, tmp_path):
    result, run_dir = run(validate(_raw(output={"runs_dir": str(tmp_path), "tensorboard": False,
                                                "progress": False})))
    summary = json.loads((run_dir / "best" / "phenotype.json").read_text())
    evaluation = summary["evaluation"]
    assert evaluation["seed"] == generation_seed(4, evaluation["generation"] - 1)
    rows = [r for r in np.genfromtxt(run_dir / "metrics.csv", delimiter=",", names=True)]
    assert rows[evaluation["generation"] - 1]["best"] == summary["fitness"]
    state = torch.load(run_dir / "best" / evaluation["state"], weights_only=True)
    assert evaluation["generation"] > 1, "this seed's best should come after some state was learned"
    assert float(state["count"]) == 6 * (evaluation["generation"] - 1)
    genotype = torch.load(run_dir / "best" / "genotype.pt", weights_only=True)
    task = DriftTask()
    task.load_evaluation_state(state)
    assert float(task.evaluate(task.target({}).build({"x": genotype[None]}), 0).fitness[0]) == summary["fitness"]


def test_a_backend_without_the_state_argument_still_runs_stateless_tasks():
    """Backend wrappers written before issue 15 (``evaluate(genotypes, seed)``, e.g. recorders in
    experiments and tests) keep working: the search passes a state only once a task has learned one."""

    class OldStyle:
        def __init__(self, inner):
            self.inner, self.calls = inner, 0

        def evaluate(self, genotypes, seed):
            self.calls += 1
            return self.inner.evaluate(genotypes, seed)

        def close(self):
            self.inner.close()

    search = build_search(validate({**_raw(), "task": {"name": "sphere", "dim": 3}}), None)
    search.backend = OldStyle(search.backend)
    result = search.run()
    assert search.backend.calls == 5 and result.generations == 5 and search.evaluation_state is None
