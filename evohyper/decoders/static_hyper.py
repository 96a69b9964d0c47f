"""Static hypernetwork (Ha, Dai & Le 2017): each generated layer's kernel from a learned embedding z."""
# No `from __future__ import annotations`: constructor annotations stay real types for the validator.
from typing import Any, Literal

import torch

from evohyper.api.checks import Checks
from evohyper.api.phenotypes import Phenotypes, TargetSpec
from evohyper.decoders import _ha
from evohyper.decoders._params import init_std, standard_init
from evohyper.decoders.parametrised import ParametrisedDecoder

_checks = Checks("decoder")


class StaticHyperDecoder(ParametrisedDecoder):
    """Static hypernetwork (Ha et al.): layer kernels K = W_out (W_in z + B_in) + B_out from embeddings z.

    layers: target tensors to generate (default: every weight tensor of rank >= 2); the others are
      direct parameters of the decoder (group ``theta``).
    embedding: size of each layer embedding z (N_z, >= 1).
    hidden: the head's per-slice size d (>= 1).
    mip: the magnitude-invariant variant (unit-norm input encoding + residual on learnable base weights).
    genotype: what a strategy searches: ``z`` (embeddings), ``theta`` (hypernetwork weights and direct
      tensors) or ``all``; offsets from the seeded init ``init_seed``.
    init_seed: seeds the initial parameters (>= 0); genotypes are offsets from them.
    """

    def __init__(self, target: TargetSpec, *, layers: list[str] | None = None, embedding: int = 4,
                 hidden: int = 4, mip: bool = False, genotype: Literal["z", "theta", "all"] = "z",
                 init_seed: int = 0):
        super().__init__(target, genotype, init_seed)
        self.embedding, self.hidden = _checks.size("embedding", embedding), _checks.size("hidden", hidden)
        self.mip = _checks.boolean("mip", mip)
        shapes = target.shapes()
        weights = [n for n, s in shapes.items() if len(s) >= 2]
        chosen = weights if layers is None else list(layers)
        bad = [n for n in chosen if n not in weights]
        if bad or not chosen:
            _checks.fail("layers", layers, f"a non-empty list of weight tensors of the target: {weights}")
        self.generated = chosen
        gen = self.generator
        for name, shape in shapes.items():
            if name not in chosen:
                self.add(name, standard_init(target, name, gen), "theta")
                continue
            head = _ha.head_shapes(shape, target.in_axis(name), embedding, hidden, mip)
            base = standard_init(target, name, gen) if mip else None
            self.add(f"{name}.z", torch.randn(embedding, generator=gen), "z")
            for key, value in _ha.init_head(head, init_std(target, name), embedding, mip, base, gen).items():
                self.add(f"{name}.{key}", value, "theta")
        self.finish()

    def generate(self, params: dict[str, torch.Tensor]) -> Phenotypes:
        tensors = {}
        for name, shape in self.target.shapes().items():
            if name in self.generated:
                head = {k.split(".", 1)[1]: v for k, v in params.items() if k.startswith(name + ".")}
                tensors[name] = _ha.generate(head.pop("z"), head, shape, self.target.in_axis(name), self.mip)
            else:
                tensors[name] = params[name]
        return self.target.build(tensors)

    def layer_params(self) -> dict[str, dict[str, int]]:
        """Per generated tensor: its size in the target, and the decoder parameters that make it."""
        out = {}
        for name in self.generated:
            own = sum(self.base(n).numel() for n in self.groups if n.startswith(name + "."))
            out[name] = {"target": self.base(f"{name}.z").new_zeros(self.target.shapes()[name]).numel(),
                         "hypernetwork": own}
        return out

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out["generated_layers"] = self.layer_params()
        return out
