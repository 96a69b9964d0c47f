"""Elman recurrent networks: a fixed topology with memory, for any vector strategy.

Why: a partially observable task (cart-pole without its velocities) needs a policy that remembers;
NEAT can evolve recurrent links, and this is the same ability for CMA-ES, SNES, the GA or a
hypernetwork: a flat genome of fixed size. Each hidden layer ``i`` keeps its last output ``h_i``:
``h_i(t) = act(h_{i-1}(t) W_i + h_i(t-1) U_i + b_i)`` (``h_0(t)`` = the input), and the output layer is
``out_act(h_L(t) W_out + b_out)``. As with every stateful phenotype, ``forward`` is one time step,
the state starts at zero when decoded and after ``reset_state()``, and its ``B`` columns are parallel
sequences (a call with another ``B`` is an error).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from evohyper.api.phenotypes import ACTIVATIONS, LayeredSpec, Phenotypes


@dataclass
class ElmanSpec(LayeredSpec):
    """``sizes = [in, h_1, ..., h_L, out]`` (L >= 1); tensors ``w{i}`` ``[n_{i-1}, h_i]``, ``u{i}`` ``[h_i, h_i]``,
    ``b{i}`` ``[h_i]`` per hidden layer, then ``w{L}`` ``[h_L, out]`` and ``b{L}`` ``[out]``."""

    min_sizes: ClassVar[int] = 3    # input, >= 1 hidden layer (the memory), output
    kind: ClassVar[str] = "Elman network"

    @property
    def num_hidden(self) -> int:
        return len(self.sizes) - 2

    def shapes(self) -> dict[str, tuple[int, ...]]:
        out: dict[str, tuple[int, ...]] = {}
        for i, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            out[f"w{i}"] = (n_in, n_out)
            if i < self.num_hidden:
                out[f"u{i}"] = (n_out, n_out)
            if self.bias:
                out[f"b{i}"] = (n_out,)
        return out

    def build(self, tensors: dict[str, torch.Tensor]) -> ElmanPhenotypes:
        return ElmanPhenotypes(self, tensors)


class ElmanPhenotypes(Phenotypes):
    """P Elman networks; ``forward(x [B, in] or [P, B, in]) -> [P, B, out]``, one time step per call."""

    stateful = True

    def __init__(self, spec: ElmanSpec, tensors: dict[str, torch.Tensor]):
        self.spec, self.tensors = spec, tensors
        self._state: list[torch.Tensor] | None = None

    def reset_state(self) -> None:
        self._state = None

    def _layer(self, i: int, h: torch.Tensor) -> torch.Tensor:
        w, b = self.tensors[f"w{i}"], self.tensors.get(f"b{i}")
        return torch.bmm(h, w) if b is None else torch.baddbmm(b.unsqueeze(1), h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        P, n_in = len(self), self.spec.sizes[0]
        if not (x.dim() in (2, 3) and x.shape[-1] == n_in and (x.dim() == 2 or x.shape[0] == P)):
            raise ValueError(f"Elman networks take [B, {n_in}] (shared) or [{P}, B, {n_in}] inputs, "
                             f"got {tuple(x.shape)}")
        h = x.expand(P, *x.shape) if x.dim() == 2 else x
        if self._state is None:
            self._state = [torch.zeros(P, h.shape[1], n, dtype=h.dtype, device=h.device) for n in self.spec.sizes[1:-1]]
        elif self._state[0].shape[1] != h.shape[1]:
            raise ValueError(f"Elman networks carry the state of {self._state[0].shape[1]} sequences; got a batch "
                             f"of {h.shape[1]} (call reset_state() to start new sequences)")
        act = ACTIVATIONS[self.spec.activation]
        for i in range(self.spec.num_hidden):
            h = act(torch.baddbmm(self._layer(i, h), self._state[i], self.tensors[f"u{i}"]))
            self._state[i] = h
        return ACTIVATIONS[self.spec.output_activation](self._layer(self.spec.num_hidden, h))

    __call__ = forward
