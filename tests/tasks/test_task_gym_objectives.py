"""The gym task's two objectives (issue 23): ``objectives: [return, action_cost]`` returns ``[P, E, 2]``
whose per-episode values equal a one-environment loop, declares its objectives and a reference point a
config can override, leaves the default single-objective task bit-identical, and refuses what it cannot do."""
import math

import gymnasium
import numpy as np
import pytest
import torch

from evohyper.api.checks import OptionError
from evohyper.decoders.direct import DirectDecoder
from evohyper.testing import TaskContract
from evohyper_tasks import gym_objectives
from evohyper_tasks.gym import GymTask

pytestmark = pytest.mark.usefixtures("one_torch_thread")
BOTH = ["return", "action_cost"]


def population(task, n, seed=0, scale=1.0):
    decoder = DirectDecoder(task.target({"hidden": [4]}))
    g = torch.Generator().manual_seed(seed)
    return decoder.decode(scale * torch.randn(n, decoder.genome_size, generator=g))


class TestGymPendulumObjectivesContract(TaskContract):
    network = {"hidden": [4]}
    population = 5

    def make_task(self):
        return GymTask(env="Pendulum-v1", episodes=2, max_steps=25, objectives=BOTH)


def test_shapes_declarations_and_the_default_reference_point():
    task = GymTask(env="Pendulum-v1", episodes=3, max_steps=40, objectives=BOTH)
    assert [(o.name, o.maximize) for o in task.objective_space()] == [("return", True), ("action_cost", False)]
    worst_step = -(math.pi ** 2 + 0.1 * 64 + 0.001 * 4)          # Pendulum's largest angle, speed and torque
    assert task.reference_point() == pytest.approx((40 * worst_step, 2.0))
    result = task.evaluate(population(task, 6), seed=1)
    assert result.fitness.shape == (6, 3, 2) and result.fitness.dtype == torch.float64
    cost = result.fitness[..., 1]
    assert ((cost >= 0) & (cost <= 2.0)).all()          # clipped into [-2, 2]
    assert (result.fitness[..., 0] >= task.reference_point()[0]).all()   # never below the worst return


def test_each_episode_equals_a_one_environment_loop():
    task = GymTask(env="Pendulum-v1", episodes=2, max_steps=60, objectives=BOTH, action_mapping="tanh")
    ph = population(task, 3, seed=2, scale=2.0)
    got = task.evaluate(ph, seed=5).fitness
    env = gymnasium.make("Pendulum-v1", max_episode_steps=60)
    for i in range(3):
        policy = ph.select([i])
        for e, episode_seed in enumerate(task.episode_seeds(5)):
            obs, _ = env.reset(seed=episode_seed)
            total, magnitude, steps, done = 0.0, 0.0, 0, False
            while not done:
                action = task.actions(task.policy_outputs(policy, np.asarray(obs, np.float64).reshape(1, -1),
                                                          None, episodes=1))[0]
                magnitude += float(np.abs(action.astype(np.float64)).mean())
                obs, reward, terminated, truncated, _ = env.step(action)
                total += float(reward)
                steps += 1
                done = terminated or truncated
            assert got[i, e, 0].item() == total
            assert got[i, e, 1].item() == pytest.approx(magnitude / steps, rel=1e-12)
    env.close()


def test_without_objectives_the_task_is_unchanged_bit_for_bit():
    plain = GymTask(env="Pendulum-v1", episodes=2, max_steps=30)
    two = GymTask(env="Pendulum-v1", episodes=2, max_steps=30, objectives=BOTH)
    ph = population(plain, 4, seed=3)
    a, b = plain.evaluate(ph, seed=0), two.evaluate(ph, seed=0)
    assert plain.objective_space() == () and plain.reference_point() is None and a.fitness.shape == (4, 2)
    assert torch.equal(a.fitness, b.fitness[..., 0]) and a.metrics.keys() == b.metrics.keys()
    # the return alone as a declared objective: one column
    one = GymTask(env="Pendulum-v1", episodes=2, max_steps=30, objectives=["return"])
    assert torch.equal(one.evaluate(ph, seed=0).fitness[..., 0], a.fitness)


def test_the_reference_point_can_be_overridden_and_is_none_where_unknown(monkeypatch):
    task = GymTask(env="Pendulum-v1", max_steps=30, objectives=BOTH, reference_point=[-500, 1.5])
    assert task.reference_point() == (-500.0, 1.5)
    monkeypatch.delitem(gym_objectives.WORST_STEP_REWARD, "Pendulum-v1")
    assert GymTask(env="Pendulum-v1", max_steps=30, objectives=BOTH).reference_point() is None


@pytest.mark.parametrize("options, match", [
    ({"env": "CartPole-v1", "objectives": BOTH},
     r"^task.objectives: \['return', 'action_cost'\]: 'action_cost' needs continuous \(Box\) actions; "
     r"'CartPole-v1' has discrete actions$"),
    ({"objectives": ["action_cost"]}, r"^task.objectives: \['action_cost'\]; allowed: a list of distinct names"),
    ({"objectives": ["return", "energy"]}, r"^task.objectives: \['return', 'energy'\]; allowed"),
    ({"objectives": BOTH, "reference_point": [0.0]}, r"^task.reference_point: \[0.0\]; allowed: 2 finite numbers"),
    ({"reference_point": [0.0]}, r"^task.reference_point: \[0.0\]; allowed: null without objectives"),
])
def test_refusals_are_one_line_naming_the_key(options, match):
    with pytest.raises(OptionError, match=match):
        GymTask(**{"env": "Pendulum-v1", **options})


def test_a_config_with_the_two_objective_gym_task_and_nsga2_builds():
    from evohyper.config import validate
    cfg = validate({"name": "mo", "task": {"name": "gym", "env": "Pendulum-v1", "max_steps": 20,
                                           "objectives": BOTH},
                    "network": {"hidden": [4]}, "decoder": {"name": "direct"},
                    "strategy": {"name": "nsga2", "popsize": 8}, "budget": {"generations": 1},
                    "backend": {"name": "local"}})
    components = cfg.components()
    assert components.strategy.metrics() == {"hypervolume": 0.0, "front_size": 0.0}
