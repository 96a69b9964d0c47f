"""Phenotypes: a population of target networks held as stacked tensors, run in one batched call.

``TargetSpec`` says what shape a phenotype has (so a decoder knows how many numbers to emit);
``Phenotypes`` holds ``{name: Tensor[P, ...]}`` and runs all P networks at once.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import torch

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "identity": lambda x: x,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "elu": torch.nn.functional.elu,
    "gelu": torch.nn.functional.gelu,
    "softplus": torch.nn.functional.softplus,
    "sin": torch.sin,
}


_INPLACE: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.Tensor.tanh_, "relu": torch.Tensor.relu_, "sigmoid": torch.Tensor.sigmoid_,
    "sin": torch.Tensor.sin_,
}


def activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; allowed: {sorted(ACTIVATIONS)}") from None


class Activation(torch.nn.Module):
    """One of ``ACTIVATIONS`` as a module (for exported networks)."""

    def __init__(self, name: str):
        super().__init__()
        activation(name)
        self.name = name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ACTIVATIONS[self.name](x)

    def extra_repr(self) -> str:
        return self.name


class TargetSpec(ABC):
    """Shape of one phenotype: named parameter tensors and how to build the batched phenotype."""

    @abstractmethod
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Per-individual parameter shapes, in a fixed order (the flat-vector layout)."""

    @abstractmethod
    def build(self, tensors: dict[str, torch.Tensor]) -> Phenotypes:
        """Wrap stacked tensors ``{name: [P, *shape]}`` into a runnable population."""

    @property
    def num_params(self) -> int:
        return sum(math.prod(s) for s in self.shapes().values())

    def in_axis(self, name: str) -> int:
        """Axis of a weight tensor that indexes its inputs (hypernetworks slice kernels along it)."""
        return 0

    def fan_in(self, name: str) -> int | None:
        """Inputs feeding one output of tensor ``name`` (for standard initialisation); None for biases."""
        shape = self.shapes()[name]
        return shape[0] if len(shape) >= 2 else None

    def describe(self) -> dict[str, Any]:
        return {"kind": type(self).__name__, **asdict(self)}  # type: ignore[call-overload]


class Phenotypes(ABC):
    """A population of P networks (or vectors) as stacked tensors."""

    spec: TargetSpec
    tensors: dict[str, torch.Tensor]

    def __len__(self) -> int:
        return next(iter(self.tensors.values())).shape[0]

    @property
    def device(self) -> torch.device:
        return next(iter(self.tensors.values())).device

    @property
    def dtype(self) -> torch.dtype:
        return next(iter(self.tensors.values())).dtype

    #: networks run per individual (a set of k networks scored as one ensemble: k); budgets count them
    networks_per_individual: int = 1

    #: True when ``forward`` carries state from call to call (recurrent networks): episodic tasks call
    #: ``reset_state()`` at the start of every rollout and ``forward`` once per time step
    stateful: bool = False

    def reset_state(self) -> None:  # noqa: B027 - a no-op for stateless phenotypes
        """Start new sequences: every recurrent network back at rest (stateless phenotypes: nothing)."""

    def to_module(self, index: int) -> torch.nn.Module:
        """Individual ``index`` as a plain ``torch.nn.Module`` (``forward(x [B, ...]) -> [B, n_out]``) that
        runs without evohyper: for export (``evohyper export``) and fine-tuning by gradient."""
        raise NotImplementedError(f"{type(self).__name__} cannot be exported as a torch module")

    def select(self, index: torch.Tensor | slice | list[int]) -> Phenotypes:
        """A sub-population (e.g. the best individual, or one chunk)."""
        return self.spec.build({k: v[index] for k, v in self.tensors.items()})

    def describe(self) -> dict[str, Any]:
        """JSON description used when exporting phenotypes."""
        return {"spec": self.spec.describe(), "population": len(self),
                "tensors": {k: list(v.shape) for k, v in self.tensors.items()}}


# ----------------------------------------------------------------------------- vectors
@dataclass
class VectorSpec(TargetSpec):
    """The phenotype is a plain real vector (black-box optimisation problems such as sphere)."""

    dim: int

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {"x": (self.dim,)}

    def build(self, tensors: dict[str, torch.Tensor]) -> VectorPhenotypes:
        return VectorPhenotypes(self, tensors)


class VectorPhenotypes(Phenotypes):
    def __init__(self, spec: VectorSpec, tensors: dict[str, torch.Tensor]):
        self.spec, self.tensors = spec, tensors

    @property
    def x(self) -> torch.Tensor:
        return self.tensors["x"]


# ----------------------------------------------------------------------------- MLPs
@dataclass
class LayeredSpec(TargetSpec):
    """Layer widths ``sizes[0] -> ... -> sizes[-1]``, hidden and output activations, biases (MLP, Elman)."""

    sizes: list[int]
    activation: str = "tanh"
    output_activation: str = "identity"
    bias: bool = True
    layer_names: list[str] = field(default_factory=list)

    #: fewest widths allowed, and the network's name in errors
    min_sizes: ClassVar[int] = 2
    kind: ClassVar[str] = "MLP"

    def __post_init__(self) -> None:
        if len(self.sizes) < self.min_sizes or any(int(s) < 1 for s in self.sizes):
            raise ValueError(f"{self.kind} sizes must list >= {self.min_sizes} positive layer widths, got {self.sizes}")
        activation(self.activation), activation(self.output_activation)  # validate names early
        self.sizes = [int(s) for s in self.sizes]


@dataclass
class MLPSpec(LayeredSpec):
    """A multilayer perceptron ``sizes[0] -> ... -> sizes[-1]`` of any depth."""

    def shapes(self) -> dict[str, tuple[int, ...]]:
        out: dict[str, tuple[int, ...]] = {}
        for i, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            out[f"w{i}"] = (n_in, n_out)
            if self.bias:
                out[f"b{i}"] = (n_out,)
        return out

    @property
    def num_layers(self) -> int:
        return len(self.sizes) - 1

    def build(self, tensors: dict[str, torch.Tensor]) -> MLPPhenotypes:
        return MLPPhenotypes(self, tensors)


#: Largest hidden activation (elements) a no-grad forward builds at once: 4M float32 = 16 MB, under
#: glibc's maximum dynamic mmap threshold (32 MB), so tile buffers are recycled, not re-mapped.
TILE_ELEMENTS = 4 * 1024 * 1024


class MLPPhenotypes(Phenotypes):
    """P MLPs with weights ``w{i}: [P, in, out]`` and biases ``b{i}: [P, out]``."""

    def __init__(self, spec: MLPSpec, tensors: dict[str, torch.Tensor]):
        self.spec, self.tensors = spec, tensors

    def weights(self, i: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.tensors[f"w{i}"], self.tensors.get(f"b{i}")

    def forward(self, x: torch.Tensor, fold: bool = False) -> torch.Tensor:
        """Run every network. ``x`` is ``[B, in]`` (one batch shared by all) or ``[P, B, in]`` (each
        individual its own inputs). Returns ``[P, B, out]``.

        A shared batch is broadcast (stride 0, no copy) into one batched GEMM for the whole
        population. ``fold=True`` instead folds the first layer into a single ``[B, in] x [in, P*out]``
        GEMM; on CPU that is slower because the weights must be re-laid out on every call (see
        reports/performance.md), so it is opt-in. Activations run in place when no gradient is needed.

        Without autograd, a population whose hidden activation would exceed ``TILE_ELEMENTS`` runs in
        tiles of individuals (each tile still one batched GEMM per layer) written into one output: a
        tile's activation stays under glibc's largest mmap threshold, so the allocator recycles it
        instead of mapping and page-faulting a fresh 65 MB block on every call (measured 1.3-1.5x;
        see reports/performance.md). The loop is over a handful of tiles, never over individuals.
        """
        w0, _ = self.weights(0)
        P = w0.shape[0]
        widest = max(self.weights(i)[0].shape[2] for i in range(self.spec.num_layers))
        rows = x.shape[-2] if x.dim() in (2, 3) else 1
        tile = max(1, TILE_ELEMENTS // max(1, rows * widest))
        if fold or P <= tile or torch.is_grad_enabled() and any(t.requires_grad for t in (x, *self.tensors.values())):
            return self._forward_range(x, 0, P, fold)
        n_out = self.weights(self.spec.num_layers - 1)[0].shape[2]
        out = torch.empty(P, rows, n_out, dtype=torch.result_type(x, w0), device=w0.device)
        for lo in range(0, P, tile):
            hi = min(lo + tile, P)
            out[lo:hi] = self._forward_range(x if x.dim() == 2 else x[lo:hi], lo, hi, False)
        return out

    def _forward_range(self, x: torch.Tensor, lo: int, hi: int, fold: bool) -> torch.Tensor:
        """Forward of individuals ``lo:hi`` (``x`` shared ``[B, in]`` or theirs ``[hi - lo, B, in]``)."""
        n = self.spec.num_layers
        w0, b0 = self.weights(0)
        w0, b0 = w0[lo:hi], None if b0 is None else b0[lo:hi]
        P, n_in, n_out = w0.shape
        if x.dim() == 2:
            if fold:
                h = (x @ w0.permute(1, 0, 2).reshape(n_in, P * n_out)).view(x.shape[0], P, n_out).transpose(0, 1)
                h = h + b0.unsqueeze(1) if b0 is not None else h.contiguous()
            else:
                xs = x.expand(P, *x.shape)
                h = torch.bmm(xs, w0) if b0 is None else torch.baddbmm(b0.unsqueeze(1), xs, w0)
        elif x.dim() == 3:
            if x.shape[0] != P:
                raise ValueError(f"per-individual input has {x.shape[0]} rows, population is {P}")
            h = torch.bmm(x, w0) if b0 is None else torch.baddbmm(b0.unsqueeze(1), x, w0)
        else:
            raise ValueError(f"input must be [B, {n_in}] or [P, B, {n_in}], got {tuple(x.shape)}")
        for i in range(1, n):
            h = self._activate(h, self.spec.activation)
            w, b = self.weights(i)
            w, b = w[lo:hi], None if b is None else b[lo:hi]
            h = torch.bmm(h, w) if b is None else torch.baddbmm(b.unsqueeze(1), h, w)
        return self._activate(h, self.spec.output_activation)

    def to_module(self, index: int) -> torch.nn.Sequential:
        """Network ``index`` as ``nn.Sequential`` of ``nn.Linear`` layers and activations (same numbers)."""
        layers: list[torch.nn.Module] = []
        for i in range(self.spec.num_layers):
            w, b = self.weights(i)
            linear = torch.nn.Linear(w.shape[1], w.shape[2], bias=b is not None, dtype=w.dtype, device=w.device)
            with torch.no_grad():
                linear.weight.copy_(w[index].t())
                if b is not None:
                    linear.bias.copy_(b[index])
            layers += [linear, Activation(self.spec.activation if i < self.spec.num_layers - 1
                                          else self.spec.output_activation)]
        module = torch.nn.Sequential(*layers)
        module.input_shape = (self.spec.sizes[0],)
        return module

    @staticmethod
    def _activate(h: torch.Tensor, name: str) -> torch.Tensor:
        """In place when autograd does not need the input (saves a pass over the largest tensor)."""
        if name == "identity":
            return h
        if not h.requires_grad and name in _INPLACE:
            return _INPLACE[name](h)
        return ACTIVATIONS[name](h)

    __call__ = forward
