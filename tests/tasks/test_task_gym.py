"""The gym task: conforms to the task contract, matches gymnasium environments stepped one by one,
is chunk invariant, rejects bad options, reports observation statistics per individual (merged
exactly: two halves give the state of the whole, bit for bit), and replays its episodes."""
import importlib.util

import numpy as np
import pytest
import torch

gymnasium = pytest.importorskip("gymnasium")

from evohyper.api import registry  # noqa: E402
from evohyper.api.evaluation_state import merge_evaluation_state  # noqa: E402
from evohyper.config import ComponentsSpec  # noqa: E402
from evohyper.config.options import ConfigError, check_block  # noqa: E402
from evohyper.decoders.direct import DirectDecoder  # noqa: E402
from evohyper.engine.evaluation import Evaluator  # noqa: E402
from evohyper.testing import TaskContract  # noqa: E402
from evohyper_tasks.gym import GymTask  # noqa: E402
from evohyper_tasks.gym_observation_stats import STATS_KEYS, normalizer  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")
needs_mujoco = pytest.mark.skipif(importlib.util.find_spec("mujoco") is None, reason="needs gymnasium[mujoco]")
needs_box2d = pytest.mark.skipif(importlib.util.find_spec("Box2D") is None, reason="needs gymnasium[box2d]")


def population(task, n, seed=0, network=None, scale=1.0):
    decoder = DirectDecoder(task.target(network or {}))
    g = torch.Generator().manual_seed(seed)
    return decoder.decode(scale * torch.randn(n, decoder.genome_size, generator=g))


def fixed_stats(task, seed=0):
    """Made-up but plausible observation statistics (as the engine would set after a merge)."""
    g = torch.Generator().manual_seed(seed)
    count = torch.tensor(500.0, dtype=torch.float64)
    mean = torch.randn(task.obs_dim, generator=g, dtype=torch.float64)
    var = 0.5 + torch.rand(task.obs_dim, generator=g, dtype=torch.float64)
    return {"obs_count": count, "obs_sum": mean * count, "obs_sumsq": (var + mean * mean) * count}


# ----------------------------------------------------------------------------- contract
class TestGymPendulumContract(TaskContract):
    def make_task(self):
        return GymTask(env="Pendulum-v1", episodes=2, max_steps=60)


class TestGymCartPoleContract(TaskContract):
    network = {"hidden": []}
    population = 10
    genotype_scale = 1.0

    def make_task(self):
        return GymTask(env="CartPole-v1", episodes=3, max_steps=200)


class TestGymNormalizedTanhContract(TaskContract):
    """With observation normalisation, the engine loads the merged stats before each generation: given
    those, evaluate is a pure function of (phenotypes, seed)."""

    def make_task(self):
        return GymTask(env="Pendulum-v1", episodes=2, max_steps=40, action_mapping="tanh",
                       observation_normalization=True, decrease_rewards_by=1.0)

    def evaluate(self, task, phenotypes, seed=None):
        task.load_evaluation_state(fixed_stats(task))
        return super().evaluate(task, phenotypes, seed)


@needs_mujoco
class TestGymHalfCheetahContract(TaskContract):
    population = 4

    def make_task(self):
        return GymTask(env="HalfCheetah-v5", max_steps=25)


# ----------------------------------------------------------------------------- exactness
def replay(task, phenotypes, seed, norm=None):
    """Each individual-episode on its own freshly made gymnasium environment (default wrappers,
    TimeLimit at max_steps), stepped one by one in plain Python. Returns returns, lengths and the
    observations the policies were given."""
    P, seeds = len(phenotypes), task.episode_seeds(seed)
    space = gymnasium.make(task.env_id, **task.env_kwargs).action_space
    returns, lengths, seen = np.zeros((P, task.episodes)), np.zeros((P, task.episodes), dtype=int), []
    for p in range(P):
        policy = phenotypes.select([p])
        for e, episode_seed in enumerate(seeds):
            env = gymnasium.make(task.env_id, max_episode_steps=task.max_steps, **task.env_kwargs)
            obs, _ = env.reset(seed=episode_seed)
            done = False
            while not done:
                x = torch.as_tensor(np.asarray(obs, dtype=np.float64).reshape(-1))
                seen.append(x)
                if norm is not None:
                    x = (x - norm[0]) / norm[1]
                out = policy.forward(x.to(torch.float32).view(1, 1, -1))[0, 0].numpy()
                if isinstance(space, gymnasium.spaces.Discrete):
                    action = int(np.argmax(out)) + int(space.start)
                else:
                    low, high = space.low.astype(np.float64), space.high.astype(np.float64)
                    a = out.astype(np.float64)
                    if task.action_mapping == "tanh":
                        a = low + (np.tanh(a) + 1.0) * 0.5 * (high - low)
                    action = np.clip(a, low, high).astype(space.dtype)
                obs, reward, terminated, truncated, _ = env.step(action)
                returns[p, e] += reward - task.decrease_rewards_by
                lengths[p, e] += 1
                done = terminated or truncated
            env.close()
    return returns, lengths, torch.stack(seen)


EXACT_CASES = [
    pytest.param(dict(env="CartPole-v1", episodes=3, max_steps=150), 6, id="cartpole"),
    pytest.param(dict(env="Pendulum-v1", episodes=2, max_steps=70, action_mapping="tanh",
                      decrease_rewards_by=0.5), 4, id="pendulum-tanh"),
    pytest.param(dict(env="MountainCarContinuous-v0", episodes=2, max_steps=50), 3, id="mountaincar-clip"),
    pytest.param(dict(env="LunarLander-v3", episodes=2, max_steps=300), 4, id="lunarlander-terminates",
                 marks=needs_box2d),
    pytest.param(dict(env="HalfCheetah-v5", episodes=2, max_steps=80), 3, id="halfcheetah",
                 marks=needs_mujoco),
    pytest.param(dict(env="Hopper-v5", episodes=2, max_steps=150), 4, id="hopper-terminates",
                 marks=needs_mujoco),
]


@pytest.mark.parametrize(("options", "P"), EXACT_CASES)
def test_batched_evaluation_equals_single_environments(options, P):
    task = GymTask(**options)
    ph = population(task, P, seed=1)
    result = task.evaluate(ph, seed=7)
    returns, lengths, _ = replay(task, ph, seed=7)
    np.testing.assert_allclose(result.fitness.numpy(), returns, rtol=1e-6, atol=1e-9)
    ep_len = torch.as_tensor(lengths, dtype=torch.float64)
    assert torch.equal(result.metrics["env_steps"], ep_len.sum(1))
    assert torch.equal(result.metrics["episode_length"], ep_len.mean(1))
    assert result.sample_forwards == int(lengths.sum())
    if options["env"] in ("CartPole-v1", "Hopper-v5", "LunarLander-v3"):
        assert len(set(lengths.ravel().tolist())) > 1, "the case should mix episode lengths"


@pytest.mark.parametrize("options", [dict(env="Pendulum-v1", max_steps=30),
                                     dict(env="CartPole-v1", max_steps=100)])  # episodes end early
def test_observation_normalization_matches_single_environments(options):
    """The stats rows = exactly the observations each policy was given (finished episodes add
    nothing); with their merge loaded the next call normalises as a replay with the same mean/std."""
    task = GymTask(episodes=2, observation_normalization=True, **options)
    assert task.current_normalizer() is None  # nothing loaded yet: identity
    ph = population(task, 3, seed=2)
    first = task.evaluate(ph, seed=1)
    _, lengths, seen = replay(task, ph, seed=1)
    rows = first.state
    assert sorted(rows) == sorted(STATS_KEYS) and rows["obs_sum"].shape == (3, task.obs_dim)
    assert rows["obs_count"].tolist() == lengths.sum(1).tolist()
    stats = merge_evaluation_state(None, rows)
    assert float(stats["obs_count"]) == len(seen) == first.sample_forwards == first.env_steps
    torch.testing.assert_close(stats["obs_sum"], seen.sum(0), rtol=1e-12, atol=1e-9)
    torch.testing.assert_close(stats["obs_sumsq"], (seen * seen).sum(0), rtol=1e-12, atol=1e-9)
    task.load_evaluation_state(stats)
    norm = task.current_normalizer()
    torch.testing.assert_close(norm[0], seen.mean(0), rtol=1e-12, atol=1e-12)
    second = task.evaluate(ph, seed=2)
    returns, lengths, _ = replay(task, ph, seed=2, norm=norm)
    if task.env_id == "CartPole-v1":
        assert len(set(lengths.ravel().tolist())) > 1 and lengths.max() < 100
    np.testing.assert_allclose(second.fitness.numpy(), returns, rtol=1e-6, atol=1e-9)


# ----------------------------------------------------------------------------- chunk invariance, caching
@pytest.mark.parametrize("options", [
    dict(env="CartPole-v1", episodes=2),
    dict(env="Pendulum-v1", episodes=3, max_steps=50),
    pytest.param(dict(env="HalfCheetah-v5", episodes=2, max_steps=60), marks=needs_mujoco),
])
def test_halves_give_the_same_fitness_bit_for_bit(options):
    task = GymTask(**options)
    ph = population(task, 8, seed=3)
    whole = task.evaluate(ph, seed=11)
    halves = [task.evaluate(ph.select(slice(0, 4)), seed=11), task.evaluate(ph.select(slice(4, 8)), seed=11)]
    assert torch.equal(torch.cat([h.fitness for h in halves]), whole.fitness)
    for name in whole.metrics:
        assert torch.equal(torch.cat([h.metrics[name] for h in halves]), whole.metrics[name])
    assert whole.sample_forwards == sum(h.sample_forwards for h in halves)


def test_cached_environments_are_reused_and_grown():
    task = GymTask(env="Pendulum-v1", episodes=2, max_steps=20)
    small, big = population(task, 2, seed=4), population(task, 5, seed=5)
    task.evaluate(small, seed=0)
    first = list(task._envs)
    assert len(first) == 4
    after = task.evaluate(big, seed=9)  # grows the pool, keeps the old copies
    assert len(task._envs) == 10 and task._envs[:4] == first
    assert torch.equal(after.fitness, GymTask(env="Pendulum-v1", episodes=2, max_steps=20).evaluate(big, 9).fitness)
    task.close()
    assert task._envs == []


def test_episode_seeds_come_from_the_seed_only():
    task = GymTask(env="Pendulum-v1", episodes=4)
    torch.manual_seed(0)
    a = task.episode_seeds(5)
    torch.manual_seed(1)
    assert a == task.episode_seeds(5) and a != task.episode_seeds(6) and len(set(a)) == 4
    ph = population(task, 1)
    different = task.evaluate(ph, seed=5).fitness[0]
    assert len(set(different.tolist())) == 4  # the E episodes really start differently


def test_defaults_and_target():
    task = GymTask(env="CartPole-v1")
    assert (task.episodes, task.max_steps, task.obs_dim, task.act_dim) == (1, 500, 4, 2)  # registered limit
    assert task.target({}).sizes == [4, 16, 2]
    assert GymTask(env="Pendulum-v1", max_steps=3000).max_steps == 3000  # beyond the registered 200
    assert GymTask(env="Pendulum-v1").target({"hidden": [8, 8]}).sizes == [3, 8, 8, 1]
    result = GymTask(env="Pendulum-v1", max_steps=250).evaluate(population(GymTask(), 2), seed=0)
    assert result.metrics["episode_length"].tolist() == [250.0, 250.0]  # no TimeLimit at 200


def test_decrease_rewards_by_shifts_every_step():
    ph = population(GymTask(env="CartPole-v1"), 4, seed=6)
    plain = GymTask(env="CartPole-v1", episodes=2).evaluate(ph, seed=3)
    shifted = GymTask(env="CartPole-v1", episodes=2, decrease_rewards_by=1.0).evaluate(ph, seed=3)
    assert torch.equal(plain.fitness.mean(1), plain.metrics["episode_length"])  # CartPole pays 1 per step
    assert torch.equal(shifted.fitness, torch.zeros_like(plain.fitness))


# ----------------------------------------------------------------------------- observation statistics
def test_state_rows_of_two_halves_are_the_rows_of_the_whole():
    """Two evaluators (actors) scoring one half each return the very rows one evaluator returns for
    everything, so the engine's exact merge is the same on 1 or 2 actors (and in any order); with the
    merge loaded, the next generation is chunk invariant again."""
    opts = dict(env="Pendulum-v1", episodes=3, max_steps=40, observation_normalization=True)
    task = GymTask(**opts)
    ph = population(task, 6, seed=8)
    whole = task.evaluate(ph, seed=1)
    halves = [task.evaluate(ph.select(slice(0, 3)), seed=1), task.evaluate(ph.select(slice(3, 6)), seed=1)]
    for key in STATS_KEYS:
        assert torch.equal(torch.cat([h.state[key] for h in halves]), whole.state[key])
    merged = merge_evaluation_state(None, whole.state)
    order = torch.randperm(6, generator=torch.Generator().manual_seed(0))
    shuffled = merge_evaluation_state(None, {k: v[order] for k, v in whole.state.items()})
    assert all(torch.equal(merged[k], shuffled[k]) for k in STATS_KEYS)
    task.load_evaluation_state(merged)
    again = task.evaluate(ph, seed=2)
    parts = [GymTask(**opts), GymTask(**opts)]
    for part in parts:
        part.load_evaluation_state(merged)
    split = [parts[0].evaluate(ph.select(slice(0, 3)), seed=2), parts[1].evaluate(ph.select(slice(3, 6)), seed=2)]
    assert torch.equal(torch.cat([p.fitness for p in split]), again.fitness)


def test_normalizer_helper():
    assert normalizer(None) is None
    assert normalizer({"obs_count": torch.tensor(0.0), "obs_sum": torch.zeros(2), "obs_sumsq": torch.zeros(2)}) is None
    x = torch.tensor([[1.0, 5.0], [3.0, 5.0]], dtype=torch.float64)
    mean, std = normalizer({"obs_count": torch.tensor(2.0, dtype=torch.float64), "obs_sum": x.sum(0),
                            "obs_sumsq": (x * x).sum(0)})
    assert mean.tolist() == [2.0, 5.0]
    assert std.tolist() == [1.0, 0.1]  # constant input: the variance floor 1e-2


@pytest.mark.parametrize(("stats", "match"), [
    ({"obs_count": 1.0, "obs_sum": [0.0] * 3}, "keys"),
    ({"obs_count": 1.0, "obs_sum": [0.0] * 2, "obs_sumsq": [0.0] * 2}, r"\[3\]"),
    ({"obs_count": -1.0, "obs_sum": [0.0] * 3, "obs_sumsq": [0.0] * 3}, "obs_count >= 0"),
    ({"obs_count": 1.0, "obs_sum": [float("nan")] * 3, "obs_sumsq": [0.0] * 3}, "finite"),
])
def test_bad_observation_stats_are_rejected(stats, match):
    task = GymTask(env="Pendulum-v1", observation_normalization=True)
    with pytest.raises(ValueError, match=match):
        task.load_evaluation_state(stats)


def test_state_needs_the_option():
    task = GymTask(env="Pendulum-v1", max_steps=5)
    task.load_evaluation_state(None)  # nothing learned: fine
    with pytest.raises(ValueError, match="observation_normalization"):
        task.load_evaluation_state(fixed_stats(task))
    assert task.current_normalizer() is None
    assert task.evaluate(population(task, 2), seed=0).state == {}


# ----------------------------------------------------------------------------- replay
@pytest.mark.parametrize("options", [
    dict(env="CartPole-v1", episodes=3, max_steps=120),
    dict(env="Pendulum-v1", episodes=2, max_steps=50, observation_normalization=True, action_mapping="tanh",
         decrease_rewards_by=0.5),
    pytest.param(dict(env="Hopper-v5", episodes=2, max_steps=100, observation_normalization=True),
                 marks=needs_mujoco),
])
def test_replay_reproduces_the_evaluated_returns_exactly(options):
    """Replaying an individual on one real environment (gymnasium's TimeLimit, the same seeds) gives the
    returns evaluate() recorded for it in a population, bit for bit; more episodes extend the seeds."""
    task = GymTask(**options)
    ph = population(task, 4, seed=9)
    if task.observation_normalization:
        task.load_evaluation_state(fixed_stats(task))
    scored = task.evaluate(ph, seed=5)
    for p in (0, 3):
        played = task.replay(ph.select([p]), seed=5, episodes=task.episodes + 2)
        assert played.returns[:task.episodes] == scored.fitness[p].tolist()
        assert played.seeds[:task.episodes] == task.episode_seeds(5)
        assert len(played.returns) == len(played.lengths) == task.episodes + 2 and played.frames == []
        assert sum(played.lengths[:task.episodes]) == int(scored.metrics["env_steps"][p])


def test_replay_starts_every_episode_of_a_recurrent_policy_at_rest():
    """A stateful (Elman) policy: evaluate() starts each episode at rest, so must replay (episodes 2 and 3
    would otherwise inherit the hidden state the previous one left)."""
    task = GymTask(env="Pendulum-v1", episodes=3, max_steps=40)
    ph = population(task, 2, seed=3, network={"hidden": [4], "recurrent": True})
    assert ph.stateful
    scored = task.evaluate(ph, seed=5)
    played = task.replay(ph.select([1]), seed=5, episodes=3)
    assert played.returns == scored.fitness[1].tolist()


def test_replay_renders_the_first_episode():
    task = GymTask(env="CartPole-v1", max_steps=7)
    played = task.replay(population(task, 1), seed=0, episodes=2, render=True)
    assert len(played.frames) == played.lengths[0] + 1 and played.frames[0].ndim == 3 and played.fps == 50


def test_episode_seeds_extend_as_a_prefix():
    task = GymTask(env="Pendulum-v1", episodes=3)
    assert task.episode_seeds(4, 10)[:3] == task.episode_seeds(4) and len(set(task.episode_seeds(4, 10))) == 10


# ----------------------------------------------------------------------------- bad options
class UnboundedActions(gymnasium.Env):
    observation_space = gymnasium.spaces.Box(-1.0, 1.0, (2,))
    action_space = gymnasium.spaces.Box(-np.inf, np.inf, (1,))

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, dtype=np.float32), {}

    def step(self, action):
        return np.zeros(2, dtype=np.float32), float(action[0]), False, False, {}


gymnasium.register("EvohyperTestUnbounded-v0", entry_point=UnboundedActions)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"env": "NoSuchEnv-v0"}, r"^task\.env: 'NoSuchEnv-v0' cannot be made: NameNotFound: Environment `NoSuchEnv` "
                              r"doesn't exist; an environment"),
    ({"env": "CartPole-v9"}, r"^task\.env: 'CartPole-v9' cannot be made: VersionNotFound: .*`v1`"),
    ({"env": 3}, r"^task\.env: 3; allowed: a registered gymnasium environment id such as 'Pendulum-v1'$"),
    ({"env": "Blackjack-v1"}, r"^task\.env: 'Blackjack-v1' has observation space Tuple\(.*; allowed: an environment "
                              r"with a Box observation space and a Discrete or Box action space$"),
    ({"env": "FrozenLake-v1"}, r"^task\.env: 'FrozenLake-v1' has observation space Discrete\(16\) and action space "
                               r"Discrete\(4\); allowed: an environment with a Box observation space"),
    ({"episodes": 0}, r"^task\.episodes: 0; allowed: an integer in \[1, 1000\]$"),
    ({"max_steps": 0}, r"^task\.max_steps: 0; allowed: an integer in \[1, 1000000\]$"),
    ({"max_steps": 2.5}, r"^task\.max_steps: 2\.5; allowed: an integer in \[1, 1000000\]$"),
    ({"action_mapping": "squash"}, r"^task\.action_mapping: 'squash'; allowed: one of 'clip', 'tanh'$"),
    ({"env": "EvohyperTestUnbounded-v0", "action_mapping": "tanh"},
     r"^task\.action_mapping: 'tanh'; allowed: 'clip' \('tanh' needs finite action bounds; 'EvohyperTestUnbounded-v0'"),
    ({"decrease_rewards_by": float("nan")},
     r"^task\.decrease_rewards_by: nan; allowed: a finite number in \[-1e\+06, 1e\+06\]$"),
    ({"observation_normalization": "yes"}, r"^task\.observation_normalization: 'yes'; allowed: true or false$"),
    ({"env_kwargs": {"no_such_argument": 1}},
     r"^task\.env_kwargs: \{'no_such_argument': 1\} does not fit 'Pendulum-v1': .*unexpected keyword argument"),
    ({"env_kwargs": [1]}, r"^task\.env_kwargs: \[1\]; allowed: a mapping of keyword arguments for gymnasium\.make$"),
])
def test_bad_options_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GymTask(**kwargs)


def test_unbounded_actions_clip_is_identity():
    task = GymTask(env="EvohyperTestUnbounded-v0", max_steps=3)
    ph = population(task, 2, seed=0, network={"hidden": []})
    expected = 3 * ph.tensors["b0"][:, 0].double()  # zero observations: the output is the bias
    torch.testing.assert_close(task.evaluate(ph, seed=0).fitness[:, 0], expected)


def test_env_kwargs_reach_the_environment():
    task = GymTask(env="Pendulum-v1", env_kwargs={"g": 0.0}, max_steps=5)
    assert task.environments(1)[0].unwrapped.g == 0.0


def test_config_validator_reads_the_options():
    ok = {"name": "gym", "env": "Pendulum-v1", "env_kwargs": {"g": 9.0}, "max_steps": None,
          "action_mapping": "tanh", "observation_normalization": True, "decrease_rewards_by": 1}
    check_block("task", ok, GymTask, extra=("name",))
    for key, value in [("env_kwargs", [1]), ("action_mapping", "squash"), ("max_steps", "long"),
                       ("observation_normalization", 1)]:
        with pytest.raises(ConfigError, match=f"task.{key}"):
            check_block("task", {**ok, key: value}, GymTask, extra=("name",))


def test_runs_through_the_evaluator(monkeypatch):
    registry.tasks.names()  # load the entry points first, then add `gym` for this test only
    monkeypatch.setitem(registry.tasks._entries, "gym", GymTask)
    evaluator = Evaluator(ComponentsSpec(task={"name": "gym", "env": "CartPole-v1", "episodes": 2},
                                         decoder={"name": "direct"}, network={"hidden": [4]}))
    genotypes = torch.randn(6, evaluator.decoder.genome_size, generator=torch.Generator().manual_seed(0))
    result = evaluator.evaluate(genotypes, seed=3)
    assert result.fitness.shape == (6,) and result.errors == 0
    assert result.sample_forwards == int(2 * result.metrics["episode_length"].sum())
    chunks = [evaluator.evaluate(genotypes[:2], seed=3), evaluator.evaluate(genotypes[2:], seed=3)]
    assert torch.equal(torch.cat([c.fitness for c in chunks]), result.fitness)
