"""The numerical half of the ``dct`` decoder: orthonormal DCT-II bases, the coefficient ordering, and
one ``Painter`` per target tensor that turns ``[P, k]`` coefficients into ``[P, *shape]`` weights.

Why separable matmuls instead of ``torch.fft``: torch has no DCT, and a DCT through an FFT needs
reordering and twiddles per axis; the orthonormal DCT-II of length n is just an ``n x n`` matrix ``C``
(``X = C x``, and ``x = C^T X`` since ``C`` is orthogonal), so the inverse N-D DCT is one matmul per
axis, batched over the population by torch. Only the low-frequency box that holds the k chosen
coefficients is ever built (its rows of ``C``), so painting costs ``O(P * size * box)``, not
``O(P * size^2)``.
"""
from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch


def dct_matrix(n: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The orthonormal DCT-II matrix ``C [n, n]`` (rows = frequencies): ``C[f, i] = s_f cos(pi (2i+1) f / 2n)``
    with ``s_0 = sqrt(1/n)``, ``s_f = sqrt(2/n)``: scipy's ``dct(x, norm="ortho") == C @ x``."""
    f = torch.arange(n, dtype=torch.float64).unsqueeze(1)
    i = torch.arange(n, dtype=torch.float64).unsqueeze(0)
    c = torch.cos(math.pi * (2 * i + 1) * f / (2 * n)) * math.sqrt(2.0 / n)
    c[0] /= math.sqrt(2.0)
    return c.to(dtype)


def _with_sum(total: int, shape: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
    """Index tuples inside ``shape`` whose entries sum to ``total``, in row-major (lexicographic) order."""
    if len(shape) == 1:
        if total < shape[0]:
            yield (total,)
        return
    rest = sum(d - 1 for d in shape[1:])      # the most the later axes can add
    for first in range(max(0, total - rest), min(total, shape[0] - 1) + 1):
        for tail in _with_sum(total - first, shape[1:]):
            yield (first, *tail)


def coefficient_positions(shape: tuple[int, ...], k: int, order: str) -> list[tuple[int, ...]]:
    """The first ``k`` coefficient positions of a tensor of ``shape`` (``k`` <= its size).

    ``diagonal``: increasing summed frequency index ``sum(pos)`` (the zig-zag of JPEG without its
    alternation), ties in row-major order; ``row``: plain row-major order of the whole tensor."""
    size = math.prod(shape)
    if not 1 <= k <= size:
        raise ValueError(f"k must be in [1, {size}] for a tensor of shape {shape}, got {k}")
    if order == "row":
        return [tuple(int(v) for v in np.unravel_index(j, shape)) for j in range(k)]
    if order != "diagonal":
        raise ValueError(f"unknown coefficient order {order!r}")
    out: list[tuple[int, ...]] = []
    total = 0
    while len(out) < k:
        for pos in _with_sum(total, shape):
            out.append(pos)
            if len(out) == k:
                break
        total += 1
    return out


class Painter:
    """Inverse DCT of one tensor from its ``k`` chosen coefficients (and the projection back).

    ``paint(c [P, k]) -> [P, *shape]``: the coefficients go into a zero block of the low-frequency box
    ``box`` (one more than the largest chosen index on each axis), then each axis is expanded from its
    ``box[a]`` frequencies to its ``shape[a]`` samples by one batched matmul with rows of ``C^T``.
    ``project`` is its adjoint, which is also its left inverse (the bases are orthonormal): the k
    chosen coefficients of the forward DCT-II, i.e. the least-squares fit of a given tensor.
    """

    def __init__(self, shape: tuple[int, ...], k: int, order: str):
        self.shape = tuple(int(d) for d in shape)
        self.positions = coefficient_positions(self.shape, k, order)
        self.box = tuple(max(p[a] for p in self.positions) + 1 for a in range(len(self.shape)))
        flat = np.ravel_multi_index(tuple(np.array(self.positions).T), self.box)
        self.index = torch.as_tensor(flat, dtype=torch.long)
        # per axis: C[:box_a]  [box_a, n_a]; paint multiplies the frequency axis by it, project by its transpose
        self._bases = [dct_matrix(n)[:b] for n, b in zip(self.shape, self.box)]
        self._cache: dict[tuple[torch.dtype, torch.device], tuple[list[torch.Tensor], torch.Tensor]] = {}

    @property
    def k(self) -> int:
        return len(self.positions)

    def _on(self, like: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        key = (like.dtype, like.device)
        if key not in self._cache:
            self._cache[key] = ([b.to(like) for b in self._bases], self.index.to(like.device))
        return self._cache[key]

    @staticmethod
    def _along(x: torch.Tensor, axis: int, matrix: torch.Tensor) -> torch.Tensor:
        """``x`` with its axis ``axis`` (after the population axis) contracted against ``matrix``'s rows."""
        return torch.movedim(torch.movedim(x, axis + 1, -1) @ matrix, -1, axis + 1)

    def paint(self, coeffs: torch.Tensor) -> torch.Tensor:
        """``[P, k]`` coefficients -> ``[P, *shape]``: ``idctn`` (orthonormal) of the placed coefficients."""
        bases, index = self._on(coeffs)
        block = coeffs.new_zeros(coeffs.shape[0], math.prod(self.box))
        block[:, index] = coeffs
        x = block.view(coeffs.shape[0], *self.box)
        for axis, basis in enumerate(bases):
            x = self._along(x, axis, basis)
        return x

    def project(self, tensors: torch.Tensor) -> torch.Tensor:
        """``[P, *shape]`` -> ``[P, k]``: the chosen coefficients of ``dctn(tensors, norm="ortho")``."""
        bases, index = self._on(tensors)
        x = tensors
        for axis, basis in enumerate(bases):
            x = self._along(x, axis, basis.T)
        return x.reshape(tensors.shape[0], -1)[:, index]


class NeuronPainter:
    """Inverse 1-D DCT of every neuron's weight vector in one layer (``grouping: neuron``).

    ``parts`` lists the layer's tensors as ``(name, shape, axis)``: ``axis`` indexes the layer's neurons
    (the same count ``n`` in every part). Neuron ``j``'s signal is the concatenation, in ``parts`` order,
    of each tensor's slice ``j`` along its axis, flattened row-major: length ``L``. Each neuron's ``k``
    genes are its first ``k`` (lowest) frequencies; in 1-D the ``diagonal`` and ``row`` orders coincide.
    ``paint(c [P, n * k]) -> {name: [P, *shape]}`` is one matmul ``[P, n, k] @ C[:k]``: batched over the
    population and the neurons at once; ``project`` is its adjoint and left inverse, as in ``Painter``.
    """

    def __init__(self, parts: list[tuple[str, tuple[int, ...], int]], k: int):
        self.parts = [(name, tuple(int(d) for d in shape), int(axis)) for name, shape, axis in parts]
        counts = {shape[axis] for _, shape, axis in self.parts}
        if len(counts) != 1:
            raise ValueError(f"the tensors of one layer must share their neuron count, got {self.parts}")
        self.neurons = counts.pop()
        self.lengths = [math.prod(shape) // self.neurons for _, shape, _ in self.parts]
        self.length = sum(self.lengths)
        if not 1 <= k <= self.length:
            raise ValueError(f"k must be in [1, {self.length}] for neuron signals of length {self.length}, got {k}")
        self.k = int(k)
        self._basis = dct_matrix(self.length)[:self.k]           # [k, L]
        self._cache: dict[tuple[torch.dtype, torch.device], torch.Tensor] = {}

    @property
    def genes(self) -> int:
        return self.neurons * self.k

    def _on(self, like: torch.Tensor) -> torch.Tensor:
        key = (like.dtype, like.device)
        if key not in self._cache:
            self._cache[key] = self._basis.to(like)
        return self._cache[key]

    def paint(self, coeffs: torch.Tensor) -> dict[str, torch.Tensor]:
        """``[P, n * k]`` (neuron-major) -> ``{name: [P, *shape]}``."""
        P = coeffs.shape[0]
        signals = coeffs.view(P, self.neurons, self.k) @ self._on(coeffs)     # [P, n, L]
        out = {}
        for (name, shape, axis), piece in zip(self.parts, torch.split(signals, self.lengths, dim=2)):
            rest = shape[:axis] + shape[axis + 1:]
            out[name] = torch.movedim(piece.reshape(P, self.neurons, *rest), 1, axis + 1)
        return out

    def project(self, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
        """``{name: [P, *shape]}`` -> ``[P, n * k]``: each neuron signal's first ``k`` DCT-II coefficients."""
        first = tensors[self.parts[0][0]]
        P = first.shape[0]
        signals = torch.cat([torch.movedim(tensors[name], axis + 1, 1).reshape(P, self.neurons, -1)
                             for name, _, axis in self.parts], dim=2)
        return (signals @ self._on(signals).T).reshape(P, self.genes)
