"""Cart-pole: the batched environment matches gymnasium step for step; the task scores policies."""
import numpy as np
import pytest
import torch

from evohyper.api.phenotypes import MLPSpec
from evohyper_tasks.cartpole import CartPoleTask
from evohyper_tasks.cartpole_env import BatchedCartPole

gym = pytest.importorskip("gymnasium")


def linear_policies(weights, bias=None):
    """``MLPSpec([4, 1])`` policies: action = push right iff w . obs + b > 0."""
    w = torch.as_tensor(weights, dtype=torch.float32).reshape(-1, 4, 1)
    b = torch.zeros(w.shape[0], 1) if bias is None else torch.as_tensor(bias, dtype=torch.float32).reshape(-1, 1)
    return MLPSpec([4, 1]).build({"w0": w, "b0": b})


CONTROLLER = [0.0, 0.0, 1.0, 0.5]  # push toward the side the pole falls to: sign(theta + 0.5 theta_dot)


@pytest.mark.parametrize("episode_seed", [0, 1, 7, 42, 2024])
def test_step_for_step_against_gymnasium(episode_seed):
    env = gym.make("CartPole-v1")
    rng = np.random.default_rng(episode_seed)
    obs, _ = env.reset(seed=episode_seed)
    batched = BatchedCartPole(max_steps=500)
    bobs = batched.reset(torch.as_tensor(env.unwrapped.state, dtype=torch.float64).reshape(1, 4))
    assert bobs.dtype == torch.float32 and np.array_equal(bobs[0].numpy(), obs)
    for t in range(1, 501):
        action = int(rng.integers(2))
        obs, reward, terminated, truncated, _ = env.step(action)
        bobs, breward, bterminated = batched.step(torch.tensor([action]))
        np.testing.assert_allclose(bobs[0].numpy(), obs, rtol=0, atol=1e-6, err_msg=f"step {t}")
        assert breward.item() == reward
        assert bool(bterminated.item()) == terminated, f"termination differs at step {t}"
        assert bool(batched.done.item()) == (terminated or truncated)
        if terminated or truncated:
            break
    assert batched.lengths.item() == t
    env.close()


def test_policy_driven_episodes_match_gymnasium():
    """Several episodes under a (non-trivial) linear policy, run in one batch, vs. gymnasium one by one."""
    env = gym.make("CartPole-v1")
    w = np.array([0.3, -0.2, 1.0, 0.1])  # balances for a while, then drifts off the track
    starts, lengths = [], []
    for seed in range(4):
        obs, _ = env.reset(seed=seed)
        starts.append(env.unwrapped.state.copy())
        n = 0
        while True:
            obs, _, terminated, truncated, _ = env.step(int(obs @ w > 0))
            n += 1
            if terminated or truncated:
                break
        lengths.append(n)
    batched = BatchedCartPole()
    obs = batched.reset(torch.as_tensor(np.stack(starts)))
    while not bool(batched.done.all()):
        obs, _, _ = batched.step((obs.double() @ torch.as_tensor(w)) > 0)
    assert batched.lengths.tolist() == lengths
    env.close()


def test_done_environments_are_frozen():
    env = BatchedCartPole(max_steps=5)
    env.reset(torch.zeros(2, 4, dtype=torch.float64))
    rewards = [env.step(torch.tensor([True, False]))[1] for _ in range(8)]
    assert torch.stack(rewards).sum(0).tolist() == [5.0, 5.0]  # truncated at max_steps
    assert bool(env.truncated.all()) and not bool(env.terminated.any())
    frozen = env.state.clone()
    env.step(torch.tensor([True, True]))
    assert torch.equal(env.state, frozen)

    env = BatchedCartPole()
    env.reset(torch.zeros(2, 4, dtype=torch.float64))
    terminated_at = [None, None]
    for t in range(1, 30):  # a constant push topples the pole: terminated, not truncated
        _, reward, terminated = env.step(torch.tensor([True, False]))
        for i in range(2):
            if terminated[i]:
                assert terminated_at[i] is None and reward[i] == 1.0  # the terminating step is rewarded
                terminated_at[i] = t
    assert bool(env.terminated.all()) and not bool(env.truncated.any())
    assert env.lengths.tolist() == terminated_at


def test_zero_policy_fails_fast_and_controller_balances():
    task = CartPoleTask()
    result = task.evaluate(linear_policies([[0.0] * 4, CONTROLLER]), seed=0)
    assert result.fitness.shape == (2, 5)
    zero, good = result.fitness
    assert bool((zero < 20).all()), zero  # always pushes left
    assert bool((good == 500).all()), good
    assert result.metrics["return_min"].tolist() == [zero.min().item(), 500.0]
    assert result.sample_forwards == int(result.fitness.sum().item())


def test_controller_is_perfect_for_many_seeds():
    task = CartPoleTask(episodes=20)
    result = task.evaluate(linear_policies([CONTROLLER]), seed=11)
    assert bool((result.fitness == 500).all())


def test_max_steps_truncates():
    result = CartPoleTask(episodes=2, max_steps=37).evaluate(linear_policies([CONTROLLER]), seed=0)
    assert result.fitness.tolist() == [[37.0, 37.0]]
    assert result.sample_forwards == 74


def test_initial_states_are_common_random_numbers_from_the_seed():
    task = CartPoleTask(episodes=6)
    torch.manual_seed(0)
    a = task.initial_states(3)
    torch.manual_seed(1)
    assert torch.equal(a, task.initial_states(3))
    assert not torch.equal(a, task.initial_states(4))
    assert a.shape == (6, 4) and a.dtype == torch.float64
    assert bool((a.abs() <= 0.05).all())


def test_evaluate_is_chunk_invariant():
    task = CartPoleTask(episodes=4)
    g = torch.Generator().manual_seed(0)
    weights = torch.randn(9, 4, generator=g)
    weights[::3] = torch.tensor(CONTROLLER)  # a mix of good and random policies
    bias = 0.1 * torch.randn(9, generator=g)
    whole = task.evaluate(linear_policies(weights, bias), seed=5)
    parts = [task.evaluate(linear_policies(weights[i:i + 1], bias[i:i + 1]), seed=5) for i in range(9)]
    assert torch.equal(whole.fitness, torch.cat([p.fitness for p in parts]))
    assert whole.sample_forwards == sum(p.sample_forwards for p in parts)
    halves = [task.evaluate(linear_policies(weights[s], bias[s]), seed=5) for s in (slice(0, 4), slice(4, 9))]
    assert torch.equal(whole.fitness, torch.cat([h.fitness for h in halves]))


def test_hidden_layer_policy_and_network_block():
    task = CartPoleTask()
    assert task.target({}).sizes == [4, 8, 1]
    assert task.target({"hidden": []}).sizes == [4, 1]
    with pytest.raises(ValueError, match=r"^network\.outputs: unknown key; allowed keys: hidden, activation, "
                       r"output_activation, bias, recurrent$"):
        task.target({"outputs": 2})


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"episodes": 0}, r"^task\.episodes: 0; allowed: an integer in \[1, 1000\]$"),
    ({"max_steps": -1}, r"^task\.max_steps: -1; allowed: an integer in \[1, 1000000\]$"),
    ({"episodes": 2.5}, r"^task\.episodes: 2\.5; allowed: an integer in \[1, 1000\]$"),
])
def test_bad_options_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CartPoleTask(**kwargs)


def test_env_rejects_bad_shapes():
    env = BatchedCartPole()
    with pytest.raises(ValueError, match=r"\[\.\.\., 4\]"):
        env.reset(torch.zeros(3, 5))
    env.reset(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="actions"):
        env.step(torch.zeros(2, dtype=torch.bool))
