"""Recurrent networks of fixed topology (Elman; fully recurrent), with memory, for any vector strategy.

Why: a partially observable task (cart-pole without its velocities) needs a policy that remembers;
NEAT can evolve recurrent links, and this is the same ability for CMA-ES, SNES, the GA or a
hypernetwork: a flat genome of fixed size. Each hidden layer ``i`` keeps its last output ``h_i``:
``h_i(t) = act(h_{i-1}(t) W_i + h_i(t-1) U_i + b_i)`` (``h_0(t)`` = the input), and the output layer is
``out_act(h_L(t) W_out + b_out)``. As with every stateful phenotype, ``forward`` is one time step,
the state starts at zero when decoded and after ``reset_state()``, and its ``B`` columns are parallel
sequences (a call with another ``B`` is an error).

A **fully recurrent** network (``FullyRecurrentSpec``) is the other classic fixed topology: N = hidden + out
neurons, every one of them (the outputs included) fed by every input, every neuron's last activation and a
bias, ``s(t) = act(x(t) W + s(t-1) U + b)``, the outputs read from the last ``out`` neurons (which use
``output_activation``). It is what the published CMA-ES pole-balancing runs evolved (Igel 2003;
Heidrich-Meisner & Igel 2009; Shark's ``OnlineRNNet`` with full connectivity): unlike an Elman net, the output
sees the current input and the previous state at once, so ``hidden`` = the number of inputs can already
difference each input over one step.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from evohyper.api.phenotypes import ACTIVATIONS, LayeredSpec, Phenotypes, TargetSpec, activation


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


@dataclass
class FullyRecurrentSpec(TargetSpec):
    """``inputs`` -> N = ``hidden`` + ``outputs`` fully connected recurrent neurons; tensors ``w0`` ``[in, N]``,
    ``u0`` ``[N, N]`` (row: the neuron read, column: the neuron fed) and ``b0`` ``[N]`` (if ``bias``). Neurons
    ``0 .. hidden-1`` use ``activation``, the last ``outputs`` use ``output_activation`` and are the output."""

    inputs: int
    hidden: int
    outputs: int
    activation: str = "tanh"
    output_activation: str = "tanh"
    bias: bool = True

    kind: ClassVar[str] = "fully recurrent network"

    def __post_init__(self) -> None:
        if self.inputs < 1 or self.hidden < 0 or self.outputs < 1:
            raise ValueError(f"a {self.kind} needs >= 1 input, >= 0 hidden and >= 1 output neurons, got "
                             f"{self.inputs} / {self.hidden} / {self.outputs}")
        activation(self.activation), activation(self.output_activation)  # validate names early

    @property
    def neurons(self) -> int:
        return self.hidden + self.outputs

    @property
    def sizes(self) -> list[int]:
        """``[in, hidden, out]``, as layered specs report them (a task reads ``sizes[0]`` as its input width)."""
        return [self.inputs, self.hidden, self.outputs]

    def shapes(self) -> dict[str, tuple[int, ...]]:
        n = self.neurons
        out: dict[str, tuple[int, ...]] = {"w0": (self.inputs, n), "u0": (n, n)}
        if self.bias:
            out["b0"] = (n,)
        return out

    def describe(self) -> dict[str, Any]:
        return {"kind": type(self).__name__, "inputs": self.inputs, "hidden": self.hidden, "outputs": self.outputs,
                "activation": self.activation, "output_activation": self.output_activation, "bias": self.bias}

    def build(self, tensors: dict[str, torch.Tensor]) -> FullyRecurrentPhenotypes:
        return FullyRecurrentPhenotypes(self, tensors)


class FullyRecurrentPhenotypes(Phenotypes):
    """P fully recurrent networks; ``forward(x [B, in] or [P, B, in]) -> [P, B, out]``, one time step per call
    (every neuron updated synchronously from the current input and every neuron's previous activation)."""

    stateful = True

    def __init__(self, spec: FullyRecurrentSpec, tensors: dict[str, torch.Tensor]):
        self.spec, self.tensors = spec, tensors
        self._state: torch.Tensor | None = None

    def reset_state(self) -> None:
        self._state = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        P, n_in, H = len(self), self.spec.inputs, self.spec.hidden
        if not (x.dim() in (2, 3) and x.shape[-1] == n_in and (x.dim() == 2 or x.shape[0] == P)):
            raise ValueError(f"fully recurrent networks take [B, {n_in}] (shared) or [{P}, B, {n_in}] inputs, "
                             f"got {tuple(x.shape)}")
        x = x.expand(P, *x.shape) if x.dim() == 2 else x
        if self._state is None:
            self._state = torch.zeros(P, x.shape[1], self.spec.neurons, dtype=x.dtype, device=x.device)
        elif self._state.shape[1] != x.shape[1]:
            raise ValueError(f"fully recurrent networks carry the state of {self._state.shape[1]} sequences; got a "
                             f"batch of {x.shape[1]} (call reset_state() to start new sequences)")
        b = self.tensors.get("b0")
        z = torch.bmm(x, self.tensors["w0"]) if b is None else torch.baddbmm(b.unsqueeze(1), x, self.tensors["w0"])
        z = torch.baddbmm(z, self._state, self.tensors["u0"])
        out = ACTIVATIONS[self.spec.output_activation](z[..., H:])
        self._state = torch.cat([ACTIVATIONS[self.spec.activation](z[..., :H]), out], dim=-1)
        return out

    __call__ = forward
