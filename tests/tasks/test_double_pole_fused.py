"""The fused double-pole rollout (recurrent NEAT networks and the cart in one numba kernel) against the
references: neat-python's ``RecurrentNetwork.activate`` for the networks and the plain per-step reference of
``test_double_pole_env`` for the cart, step for step in float64; and against the torch loop it replaces."""
import math

import neat
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_double_pole_env import reference_failed, reference_step

from evohyper.api.phenotypes import MLPSpec
from evohyper.families.neat.convert import from_neat_python
from evohyper.families.neat.networks import NEATPhenotypes
from evohyper.testing.neat_genomes import cppn_config, random_genomes
from evohyper_tasks import double_pole_fused
from evohyper_tasks.double_pole import DoublePoleTask

FUSED = ["tanh", "sigmoid", "identity"]


def population(seed, n_in, mutations, activations=FUSED, n=5, dtype=torch.float64):
    config = cppn_config(n_in, 1, feed_forward=False, activations=activations, aggregations=["sum"],
                         weight_max=2.0)
    genomes = random_genomes(config, n, mutations=mutations, seed=seed)
    phen = NEATPhenotypes(MLPSpec([n_in, 1]), from_neat_python(genomes), n_in, 1, recurrent=True, dtype=dtype)
    return config, genomes, phen


def reference_rollout(task, net, start, steps):
    """One episode: neat-python's network on the task's observations, the reference cart; (balanced, state)."""
    index, scale = task.observed()
    state, balanced = list(start), 0
    for _ in range(steps):
        action = net.activate([state[i] / s for i, s in zip(index, scale)])[0]
        state = reference_step(state, action, task.poles)
        if reference_failed(state, task.poles):
            return balanced, state
        balanced += 1
    return balanced, state


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), mutations=st.integers(0, 30), velocities=st.booleans(),
       poles=st.sampled_from([1, 2]))
def test_fused_rollout_matches_neat_python_and_the_reference_cart(seed, mutations, velocities, poles):
    task = DoublePoleTask(poles=poles, velocities=velocities, max_steps=40, start="random", episodes=2)
    config, genomes, phen = population(seed, task.obs_dim, mutations)
    assert double_pole_fused.supports(phen)
    starts = task.initial_states(seed)
    env = task.rollout(phen, starts, 40, fused=True)
    for p, g in enumerate(genomes):
        for e in range(len(starts)):
            balanced, state = reference_rollout(task, neat.nn.RecurrentNetwork.create(g, config),
                                                starts[e].tolist(), 40)
            assert int(env.balanced[p, e]) == balanced, (p, e)
            got = env.state[p, e].tolist()
            assert all(abs(a - b) <= 1e-9 * max(1.0, abs(b)) for a, b in zip(got, state)), (p, e, got, state)


def test_fused_and_torch_rollouts_agree_in_float64_and_float32():
    task = DoublePoleTask(velocities=True, max_steps=30, start="random", episodes=3)
    for dtype, tol in ((torch.float64, 1e-9), (torch.float32, 1e-4)):
        _, _, phen = population(7, task.obs_dim, 25, n=8, dtype=dtype)
        starts = task.initial_states(1)
        fused = task.rollout(phen, starts, 30, fused=True)
        loop = task.rollout(phen, starts, 30, fused=False)
        assert torch.equal(fused.forwards, loop.forwards) and torch.equal(fused.balanced, loop.balanced)
        assert torch.allclose(fused.state, loop.state, rtol=tol, atol=tol), dtype
        assert fused.steps == loop.steps and fused.live == loop.live


def test_damping_scores_through_the_fused_path_as_through_the_loop():
    """Gruau's jiggle window is kept by the shared per-environment step: the same damping fitness."""
    task = DoublePoleTask(velocities=False, fitness="damping", solve_steps=300, episodes=1)
    _, _, phen = population(11, task.obs_dim, 30, n=10)
    starts = task.initial_states(0)
    fused = task.rollout(phen, starts, 60, jiggle=True, fused=True)
    loop = task.rollout(phen, starts, 60, jiggle=True, fused=False)
    assert torch.equal(fused.balanced, loop.balanced)
    assert torch.allclose(fused.jiggle_sum(), loop.jiggle_sum(), rtol=1e-9)


def test_other_networks_keep_the_torch_loop_and_fused_true_says_why():
    task = DoublePoleTask(velocities=True, max_steps=20)
    _, _, phen = population(3, task.obs_dim, 20, activations=["sin"], n=6)    # sin nodes: no kernel for them
    assert not double_pole_fused.supports(phen)
    with pytest.raises(ValueError, match="fused"):
        task.rollout(phen, task.initial_states(0), 20, fused=True)
    feed_forward = NEATPhenotypes(MLPSpec([6, 1]), phen.genomes, 6, 1, recurrent=False, dtype=torch.float64)
    assert not double_pole_fused.supports(feed_forward)
    auto = task.rollout(phen, task.initial_states(0), 20)
    loop = task.rollout(phen, task.initial_states(0), 20, fused=False)
    assert torch.equal(auto.state, loop.state) and torch.equal(auto.balanced, loop.balanced)


def test_activation_codes_follow_neat_pythons_functions():
    from evohyper_tasks.double_pole_fused import _activate

    f = _activate.py_func
    for z in (-30.0, -0.3, 0.0, 0.2, 25.0):
        assert f(1, z) == pytest.approx(neat.activations.tanh_activation(z), abs=1e-15)
        assert f(2, z) == pytest.approx(neat.activations.sigmoid_activation(z), abs=1e-15)
        assert f(0, z) == z
    assert math.isfinite(f(2, -1e6)) and f(1, 1e6) == pytest.approx(1.0)


# ----------------------------------------------------------------------------- Elman networks (direct, dct)
def elman_population(seed, n_in, hidden, n=5, dtype=torch.float64, activation="tanh", output_activation="tanh"):
    from evohyper.api.recurrent import ElmanSpec
    from evohyper.decoders.direct import DirectDecoder

    spec = ElmanSpec([n_in, hidden, 1], activation=activation, output_activation=output_activation)
    g = torch.Generator().manual_seed(seed)
    tensors = DirectDecoder(spec).decode(torch.randn(n, spec.num_params, generator=g) * 0.8).tensors
    return spec.build({k: v.to(dtype) for k, v in tensors.items()})


def reference_elman(t, p):
    """Network ``p`` of tensors ``t`` as a plain-Python Elman step: h = tanh(x W0 + h U0 + b0), tanh(h W1 + b1)."""
    w0, u0, b0, w1, b1 = (t[k][p].tolist() for k in ("w0", "u0", "b0", "w1", "b1"))
    h = [0.0] * len(b0)

    def step(x):
        nonlocal h
        h = [math.tanh(b0[j] + sum(x[i] * w0[i][j] for i in range(len(x)))
                       + sum(h[k] * u0[k][j] for k in range(len(h)))) for j in range(len(b0))]
        return math.tanh(b1[0] + sum(h[j] * w1[j][0] for j in range(len(h))))
    return step


def assert_fused_matches(task, phen, seed, reference, steps=40):
    """Every network of ``phen`` over ``task``'s random starts, fused, equals ``reference(tensors, p)`` (a
    plain-Python step) on the reference cart, step for step: the same balanced steps and final states."""
    starts = task.initial_states(seed)
    env = task.rollout(phen, starts, steps, fused=True)
    index, scale = task.observed()
    for p in range(len(phen)):
        for e in range(len(starts)):
            net, state, balanced = reference(phen.tensors, p), starts[e].tolist(), 0
            for _ in range(steps):
                state = reference_step(state, net([state[i] / s for i, s in zip(index, scale)]), task.poles)
                if reference_failed(state, task.poles):
                    break
                balanced += 1
            assert int(env.balanced[p, e]) == balanced, (p, e)
            assert all(abs(a - b) <= 1e-9 * max(1.0, abs(b)) for a, b in zip(env.state[p, e].tolist(), state))


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), hidden=st.integers(1, 7), velocities=st.booleans(), poles=st.sampled_from([1, 2]))
def test_fused_elman_rollout_matches_a_plain_elman_and_the_reference_cart(seed, hidden, velocities, poles):
    task = DoublePoleTask(poles=poles, velocities=velocities, max_steps=40, start="random", episodes=2)
    phen = elman_population(seed, task.obs_dim, hidden)
    assert double_pole_fused.supports(phen) and phen.dtype == torch.float64
    assert_fused_matches(task, phen, seed, reference_elman)


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-9), (torch.float32, 1e-4)])
@pytest.mark.parametrize("network, activation, output_activation", [
    ("elman", "tanh", "tanh"), ("elman", "relu", "identity"), ("elman", "sigmoid", "tanh"),
    ("full", "tanh", "tanh"), ("full", "sigmoid", "identity")])
def test_fused_and_torch_recurrent_rollouts_agree(dtype, tol, network, activation, output_activation):
    task = DoublePoleTask(velocities=False, max_steps=25, start="random", episodes=3)
    make = elman_population if network == "elman" else full_population
    phen = make(5, task.obs_dim, 6 if network == "elman" else 3, n=7, dtype=dtype, activation=activation,
                output_activation=output_activation)
    starts = task.initial_states(2)
    fused = task.rollout(phen, starts, 25, fused=True)
    loop = task.rollout(phen, starts, 25, fused=False)
    assert torch.equal(fused.balanced, loop.balanced) and torch.equal(fused.forwards, loop.forwards)
    assert torch.allclose(fused.state, loop.state, rtol=tol, atol=tol)


def test_elman_networks_the_kernel_does_not_cover_keep_the_loop():
    from evohyper.api.recurrent import ElmanSpec
    from evohyper.decoders.direct import DirectDecoder

    two_layers = ElmanSpec([3, 4, 4, 1])
    phen = DirectDecoder(two_layers).decode(torch.zeros(2, two_layers.num_params))
    assert not double_pole_fused.supports(phen)
    gelu = ElmanSpec([3, 4, 1], activation="gelu")
    assert not double_pole_fused.supports(DirectDecoder(gelu).decode(torch.zeros(2, gelu.num_params)))


# ----------------------------------------------------------------------------- fully recurrent networks
def full_population(seed, n_in, hidden, n=5, dtype=torch.float64, activation="tanh", output_activation="tanh"):
    from evohyper.api.recurrent import FullyRecurrentSpec
    from evohyper.decoders.direct import DirectDecoder

    spec = FullyRecurrentSpec(n_in, hidden, 1, activation=activation, output_activation=output_activation)
    g = torch.Generator().manual_seed(seed)
    tensors = DirectDecoder(spec).decode(torch.randn(n, spec.num_params, generator=g) * 0.8).tensors
    return spec.build({k: v.to(dtype) for k, v in tensors.items()})


def reference_full(t, p):
    """Network ``p`` as a plain-Python fully recurrent step: s = tanh(x W0 + s U0 + b0), the last neuron out."""
    w0, u0, b0 = (t[k][p].tolist() for k in ("w0", "u0", "b0"))
    s = [0.0] * len(b0)

    def step(x):
        nonlocal s
        s = [math.tanh(b0[j] + sum(x[i] * w0[i][j] for i in range(len(x)))
                       + sum(s[k] * u0[k][j] for k in range(len(s)))) for j in range(len(b0))]
        return s[-1]
    return step


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), hidden=st.integers(0, 6), velocities=st.booleans(), poles=st.sampled_from([1, 2]))
def test_fused_fully_recurrent_rollout_matches_a_plain_network_and_the_reference_cart(seed, hidden, velocities,
                                                                                      poles):
    task = DoublePoleTask(poles=poles, velocities=velocities, max_steps=40, start="random", episodes=2)
    phen = full_population(seed, task.obs_dim, hidden)
    assert double_pole_fused.supports(phen)
    assert_fused_matches(task, phen, seed, reference_full)


def test_a_fully_recurrent_network_without_biases_keeps_the_loop():
    from evohyper.api.recurrent import FullyRecurrentSpec
    from evohyper.decoders.direct import DirectDecoder

    no_bias = FullyRecurrentSpec(3, 3, 1, bias=False)
    assert not double_pole_fused.supports(DirectDecoder(no_bias).decode(torch.zeros(2, no_bias.num_params)))
