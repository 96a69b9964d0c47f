"""A user's own gymnasium environment: registered in a module of their own, named under ``plugins:`` (or
in the id, ``env: "module:Id-v0"``), run from the command line in the module's directory, on the local
backend and on 2 Ray actors (same result); an unknown id says what to do instead."""
import csv

import pytest
import yaml

gymnasium = pytest.importorskip("gymnasium")

from evohyper.cli import main  # noqa: E402
from evohyper.config import ConfigError  # noqa: E402
from evohyper_tasks.gym import GymTask  # noqa: E402

# A point on a line, pushed towards 0 (reward -|x|): 2 observations, 1 Box action, 8 steps.
ENV_MODULE = '''
import gymnasium as gym
import numpy as np
from gymnasium import spaces


class PointLine(gym.Env):
    def __init__(self):
        self.observation_space = spaces.Box(-10.0, 10.0, (2,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.x, self.t = float(self.np_random.uniform(-1, 1)), 0
        return np.array([self.x, 0.0], np.float32), {}

    def step(self, action):
        self.x += 0.2 * float(action[0])
        self.t += 1
        return np.array([self.x, self.t / 8], np.float32), -abs(self.x), False, False, {}


gym.register("{env_id}", entry_point=PointLine, max_episode_steps=8)
'''


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    """A user's working directory holding their env module (not installed, not on sys.path: the command
    is run from this directory, as ``cd my_project && evohyper run config.yaml`` would)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.path", list(__import__("sys").path))   # the CLI may add the cwd; undo that
    monkeypatch.delenv("PYTHONPATH", raising=False)
    return tmp_path


def _write_env(user_dir, module, env_id):
    (user_dir / f"{module}.py").write_text(ENV_MODULE.replace("{env_id}", env_id))


def _run(user_dir, name, task, backend="local", **extra):
    cfg = {"name": name, "seed": 3, **extra, "task": {"name": "gym", "episodes": 2, **task},
           "network": {"hidden": []}, "strategy": {"name": "snes", "popsize": 8}, "budget": {"generations": 3},
           "backend": {"name": backend, "num_actors": 2, "num_cpus_per_actor": 0.5, "timeout_s": 120},
           "output": {"runs_dir": str(user_dir / "runs"), "progress": False, "tensorboard": False}}
    path = user_dir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["run", str(path)]) == 0
    (run_dir,) = (user_dir / "runs").glob(f"{name}-*")
    with open(run_dir / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["generation"]) for r in rows] == [1, 2, 3]
    return [float(r["best_so_far"]) for r in rows]


def test_env_registered_in_a_plugin_module_runs_locally(user_dir):
    _write_env(user_dir, "user_envs_local", "EvohyperUserPointLocal-v0")
    best = _run(user_dir, "plugin-local", {"env": "EvohyperUserPointLocal-v0"}, plugins=["user_envs_local"])
    assert all(-16 <= b <= 0 for b in best)   # 8 steps of -|x|, |x| < 2


def test_env_named_with_its_module_in_the_id_runs_locally(user_dir):
    _write_env(user_dir, "user_envs_colon", "EvohyperUserPointColon-v0")
    best = _run(user_dir, "colon-local", {"env": "user_envs_colon:EvohyperUserPointColon-v0"})
    assert all(-16 <= b <= 0 for b in best)


@pytest.mark.ray
def test_env_of_a_plugin_module_runs_on_two_ray_actors_as_locally(user_dir, ray_local):
    """Each actor imports the plugin (found in the driver's working directory) before building the task;
    episode seeds do not depend on the actor, so the run equals the local one."""
    _write_env(user_dir, "user_envs_ray", "EvohyperUserPointRay-v0")
    task = {"env": "EvohyperUserPointRay-v0"}
    local = _run(user_dir, "plugin-a", task, plugins=["user_envs_ray"])
    remote = _run(user_dir, "plugin-b", task, backend="ray", plugins=["user_envs_ray"])
    assert remote == local


def test_an_unknown_env_id_says_how_to_register_ones_own():
    with pytest.raises(ValueError) as err:
        GymTask(env="EvohyperNoSuchEnv-v0")
    text = str(err.value)
    assert "NameNotFound" in text and "plugins:" in text and "'my_envs:EvohyperNoSuchEnv-v0'" in text


def test_a_missing_module_in_the_id_is_one_line_naming_the_path(user_dir, capsys):
    path = user_dir / "c.yaml"
    path.write_text(yaml.safe_dump({"name": "m", "task": {"name": "gym", "env": "no_such_user_mod:Point-v0"},
                                    "strategy": {"name": "snes", "popsize": 4}, "budget": {"generations": 1}}))
    assert main(["run", str(path), "--check"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "task.env" in err or "option 'env'" in err
    assert "no_such_user_mod" in err and "PYTHONPATH" in err


def _register_in_this_process(env_id):
    """What a user's own script does: register the environment in its own (the driver's) process only."""
    if env_id not in gymnasium.registry:
        gymnasium.register(env_id, entry_point="gymnasium.envs.classic_control:PendulumEnv", max_episode_steps=5)


def test_an_env_registered_in_the_users_script_runs_on_the_local_backend(user_dir):
    from evohyper.config import validate
    from evohyper.engine.runner import build_search

    _register_in_this_process("EvohyperUserPendulumScript-v0")
    raw = {"name": "script-local", "task": {"name": "gym", "env": "EvohyperUserPendulumScript-v0"},
           "network": {"hidden": []}, "strategy": {"name": "snes", "popsize": 4}, "budget": {"generations": 2}}
    search = build_search(validate(raw), None)
    search.run()
    assert len(search.history) == 2 and all(-5 * 16.3 <= r.best <= 0 for r in search.history)


@pytest.mark.ray
def test_an_env_registered_only_in_the_users_script_fails_on_ray_saying_what_to_do(user_dir, ray_local):
    """Registered in the driver process only (as a user's own script would): the driver builds the task,
    the Ray actors cannot; the error names the two ways that work."""
    from evohyper.config import validate
    from evohyper.engine.runner import build_search

    _register_in_this_process("EvohyperUserPointScript-v0")
    raw = {"name": "script", "task": {"name": "gym", "env": "EvohyperUserPointScript-v0"},
           "network": {"hidden": []}, "strategy": {"name": "snes", "popsize": 4}, "budget": {"generations": 1},
           "backend": {"name": "ray", "num_actors": 1, "num_cpus_per_actor": 0.5, "timeout_s": 120}}
    config = validate(raw)                                # the driver knows the id
    with pytest.raises(ConfigError, match=r"NameNotFound.*plugins: \[my_envs\].*my_envs:EvohyperUserPointScript-v0"):
        build_search(config, None).run()                  # its actors do not


@pytest.mark.ray
def test_env_of_a_plugin_module_in_a_compare_on_ray(user_dir, ray_local):
    """`evohyper compare` runs each (config, seed) as a Ray task: the plugin is imported there too."""
    _write_env(user_dir, "user_envs_compare", "EvohyperUserPointCompare-v0")
    cfg = {"name": "pc", "plugins": ["user_envs_compare"], "budget": {"generations": 2},
           "task": {"name": "gym", "env": "EvohyperUserPointCompare-v0"}, "network": {"hidden": []},
           "strategy": {"name": "snes", "popsize": 4}}
    (user_dir / "pc.yaml").write_text(yaml.safe_dump(cfg))
    (user_dir / "spec.yaml").write_text(yaml.safe_dump({"name": "pc", "seeds": [0],
                                                        "runs": [{"label": "snes", "config": "pc.yaml"}]}))
    assert main(["compare", "spec.yaml", "--out", "out", "--parallel", "ray"]) == 0
    assert len(list((user_dir / "runs").glob("compare-pc-*/snes-seed0/pc-*/metrics.csv"))) == 1
