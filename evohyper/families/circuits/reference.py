"""Plain per-circuit numpy reference simulator: the textbook 2x2 matrix product, one circuit at a time.

Used to check the batched torch simulator (tests) and as the baseline of its benchmark. It shares no
code with ``simulator.py`` on purpose: matrices are written out per component and multiplied with
``numpy.matmul``; it loops over circuits (which is what the batched simulator avoids).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def component_matrix(kind: int, value: float, omega: np.ndarray) -> np.ndarray:
    """``[K, 2, 2]`` complex matrix of one component (kind codes as in ``simulator.KINDS``), in the
    precision of ``omega`` (float64 -> complex128, float32 -> complex64)."""
    cdt = np.complex64 if omega.dtype == np.float32 else np.complex128
    value = omega.dtype.type(value)
    element = kind % 3
    if element == 0:
        z = np.full(omega.shape, value, dtype=cdt)
    elif element == 1:
        z = (1.0 / (1j * omega * value)).astype(cdt)
    else:
        z = (1j * omega * value).astype(cdt)
    m = np.zeros((omega.shape[0], 2, 2), dtype=cdt)
    m[:, 0, 0] = m[:, 1, 1] = 1.0
    if kind < 3:
        m[:, 0, 1] = -z
    else:
        m[:, 1, 0] = -1.0 / z
    return m


def chain_matrix_one(kinds: Sequence[int], values: Sequence[float], omega: np.ndarray) -> np.ndarray:
    """``[K, 2, 2]`` product ``T_L ... T_1`` of one circuit (kind -1 = empty slot, skipped)."""
    cdt = np.complex64 if omega.dtype == np.float32 else np.complex128
    m = np.broadcast_to(np.eye(2, dtype=cdt), (omega.shape[0], 2, 2)).copy()
    for kind, value in zip(kinds, values):
        if kind >= 0:
            m = np.matmul(component_matrix(int(kind), float(value), omega), m)
    return m


def response_one(kinds: Sequence[int], values: Sequence[float], omega: np.ndarray,
                 load: float | None = None) -> np.ndarray:
    """``[2, K]``: ``V_out`` and ``I_in`` for a 1 V source.

    Unknowns ``(V_out, I_in)``: ``V_out - b I_in = a`` and ``g V_out - d I_in = c`` (``g = 1/load``),
    solved by Cramer's rule; ``det M`` is the product of the components' determinants (computed
    per component, where it is well conditioned) rather than ``ad - bc`` of the product, which cancels.
    """
    cdt = np.complex64 if omega.dtype == np.float32 else np.complex128
    m = np.broadcast_to(np.eye(2, dtype=cdt), (omega.shape[0], 2, 2)).copy()
    det_m = np.ones(omega.shape[0], dtype=cdt)
    for kind, value in zip(kinds, values):
        if kind >= 0:
            t = component_matrix(int(kind), float(value), omega)
            m = np.matmul(t, m)
            det_m *= t[:, 0, 0] * t[:, 1, 1] - t[:, 0, 1] * t[:, 1, 0]
    a, b, c, d = m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1]
    g = omega.dtype.type(0.0 if load is None else 1.0 / load)
    det_lhs = b * g - d
    v_out = -det_m / det_lhs                      # Cramer, column 1 -> (a, c): (bc - ad) / det_lhs
    i_in = (c - g * a) / det_lhs                  # Cramer, column 2 -> (a, c)
    return np.stack([v_out, i_in])


def response_many(kinds: np.ndarray, values: np.ndarray, omega: np.ndarray, load: float | None = None) -> np.ndarray:
    """``[N, 2, K]`` by looping ``response_one`` over circuits (the per-circuit baseline); complex64 when
    ``omega`` is float32."""
    return np.stack([response_one(k, v, omega, load) for k, v in zip(kinds, values)])
