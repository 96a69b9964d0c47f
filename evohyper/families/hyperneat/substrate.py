"""Substrates: layers of nodes at n-dimensional coordinates, run as a batched MLP population.

Why a separate concept: in HyperNEAT the task decides *where* the network's nodes are (the
geometry of its inputs and outputs), the CPPN decides the weights from those places. A task
declares a ``SubstrateSpec`` as its target; the HyperNEAT decoder queries the CPPN at the spec's
coordinate pairs; the result is an ordinary ``MLPPhenotypes`` (weights ``w{i} [P, n_i, n_{i+1}]``),
so the whole population runs in one batched forward like any other decoded network.

Connections go from every node of layer ``i`` to every node of layer ``i+1`` (the classic
HyperNEAT feed-forward substrate; the sandwich substrate is the two-layer case).
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from evohyper.api.phenotypes import MLPPhenotypes, MLPSpec, TargetSpec


def grid(shape: Sequence[int], low: float = -1.0, high: float = 1.0) -> list[list[float]]:
    """Cell-centre coordinates of an n-dimensional grid over ``[low, high]^n`` in row-major order.

    A ``(rows, cols)`` grid gives points ``(x, y)`` with ``x`` along columns and ``y`` along rows,
    so node ``r * cols + c`` sits at column ``c``, row ``r``. Cell centres (not edges) make a
    coarse grid a sub-sampling of a finer one: 11x11 centres are 33x33 centres of the middle cells.
    """
    if not shape or any(int(n) < 1 for n in shape):
        raise ValueError(f"grid shape must list positive sizes, got {list(shape)}")
    axes = [[low + (high - low) * (2 * i + 1) / (2 * n) for i in range(n)] for n in shape]
    # row-major over shape; coordinates listed fastest axis first (x = last axis)
    return [list(reversed(p)) for p in itertools.product(*axes)]


@dataclass
class Substrate:
    """Layers of nodes; ``layers[i]`` lists the coordinates (all of one dimension) of layer ``i``."""

    layers: list[list[list[float]]]
    shapes: list[list[int]] = field(default_factory=list)  # optional grid shape per layer (for pictures)

    def __post_init__(self) -> None:
        if len(self.layers) < 2:
            raise ValueError(f"a substrate needs >= 2 layers, got {len(self.layers)}")
        dims = {len(p) for layer in self.layers for p in layer}
        if any(len(layer) == 0 for layer in self.layers) or len(dims) != 1 or 0 in dims:
            raise ValueError("every substrate layer needs >= 1 node and all coordinates one dimension >= 1")
        if self.shapes and (len(self.shapes) != len(self.layers)
                            or any(math.prod(s) != len(nodes) for s, nodes in zip(self.shapes, self.layers))):
            raise ValueError("substrate shapes must give one grid shape per layer matching its node count")

    @property
    def dim(self) -> int:
        return len(self.layers[0][0])

    @property
    def sizes(self) -> list[int]:
        return [len(layer) for layer in self.layers]

    @property
    def num_connections(self) -> int:
        return sum(a * b for a, b in zip(self.sizes[:-1], self.sizes[1:]))

    def coords(self, layer: int, dtype: torch.dtype = torch.float32, device: Any = "cpu") -> torch.Tensor:
        return torch.tensor(self.layers[layer], dtype=dtype, device=device)


def sandwich(shape: Sequence[int], out_shape: Sequence[int] | None = None) -> Substrate:
    """The classic two-sheet substrate: an input grid fully connected to an output grid."""
    out_shape = list(out_shape or shape)
    return Substrate([grid(shape), grid(out_shape)], shapes=[list(shape), out_shape])


def layered(shapes: Sequence[Sequence[int]]) -> Substrate:
    """A feed-forward stack of grids (e.g. input sheet, hidden sheet, output sheet)."""
    return Substrate([grid(s) for s in shapes], shapes=[list(s) for s in shapes])


@dataclass
class SubstrateSpec(TargetSpec):
    """Target of a HyperNEAT decoder: a substrate plus how its nodes compute (as an MLP)."""

    substrate: Substrate
    activation: str = "tanh"
    output_activation: str = "identity"
    bias: bool = False

    def __post_init__(self) -> None:
        self.mlp = MLPSpec(self.substrate.sizes, self.activation, self.output_activation, self.bias)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return self.mlp.shapes()

    def build(self, tensors: dict[str, torch.Tensor]) -> MLPPhenotypes:
        return MLPPhenotypes(self.mlp, tensors)

    def describe(self) -> dict[str, Any]:
        return {"kind": "SubstrateSpec", "sizes": self.substrate.sizes, "dim": self.substrate.dim,
                "shapes": self.substrate.shapes, "connections": self.substrate.num_connections,
                "activation": self.activation, "output_activation": self.output_activation, "bias": self.bias}


def line(n: int, y: float) -> list[list[float]]:
    """``n`` points evenly spread over x in [-1, 1] at height ``y`` (a single point sits at x = 0)."""
    if n == 1:
        return [[0.0, y]]
    return [[-1.0 + 2.0 * i / (n - 1), y] for i in range(n)]


def mlp_substrate(spec: MLPSpec) -> SubstrateSpec:
    """A task's MLP target as a substrate: layer ``i`` of ``L`` is a row of nodes at
    ``y = -1 + 2 i / (L - 1)`` (inputs at the bottom, outputs at the top), so a CPPN can weight an MLP
    task (e.g. cart-pole) from the geometry of its layers."""
    rows = [line(n, -1.0 + 2.0 * i / (len(spec.sizes) - 1)) for i, n in enumerate(spec.sizes)]
    return SubstrateSpec(Substrate(rows, shapes=[[1, n] for n in spec.sizes]), activation=spec.activation,
                         output_activation=spec.output_activation, bias=spec.bias)
