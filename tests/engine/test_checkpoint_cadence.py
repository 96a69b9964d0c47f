"""Issue 21: checkpoints of constant size on a time-based cadence, and ``budget.seconds`` = wall-clock
including observers, summed over resumes. Fake clocks, no sleeps."""
import engine_tasks  # noqa: F401  (registers the test tasks)
import pytest

from evohyper.config import validate
from evohyper.engine.checkpoint import list_checkpoints, save_state
from evohyper.engine.observers import checkpointer as checkpointer_module
from evohyper.engine.observers.checkpointer import Checkpointer
from evohyper.engine.observers.csv_log import CsvLogger
from evohyper.engine.runner import build_search


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class SlowObserver:
    """An observer that takes ``seconds`` of (fake) wall-clock every generation."""

    def __init__(self, clock, seconds):
        self.clock, self.seconds = clock, seconds

    def on_start(self, search):
        pass

    def on_generation(self, search, record):
        self.clock.now += self.seconds

    def on_end(self, search, result):
        pass


def _config(strategy="snes", **budget):
    return validate({"name": "t", "seed": 3, "task": {"name": "sphere", "dim": 4},
                     "strategy": {"name": strategy, "popsize": 8}, "budget": budget,
                     "output": {"tensorboard": False, "progress": False}})


def _search(clock, budget, observers=()):
    search = build_search(_config(**budget), None)
    search.clock = clock
    search.observers.extend(observers)
    return search


def test_budget_seconds_counts_the_observers_time():
    clock = FakeClock()
    search = _search(clock, {"seconds": 25, "generations": 50}, [SlowObserver(clock, 10.0)])
    result = search.run()
    assert result.generations == 3 and result.stop_reason == "seconds budget (25) spent"
    assert search.counters.seconds == pytest.approx(30.0)
    assert [r.seconds for r in search.history] == pytest.approx([0.0, 10.0, 20.0])


def test_budget_seconds_continue_from_the_checkpoint(tmp_path):
    clock = FakeClock()
    first = _search(clock, {"generations": 2}, [SlowObserver(clock, 10.0)])
    first.run()
    state = first.state_dict()
    assert state["counters"]["seconds"] == pytest.approx(20.0)
    clock.now = 1000.0      # a resume much later: the pause between the two processes is not counted
    resumed = _search(clock, {"generations": 4}, [SlowObserver(clock, 10.0)])
    resumed.load_state_dict(state)
    resumed.run()
    assert resumed.counters.seconds == pytest.approx(40.0)
    assert [r.seconds for r in resumed.history] == pytest.approx([20.0, 30.0])


def test_search_checkpoint_holds_no_history_and_keeps_its_size(tmp_path):
    search = _search(FakeClock(), {"generations": 5})
    search.run()
    state = search.state_dict()
    assert "history" not in state and "history" not in state["strategy"]
    small = save_state(state, tmp_path / "a.pt").stat().st_size
    longer = _search(FakeClock(), {"generations": 60})
    longer.run()
    large = save_state(longer.state_dict(), tmp_path / "b.pt").stat().st_size
    assert large <= small * 1.05 + 256, (small, large)


def test_gradient_state_holds_no_history():
    from evohyper.strategies import GradientStrategy

    assert "history" not in GradientStrategy(4, 0).state_dict()


class _FakeSearch:
    def __init__(self):
        from evohyper.config.budget import Counters

        self.counters = Counters()

    def state_dict(self):
        return {"generation": self.counters.generation}


def _drive(cp, clock, generations, step=1.0):
    search = _FakeSearch()
    cp.on_start(search)
    for g in range(1, generations + 1):
        clock.now += step
        search.counters.generation = g
        cp.on_generation(search, type("R", (), {"generation": g})())
    cp.on_end(search, None)


def _record_saves(monkeypatch) -> list[int]:
    """The generations the checkpointer saves, in order (the files are still written)."""
    saved: list[int] = []
    real = checkpointer_module.save_state
    monkeypatch.setattr(checkpointer_module, "save_state",
                        lambda state, path: (saved.append(state["generation"]), real(state, path))[1])
    return saved


def test_default_cadence_is_time_based_plus_the_final_checkpoint(tmp_path, monkeypatch):
    clock, saved = FakeClock(), _record_saves(monkeypatch)
    _drive(Checkpointer(tmp_path, seconds=30.0, keep=100, clock=clock), clock, 100)
    assert saved == [30, 60, 90, 100]
    assert [p.name for p in list_checkpoints(tmp_path)][0] == "checkpoint-000100.pt"


def test_slow_saves_stretch_the_interval_to_fifty_times_their_duration(tmp_path, monkeypatch):
    clock = FakeClock()
    saved = []

    def slow_save(state, path):        # every save takes 2 s: 50 x 2 = 100 s between checkpoints
        saved.append(state["generation"])
        clock.now += 2.0
        return path

    monkeypatch.setattr(checkpointer_module, "save_state", slow_save)
    monkeypatch.setattr(checkpointer_module, "prune", lambda directory, keep: None)
    _drive(Checkpointer(tmp_path, seconds=30.0, clock=clock), clock, 300)
    assert saved[0] == 30
    gaps = [b - a for a, b in zip(saved, saved[1:])]
    assert all(gap >= 98 for gap in gaps[:-1]), saved   # generations of 1 s each (plus the 2 s saves)
    assert saved[-1] == 300
    # the time spent saving stays below 2% of the run
    assert 2.0 * len(saved) <= 0.02 * clock.now + 2.0


def test_checkpoint_every_k_generations_stays_an_explicit_option(tmp_path, monkeypatch):
    clock, saved = FakeClock(), _record_saves(monkeypatch)
    _drive(Checkpointer(tmp_path, every=4, keep=100, clock=clock), clock, 10)
    assert saved == [4, 8, 10]


def test_the_final_checkpoint_holds_the_final_counters(tmp_path):
    """Written at the end of the run: its seconds include the last generation's observers, as the result's do."""
    from evohyper.engine.checkpoint import load_latest

    clock = FakeClock()
    search = _search(clock, {"generations": 3}, [SlowObserver(clock, 10.0)])
    search.observers.insert(0, Checkpointer(tmp_path, every=1, clock=clock))
    result = search.run()
    state, path = load_latest(tmp_path)
    assert path.name == "checkpoint-000003.pt" and state["counters"]["seconds"] == result.counters.seconds == 30.0


def test_every_generation_is_written_once(tmp_path, monkeypatch):
    saved = []
    real = checkpointer_module.save_state
    monkeypatch.setattr(checkpointer_module, "save_state",
                        lambda state, path: (saved.append(state["counters"]["generation"]), real(state, path))[1])
    clock = FakeClock()
    search = _search(clock, {"generations": 3}, [SlowObserver(clock, 1.0)])   # observers take time
    search.observers.append(Checkpointer(tmp_path, every=1))
    search.run()
    assert saved == [1, 2, 3]


def test_output_config_defaults_to_the_time_based_cadence():
    out = _config(generations=1).output
    assert out.checkpoint_every is None and out.checkpoint_seconds > 0
    for bad in ({"checkpoint_seconds": 0}, {"checkpoint_seconds": float("nan")}, {"checkpoint_every": 0}):
        with pytest.raises(Exception, match=next(iter(bad))):
            validate({"name": "t", "task": {"name": "sphere"}, "strategy": {"name": "snes"},
                      "budget": {"generations": 1}, "output": bad})


def _csv(tmp_path, generations, resume_at=None):
    search = _search(FakeClock(), {"generations": generations})
    log = CsvLogger(tmp_path / "metrics.csv")
    search.observers.append(log)
    if resume_at is not None:
        first = _search(FakeClock(), {"generations": resume_at})
        first.run()
        search.load_state_dict(first.state_dict())
    search.run()
    return (tmp_path / "metrics.csv").read_bytes()


def test_resumed_metrics_csv_is_truncated_to_the_checkpoint_and_identical(tmp_path):
    whole = _csv(tmp_path / "a", 8) if (tmp_path / "a").mkdir() is None else None
    (tmp_path / "b").mkdir()
    path = tmp_path / "b" / "metrics.csv"
    lines = whole.splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:8]) + lines[8][:5])     # rows 1..7 and a torn row 8 (killed mid-write)
    resumed = _csv(tmp_path / "b", 8, resume_at=5)
    assert resumed == whole


def test_metrics_csv_of_a_fresh_run_starts_empty(tmp_path):
    (tmp_path / "metrics.csv").write_text("old contents\n")
    assert _csv(tmp_path, 3).count(b"\n") == 4     # header + 3 rows
