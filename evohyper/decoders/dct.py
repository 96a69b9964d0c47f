"""Compressed weight space (Koutník, Gomez & Schmidhuber, "Evolving neural networks in compressed weight
space", GECCO 2010): the genotype is a short vector of DCT coefficients; the inverse DCT paints the weights.

Why: a few low-frequency coefficients describe a large, smooth weight matrix, so a vector strategy
(CMA-ES, SNES, the GA) searches a space far smaller than the network's weights, and the network can
grow without the genome growing.

Our reading of the paper, as built:

- **Per weight tensor.** Every tensor of the target (``target.shapes()``: an MLP's ``w{i}`` ``[in, out]``,
  an Elman network's input ``w{i}``, recurrent ``u{i}`` and output weights, each bias ``b{i}`` as its own
  1-D block, a conv kernel ``[C_out, C_in, k, k]`` as one 4-D block) is painted from its own ``k``
  coefficients by an N-D inverse DCT over all its axes. The paper also describes grouping the weights
  *per neuron* (each neuron's input weight vector as one 1-D signal); that alternative is not built.
- **Ordering.** The ``k`` genes of a tensor fill its coefficient array from the low-frequency corner in
  order of increasing summed frequency index (``order: diagonal``; ties in row-major order, e.g. for a
  matrix ``(0,0), (0,1), (1,0), (0,2), (1,1), (2,0), ...``), or in plain row-major order (``order: row``);
  every other coefficient is zero.
- **Transform.** Inverse DCT-II with orthonormal scaling (scipy's ``idctn(..., norm="ortho")``), so a gene
  of size 1 paints a tensor of unit Euclidean norm whatever its shape, and ``k`` = the tensor's size is
  an exact (orthogonal) change of basis of the direct encoding.
- **k is capped** at each tensor's size (a 1-element bias gets 1 gene whatever ``coefficients`` says):
  more genes than coefficients would add genes that change nothing. ``describe()`` reports the k used.

Decoding is batched over the population: a ``[P, k]`` slice per tensor, a few torch matmuls against
precomputed DCT bases (``_dct.Painter``); the loop is over the target's tensors, never over individuals.
The painted weights are handed to the direct decoder, which builds the phenotypes (MLP, Elman, conv).
"""
# No `from __future__ import annotations`: constructor annotations stay real types for the validator.
import math
from typing import Any, Literal

import torch

from evohyper.api.checks import Checks
from evohyper.api.decoder import Decoder
from evohyper.api.phenotypes import Phenotypes, TargetSpec
from evohyper.decoders._dct import Painter
from evohyper.decoders.direct import DirectDecoder

_checks = Checks("decoder")

ORDERS = ("diagonal", "row")
#: most genes one tensor may ask for: k is capped at the tensor's size anyway, but a value past any network
#: (``coefficients: 1e12``) is a typo, refused at validation like every other unbounded size (issue 21)
MAX_COEFFICIENTS = 10_000_000


class DCTDecoder(Decoder):
    """Compressed weight space (Koutník et al. 2010): k low-frequency DCT coefficients per weight tensor.

    coefficients: genes per target tensor (each weight matrix, each bias vector): one integer >= 1 for
      all, or a list with one per tensor in the target's order (an MLP: ``w0, b0, w1, b1, ...``; an Elman
      network: ``w0, u0, b0, ..., w{L}, b{L}``; a wrong list's error names them); each is capped at its
      tensor's size (more genes than coefficients would change nothing).
    order: how the genes fill each coefficient array from the low-frequency corner: ``diagonal``
      (increasing summed frequency index, ties row-major) or ``row`` (row-major).
    scale: multiplies the painted weights (> 0), so a strategy's unit-scale genes can paint small weights.
    """

    def __init__(self, target: TargetSpec, *, coefficients: int | list[int] = 4,
                 order: Literal["diagonal", "row"] = "diagonal", scale: float = 1.0):
        super().__init__(target)
        self.order = _checks.one_of("order", order, ORDERS)
        self.scale = _checks.scale("scale", scale)
        self._direct = DirectDecoder(target)
        shapes = target.shapes()
        names = list(shapes)
        self.requested = self._check_coefficients(coefficients, names)
        self.painters = {n: Painter(shapes[n], min(k, math.prod(shapes[n])), self.order)
                         for n, k in zip(names, self.requested)}
        self._ks = [p.k for p in self.painters.values()]

    @staticmethod
    def _check_coefficients(value: Any, names: list[str]) -> list[int]:
        """One k per tensor, from an integer or a list as long as the target has tensors."""
        allowed = (f"an integer in [1, {MAX_COEFFICIENTS}], or a list of {len(names)} such integers "
                   f"(one per target tensor: {', '.join(names)})")
        if isinstance(value, int) and not isinstance(value, bool):
            if not 1 <= value <= MAX_COEFFICIENTS:
                _checks.fail("coefficients", value, allowed)
            return [int(value)] * len(names)
        ok = isinstance(value, (list, tuple)) and len(value) == len(names) and all(
            isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_COEFFICIENTS for v in value)
        if not ok:
            _checks.fail("coefficients", value, allowed)
        return [int(v) for v in value]

    # ------------------------------------------------------------------ the Decoder interface
    @property
    def genome_size(self) -> int:
        return sum(self._ks)

    def paint(self, genotypes: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{tensor name: [P, *shape]}`` painted from genotypes ``[P, genome_size]``, in their dtype
        (float64 stays float64: the tests compare with scipy at 1e-10)."""
        if genotypes.dim() != 2 or genotypes.shape[1] != self.genome_size:
            raise ValueError(f"dct decoder expects genotypes [P, {self.genome_size}], got {tuple(genotypes.shape)}")
        parts = torch.split(genotypes, self._ks, dim=1)
        return {name: painter.paint(part) * self.scale
                for (name, painter), part in zip(self.painters.items(), parts)}

    def decode(self, genotypes: Any, device: torch.device | str = "cpu") -> Phenotypes:
        g = torch.as_tensor(genotypes, dtype=torch.float32, device=device)
        painted = self.paint(g)
        flat = torch.cat([t.reshape(g.shape[0], -1) for t in painted.values()], dim=1)
        return self._direct.decode(flat, device=device)

    def project(self, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
        """Genotypes ``[P, genome_size]`` whose painting is the least-squares fit of ``tensors`` (exact when
        every k is its tensor's full size): the chosen coefficients of each tensor's forward DCT."""
        return torch.cat([painter.project(tensors[name] / self.scale)
                          for name, painter in self.painters.items()], dim=1)

    def encode(self, phenotypes: Phenotypes) -> torch.Tensor:
        """The closest genotypes to existing networks (to seed a search from them)."""
        return self.project(phenotypes.tensors)

    def initial_genotype(self, generator: torch.Generator) -> torch.Tensor:
        """The low-frequency part of torch's default layer initialisation (what gradient training starts from)."""
        flat = self._direct.initial_genotype(generator).unsqueeze(0)
        return self.project(self._direct.decode(flat).tensors)[0]

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out.update({"order": self.order, "scale": self.scale, "generated_params": self.target.num_params,
                    "coefficients": {n: p.k for n, p in self.painters.items()}})
        return out

