"""IPOP restarts of the cmaes strategy: off by default bit for bit, the same samples as ``cma.fmin``'s restart
loop, the population grown by the factor, the count capped, and checkpoints that resume across a restart."""
import cma
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evohyper.api.checks import OptionError
from evohyper.engine.checkpoint import load_state, save_state
from evohyper.strategies import CMAES
from evohyper.strategies import cmaes as cmaes_module


def sphere(x: torch.Tensor) -> torch.Tensor:
    return -((x.double() - 0.5) ** 2).sum(1)


def plateaus(x: torch.Tensor) -> torch.Tensor:
    """A coarse staircase around 0.5 (like whole steps balanced): every run ends on its flat top."""
    return -torch.floor(2 * ((x.double() - 0.5) ** 2).sum(1))


def flat(x: torch.Tensor) -> torch.Tensor:
    return torch.zeros(len(x), dtype=torch.float64)


def run(s: CMAES, generations: int, fitness=sphere) -> list[torch.Tensor]:
    asked = []
    for _ in range(generations):
        x = s.ask()
        asked.append(x.clone())
        s.tell(fitness(x))
    return asked


def cma_options(rs: np.random.RandomState, **extra) -> dict:
    """The options the strategy gives cma (its docstring: our randn, cma's seeding and output off)."""
    return {"seed": np.nan, "randn": rs.randn, "verbose": -9, "verb_log": 0, "verb_disp": 0,
            "CMA_diagonal": False, "CMA_active": True, **extra}


@pytest.mark.parametrize("options", [{}, {"restarts": 0}, {"restarts": 3, "restart_popsize_factor": 1.5}])
def test_without_a_stop_asks_are_plain_cmas(options):
    """No restart yet (a sphere for 40 generations): every ask is a plain cma ask/tell loop's, bit for bit,
    so restarts: 0 (or restarts not yet due, their stop() checks included) changes nothing."""
    s, rs = CMAES(6, 7, **options), np.random.RandomState(7)
    es = cma.CMAEvolutionStrategy(6 * [0.0], 0.5, cma_options(rs))
    for x in run(s, 40):
        points = es.ask()
        assert torch.equal(x, torch.from_numpy(np.asarray(points, dtype=np.float32)))
        es.tell(points, (-sphere(x)).tolist())
    assert s.restarts_done == 0 and s.popsize == es.popsize


def test_restarts_ask_what_cma_fmin_asks():
    """An explicit popsize: the same samples, restart for restart, as pycma's own IPOP loop (``fmin``)."""
    seen = []

    def loss(x):
        seen.append(np.asarray(x, dtype=np.float32))
        return -float(plateaus(torch.from_numpy(np.asarray(x, dtype=np.float32))[None])[0])

    rs = np.random.RandomState(11)
    result = cma.fmin(loss, 3 * [0.0], 0.5, cma_options(rs, popsize=6, eval_final_mean=False), restarts=3,
                      incpopsize=2)
    assert len(result[-2].all_stoppings) == 5   # fmin really restarted 3 times (entry 0 is None)
    s = CMAES(3, 11, popsize=6, restarts=3)
    ours = []
    while len(ours) < len(seen):
        x = s.ask()
        ours.extend(x.numpy())
        s.tell(plateaus(x))
    assert s.restarts_done == 3 and s.popsize == 48
    assert all(np.array_equal(a, b) for a, b in zip(seen, ours))


def test_flat_fitness_doubles_the_popsize_until_restarts_are_spent():
    s = CMAES(5, 0, restarts=3)
    before = np.random.get_state()[1].copy()
    sizes, counts = [], []
    for _ in range(12):
        x = s.ask()
        sizes.append(len(x))
        counts.append(s.restarts_done)
        if s.es.countiter == 0:
            assert np.array_equal(s.center().numpy(), np.zeros(5, np.float32))   # a fresh run at x0
        s.tell(flat(x))
    assert sizes == [8, 16, 32] + 9 * [64] and counts == [0, 1, 2] + 9 * [3]
    assert s.popsize == 64 == s.es.popsize and s.es.countiter == 9
    assert s.es.stop()                          # cma would stop the last run, and it goes on
    assert s.metrics() == {"restarts": 3.0} and CMAES(5, 0).metrics() == {}
    assert np.array_equal(before, np.random.get_state()[1])   # all runs sample from our stream


@pytest.mark.parametrize("factor, sizes", [(1, [8, 8, 8, 8, 8]), (1.5, [8, 12, 18, 27, 27]),
                                           (2.0, [8, 16, 20, 20, 20])])
def test_popsize_grows_by_the_factor_up_to_the_cap(monkeypatch, factor, sizes):
    monkeypatch.setattr(cmaes_module, "MAX_POPSIZE", 20 if factor == 2.0 else cmaes_module.MAX_POPSIZE)
    s = CMAES(5, 0, restarts=3 if factor == 1.5 else 4, restart_popsize_factor=factor)
    assert [len(x) for x in run(s, 5, flat)] == sizes
    assert s.restarts_done == (3 if factor == 1.5 else 4)


def lucky_first_generation(s: CMAES):
    """A sphere on which each run's first generation holds one lucky outlier (+10) that the run never beats:
    the later values creep, so cma's own criteria stay quiet while the run's best stands still."""
    def fitness(x: torch.Tensor) -> torch.Tensor:
        f = sphere(x)
        if s.es.countiter == 0:
            f[0] = 10.0
        return f
    return fitness


@pytest.mark.parametrize("stall", [1, 4, 9])
def test_a_stalled_best_restarts_after_restart_stall_generations(stall):
    s = CMAES(6, 5, popsize=8, restarts=2, restart_stall=stall)
    sizes, stops = [], []
    fitness = lucky_first_generation(s)
    for _ in range(3 * (stall + 1) + 4):
        stops.append(set(s.es.stop()) - cmaes_module.NO_RESTART)
        x = s.ask()
        sizes.append(len(x))
        s.tell(fitness(x))
    # the best is set by generation 0 and not raised by the next ``stall``: the ask after them restarts
    assert sizes == (stall + 1) * [8] + (stall + 1) * [16] + (stall + 5) * [32]
    assert s.restarts_done == 2 and not any(stops)   # cma never asked for a restart: the stall rule did
    assert CMAES(6, 5, popsize=8, restarts=2).popsize == 8


def test_a_rising_best_never_stalls_and_asks_stay_plain_cmas():
    """The best rises every generation (fitness = the generation number): restart_stall 1 never fires, and every
    ask is a plain cma loop's (bookkeeping draws nothing)."""
    s, rs = CMAES(6, 7, restarts=3, restart_stall=1), np.random.RandomState(7)
    es = cma.CMAEvolutionStrategy(6 * [0.0], 0.5, cma_options(rs))
    for g in range(40):
        x, points = s.ask(), es.ask()
        assert torch.equal(x, torch.from_numpy(np.asarray(points, dtype=np.float32)))
        f = torch.full((len(x),), float(g), dtype=torch.float64) + sphere(x) * 1e-3
        s.tell(f)
        es.tell(points, (-f).tolist())
    assert s.restarts_done == 0


def test_restarts_are_independent_of_global_rngs():
    def noisy_run(disturb: bool) -> list[torch.Tensor]:
        s, asked = CMAES(4, 3, restarts=2), []
        for g in range(30):
            asked.append(s.ask().clone())
            s.tell(plateaus(asked[-1]))
            if disturb:
                np.random.seed(g)
                np.random.rand()
        assert s.restarts_done == 2
        return asked

    assert all(torch.equal(a, b) for a, b in zip(noisy_run(False), noisy_run(True)))


def resume(s: CMAES, path, **options) -> CMAES:
    """Through the checkpoint file format into a fresh strategy, which must not replay."""
    save_state({"strategy": s.state_dict()}, path)
    fresh = CMAES(s.genome_size, s.seed, **options)

    def no_replay(*args, **kwargs):
        raise AssertionError("load_state_dict replayed ask/tell")

    fresh._ask, fresh._tell = no_replay, no_replay
    fresh.load_state_dict(load_state(path)["strategy"])
    del fresh._ask, fresh._tell
    return fresh


def assert_same_future(a: CMAES, b: CMAES, generations: int, fitness=plateaus) -> None:
    for _ in range(generations):
        x, y = a.ask(), b.ask()
        assert torch.equal(x, y) and a.restarts_done == b.restarts_done and a.popsize == b.popsize
        a.tell(fitness(x))
        b.tell(fitness(y))


@pytest.mark.parametrize("after", ["stop", "restart"])
def test_checkpoint_at_a_restart_resumes_bit_identically(after, tmp_path):
    """Saved after the tell that made cma stop (the restart is due) or after the restarted run's first
    generation: the loaded strategy restarts (again) exactly when and as the original does."""
    options = {"restarts": 3, "popsize": 6}
    s, generations = CMAES(3, 11, **options), 0
    while s.restarts_done == 0:
        run(s, 1, plateaus)
        generations += 1
    if after == "stop":   # the same run again, one generation shorter: stopped at its last tell
        s = CMAES(3, 11, **options)
        run(s, generations - 1, plateaus)
        assert s.es.stop() and s.restarts_done == 0
    else:
        assert s.es.countiter == 1 and s.popsize == 12
    resumed = resume(s, tmp_path / "c.pt", **options)
    assert resumed.restarts_done == s.restarts_done and resumed.popsize == s.popsize
    assert resumed.best_fitness == s.best_fitness
    assert_same_future(s, resumed, 40)
    assert s.restarts_done == 3


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31 - 1), restarts=st.integers(0, 3), k=st.integers(0, 30),
       factor=st.sampled_from([1, 1.5, 2.0]), dim=st.integers(2, 4), stall=st.sampled_from([0, 2, 5]))
def test_round_trip_property(seed, restarts, k, factor, dim, stall, tmp_path):
    """Any point of a run, restarts and stall windows included (the plateaus stall runs often)."""
    options = {"restarts": restarts, "restart_popsize_factor": factor, "popsize": 6,
               "restart_stall": stall if restarts else 0}
    s = CMAES(dim, seed, **options)
    run(s, k, plateaus)
    resumed = resume(s, tmp_path / "p.pt", **options)
    again = save_state({"strategy": resumed.state_dict()}, tmp_path / "again.pt")
    assert again.read_bytes() == (tmp_path / "p.pt").read_bytes()
    assert_same_future(s, resumed, 12)


@pytest.mark.parametrize("key, value, allowed", [
    ("restarts", -1, "an integer in [0, 1000]"), ("restarts", 1.5, "an integer in [0, 1000]"),
    ("restarts", True, "an integer in [0, 1000]"), ("restarts", None, "an integer in [0, 1000]"),
    ("restarts", 10**12, "an integer in [0, 1000]"),
    ("restart_popsize_factor", 0.5, "a finite number in [1, 100000]"),
    ("restart_popsize_factor", float("nan"), "a finite number in [1, 100000]"),
    ("restart_popsize_factor", "2", "a finite number in [1, 100000]"),
    ("restart_stall", -1, "an integer in [0, 1000000]"), ("restart_stall", 2.5, "an integer in [0, 1000000]"),
    ("restart_stall", 10**7, "an integer in [0, 1000000]"),
])
def test_bad_options_are_refused_in_one_line(key, value, allowed):
    with pytest.raises(OptionError) as info:
        CMAES(5, 0, **{key: value})
    assert str(info.value) == f"strategy.{key}: {value!r}; allowed: {allowed}"


def test_restart_stall_without_restarts_is_refused():
    with pytest.raises(OptionError) as info:
        CMAES(5, 0, restart_stall=30)
    assert str(info.value) == "strategy.restart_stall: 30; allowed: 0 while restarts is 0 (a stall starts a restart)"
