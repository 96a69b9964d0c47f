"""Double-pole dynamics: the batched environment (both its CPU kernel and its torch path) against an
independent per-step reference written plainly here, and physical properties a wrong equation fails."""
import math
import random

import pytest
import torch

from evohyper_tasks.double_pole_env import BatchedPoles

# ---------------------------------------------------------------------- the reference (pure Python floats)
G = 9.8                       # magnitude; the reference writes gravity with its own sign (see below)
M_CART, MU_C, MU_P = 1.0, 0.0005, 0.000002
MASSES, HALF = (0.1, 0.01), (0.5, 0.05)


def reference_accelerations(state, force, poles):
    """Wieland (1991), textbook form with the angle positive to the right and gravity pulling down:
    theta_i'' = 3/(4 l_i) (g sin - x'' cos - mu_p theta_i' / (m_i l_i)); the cart sees each pole's effective
    force and mass."""
    x_dot = state[1]
    f_sum, m_sum = 0.0, 0.0
    for i in range(poles):
        th, thd = state[2 + 2 * i], state[3 + 2 * i]
        m, l_ = MASSES[i], HALF[i]
        f_sum += m * l_ * thd ** 2 * math.sin(th) + 0.75 * m * math.cos(th) * (
            MU_P * thd / (m * l_) - G * math.sin(th))
        m_sum += m * (1.0 - 0.75 * math.cos(th) ** 2)
    sgn = (x_dot > 0) - (x_dot < 0)
    x_acc = (force - MU_C * sgn + f_sum) / (M_CART + m_sum)
    out = [x_dot, x_acc]
    for i in range(poles):
        th, thd = state[2 + 2 * i], state[3 + 2 * i]
        m, l_ = MASSES[i], HALF[i]
        out += [thd, 0.75 / l_ * (G * math.sin(th) - x_acc * math.cos(th) - MU_P * thd / (m * l_))]
    return out


def reference_step(state, action, poles):
    """One action: the force 10 N x clamp(action) held for two classical RK4 steps of 0.01 s."""
    force = 10.0 * max(-1.0, min(1.0, action))
    h = 0.01
    for _ in range(2):
        k1 = reference_accelerations(state, force, poles)
        k2 = reference_accelerations([s + h / 2 * k for s, k in zip(state, k1)], force, poles)
        k3 = reference_accelerations([s + h / 2 * k for s, k in zip(state, k2)], force, poles)
        k4 = reference_accelerations([s + h * k for s, k in zip(state, k3)], force, poles)
        state = [s + h / 6 * (a + 2 * b + 2 * c + d) for s, a, b, c, d in zip(state, k1, k2, k3, k4)]
    return state


def reference_failed(state, poles):
    angle = math.radians(36.0 if poles == 2 else 12.0)
    return abs(state[0]) > 2.4 or any(abs(state[2 + 2 * i]) > angle for i in range(poles))


# LQR gains (u = -K y, raw state units): the discrete Riccati solution for the linearisation at 0 of one
# action (Q = I, R = 10, computed with scipy.linalg.solve_discrete_are); they balance 100,000 steps.
LQR = {2: (0.169744, 0.360224, 6.709539, 1.776059, -4.88328, -0.43549),
       1: (-0.278148, -0.515047, -4.388268, -1.157538)}

BACKENDS = ["numba", "torch"]


def close(a, b, rel=1e-12, abs_=1e-12):
    return all(abs(x - y) <= rel * max(abs(x), abs(y)) + abs_ for x, y in zip(a, b))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("poles", [1, 2])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_forces_match_the_reference_until_failure(backend, poles, seed):
    rng = random.Random(seed)
    start = [rng.uniform(-0.5, 0.5), rng.uniform(-0.2, 0.2), rng.uniform(-0.05, 0.05), rng.uniform(-0.1, 0.1)]
    start += [0.0, 0.0] * (poles - 1)
    env = BatchedPoles(poles, max_steps=1000, backend=backend)
    env.reset(torch.tensor([start], dtype=torch.float64))
    ref, failed_at = list(start), None
    for t in range(1, 1001):
        action = rng.uniform(-1.5, 1.5)                      # beyond +-1 too: the clamp is part of the model
        ref = reference_step(ref, action, poles)
        got = env.step(torch.tensor([action], dtype=torch.float64))[0].tolist()
        assert close(got, ref), f"step {t}: {got} vs {ref}"
        if reference_failed(ref, poles):
            failed_at = t
            break
    assert failed_at is not None and 3 <= failed_at < 1000
    assert env.failed.item() and env.done.item()
    assert env.balanced.item() == failed_at - 1 and env.forwards.item() == failed_at
    frozen = env.state.clone()
    env.step(torch.tensor([1.0], dtype=torch.float64))
    assert torch.equal(env.state, frozen) and env.forwards.item() == failed_at


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("poles", [1, 2])
def test_controlled_trajectory_with_noise_matches_the_reference_for_hundreds_of_steps(backend, poles):
    """Closed loop (LQR plus random pushes) keeps the system near upright, so 400 steps stay comparable."""
    rng = random.Random(poles)
    k = LQR[poles]
    start = [0.1, 0.0, 0.05, 0.0] + [0.0, 0.0] * (poles - 1)
    env = BatchedPoles(poles, max_steps=400, backend=backend)
    env.reset(torch.tensor([start], dtype=torch.float64))
    ref = list(start)
    for t in range(1, 401):
        noise = rng.uniform(-0.3, 0.3)
        action = -sum(a * b for a, b in zip(k, ref)) + noise
        got_state = env.state[0].tolist()
        got_action = -sum(a * b for a, b in zip(k, got_state)) + noise
        ref = reference_step(ref, action, poles)
        got = env.step(torch.tensor([got_action], dtype=torch.float64))[0].tolist()
        assert close(got, ref), f"step {t}: {got} vs {ref}"
        assert not reference_failed(ref, poles)
    assert env.balanced.item() == 400 and env.done.item() and not env.failed.item()


def test_backends_agree_on_a_batch_and_freeze_done_environments():
    g = torch.Generator().manual_seed(0)
    starts = torch.zeros(5, 3, 6, dtype=torch.float64)
    starts[..., :4] = 0.05 * torch.randn(5, 3, 4, generator=g, dtype=torch.float64)
    envs = [BatchedPoles(2, max_steps=60, jiggle=True, backend=b) for b in BACKENDS]
    for env in envs:
        env.reset(starts)
    for _ in range(80):
        actions = 1.2 * torch.randn(5, 3, generator=g, dtype=torch.float64)
        for env in envs:
            env.step(actions)
    a, b = envs
    assert torch.allclose(a.state, b.state, rtol=1e-12, atol=1e-12)
    for name in ("failed", "done", "balanced", "forwards"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert torch.allclose(a.jiggle_sum(), b.jiggle_sum(), rtol=1e-12)
    assert a.live == b.live == int((~a.done).sum()) == 0
    assert bool(((a.balanced == 60) | a.failed).all())


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_force_the_long_pole_falls_to_its_side(backend):
    """From the standard start (long pole 0.07 rad right) with no force, the long pole falls right, pushing
    the cart left; the short pole (10x faster) is thrown left by the cart's reaction and fails first."""
    for sign in (1.0, -1.0):
        env = BatchedPoles(2, backend=backend)
        env.reset(torch.tensor([[0.0, 0.0, sign * 0.07, 0.0, 0.0, 0.0]], dtype=torch.float64))
        states = []
        while env.live:
            states.append(env.step(torch.zeros(1, dtype=torch.float64))[0].clone())
        x, x_dot, th1, th1_dot, th2, _ = states[-1].tolist()
        assert sign * th1 > 0.07 and sign * th1_dot > 0          # the long pole keeps falling its own way
        assert sign * x_dot < 0                                  # the reaction moves the cart the other way
        # free fall of an inverted pendulum from 0.07 rad takes ~0.4 s to reach 0.2 rad: 10 to 40 actions
        assert 10 <= env.balanced.item() <= 40, env.balanced.item()


@pytest.mark.parametrize("poles", [1, 2])
def test_frictionless_unforced_motion_keeps_energy_and_momentum(poles, monkeypatch):
    """Without friction and force, total energy and horizontal momentum are conserved (RK4 at 0.01 s keeps
    them to ~1e-6 over 0.5 s); a sign error in any term of the equations breaks one of them."""
    import evohyper_tasks.double_pole_env as E
    monkeypatch.setattr(E, "CART_FRICTION", 0.0)
    monkeypatch.setattr(E, "HINGE_FRICTION", 0.0)
    env = BatchedPoles(poles, failure_angle=10.0, backend="torch")   # never fails: it swings freely
    env._set_constants(torch.device("cpu"))

    def invariants(s):
        xd = s[1]
        kinetic, potential, momentum = 0.5 * 1.0 * xd ** 2, 0.0, 1.0 * xd
        for i in range(poles):
            th, thd, m, l_ = s[2 + 2 * i], s[3 + 2 * i], MASSES[i], HALF[i]
            vx, vy = xd + l_ * thd * math.cos(th), -l_ * thd * math.sin(th)   # the pole's centre of mass
            kinetic += 0.5 * m * (vx ** 2 + vy ** 2) + 0.5 * (m * l_ ** 2 / 3) * thd ** 2
            potential += m * 9.8 * l_ * math.cos(th)
            momentum += m * vx
        return kinetic + potential, momentum

    start = [0.0, 0.3, 0.1, 0.3] + [-0.05, 0.5] * (poles - 1)
    env.reset(torch.tensor([start], dtype=torch.float64))
    e0, p0 = invariants(start)
    for _ in range(25):
        s = env.step(torch.zeros(1, dtype=torch.float64))[0].tolist()
    e1, p1 = invariants(s)
    assert abs(s[2]) > 0.3 and abs(s[1] - start[1]) > 0.05      # it really moved
    assert abs(e1 - e0) < 1e-6 * max(1.0, abs(e0)), (e0, e1)
    assert abs(p1 - p0) < 1e-6, (p0, p1)


def test_env_rejects_bad_input():
    with pytest.raises(ValueError, match="poles"):
        BatchedPoles(3)
    env = BatchedPoles(2)
    with pytest.raises(ValueError, match=r"\[\.\.\., 6\]"):
        env.reset(torch.zeros(3, 4))
    env.reset(torch.zeros(3, 6))
    with pytest.raises(ValueError, match="actions"):
        env.step(torch.zeros(2))
    env = BatchedPoles(2)
    env.reset(torch.zeros(1, 6))
    env.step(torch.tensor([float("nan")]))                      # a non-finite state fails, never balances
    assert env.failed.item() and env.balanced.item() == 0
