"""The gym task's fixed environment seed and behaviour descriptors (issue 23): ``env_seed`` starts every
episode of every call (and replay) from one reset seed and makes the task deterministic; LunarLander's
``impact_x``/``impact_y_velocity`` equal pyribs' lunar-lander tutorial loop run on gymnasium directly with
the tutorial's own policy (``argmax(model @ obs)``, model ``(4, 8)``) mapped onto our genome; MuJoCo's
``feet_contact``/``final_x`` equal a one-environment loop reading the contacts one by one; descriptors
are chunk invariant; bounds and refusals."""
import importlib.util

import numpy as np
import pytest
import torch

gymnasium = pytest.importorskip("gymnasium")

from evohyper.api.phenotypes import MLPSpec  # noqa: E402
from evohyper.api.task import Descriptor  # noqa: E402
from evohyper.config.options import ConfigError, check_block  # noqa: E402
from evohyper.decoders.direct import DirectDecoder  # noqa: E402
from evohyper.testing import TaskContract  # noqa: E402
from evohyper_tasks.gym import GymTask  # noqa: E402
from evohyper_tasks.gym_descriptors import DESCRIPTORS, FOOT_GEOMS  # noqa: E402

# pyribs' tutorial `simulate`, as the quality-diversity study runs it (gymnasium directly, default wrappers)
from experiments.quality_diversity_pyribs import simulate as tutorial_simulate  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")
needs_mujoco = pytest.mark.skipif(importlib.util.find_spec("mujoco") is None, reason="needs gymnasium[mujoco]")
needs_box2d = pytest.mark.skipif(importlib.util.find_spec("Box2D") is None, reason="needs gymnasium[box2d]")

LINEAR = {"hidden": [], "bias": False}   # the tutorial's policy: a = argmax(W s), no bias


def population(task, n, seed=0, network=None, scale=1.0):
    decoder = DirectDecoder(task.target(network or {}))
    g = torch.Generator().manual_seed(seed)
    return decoder.decode(scale * torch.randn(n, decoder.genome_size, generator=g))


# ----------------------------------------------------------------------------- env_seed
@needs_box2d
class TestGymLunarLanderFixedSeedContract(TaskContract):
    """The tutorial's setup: deterministic, so the contract's stochastic check must hold with False."""

    network = LINEAR
    population = 6
    genotype_scale = 1.0

    def make_task(self):
        return GymTask(env="LunarLander-v3", env_seed=52, max_steps=200,
                       descriptors=["impact_x", "impact_y_velocity"])


def test_env_seed_starts_every_episode_of_every_call_alike():
    task = GymTask(env="Pendulum-v1", episodes=3, max_steps=40, env_seed=5)
    assert task.stochastic is False and GymTask(env="Pendulum-v1").stochastic is True
    assert task.episode_seeds(0) == task.episode_seeds(123) == [5, 5, 5]
    ph = population(task, 4, seed=1)
    first, second = task.evaluate(ph, seed=0), task.evaluate(ph, seed=99)
    assert torch.equal(first.fitness, second.fitness)
    assert torch.equal(first.fitness, first.fitness[:, :1].expand(-1, 3))       # every episode the same
    assert len(set(first.fitness[:, 0].tolist())) == 4                            # policies still differ
    # the start is env.reset(seed=5): a policy whose every action is 0 scores as gymnasium says
    env = gymnasium.make("Pendulum-v1", max_episode_steps=40)
    obs, _ = env.reset(seed=5)
    free = GymTask(env="Pendulum-v1", max_steps=40)
    zero = DirectDecoder(free.target({})).decode(torch.zeros(1, DirectDecoder(free.target({})).genome_size))
    total = 0.0
    for _ in range(40):
        obs, reward, *_ = env.step(np.zeros(1, dtype=np.float32))
        total += reward
    fixed = GymTask(env="Pendulum-v1", max_steps=40, env_seed=5)
    assert fixed.evaluate(zero, seed=7).fitness.item() == total
    assert free.evaluate(zero, seed=7).fitness.item() != total                    # a drawn seed starts elsewhere


def test_replay_respects_env_seed():
    task = GymTask(env="Pendulum-v1", episodes=2, max_steps=30, env_seed=11)
    ph = population(task, 1, seed=2)
    replay = task.replay(ph, seed=4, episodes=3)
    assert replay.seeds == [11, 11, 11]
    assert replay.returns[0] == replay.returns[1] == replay.returns[2]
    np.testing.assert_allclose(replay.returns[:2], task.evaluate(ph, seed=8).fitness[0].numpy(), rtol=1e-12)


# ----------------------------------------------------------------------------- LunarLander: the tutorial
def pyribs_to_genome(solutions, obs_dim=8, act_dim=4):
    """pyribs' flat solution (model ``(act_dim, obs_dim)``, row-major) -> our ``w0 [obs_dim, act_dim]``
    genome (row-major): the transpose."""
    return solutions.reshape(-1, act_dim, obs_dim).transpose(0, 2, 1).reshape(len(solutions), -1)


@needs_box2d
def test_lunar_lander_descriptors_equal_the_pyribs_tutorial_loop():
    task = GymTask(env="LunarLander-v3", env_seed=52, descriptors=["impact_x", "impact_y_velocity"])
    assert DirectDecoder(task.target(LINEAR)).genome_size == 32
    assert task.descriptor_space() == (Descriptor("impact_x", -1.0, 1.0), Descriptor("impact_y_velocity", -3.0, 0.0))
    rng = np.random.default_rng(0)
    solutions = rng.normal(size=(10, 32))              # CMA-ME's first draws: N(0, 1) around the zero model
    genome = pyribs_to_genome(solutions)
    assert np.array_equal(genome[0].reshape(8, 4), solutions[0].reshape(4, 8).T)
    # float64 weights (the tutorial's): one row per network, so our argmax sees the tutorial's products
    ph = MLPSpec([8, 4], bias=False).build({"w0": torch.from_numpy(genome).view(10, 8, 4)})
    result = task.evaluate(ph, seed=3)
    expected = np.array([tutorial_simulate(s, 52) for s in solutions], dtype=np.float64)
    assert result.descriptors.shape == (10, 1, 2) and result.descriptors.dtype == torch.float64
    assert np.array_equal(result.descriptors[:, 0].numpy(), expected[:, 1:])
    assert np.array_equal(result.fitness[:, 0].numpy(), expected[:, 0])
    landed = np.abs(expected[:, 1]) < 1.0              # flying off-screen (|x| >= 1) ends without touching
    assert landed.any() and not landed.all(), "the sample should hold landers that touch down and that do not"


@needs_box2d
def test_float32_direct_genome_gives_the_tutorial_descriptors_of_its_own_weights():
    """The shipped direct decoder holds float32 weights: the tutorial run on those same (rounded) weights."""
    task = GymTask(env="LunarLander-v3", env_seed=52, max_steps=400, descriptors=["impact_y_velocity", "impact_x"])
    ph = population(task, 5, seed=4, network=LINEAR)
    result = task.evaluate(ph, seed=0)
    for p in range(5):
        model = ph.tensors["w0"][p].double().numpy().T            # (4, 8), as pyribs lays it out
        env = gymnasium.make("LunarLander-v3", max_episode_steps=400)
        obs, _ = env.reset(seed=52)
        landed, ys, done = None, [], False
        while not done:
            out = ph.select([p]).forward(torch.as_tensor(obs, dtype=torch.float32).view(1, 1, -1))[0, 0]
            action = int(out.argmax())
            assert action == int(np.argmax(model @ obs)) or np.ptp(np.sort(model @ obs)[-2:]) < 1e-5
            obs, _, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
            ys.append(obs[3])
            if landed is None and (obs[6] or obs[7]):
                landed = (obs[3], obs[0])
        expected = landed if landed is not None else (min(ys), obs[0])
        assert result.descriptors[p, 0].tolist() == [float(v) for v in expected]


# ----------------------------------------------------------------------------- MuJoCo walkers
def contact_loop(task, phenotypes, seed, env_id):
    """Each episode alone on its own environment, the contacts read one by one (``data.contact[k]``)."""
    import mujoco

    seeds = task.episode_seeds(seed)
    out = np.zeros((len(phenotypes), task.episodes, len(FOOT_GEOMS[env_id.split("-")[0]]) + 1))
    for p in range(len(phenotypes)):
        policy = phenotypes.select([p])
        for e, s in enumerate(seeds):
            env = gymnasium.make(env_id, max_episode_steps=task.max_steps)
            model, data = env.unwrapped.model, env.unwrapped.data
            floor = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, "floor")
            feet = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, g) for g in FOOT_GEOMS[env_id.split("-")[0]]]
            obs, _ = env.reset(seed=s)
            counts, steps, done = np.zeros(len(feet)), 0, False
            while not done:
                out_ = policy.forward(torch.as_tensor(obs, dtype=torch.float32).view(1, 1, -1))[0, 0].double().numpy()
                action = np.clip(out_, env.action_space.low, env.action_space.high).astype(env.action_space.dtype)
                obs, _, terminated, truncated, _ = env.step(action)
                done = terminated or truncated
                steps += 1
                touching = set()
                for k in range(data.ncon):
                    c = data.contact[k]
                    pair = {int(c.geom1), int(c.geom2)}
                    for j, foot in enumerate(feet):
                        if pair == {floor, foot} and c.dist < c.includemargin:
                            touching.add(j)
                for j in touching:
                    counts[j] += 1
            out[p, e, :-1] = counts / steps
            out[p, e, -1] = data.qpos[0]
            env.close()
    return out


@needs_mujoco
@pytest.mark.parametrize(("env_id", "max_steps", "P"), [("Hopper-v5", 120, 5), ("Walker2d-v5", 60, 3)])
def test_feet_contact_and_final_x_equal_a_one_environment_loop(env_id, max_steps, P):
    task = GymTask(env=env_id, episodes=2, max_steps=max_steps, descriptors=["feet_contact", "final_x"])
    feet = len(FOOT_GEOMS[env_id.split("-")[0]])
    assert [d.name for d in task.descriptor_space()] == [f"feet_contact_{i}" for i in range(feet)] + ["final_x"]
    ph = population(task, P, seed=5, scale=0.5)
    result = task.evaluate(ph, seed=2)
    expected = contact_loop(task, ph, 2, env_id)
    assert result.descriptors.shape == (P, 2, feet + 1)
    assert np.array_equal(result.descriptors.numpy(), expected)
    fractions = result.descriptors[..., :feet]
    assert ((fractions >= 0) & (fractions <= 1)).all()
    assert ((fractions > 0) & (fractions < 1)).any(), "the sample should hold feet that touch on some steps only"


@needs_mujoco
def test_ant_feet_touch_when_it_stands():
    """An Ant given zero torques drops from its start height (about 20-30 steps) and then stands on its four feet
    inside MuJoCo's contact margin (dist > 0): each touches on over 80% of 200 steps (a test of ``dist <= 0``
    would say on almost none)."""
    task = GymTask(env="Ant-v5", max_steps=200, env_seed=0, descriptors=["feet_contact"])
    ph = DirectDecoder(task.target({})).decode(torch.zeros(1, DirectDecoder(task.target({})).genome_size))
    fractions = task.evaluate(ph, seed=0).descriptors[0, 0]
    assert (fractions > 0.8).all(), fractions


# ----------------------------------------------------------------------------- chunk invariance
@pytest.mark.parametrize("options", [
    pytest.param(dict(env="LunarLander-v3", episodes=2, max_steps=300, descriptors=["impact_x", "impact_y_velocity"]),
                 marks=needs_box2d),
    pytest.param(dict(env="HalfCheetah-v5", episodes=2, max_steps=40, descriptors=["final_x", "feet_contact"]),
                 marks=needs_mujoco),
])
def test_descriptors_of_two_halves_equal_the_whole(options):
    task = GymTask(**options)
    ph = population(task, 8, seed=6, network=LINEAR if "LunarLander" in options["env"] else None)
    whole = task.evaluate(ph, seed=13)
    halves = [task.evaluate(ph.select(slice(0, 3)), seed=13), task.evaluate(ph.select(slice(3, 8)), seed=13)]
    assert torch.equal(torch.cat([h.descriptors for h in halves]), whole.descriptors)
    assert whole.descriptors.shape[:2] == (8, 2) and torch.isfinite(whole.descriptors).all()
    assert len({tuple(r) for r in whole.descriptors[:, 0].tolist()}) > 1


def test_no_descriptors_by_default():
    task = GymTask(env="Pendulum-v1", max_steps=5)
    assert task.descriptor_space() == () and task.evaluate(population(task, 2), seed=0).descriptors is None


# ----------------------------------------------------------------------------- bounds and refusals
@needs_mujoco
def test_bounds_defaults_and_overrides():
    hopper = GymTask(env="Hopper-v5", descriptors=["final_x"])
    cheetah = GymTask(env="HalfCheetah-v5", descriptors=["feet_contact", "final_x"],
                      descriptor_bounds={"feet_contact": [0.1, 0.9]})
    assert hopper.descriptor_space() == (Descriptor("final_x", -5.0, 30.0),)
    assert cheetah.descriptor_space() == (Descriptor("feet_contact_0", 0.1, 0.9),
                                          Descriptor("feet_contact_1", 0.1, 0.9), Descriptor("final_x", -50.0, 250.0))
    assert GymTask(env="Hopper-v5", descriptors=["final_x"],
                   descriptor_bounds={"final_x": [-1, 2]}).descriptor_space() == (Descriptor("final_x", -1.0, 2.0),)
    assert cheetah.info().descriptors == cheetah.descriptor_space()


@pytest.mark.parametrize(("kwargs", "match"), [
    pytest.param({"env": "LunarLander-v3", "descriptors": ["feet_contact"]},
                 r"^task\.descriptors: 'feet_contact'; allowed: descriptors of 'LunarLander-v3': 'impact_x', "
                 r"'impact_y_velocity'$", marks=needs_box2d),
    pytest.param({"env": "Hopper-v5", "descriptors": ["final_x", "no_such"]},
                 r"^task\.descriptors: 'no_such'; allowed: descriptors of 'Hopper-v5': 'feet_contact', 'final_x'$",
                 marks=needs_mujoco),
    ({"env": "Pendulum-v1", "descriptors": ["final_x"]},
     r"^task\.descriptors: 'final_x'; allowed: descriptors of 'Pendulum-v1': none \(no descriptor is declared"),
    ({"env": "Pendulum-v1", "descriptors": "final_x"}, r"^task\.descriptors: 'final_x'; allowed: a list of descriptor"),
    pytest.param({"env": "Hopper-v5", "descriptors": ["final_x", "final_x"]},
                 r"^task\.descriptors: \['final_x', 'final_x'\]; allowed: each descriptor at most once$",
                 marks=needs_mujoco),
    pytest.param({"env": "Hopper-v5", "descriptors": ["final_x"], "descriptor_bounds": {"feet_contact": [0, 1]}},
                 r"^task\.descriptor_bounds\.feet_contact: \[0, 1\]; allowed: bounds of a chosen descriptor: "
                 r"'final_x'$", marks=needs_mujoco),
    *[pytest.param({"env": "Hopper-v5", "descriptors": ["final_x"], "descriptor_bounds": {"final_x": bad}},
                   r"^task\.descriptor_bounds\.final_x: .*; allowed: \[low, high\], finite numbers with low < high$",
                   marks=needs_mujoco, id=f"bounds-{bad}")
      for bad in ([1, 1], [2, 1], [0, float("inf")], [0], "0,1", [True, 2])],
    ({"env_seed": -1}, r"^task\.env_seed: -1; allowed: an integer in \[0, 4294967295\] or null$"),
    ({"env_seed": 1.5}, r"^task\.env_seed: 1\.5; allowed: an integer"),
])
def test_bad_descriptor_options_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GymTask(**kwargs)


def test_config_validator_reads_the_new_options():
    ok = {"name": "gym", "env": "LunarLander-v3", "env_seed": 52, "descriptors": ["impact_x"],
          "descriptor_bounds": {"impact_x": [-1, 1]}}
    check_block("task", ok, GymTask, extra=("name",))
    for key, value in [("env_seed", "52"), ("descriptors", "impact_x"), ("descriptor_bounds", [1, 2])]:
        with pytest.raises(ConfigError, match=f"task.{key}"):
            check_block("task", {**ok, key: value}, GymTask, extra=("name",))


def test_every_registered_descriptor_declares_envs_and_bounds():
    for name, cls in DESCRIPTORS.items():
        assert cls.name == name and cls.envs and cls.bounds[0] < cls.bounds[1]
