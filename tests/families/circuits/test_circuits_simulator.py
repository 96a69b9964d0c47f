"""The batched simulator against closed forms and against the per-circuit numpy reference."""
import math

import numpy as np
import pytest
import torch

from evohyper.families.circuits import reference
from evohyper.families.circuits.simulator import (
    EMPTY,
    PARALLEL_C,
    PARALLEL_L,
    PARALLEL_R,
    SERIES_C,
    SERIES_L,
    SERIES_R,
    chain_matrix,
    log_frequencies,
    response,
)


def one(kinds, values):
    return torch.tensor([kinds]), torch.tensor([values], dtype=torch.float64)


def test_rc_low_pass_minus_3db_at_cutoff():
    r, c = 1e3, 100e-9
    fc = 1 / (2 * math.pi * r * c)
    omega = 2 * math.pi * torch.tensor([fc / 100, fc, fc * 100], dtype=torch.float64)
    v = response(*one([SERIES_R, PARALLEL_C], [r, c]), omega)[0, 0]
    db = 20 * torch.log10(v.abs())
    assert abs(float(db[1]) + 10 * math.log10(2)) < 1e-9          # -3.01 dB exactly at 1/(2 pi R C)
    assert abs(float(torch.angle(v[1])) + math.pi / 4) < 1e-12     # phase -45 degrees
    assert abs(float(db[0])) < 1e-3 and float(db[2]) < -39.9       # pass band 0 dB, -40 dB two decades up


def test_resistive_divider_with_and_without_load():
    omega = log_frequencies(5, 10, 1e6)
    r1, r2, rl = 3e3, 1e3, 2e3
    out = response(*one([SERIES_R, PARALLEL_R], [r1, r2]), omega)
    assert torch.allclose(out[0, 0], torch.full((5,), r2 / (r1 + r2), dtype=torch.complex128))
    assert torch.allclose(out[0, 1], torch.full((5,), 1 / (r1 + r2), dtype=torch.complex128))
    loaded = response(*one([SERIES_R, PARALLEL_R], [r1, r2]), omega, load=rl)
    par = r2 * rl / (r2 + rl)
    assert torch.allclose(loaded[0, 0], torch.full((5,), par / (r1 + par), dtype=torch.complex128))


def test_lc_resonance():
    ind, c, r = 1e-3, 1e-6, 50.0
    f0 = 1 / (2 * math.pi * math.sqrt(ind * c))
    omega = 2 * math.pi * torch.tensor([f0 / 3, f0, 3 * f0], dtype=torch.float64)
    # series L + series C into a load: a band-pass with unit gain exactly at resonance
    band = response(*one([SERIES_L, SERIES_C], [ind, c]), omega, load=r)[0, 0]
    w = omega.numpy()
    expected = r / (r + 1j * (w * ind - 1 / (w * c)))
    np.testing.assert_allclose(band.numpy(), expected, rtol=1e-12)
    assert abs(complex(band[1]) - 1) < 1e-9 and float(band[0].abs()) < 0.6 and float(band[2].abs()) < 0.6
    # series L + parallel C, open output: 1 / (1 - w^2 L C) peaks at resonance
    peak = response(*one([SERIES_L, PARALLEL_C], [ind, c]), omega * torch.tensor([1, 0.999, 1], dtype=torch.float64))
    assert float(peak[0, 0, 1].abs()) > 400
    # parallel L || parallel C tank: zero admittance at resonance, so the input current vanishes
    tank = response(*one([SERIES_R, PARALLEL_L, PARALLEL_C], [r, ind, c]), omega)[0]
    assert abs(complex(tank[0, 1]) - 1) < 1e-9


def test_empty_slots_are_identity_and_matrices_have_unit_determinant():
    omega = log_frequencies(7, 100, 1e7)
    k = torch.tensor([[SERIES_R, EMPTY, PARALLEL_L, EMPTY], [SERIES_R, PARALLEL_L, EMPTY, EMPTY]])
    v = torch.tensor([[100.0, 5.0, 1e-3, 7.0], [100.0, 1e-3, 1.0, 1.0]], dtype=torch.float64)
    m = chain_matrix(k, v, omega)
    assert torch.allclose(m[0], m[1])
    assert torch.allclose(torch.linalg.det(m), torch.ones((), dtype=torch.complex128))


def random_circuits(n, length, seed):
    rng = np.random.default_rng(seed)
    kinds = rng.integers(0, 6, size=(n, length))
    kinds[rng.random((n, length)) < 0.2] = EMPTY
    element = kinds % 3
    values = np.where(element == 0, 10 ** rng.uniform(1, 5, (n, length)),
                      np.where(element == 1, 10 ** rng.uniform(-9, -6, (n, length)),
                               10 ** rng.uniform(-5, -2, (n, length))))
    return kinds, values


@pytest.mark.parametrize("load", [None, 1e3])
def test_agrees_with_per_circuit_numpy_reference(load):
    kinds, values = random_circuits(200, 10, seed=7)
    omega = log_frequencies(32, 100, 1e7)
    ref = reference.response_many(kinds, values, omega.numpy(), load)
    got = response(torch.from_numpy(kinds), torch.from_numpy(values), omega, load).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(chain_matrix(torch.from_numpy(kinds[:5]), torch.from_numpy(values[:5]), omega).numpy(),
                               np.stack([reference.chain_matrix_one(k, v, omega.numpy())
                                         for k, v in zip(kinds[:5], values[:5])]), rtol=1e-10)


def test_complex64_close_to_complex128():
    kinds, values = random_circuits(50, 6, seed=1)
    omega = log_frequencies(16, 100, 1e7)
    hi = response(torch.from_numpy(kinds), torch.from_numpy(values), omega, 1e3)
    lo = response(torch.from_numpy(kinds), torch.from_numpy(values), omega, 1e3, dtype=torch.complex64)
    assert lo.dtype == torch.complex64
    assert torch.allclose(lo.to(torch.complex128), hi, rtol=1e-3, atol=1e-9)


def test_differentiable_in_values():
    k, v = one([SERIES_R, PARALLEL_C, SERIES_L, PARALLEL_R], [1e3, 1e-7, 1e-3, 5e2])
    logv = v.log().requires_grad_(True)
    out = response(k, logv.exp(), log_frequencies(16, 100, 1e7), load=1e3)
    out.abs().sum().backward()
    assert torch.isfinite(logv.grad).all() and (logv.grad.abs() > 0).all()


def test_the_in_place_sorted_path_equals_the_autograd_path_and_peel_inverts_a_component():
    """Without autograd the simulator updates, in place, only the circuits that still have a component
    at each position (sorted by their last one); the result is bit-identical to the differentiable path,
    for compact chains, chains with holes and empty chains alike."""
    from evohyper.families.circuits.simulator import peel
    from evohyper.families.circuits.space import DEFAULT_SPACE as S

    gen = torch.Generator().manual_seed(0)
    kinds = torch.randint(-1, 6, (300, 10), generator=gen)
    kinds[:5] = EMPTY
    values = S.values(kinds, torch.randint(0, 36, (300, 10), generator=gen))
    for dtype in (torch.complex128, torch.complex64):
        plain = response(kinds, values, S.omega, S.load, dtype)
        graded = response(kinds, values.clone().requires_grad_(True), S.omega, S.load, dtype).detach()
        assert torch.equal(plain, graded)
    assert torch.allclose(plain[:5, 0].to(torch.complex128), torch.ones(5, 64, dtype=torch.complex128))
    full = response(kinds, values, S.omega, S.load)
    rest = response(torch.cat([kinds[:, 1:], torch.full((300, 1), EMPTY)], 1),
                    torch.cat([values[:, 1:], torch.ones(300, 1, dtype=torch.float64)], 1), S.omega, S.load)
    peeled = peel(full, kinds[:, 0], values[:, 0], S.omega)
    assert torch.allclose(peeled, rest, rtol=1e-6, atol=0)
