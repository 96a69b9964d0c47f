"""Batched, differentiable ABCD (transfer-matrix) simulator of two-port component chains.

A circuit is a chain of at most ``L`` components; component ``l`` of circuit ``n`` has a kind code
``kinds[n, l]`` (see ``KINDS``; ``EMPTY = -1`` is an empty slot = the identity matrix, which is how
chains of different lengths share one tensor) and a value ``values[n, l]`` (ohm, farad or henry).
Every quantity is a tensor over ``[circuits, frequencies]`` (complex dtype); the only Python loop is
over the chain positions (at most ``L``), never over circuits.

Convention (Rotman & Wolf 2020): a component maps ``(V_in, I_in)`` to ``(V_out, I_out)`` by
``series Z: [[1, -Z], [0, 1]]`` and ``parallel Z: [[1, 0], [-1/Z, 1]]``; the chain's matrix is the
product ``T_L ... T_1``. The *response* is what a unit voltage source at the input sees: the output
voltage ``V_out`` across a load resistor (``load=None``: open circuit) and the input current ``I_in``.
"""
from __future__ import annotations

import math

import torch

#: kind codes: placement (series / parallel) x element (R / C / L)
KINDS = ("series_R", "series_C", "series_L", "parallel_R", "parallel_C", "parallel_L")
EMPTY = -1
SERIES_R, SERIES_C, SERIES_L, PARALLEL_R, PARALLEL_C, PARALLEL_L = range(6)


def element_of(kinds: torch.Tensor) -> torch.Tensor:
    """0 = R, 1 = C, 2 = L (EMPTY stays -1)."""
    return torch.where(kinds < 0, kinds, kinds % 3)


def is_parallel(kinds: torch.Tensor) -> torch.Tensor:
    return kinds >= 3


def impedances(kinds: torch.Tensor, values: torch.Tensor, omega: torch.Tensor,
               dtype: torch.dtype = torch.complex128) -> torch.Tensor:
    """Impedance ``Z [N, L, K]`` of every component at every angular frequency (EMPTY slots: 0).

    R: ``R``; C: ``1 / (j w C)``; L: ``j w L``. Differentiable in ``values``.
    """
    real = torch.float64 if dtype == torch.complex128 else torch.float32
    v = values.to(real).unsqueeze(-1)                      # [N, L, 1]
    w = omega.to(device=values.device, dtype=real)          # [K]
    el = element_of(kinds).unsqueeze(-1)                    # [N, L, 1]
    zero = torch.zeros((), dtype=real, device=values.device)
    resistance = torch.where(el == 0, v, zero).expand(*v.shape[:-1], w.shape[0])
    safe_v = torch.where(el > 0, v, torch.ones((), dtype=real, device=values.device))
    reactance = torch.where(el == 1, -1.0 / (w * safe_v), torch.where(el == 2, w * safe_v, zero))
    return torch.complex(resistance, reactance).to(dtype)


def chain_abcd(kinds: torch.Tensor, values: torch.Tensor, omega: torch.Tensor,
               dtype: torch.dtype = torch.complex128) -> tuple[torch.Tensor, ...]:
    """The chain's matrix entries ``(a, b, c, d)``, each ``[N, K]`` complex.

    Each component is ``[[1, -s], [-p, 1]]`` with ``s = Z`` (series) or ``p = 1/Z`` (parallel), the
    other 0; empty slots have ``s = p = 0`` (the identity). Left-multiplying by it is four fused
    tensor updates over the whole population, which is what makes the simulator fast.
    """
    if kinds.shape != values.shape or kinds.dim() != 2:
        raise ValueError(f"kinds and values must both be [circuits, length], got {tuple(kinds.shape)} "
                         f"and {tuple(values.shape)}")
    z = impedances(kinds, values, omega, dtype)             # [N, L, K]
    par = is_parallel(kinds).unsqueeze(-1)
    ser = ((kinds >= 0) & ~is_parallel(kinds)).unsqueeze(-1)
    zero = torch.zeros((), dtype=dtype, device=z.device)
    s = torch.where(ser, z, zero)
    p = torch.where(par, 1.0 / torch.where(par, z, torch.ones((), dtype=dtype, device=z.device)), zero)
    n, k = kinds.shape[0], omega.shape[0]
    a = torch.ones(n, k, dtype=dtype, device=z.device)
    b = torch.zeros(n, k, dtype=dtype, device=z.device)
    c, d = b.clone(), a.clone()
    for pos in range(kinds.shape[1]):                      # chain positions only (<= 10)
        sl, pl = s[:, pos], p[:, pos]
        a, b, c, d = a - sl * c, b - sl * d, c - pl * a, d - pl * b
    return a, b, c, d


def chain_matrix(kinds: torch.Tensor, values: torch.Tensor, omega: torch.Tensor,
                 dtype: torch.dtype = torch.complex128) -> torch.Tensor:
    """The chain's transfer matrix ``[N, K, 2, 2]``."""
    a, b, c, d = chain_abcd(kinds, values, omega, dtype)
    return torch.stack([torch.stack([a, b], -1), torch.stack([c, d], -1)], -2)


def _coefficients(kinds: torch.Tensor, values: torch.Tensor, real: torch.dtype) -> tuple[torch.Tensor, ...]:
    """Per slot, ``s`` (series impedance) and ``p`` (parallel admittance) as ``alpha + j (beta w + gamma / w)``.

    Series R: alpha = R; series L: beta = L; series C: gamma = -1/C. Parallel R: alpha = 1/R;
    parallel C: beta = C; parallel L: gamma = -1/L. Everything else 0. Returns six ``[N, L]`` tensors.
    """
    v = values.to(real)
    el, par = element_of(kinds), is_parallel(kinds)
    ser = (kinds >= 0) & ~par
    zero = torch.zeros((), dtype=real, device=v.device)
    safe = torch.where(kinds >= 0, v, torch.ones((), dtype=real, device=v.device))
    inv = 1.0 / safe
    pick = lambda cond, x: torch.where(cond, x, zero)  # noqa: E731
    s = (pick(ser & (el == 0), v), pick(ser & (el == 2), v), pick(ser & (el == 1), -inv))
    p = (pick(par & (el == 0), inv), pick(par & (el == 1), v), pick(par & (el == 2), -inv))
    return (*s, *p)


def response(kinds: torch.Tensor, values: torch.Tensor, omega: torch.Tensor, load: float | None = None,
             dtype: torch.dtype = torch.complex128) -> torch.Tensor:
    """Response ``[N, 2, K]`` complex: channel 0 = ``V_out``, channel 1 = ``I_in``, for a 1 V source.

    With a load ``R`` (``g = 1/R``, 0 for an open circuit): ``I_out = g V_out`` and
    ``(V_out, I_out) = M (1, I_in)`` give ``I_in = (a g - c) / (d - b g)`` and, because every
    component (hence the chain) has determinant 1, ``V_out = 1 / (d - b g)``. Using the determinant
    avoids ``a + b I_in``, which cancels catastrophically in long attenuating chains.

    Only the row ``(a g - c, b g - d) = (g, -1) M`` is needed, so it is propagated from the output end,
    ``r <- r T_l`` for ``l = L..1``: two fused multiply-adds over ``[N, K]`` per position instead of
    the full matrix product (``chain_abcd``).
    ``s`` and ``p`` of a slot at every frequency (``alpha + j (beta w + gamma / w)``, see
    ``_coefficients``) come from one small real GEMM per position whose output is read as complex.
    """
    if kinds.shape != values.shape or kinds.dim() != 2:
        raise ValueError(f"kinds and values must both be [circuits, length], got {tuple(kinds.shape)} "
                         f"and {tuple(values.shape)}")
    real = torch.float64 if dtype == torch.complex128 else torch.float32
    w = omega.to(device=values.device, dtype=real)
    n_pos, n, k = kinds.shape[1], kinds.shape[0], w.shape[0]
    # basis [3, K, 2] (real, imag): alpha -> 1, beta -> j w, gamma -> j / w
    basis = torch.zeros((3, k, 2), dtype=real, device=w.device)
    basis[0, :, 0], basis[1, :, 1], basis[2, :, 1] = 1.0, w, 1.0 / w
    basis = basis.reshape(3, 2 * k)
    g = 0.0 if load is None else 1.0 / float(load)
    r1 = torch.full((n, k), g, dtype=dtype, device=values.device)
    r2 = torch.full((n, k), -1.0, dtype=dtype, device=values.device)
    if torch.is_grad_enabled() and values.requires_grad:
        coef = torch.stack(_coefficients(kinds.T, values.T, real), dim=-1)              # [L, N, 6]
        coef = coef.view(n_pos, n, 2, 3).transpose(1, 2).reshape(n_pos, 2 * n, 3)       # [L, (s|p) x N, 3]
        for pos in range(n_pos - 1, -1, -1):               # chain positions only (<= 10), output first
            # s and p of this slot for every circuit and frequency: one small real GEMM read as complex
            s_p = torch.view_as_complex((coef[pos] @ basis).view(2, n, k, 2)).to(dtype)
            # r T = (r1 - p r2, r2 - s r1); one of s, p is 0, so updating r1 first is exact
            r1 = torch.addcmul(r1, s_p[1], r2, value=-1)
            r2 = torch.addcmul(r2, s_p[0], r1, value=-1)
        return torch.stack([-1.0 / r2, r1 / -r2], dim=1)
    # no autograd: circuits sorted by their last component, so that at each position only the prefix of
    # circuits that still has a component there is updated, in place (empty tail slots cost nothing)
    last = torch.where(kinds >= 0, torch.arange(n_pos, device=kinds.device), -1).amax(1)
    order = torch.argsort(last, descending=True)
    active = torch.bincount(last + 1, minlength=n_pos + 1).flip(0).cumsum(0)[:n_pos].flip(0)  # rows with last >= pos
    coef = torch.stack(_coefficients(kinds[order].T, values[order].T, real), dim=-1)      # [L, N, 6] (sorted)
    for pos in range(n_pos - 1, -1, -1):
        m = int(active[pos])
        if m == 0:
            continue
        s_p = torch.view_as_complex((coef[pos, :m].view(m, 2, 3).transpose(0, 1).reshape(2 * m, 3) @ basis)
                                    .view(2, m, k, 2)).to(dtype)
        r1[:m].addcmul_(s_p[1], r2[:m], value=-1)
        r2[:m].addcmul_(s_p[0], r1[:m], value=-1)
    out = torch.empty((n, 2, k), dtype=dtype, device=values.device)
    out[order, 0], out[order, 1] = -1.0 / r2, r1 / -r2
    return out


def peel(resp: torch.Tensor, kinds: torch.Tensor, values: torch.Tensor, omega: torch.Tensor) -> torch.Tensor:
    """The response ``[N, 2, K]`` of what remains of each chain once its first component is removed.

    With a 1 V source, a first component ``T`` maps the input ``(1, I_in)`` to ``(V_1, I_1) = T (1, I_in)``:
    series ``Z``: ``V_1 = 1 - Z I_in``, ``I_1 = I_in``; parallel ``Z``: ``V_1 = 1``, ``I_1 = I_in - 1/Z``. The
    rest of the chain sees the source ``V_1``, and it is linear, so on a unit source it gives
    ``(V_out / V_1, I_1 / V_1)``. ``kinds`` / ``values`` ``[N]`` (EMPTY: unchanged). Differentiable.
    """
    z = impedances(kinds.unsqueeze(1), values.unsqueeze(1), omega, resp.dtype)[:, 0]         # [N, K]
    v_out, i_in = resp[:, 0], resp[:, 1]
    par = is_parallel(kinds).unsqueeze(1)
    ser = ((kinds >= 0) & ~is_parallel(kinds)).unsqueeze(1)
    v1 = torch.where(ser, 1 - z * i_in, torch.ones_like(i_in))
    i1 = torch.where(par, i_in - 1 / torch.where(par, z, torch.ones_like(z)), i_in)
    return torch.stack([v_out / v1, i1 / v1], 1)


def log_frequencies(k: int, f_min: float, f_max: float) -> torch.Tensor:
    """``k`` log-spaced angular frequencies ``2 pi f`` (float64) from ``f_min`` to ``f_max`` hertz."""
    return 2 * math.pi * torch.logspace(math.log10(f_min), math.log10(f_max), k, dtype=torch.float64)


def log_ratio(candidate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``log(candidate / target)`` (complex): real part = log magnitude ratio, imaginary = phase error.

    The natural distance between responses that span decades; zero for identical responses.
    """
    return torch.log(candidate / target)
