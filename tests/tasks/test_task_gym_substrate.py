"""The gym task's HyperNEAT substrates (``network: {type: substrate}``, tasks/gym_substrate.py)."""
import importlib.util

import pytest

from evohyper_tasks.gym import GymTask

needs_mujoco = pytest.mark.skipif(importlib.util.find_spec("mujoco") is None, reason="needs gymnasium[mujoco]")


def test_an_environment_without_a_body_gets_the_line_layout():
    layers = GymTask(env="Pendulum-v1").target({"type": "substrate", "hidden": [[3]]}).substrate.layers
    assert [len(layer) for layer in layers] == [3, 3, 1]
    assert [x for (x,) in layers[0]] == pytest.approx([-2 / 3, 0.0, 2 / 3]) and layers[-1] == [[0.0]]


@needs_mujoco
def test_a_joints_angle_velocity_and_motor_sit_together():
    """HalfCheetah observes qpos[1:] (8) and qvel (9); its 6 motors drive joints 3-8 (bthigh ... ffoot)."""
    layers = GymTask(env="HalfCheetah-v5").target({"type": "substrate", "hidden": [[3, 5]]}).substrate.layers
    inputs, hidden, outputs = layers
    assert [len(layer) for layer in layers] == [17, 15, 6]
    assert all(len(node) == 3 for layer in layers for node in layer)   # x, z (planar body: y dropped), kind
    for motor in range(6):
        joint = 3 + motor
        angle, velocity = inputs[joint - 1], inputs[8 + joint]
        assert (angle[2], velocity[2], outputs[motor][2]) == (-1.0, 1.0, 0.0)
        assert angle[:2] == velocity[:2] == outputs[motor][:2]
    assert all(-1 - 1e-9 <= c <= 1 + 1e-9 for node in inputs + outputs for c in node[:2])


@needs_mujoco
def test_hidden_grids_must_span_the_bodys_axes():
    with pytest.raises(ValueError, match="2 spatial axes"):
        GymTask(env="HalfCheetah-v5").target({"type": "substrate", "hidden": [[15]]})


@pytest.mark.parametrize(("network", "message"), [
    ({"type": "graph"}, r"^network\.type: 'graph'; allowed: one of 'mlp', 'substrate'$"),
    ({"type": "substrate", "depth": 2}, r"^network\.depth: unknown key; allowed keys: type, hidden, "
     r"activation, output_activation, bias$"),
    ({"type": "substrate", "hidden": [3]}, "list of at most 64 grid shapes"),
    ({"type": "substrate", "bias": "yes"}, r"^network\.bias: 'yes'; allowed: true or false$"),
])
def test_a_bad_substrate_block_is_one_error_naming_the_key(network, message):
    with pytest.raises(ValueError, match=message):
        GymTask(env="Pendulum-v1").target(network)
