"""The double-pole task: scoring, Gruau's damping fitness and generalisation test, options, contract, a run."""
import math

import pytest
import torch

from evohyper.api.phenotypes import MLPSpec
from evohyper.api.recurrent import ElmanSpec
from evohyper.config import apply_overrides, load_raw, validate
from evohyper.engine.runner import build_search, new_run_dir
from evohyper.testing import TaskContract
from evohyper_tasks.double_pole import (
    DAMPING_STEPS,
    OBS_SCALE,
    DoublePoleTask,
    damping_fitness,
    generalisation_grid,
)
from evohyper_tasks.double_pole_env import BatchedPoles

# The LQR gains of test_double_pole_env (u = -K y in raw state units), as linear policies on scaled inputs.
LQR = {2: (0.169744, 0.360224, 6.709539, 1.776059, -4.88328, -0.43549),
       1: (-0.278148, -0.515047, -4.388268, -1.157538)}


def linear_policies(rows, poles=2):
    """``MLPSpec([D, 1])`` identity-output policies; each row = gains on the raw state (u = -K y)."""
    scale = torch.tensor(OBS_SCALE[:2] + OBS_SCALE[2:] * poles, dtype=torch.float64)
    k = torch.as_tensor(rows, dtype=torch.float64).reshape(-1, 2 + 2 * poles)
    w = (-k * scale).to(torch.float32).unsqueeze(-1)                   # obs = y / scale
    spec = MLPSpec([2 + 2 * poles, 1], output_activation="identity")
    return spec.build({"w0": w, "b0": torch.zeros(len(k), 1)})


def test_grid_has_gruaus_625_start_states():
    grid = generalisation_grid(2)
    assert grid.shape == (625, 6) and grid.dtype == torch.float64
    deg = math.pi / 180
    expected = [(2.16, [-1.944, -1.08, 0.0, 1.08, 1.944]), (1.35, [-1.215, -0.675, 0.0, 0.675, 1.215]),
                (3.6 * deg, None), (8.6 * deg, None)]
    for col, (half, values) in enumerate(expected):
        got = sorted(set(grid[:, col].tolist()))
        want = values or [half * f for f in (-0.9, -0.5, 0.0, 0.5, 0.9)]
        assert got == pytest.approx(want, abs=1e-12)
        assert all((grid[:, col] == v).sum() == 125 for v in got)   # a full 5^4 product
    assert bool((grid[:, 4:] == 0).all())
    assert len({tuple(r) for r in grid.tolist()}) == 625
    assert generalisation_grid(1).shape == (625, 4)


def test_lqr_controller_solves_the_markovian_double_pole():
    task = DoublePoleTask()
    result = task.evaluate(linear_policies([LQR[2], [0.0] * 6]), seed=0)
    assert result.fitness.shape == (2, 1) and result.fitness[0, 0] == 100_000
    assert result.fitness[1, 0] < 50                                       # zero push falls at once
    assert result.metrics["solved"].tolist() == [1.0, 0.0]
    assert result.metrics["balanced_steps"].tolist() == result.fitness[:, 0].tolist()
    # one forward per live step, the failing step included
    assert result.sample_forwards == result.env_steps == 100_000 + int(result.fitness[1, 0]) + 1


def test_single_pole_variant_and_its_12_degree_failure():
    task = DoublePoleTask(poles=1, max_steps=5000)
    assert task.target({}).sizes == [4, 5, 1]
    result = task.evaluate(linear_policies([LQR[1], [0.0] * 4], poles=1), seed=0)
    assert result.fitness[:, 0].tolist()[0] == 5000 and result.metrics["solved"].tolist() == [1.0, 0.0]
    env = BatchedPoles(1)
    env.reset(torch.tensor([[0.0, 0.0, math.radians(11.9), 0.5]], dtype=torch.float64))
    env.step(torch.zeros(1))
    assert env.failed.item()                                             # past 12 degrees: fails
    env2 = BatchedPoles(2)
    env2.reset(torch.tensor([[0.0, 0.0, math.radians(11.9), 0.5, 0.0, 0.0]], dtype=torch.float64))
    env2.step(torch.zeros(1))
    assert not env2.failed.item()                                        # the double pole allows 36


def test_generalisation_counts_of_known_policies():
    """Pushing nothing balances exactly the 5 grid starts that are equilibria (x_dot = theta = theta_dot = 0,
    the grid's middle value; only x varies): 5 of 625, not 0. A constant push balances none."""
    task = DoublePoleTask()
    push = linear_policies([[0.0] * 6])
    push.tensors["b0"].fill_(1.0)
    counts = task.generalisation(linear_policies([[0.0] * 6, LQR[2]]))
    assert counts.shape == (2,) and counts[0] == 5
    assert task.generalisation(push).tolist() == [0.0]
    assert 5 < counts[1] <= 625
    # the count is the number of grid starts balanced for 1,000 steps: check one start by hand
    grid = generalisation_grid(2)
    env = BatchedPoles(2, max_steps=1000)
    state = env.reset(grid)
    k = torch.tensor(LQR[2], dtype=torch.float64)
    while env.live:
        state = env.step(-(state @ k))
    assert abs(int((env.balanced == 1000).sum()) - counts[1].item()) <= 3   # float32 policy vs float64 here


def test_damping_fitness_against_a_hand_computation():
    """A short controlled trajectory: the env's last-100 sum and the fitness, recomputed from the states."""
    env = BatchedPoles(2, max_steps=150, jiggle=True)
    state = env.reset(torch.tensor([[0.3, 0.1, 0.05, 0.0, 0.0, 0.0]], dtype=torch.float64))
    k = torch.tensor(LQR[2], dtype=torch.float64)
    terms = []
    while env.live:
        state = env.step(-(state @ k))
        s = state[0].tolist()
        terms.append(abs(s[0]) + abs(s[1]) + abs(s[2]) + abs(s[3]))
    assert len(terms) == 150 and env.balanced.item() == 150
    jiggle = sum(terms[-100:])
    assert env.jiggle_sum().item() == pytest.approx(jiggle, rel=1e-12)
    f = damping_fitness(env.balanced, env.jiggle_sum()).item()
    assert f == pytest.approx(0.1 * 150 / 1000 + 0.9 * 0.75 / jiggle, rel=1e-12)
    # fewer than 100 balanced steps: only the time term
    assert damping_fitness(torch.tensor([99]), torch.tensor([0.5])).item() == pytest.approx(0.1 * 99 / 1000)
    assert damping_fitness(torch.tensor([100]), torch.tensor([3.0])).item() == pytest.approx(0.01 + 0.9 * 0.25)


def test_damping_evaluation_tests_only_the_1000_step_individuals():
    task = DoublePoleTask(velocities=True, fitness="damping", solve_steps=3000)
    result = task.evaluate(linear_policies([LQR[2], [0.0] * 6]), seed=0)
    gen = result.metrics["generalisation"]
    assert result.metrics["balanced_steps"].tolist()[0] == DAMPING_STEPS
    assert math.isnan(gen[1].item()) and result.metrics["solved"][1] == 0
    assert gen[0].item() == task.generalisation(linear_policies([LQR[2]])).item()
    assert result.metrics["solved"][0].item() == float(gen[0].item() >= 200)
    assert result.fitness[0, 0].item() > 0.1                             # lasted 1,000 steps, plus damping
    # the extra tests are counted: 1,000 + 3,000 + the grid's live steps, plus the zero policy's few
    assert result.env_steps > DAMPING_STEPS + 3000 + 625 * 10


def finite_difference_elman(s=0.1):
    """A hand-made Elman controller for the double pole without velocities: hidden units 0-2 hold s x the
    three inputs, units 3-5 their change since the last step (s (o_t - o_{t-1}), through the recurrent
    weights), the output applies the LQR gains to the positions and the estimated velocities."""
    k, scale = LQR[2], (4.8, 0.52, 0.52)
    w0, u0, w1 = torch.zeros(3, 6), torch.zeros(6, 6), torch.zeros(6, 1)
    for i in range(3):
        w0[i, i] = w0[i, 3 + i] = s
        u0[i, 3 + i] = -1.0
        w1[i, 0] = -k[2 * i] * scale[i] / s
        w1[3 + i, 0] = -k[2 * i + 1] * scale[i] / (0.02 * s)
    spec = ElmanSpec([3, 6, 1], output_activation="identity")
    return spec.build({"w0": w0[None], "u0": u0[None], "b0": torch.zeros(1, 6), "w1": w1[None],
                       "b1": torch.zeros(1, 1)})


def test_a_recurrent_controller_solves_the_non_markovian_damping_benchmark():
    """``solved`` = 1 is reachable without velocities: the finite-difference Elman controller lasts the
    1,000-step damping episode, the solve test and more than 200 of the 625 generalisation starts."""
    task = DoublePoleTask(velocities=False, fitness="damping", solve_steps=5000)
    result = task.evaluate(finite_difference_elman(), seed=0)
    assert result.metrics["balanced_steps"].tolist() == [1000.0]
    assert result.metrics["solved"].tolist() == [1.0]
    assert 200 <= result.metrics["generalisation"].item() <= 625
    assert result.fitness[0, 0] > 1.0                       # a steady cart: 0.9 x 0.75 / J with J small


def test_random_starts_are_common_random_numbers_and_standard_is_deterministic():
    task = DoublePoleTask(start="random", episodes=4, max_steps=100)
    assert task.stochastic and not DoublePoleTask().stochastic
    a = task.initial_states(3)
    assert torch.equal(a, task.initial_states(3)) and not torch.equal(a, task.initial_states(4))
    assert a.shape == (4, 6) and bool((a[:, 0].abs() <= 2.16).all()) and bool((a[:, 4:] == 0).all())
    std = DoublePoleTask(start_angle=1.0).initial_states(0)
    assert std.tolist() == [[0.0, 0.0, math.radians(1.0), 0.0, 0.0, 0.0]]
    assert DoublePoleTask().initial_states(0)[0, 2].item() == 0.07


def test_observations_are_scaled_as_the_sources_scale_them():
    state = torch.tensor([[4.8, 2.0, 0.52, 2.0, 0.26, 1.0]], dtype=torch.float64)
    assert DoublePoleTask().observe(state, torch.float64).tolist() == [[1.0, 1.0, 1.0, 1.0, 0.5, 0.5]]
    assert DoublePoleTask(velocities=False).observe(state, torch.float64).tolist() == [[1.0, 1.0, 0.5]]
    assert DoublePoleTask(velocities=False).target({"recurrent": True}).sizes == [3, 5, 1]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"poles": 3}, r"^task\.poles: 3; allowed: one of 1, 2$"),
    ({"velocities": "yes"}, r"^task\.velocities: 'yes'; allowed: true or false$"),
    ({"fitness": "return"}, r"^task\.fitness: 'return'; allowed: one of 'steps', 'damping'$"),
    ({"start": "uniform"}, r"^task\.start: 'uniform'; allowed: one of 'standard', 'random'$"),
    ({"max_steps": 0}, r"^task\.max_steps: 0; allowed: an integer in \[1, 1000000\]$"),
    ({"episodes": 0}, r"^task\.episodes: 0; allowed: an integer in \[1, 1000\]$"),
    ({"fitness": "damping", "max_steps": 500}, r"^task\.max_steps: 500; allowed: the default with fitness: damping"),
    ({"start_angle": 50}, r"^task\.start_angle: 50; allowed: a finite number in \[-30, 30\] or null$"),
])
def test_bad_options_are_one_line_naming_the_key(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DoublePoleTask(**kwargs)


class TestDoublePoleMarkovianContract(TaskContract):
    genotype_scale = 1.0

    def make_task(self):
        return DoublePoleTask(max_steps=300)


class TestDoublePoleRandomStartContract(TaskContract):
    network = {"hidden": []}

    def make_task(self):
        return DoublePoleTask(max_steps=200, start="random", episodes=3)


class TestDoublePoleDampingRecurrentContract(TaskContract):
    network = {"hidden": [3], "recurrent": True}
    population = 6

    def make_task(self):
        return DoublePoleTask(velocities=False, fitness="damping", solve_steps=300)


class TestSinglePoleContract(TaskContract):
    def make_task(self):
        return DoublePoleTask(poles=1, max_steps=300)


def test_cmaes_run_improves_over_its_first_generation(tmp_path):
    raw = apply_overrides(load_raw("search_spaces/double_pole_cmaes.yaml"), [
        "task.max_steps=2000", "budget.generations=8", "budget.target_fitness=2000", "output.progress=false",
        f"output.runs_dir={tmp_path}", "output.checkpoint_every=100", "strategy.popsize=12"])
    config = validate(raw)
    search = build_search(config, new_run_dir(config))
    result = search.run()
    first = search.history[0].best
    assert result.best_fitness > first, (first, result.best_fitness)


def test_the_torch_path_scores_as_the_cpu_kernel(monkeypatch):
    """Other devices (and a machine without numba) use the torch path: the same scores and metrics."""
    import evohyper_tasks.double_pole_env as env_module
    from evohyper.decoders.direct import DirectDecoder

    task = DoublePoleTask(velocities=False, fitness="damping", solve_steps=1500)
    spec = task.target({"hidden": [4], "recurrent": True})
    g = torch.Generator().manual_seed(3)
    ph = DirectDecoder(spec).decode(torch.randn(6, spec.num_params, generator=g))
    kernel = task.evaluate(ph, seed=0)
    monkeypatch.setattr(env_module, "numba", None)
    torch_path = task.evaluate(ph, seed=0)
    assert torch.allclose(kernel.fitness, torch_path.fitness, rtol=1e-6)
    for name, value in kernel.metrics.items():
        assert torch.allclose(value, torch_path.metrics[name], equal_nan=True), name
    assert kernel.env_steps == torch_path.env_steps


def test_only_individuals_that_hold_the_long_run_take_the_625_start_test(monkeypatch):
    """Solved needs both tests; the 625 starts (625,000 steps a network) are run only for the individuals that
    balanced the long run, so a 1,000-step survivor that falls later costs its long run only and reports no
    generalisation score (NaN), while solved is what running both would give."""
    slow_drift = list(LQR[2])
    slow_drift[1] *= 0.1                       # lasts 1,114 steps from the standard start, then the cart runs off
    task = DoublePoleTask(velocities=True, fitness="damping", solve_steps=3000)
    sizes = []
    original = task._generalisation
    monkeypatch.setattr(task, "_generalisation", lambda ph: (sizes.append(len(ph)), original(ph))[1])
    result = task.evaluate(linear_policies([LQR[2], slow_drift, [0.0] * 6]), seed=0)
    assert result.metrics["balanced_steps"].tolist()[:2] == [DAMPING_STEPS, DAMPING_STEPS]
    assert sizes == [1]                        # the LQR policy only
    gen, solved = result.metrics["generalisation"], result.metrics["solved"]
    assert not math.isnan(gen[0].item()) and math.isnan(gen[1].item()) and math.isnan(gen[2].item())
    assert solved.tolist() == [float(gen[0].item() >= 200), 0.0, 0.0]
