"""Convolutional phenotypes: a population of small conv nets run at once with grouped convolutions.

Why grouped convolution: stacking the P individuals' kernels along the output-channel axis and
running ``conv2d(..., groups=P)`` evaluates the whole population in one kernel call, with no
Python loop over individuals. A batch shared by every individual needs no copy at all: the first
layer is one ordinary convolution with ``P * C_out`` output channels.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from evohyper.api.phenotypes import ACTIVATIONS, Activation, Phenotypes, TargetSpec, activation


@dataclass
class ConvSpec(TargetSpec):
    """Convs (same padding, activation, optional 2x2 max-pool each) then a linear head to ``n_out``.

    Tensors: ``conv{i}`` ``[C_out, C_in, k, k]`` (torch layout), ``conv{i}_b`` ``[C_out]``,
    ``fc`` ``[features, n_out]``, ``fc_b`` ``[n_out]``.
    """

    in_shape: list[int]          # [C, H, W] of one input
    channels: list[int]
    n_out: int
    kernel: int = 3
    activation: str = "relu"
    pool: bool = True

    def __post_init__(self) -> None:
        if len(self.in_shape) != 3 or any(int(s) < 1 for s in self.in_shape):
            raise ValueError(f"conv in_shape must be [C, H, W] of positive sizes, got {self.in_shape}")
        if not self.channels or any(int(c) < 1 for c in self.channels):
            raise ValueError(f"conv channels must list >= 1 positive widths, got {self.channels}")
        if self.kernel < 1 or self.kernel % 2 == 0:
            raise ValueError(f"conv kernel must be a positive odd integer, got {self.kernel}")
        activation(self.activation)
        self.in_shape = [int(s) for s in self.in_shape]
        self.channels = [int(c) for c in self.channels]
        _, h, w = self.in_shape
        if self.pool:
            for _ in self.channels:
                if h >= 2 and w >= 2:
                    h, w = h // 2, w // 2
        self._spatial = (h, w)

    @property
    def features(self) -> int:
        return self.channels[-1] * self._spatial[0] * self._spatial[1]

    def shapes(self) -> dict[str, tuple[int, ...]]:
        out: dict[str, tuple[int, ...]] = {}
        c_in = self.in_shape[0]
        for i, c in enumerate(self.channels):
            out[f"conv{i}"] = (c, c_in, self.kernel, self.kernel)
            out[f"conv{i}_b"] = (c,)
            c_in = c
        out["fc"] = (self.features, self.n_out)
        out["fc_b"] = (self.n_out,)
        return out

    def in_axis(self, name: str) -> int:
        return 1 if name.startswith("conv") and not name.endswith("_b") else 0

    def fan_in(self, name: str) -> int | None:
        shape = self.shapes()[name]
        if len(shape) == 4:
            return shape[1] * shape[2] * shape[3]
        return shape[0] if len(shape) == 2 else None

    def build(self, tensors: dict[str, torch.Tensor]) -> ConvPhenotypes:
        return ConvPhenotypes(self, tensors)


class ConvPhenotypes(Phenotypes):
    """P conv nets; ``forward(x)`` takes ``[B, C*H*W]``/``[B, C, H, W]`` (shared) or ``[P, B, ...]``."""

    def __init__(self, spec: ConvSpec, tensors: dict[str, torch.Tensor]):
        self.spec, self.tensors = spec, tensors

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[P, B, n_out]`` of every network, in one grouped convolution per layer."""
        spec, P = self.spec, len(self)
        C, H, W = spec.in_shape
        act, pad = ACTIVATIONS[spec.activation], spec.kernel // 2
        if x.dim() in (2, 4):
            h = x.reshape(x.shape[0], C, H, W)
            groups = 1                                   # shared batch: one conv, P*C_out outputs
        elif x.dim() in (3, 5):
            if x.shape[0] != P:
                raise ValueError(f"per-individual input has {x.shape[0]} rows, population is {P}")
            h = x.reshape(P, x.shape[1], C, H, W).transpose(0, 1).reshape(x.shape[1], P * C, H, W)
            groups = P
        else:
            raise ValueError(f"input must be [B, {C * H * W}], [B, {C}, {H}, {W}] or [P, B, ...], "
                             f"got {tuple(x.shape)}")
        for i, c in enumerate(spec.channels):
            w, b = self.tensors[f"conv{i}"], self.tensors[f"conv{i}_b"]
            h = F.conv2d(h, w.reshape(P * c, *w.shape[2:]), b.reshape(P * c), padding=pad, groups=groups)
            h = act(h)
            if spec.pool:
                h = F.max_pool2d(h, 2) if min(h.shape[-2:]) >= 2 else h
            groups = P
        B = h.shape[0]
        feats = h.reshape(B, P, -1).transpose(0, 1)      # [P, B, features]
        return torch.baddbmm(self.tensors["fc_b"].unsqueeze(1), feats, self.tensors["fc"])

    __call__ = forward

    def to_module(self, index: int) -> torch.nn.Module:
        """Network ``index`` as a plain module: ``Conv2d`` + activation (+ 2x2 max-pool) layers, then the head."""
        return ConvModule(self, index)


class ConvModule(torch.nn.Module):
    """One conv net of a ``ConvPhenotypes``: ``forward(x [B, C*H*W] or [B, C, H, W]) -> logits [B, n_out]``."""

    def __init__(self, phenotypes: ConvPhenotypes, index: int):
        super().__init__()
        spec, t = phenotypes.spec, phenotypes.tensors
        self.in_shape, self.pool = list(spec.in_shape), spec.pool
        self.input_shape = (spec.in_shape[0] * spec.in_shape[1] * spec.in_shape[2],)
        self.convs = torch.nn.ModuleList()
        for i, c in enumerate(spec.channels):
            w = t[f"conv{i}"][index]
            conv = torch.nn.Conv2d(w.shape[1], c, spec.kernel, padding=spec.kernel // 2, dtype=w.dtype, device=w.device)
            with torch.no_grad():
                conv.weight.copy_(w)
                conv.bias.copy_(t[f"conv{i}_b"][index])
            self.convs.append(conv)
        self.act = Activation(spec.activation)
        fc = t["fc"][index]
        self.head = torch.nn.Linear(fc.shape[0], fc.shape[1], dtype=fc.dtype, device=fc.device)
        with torch.no_grad():
            self.head.weight.copy_(fc.t())
            self.head.bias.copy_(t["fc_b"][index])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.reshape(x.shape[0], *self.in_shape)
        for conv in self.convs:
            h = self.act(conv(h))
            if self.pool and min(h.shape[-2:]) >= 2:
                h = F.max_pool2d(h, 2)
        return self.head(h.reshape(h.shape[0], -1))
