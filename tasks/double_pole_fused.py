"""Recurrent policies and the cart stepped together in one compiled kernel: the double pole's fast path.

Why: a rollout alternates a policy forward and an environment step. With the networks in torch, one forward of
a population of recurrent NEAT networks costs ~250 us of eager ops whatever the population, so a generation
holding one network that balances 100,000 steps takes ~35 s even though the arithmetic is a few hundred
multiply-adds per step (measured, P = 150: 2.9 s for 15 early generations, 62% in the forward). Here the
whole rollout, every step of every live environment, network update and Runge-Kutta step, runs inside one
numba kernel over plain arrays.

What it computes is neat-python's ``RecurrentNetwork.activate`` as the torch runtime does it (each step every
evaluated node is updated once, synchronously, from the current inputs and every node's previous value:
``act(bias + response * sum(w x))``), on the padded per-network tensors of ``networks.network_tensors`` (the
ones ``best/weights.pt`` holds), then the same per-environment step as ``double_pole_env.advance_env``.
Covered: ``sum`` aggregation with ``tanh``, ``sigmoid`` or ``identity`` nodes (neat-python's input scaling and
+-60 clamp); anything else, a non-CPU device or a feed-forward genome keeps the torch path (``supports``).
The same holds for Elman networks of one hidden layer (``api.recurrent.ElmanPhenotypes``, what ``direct`` and
``dct`` decode ``network: {recurrent: true}`` to: ``h = act(x W0 + h U0 + b0)``, ``out = out_act(h W1 + b1)``,
with ``identity``, ``tanh``, ``relu`` or ``sigmoid``); measured before it, an Elman h = 6 population of 16 spent
~160 us per step in torch and CMA-ES ~400 s per non-Markovian run. Fully recurrent networks with one output
(``api.recurrent.FullyRecurrentPhenotypes``, ``network: {recurrent: full}``: ``s = act(x W0 + s U0 + b0)``, the
last neuron the output, with its own activation) run here too.
Precision: float64 sums; with float32 phenotypes the inputs and every node value are rounded to float32 as the
torch path stores them, so the two paths agree to float rounding, not bit for bit (tests hold single steps
to 1e-6 and whole short rollouts step for step).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from evohyper_tasks.double_pole_env import advance_env

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency
    numba = None

#: node activations the kernel computes: code -> neat-python's name (input scale, clamp as theirs)
CODES = {"identity": 0, "tanh": 1, "sigmoid": 2}
#: Elman activations (``api.phenotypes.ACTIVATIONS``: plain, no input scaling): name -> code
ELMAN_CODES = {"identity": 0, "tanh": 3, "sigmoid": 4, "relu": 5}


def supports(phenotypes) -> bool:
    """The fused kernel can run these phenotypes on the CPU with one output: recurrent NEAT (sum aggregation,
    identity / tanh / sigmoid nodes), an Elman network of one hidden layer or a fully recurrent network, with
    biases."""
    return _kind(phenotypes) is not None


def _kind(phenotypes) -> str | None:
    from evohyper.api.recurrent import ElmanPhenotypes, FullyRecurrentPhenotypes
    from evohyper.families.neat import NEATPhenotypes

    if numba is None or phenotypes.device.type != "cpu":
        return None
    if isinstance(phenotypes, ElmanPhenotypes):
        spec = phenotypes.spec
        ok = (spec.num_hidden == 1 and spec.sizes[-1] == 1 and spec.bias
              and {spec.activation, spec.output_activation} <= set(ELMAN_CODES))
        return "elman" if ok else None
    if isinstance(phenotypes, FullyRecurrentPhenotypes):
        spec = phenotypes.spec
        ok = spec.outputs == 1 and spec.bias and {spec.activation, spec.output_activation} <= set(ELMAN_CODES)
        return "full" if ok else None
    if isinstance(phenotypes, NEATPhenotypes) and phenotypes.recurrent and phenotypes.num_outputs == 1:
        return "neat" if _neat_ok(phenotypes) else None
    return None


def _neat_ok(phenotypes) -> bool:
    from evohyper.families.neat import ACTIVATION_NAMES, AGGREGATION_NAMES

    t = phenotypes.tensors
    used = t["activation"] >= 0
    names = {ACTIVATION_NAMES[i] for i in t["activation"][used].unique().tolist()}
    aggregations = {AGGREGATION_NAMES[i] for i in t["aggregation"][used].unique().tolist()}
    return names <= set(CODES) and aggregations <= {"sum"}


def program(phenotypes) -> tuple[np.ndarray, ...]:
    """The kernel's arrays: weights ``[P, N, n_in + N]``, bias, response ``[P, N]`` (float64), activation codes
    ``[P, N]`` (-1: padding), the output node per network ``[P]`` (-1: never evaluated, outputs 0)."""
    from evohyper.families.neat import ACTIVATION_NAMES

    t = phenotypes.tensors
    lookup = torch.tensor([CODES.get(name, -2) for name in ACTIVATION_NAMES] + [-1], dtype=torch.int64)
    codes = lookup[t["activation"]]          # index -1 (padding) reads the trailing -1
    return (t["weight"].numpy(), t["bias"].numpy(), t["response"].numpy(), codes.numpy(),
            t["output"][:, 0].contiguous().numpy())


def _float64(phenotypes) -> dict[str, torch.Tensor]:
    """A fixed-topology network's tensors as contiguous float64 CPU tensors (the kernel sums in float64)."""
    return {k: v.detach().to("cpu", torch.float64).contiguous() for k, v in phenotypes.tensors.items()}


def elman_program(phenotypes) -> tuple[np.ndarray, ...]:
    """An Elman network's tensors as float64 arrays ``w0 [P, in, h]``, ``u0 [P, h, h]``, ``b0 [P, h]``,
    ``w1 [P, h]`` (one output), ``b1 [P]``, and the hidden and output activation codes."""
    t, spec = _float64(phenotypes), phenotypes.spec
    return (t["w0"].numpy(), t["u0"].numpy(), t["b0"].numpy(), t["w1"][..., 0].contiguous().numpy(),
            t["b1"][:, 0].contiguous().numpy(), ELMAN_CODES[spec.activation], ELMAN_CODES[spec.output_activation])


def full_program(phenotypes) -> tuple[np.ndarray, ...]:
    """A fully recurrent network's ``w0 [P, in, N]``, ``u0 [P, N, N]``, ``b0 [P, N]`` as float64 arrays, and
    the hidden and output activation codes (the output is neuron N - 1)."""
    t, spec = _float64(phenotypes), phenotypes.spec
    return (t["w0"].numpy(), t["u0"].numpy(), t["b0"].numpy(), ELMAN_CODES[spec.activation],
            ELMAN_CODES[spec.output_activation])


def rollout(env, phenotypes, max_steps: int) -> None:
    """Run ``env`` (a reset ``BatchedPoles`` on the numba path, environments ``[P, E]``) under ``phenotypes``
    until every environment is done or ``max_steps`` actions, in place, as the torch loop would."""
    E = env.done.shape[1]
    arrays = env.kernel_arrays()
    obs_index = arrays[7]
    single = phenotypes.dtype != torch.float64
    common = (*arrays, int(max_steps), E)
    B = arrays[0].shape[0]
    kind = _kind(phenotypes)
    if kind == "full":
        w0, u0, b0, act, out_act = full_program(phenotypes)
        net, memory, policy = (w0, u0, b0, act, out_act, np.empty(w0.shape[2])), \
            np.zeros((B, w0.shape[2])), _full_action
    elif kind == "elman":
        w0, u0, b0, w1, b1, act, out_act = elman_program(phenotypes)
        net, memory, policy = (w0, u0, b0, w1, b1, act, out_act, np.empty(w0.shape[2])), \
            np.zeros((B, w0.shape[2])), _elman_action
    else:
        weight, bias, response, codes, output = program(phenotypes)
        net, memory, policy = (weight, bias, response, codes, output, np.empty(weight.shape[1])), \
            np.zeros((B, weight.shape[1])), _neat_action
    steps, live = _drive(policy, net, memory, *common, obs_index.shape[0], single)
    env.steps += int(steps)
    env.live = int(live)
    phenotypes.reset_state()


def _activate(code, z):
    if code == 3:
        return math.tanh(z)
    if code == 4:
        return 1.0 / (1.0 + math.exp(-z))
    if code == 5:
        return z if z > 0.0 else 0.0
    if code == 1:
        z = 2.5 * z
        z = 60.0 if z > 60.0 else (-60.0 if z < -60.0 else z)
        return math.tanh(z)
    if code == 2:
        z = 5.0 * z
        z = 60.0 if z > 60.0 else (-60.0 if z < -60.0 else z)
        return 1.0 / (1.0 + math.exp(-z))
    return z


def _scratch(dim, poles):
    """Work arrays of one environment step: the state, its Runge-Kutta trial state and slopes, sines, cosines."""
    return np.empty(dim), np.empty(dim), np.empty((4, dim)), np.empty(poles), np.empty(poles)


def _live(done):
    live = 0
    for b in range(done.shape[0]):
        if not done[b]:
            live += 1
    return live


def _observe(state, b, obs_index, obs_scale, single, x):
    """Environment ``b``'s observation into ``x``, rounded to float32 for a float32 policy (as the torch loop)."""
    for j in range(obs_index.shape[0]):
        v = state[b, obs_index[j]] / obs_scale[j]
        x[j] = np.float32(v) if single else v


def _drive(policy, net, memory, state, done, failed, balanced, forwards, jiggle, obs, obs_index, obs_scale, masses,
           lengths, failure_angle, max_steps, steps_limit, episodes, n_in, single):
    """The rollout loop: every live environment observed, its network stepped (``policy(net, memory, b, p, x,
    single) -> action``, ``memory[b]`` its recurrent state), the cart advanced; until all are done or
    ``steps_limit`` actions. Returns (steps taken, environments still live)."""
    x = np.empty(n_in)
    y, yt, rk, sin, cos = _scratch(state.shape[1], masses.shape[0])
    live, steps = _live(done), 0
    while steps < steps_limit and live > 0:
        live = 0
        for b in range(state.shape[0]):
            if done[b]:
                continue
            _observe(state, b, obs_index, obs_scale, single, x)
            a = policy(net, memory, b, b // episodes, x, single)
            if advance_env(b, a, state, done, failed, balanced, forwards, jiggle, obs, obs_index, obs_scale, masses,
                            lengths, failure_angle, max_steps, y, yt, rk[0], rk[1], rk[2], rk[3], sin, cos):
                live += 1
        steps += 1
    return steps, live


def _neat_action(net, values, b, p, x, single):
    """One synchronous update of NEAT network ``p``'s evaluated nodes (``values[b]``: their previous values)."""
    weight, bias, response, codes, output, new = net
    n_in, N = x.shape[0], weight.shape[1]
    for n in range(N):
        code = codes[p, n]
        if code < 0:
            new[n] = 0.0
            continue
        s = 0.0
        for j in range(n_in):
            s += weight[p, n, j] * x[j]
        for m in range(N):
            s += weight[p, n, n_in + m] * values[b, m]
        z = _activate(code, bias[p, n] + response[p, n] * s)
        new[n] = np.float32(z) if single else z
    for n in range(N):
        values[b, n] = new[n]
    return values[b, output[p]] if output[p] >= 0 else 0.0


def _recurrent_sum(w0, u0, b0, p, j, x, last):
    """Unit ``j``'s input of network ``p``: its bias, the inputs ``x`` through ``w0`` and the units' last outputs
    ``last`` through ``u0`` (an Elman hidden layer, or every neuron of a fully recurrent net)."""
    s = b0[p, j]
    for i in range(x.shape[0]):
        s += x[i] * w0[p, i, j]
    for k in range(last.shape[0]):
        s += last[k] * u0[p, k, j]
    return s


def _elman_action(net, hidden, b, p, x, single):
    """One step of Elman network ``p`` (``hidden[b]``: its last hidden output)."""
    w0, u0, b0, w1, b1, act, out_act, new = net
    H = w0.shape[2]
    for j in range(H):
        z = _activate(act, _recurrent_sum(w0, u0, b0, p, j, x, hidden[b]))
        new[j] = np.float32(z) if single else z
    s = b1[p]
    for j in range(H):
        hidden[b, j] = new[j]
        s += new[j] * w1[p, j]
    a = _activate(out_act, s)
    return np.float32(a) if single else a


def _full_action(net, state, b, p, x, single):
    """One synchronous step of fully recurrent network ``p`` (``state[b]``: every neuron's last activation)."""
    w0, u0, b0, act, out_act, new = net
    N = w0.shape[2]
    for j in range(N):
        z = _activate(out_act if j == N - 1 else act, _recurrent_sum(w0, u0, b0, p, j, x, state[b]))
        new[j] = np.float32(z) if single else z
    for j in range(N):
        state[b, j] = new[j]
    return new[N - 1]


if numba is not None:
    _activate = numba.njit(cache=True)(_activate)
    _scratch = numba.njit(cache=True)(_scratch)
    _live = numba.njit(cache=True)(_live)
    _observe = numba.njit(cache=True)(_observe)
    _neat_action = numba.njit(cache=True)(_neat_action)
    _recurrent_sum = numba.njit(cache=True)(_recurrent_sum)
    _elman_action = numba.njit(cache=True)(_elman_action)
    _full_action = numba.njit(cache=True)(_full_action)
    _drive = numba.njit(cache=True)(_drive)
