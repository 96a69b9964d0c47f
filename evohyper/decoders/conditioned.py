"""Input-conditioned hypernetwork: theta_I = f(I), a different target network for every input.

Why a phenotype of its own: the weights depend on the input, so they cannot be produced at decode
time. The phenotype holds the hypernetwork's parameters ``[P, ...]``; its ``forward`` encodes each
input to an embedding ``e(I) = tanh(E I + e_b)``, generates that input's kernels with the Ha head
(``[P, B, in, out]``) and runs every (individual, input) pair in one batched einsum per layer.
"""
# No `from __future__ import annotations`: constructor annotations stay real types for the validator.
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from evohyper.api.checks import Checks
from evohyper.api.phenotypes import ACTIVATIONS, MLPSpec, Phenotypes, TargetSpec
from evohyper.decoders import _ha
from evohyper.decoders._params import init_std, standard_init
from evohyper.decoders.parametrised import ParametrisedDecoder

_checks = Checks("decoder")


@dataclass
class ConditionedSpec(TargetSpec):
    """Shapes of an input-conditioned hypernetwork over an MLP target (its tensors are theta)."""

    target: MLPSpec
    param_shapes: dict[str, tuple[int, ...]]
    generated: list[str] = field(default_factory=list)
    mip: bool = False

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return dict(self.param_shapes)

    def build(self, tensors: dict[str, torch.Tensor]) -> "ConditionedPhenotypes":
        return ConditionedPhenotypes(self, tensors)


class ConditionedPhenotypes(Phenotypes):
    """P input-conditioned networks; ``forward(x [B, in] | [P, B, in]) -> [P, B, out]``."""

    def __init__(self, spec: ConditionedSpec, tensors: dict[str, torch.Tensor]):
        self.spec, self.tensors = spec, tensors

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        P = len(self)
        xs = x.expand(P, *x.shape) if x.dim() == 2 else x
        return torch.tanh(torch.baddbmm(self.tensors["enc_b"].unsqueeze(1), xs, self.tensors["enc"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spec, t = self.spec.target, self.tensors
        P = len(self)
        h = x.expand(P, *x.shape) if x.dim() == 2 else x
        e = self.embed(h)                                             # [P, B, n_z]
        for i in range(spec.num_layers):
            name = f"w{i}"
            if name in self.spec.generated:
                head = {k.split(".", 1)[1]: v for k, v in t.items() if k.startswith(name + ".")}
                w = _ha.generate(e, head, spec.shapes()[name], 0, self.spec.mip)   # [P, B, in, out]
                h = torch.einsum("pbi,pbio->pbo", h, w)
            else:
                h = torch.bmm(h, t[name])
            if spec.bias:
                h = h + t[f"b{i}"].unsqueeze(1)
            act = spec.activation if i < spec.num_layers - 1 else spec.output_activation
            h = ACTIVATIONS[act](h)
        return h

    __call__ = forward


class InputConditionedDecoder(ParametrisedDecoder):
    """Input-conditioned hypernetwork (theta_I = f(I)): every input gets its own generated MLP weights.

    layers: MLP weights generated per input (default all ``w{i}``).
    embedding: size of the input embedding e(I) (>= 1).
    hidden: the Ha head's per-slice size (>= 1).
    mip: the magnitude-invariant variant.
    genotype: ``theta`` (everything this decoder owns is hypernetwork weights) or ``all`` (the same
      here); offsets from the seeded init.
    init_seed: seeds the initial parameters (>= 0); genotypes are offsets from them.
    """

    def __init__(self, target: TargetSpec, *, layers: list[str] | None = None, embedding: int = 8,
                 hidden: int = 4, mip: bool = False, genotype: Literal["theta", "all"] = "theta",
                 init_seed: int = 0):
        super().__init__(target, genotype, init_seed, allowed=("theta", "all"))
        if not isinstance(target, MLPSpec):
            _checks.refuse("name", f"'hyper_conditioned' needs an MLP target, got {type(target).__name__}")
        _checks.size("embedding", embedding), _checks.size("hidden", hidden)
        weights = [f"w{i}" for i in range(target.num_layers)]
        chosen = weights if layers is None else list(layers)
        if not chosen or any(n not in weights for n in chosen):
            _checks.fail("layers", layers, f"a non-empty list of {weights}")
        gen = self.generator
        self.add("enc", torch.randn(target.sizes[0], embedding, generator=gen) / target.sizes[0] ** 0.5, "theta")
        self.add("enc_b", torch.zeros(embedding), "theta")
        for name, shape in target.shapes().items():
            if name not in chosen:
                self.add(name, standard_init(target, name, gen), "theta")
                continue
            head = _ha.head_shapes(shape, 0, embedding, hidden, mip)
            base = standard_init(target, name, gen) if mip else None
            for key, value in _ha.init_head(head, init_std(target, name), embedding, mip, base, gen).items():
                self.add(f"{name}.{key}", value, "theta")
        self.finish()
        self.spec = ConditionedSpec(target, {n: tuple(self.base(n).shape) for n in self.groups}, chosen, mip)

    def generate(self, params: dict[str, torch.Tensor]) -> Phenotypes:
        return self.spec.build(params)

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out["generated_layers"] = list(self.spec.generated)
        return out
