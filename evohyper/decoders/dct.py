"""Compressed weight space (Koutník, Gomez & Schmidhuber, "Evolving neural networks in compressed weight
space", GECCO 2010): the genotype is a short vector of DCT coefficients; the inverse DCT paints the weights.

Why: a few low-frequency coefficients describe a large, smooth weight matrix, so a vector strategy
(CMA-ES, SNES, the GA) searches a space far smaller than the network's weights, and the network can
grow without the genome growing.

Our reading of the paper, as built:

- **Per weight tensor.** Every tensor of the target (``target.shapes()``: an MLP's ``w{i}`` ``[in, out]``,
  an Elman network's input ``w{i}``, recurrent ``u{i}`` and output weights, each bias ``b{i}`` as its own
  1-D block, a conv kernel ``[C_out, C_in, k, k]`` as one 4-D block) is painted from its own ``k``
  coefficients by an N-D inverse DCT over all its axes (``grouping: tensor``, the default).
- **Per neuron** (``grouping: neuron``): the paper also groups the weights per neuron; our reading is that
  a neuron's *incoming* weights form one 1-D signal, painted by a 1-D inverse DCT from that neuron's own
  ``k`` coefficients. For an MLP or Elman layer ``i`` neuron ``j``'s signal is, in this order, column ``j``
  of ``w{i}`` (its input weights, input 0 first), column ``j`` of ``u{i}`` (its recurrent weights from
  hidden unit 0, 1, ...; Elman hidden layers only: ``h(t) = act(x W + h(t-1) U + b)``, so column ``j``
  feeds unit ``j``) and ``b{i}[j]``; for a conv layer it is output channel ``j``'s filter ``conv{i}[j]``
  (flattened ``C_in, k, k`` row-major) then ``conv{i}_b[j]``, and for the linear head column ``j`` of ``fc``
  then ``fc_b[j]``. ``coefficients`` then counts genes *per neuron* (one integer, or a list with one per
  layer), capped at the signal's length; the genome holds layer after layer, neuron after neuron.
- **Ordering.** The ``k`` genes of a tensor fill its coefficient array from the low-frequency corner in
  order of increasing summed frequency index (``order: diagonal``; ties in row-major order, e.g. for a
  matrix ``(0,0), (0,1), (1,0), (0,2), (1,1), (2,0), ...``), or in plain row-major order (``order: row``);
  every other coefficient is zero.
- **Transform.** Inverse DCT-II with orthonormal scaling (scipy's ``idctn(..., norm="ortho")``), so a gene
  of size 1 paints a tensor of unit Euclidean norm whatever its shape, and ``k`` = the tensor's size is
  an exact (orthogonal) change of basis of the direct encoding.
- **Gain** (``gain``): with ``none`` a gene paints at the orthonormal scale, so a tensor of N weights painted
  from k genes of spread s has weights of spread s sqrt(k / N): a sigma0 chosen for direct weights paints a
  196-weight matrix from 4 genes 7x smaller, and one global ``scale`` cannot fix it for every tensor at
  once (it over-spreads the small ones: a 1-element output bias gets the whole factor). ``size`` multiplies
  each tensor's (per neuron: each signal's) painting by sqrt(N / k), so genes of spread s paint weights of
  spread s in every tensor whatever k, and k = N stays the orthogonal change of basis of the direct
  encoding.
- **k is capped** at each tensor's size (a 1-element bias gets 1 gene whatever ``coefficients`` says):
  more genes than coefficients would add genes that change nothing. ``describe()`` reports the k used.

Decoding is batched over the population: a ``[P, k]`` slice per tensor, a few torch matmuls against
precomputed DCT bases (``_dct.Painter``); the loop is over the target's tensors, never over individuals.
Per neuron, each layer is one ``[P, n, k] @ C[:k]`` matmul (``_dct.NeuronPainter``): batched over the
population and the layer's neurons; the loop is over layers.
The painted weights are handed to the direct decoder, which builds the phenotypes (MLP, Elman, conv).
"""
# No `from __future__ import annotations`: constructor annotations stay real types for the validator.
import math
from typing import Any, Literal

import torch

from evohyper.api.checks import Checks
from evohyper.api.conv import ConvSpec
from evohyper.api.decoder import Decoder
from evohyper.api.phenotypes import LayeredSpec, Phenotypes, TargetSpec
from evohyper.api.recurrent import FullyRecurrentSpec
from evohyper.decoders._dct import NeuronPainter, Painter
from evohyper.decoders.direct import DirectDecoder

_checks = Checks("decoder")

ORDERS = ("diagonal", "row")
GAINS = ("none", "size")
GROUPINGS = ("tensor", "neuron")
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
    gain: ``none`` (orthonormal: a gene paints at spread sqrt(k / N) of its own) or ``size`` (each tensor's,
      per neuron each signal's, painting times sqrt(N / k): genes of spread s paint weights of spread s,
      so a sigma0 chosen for direct weights carries over); see the module docstring.
    grouping: ``tensor`` (one N-D signal per tensor) or ``neuron`` (one 1-D signal per neuron: its input,
      recurrent and bias weights, see the module docstring; MLP, Elman and conv targets); with ``neuron``,
      ``coefficients`` counts genes per neuron, a list has one per layer, and ``order`` changes nothing.
    """

    def __init__(self, target: TargetSpec, *, coefficients: int | list[int] = 4,
                 order: Literal["diagonal", "row"] = "diagonal", scale: float = 1.0,
                 grouping: Literal["tensor", "neuron"] = "tensor", gain: Literal["none", "size"] = "none"):
        super().__init__(target)
        self.order = _checks.one_of("order", order, ORDERS)
        self.scale = _checks.scale("scale", scale)
        self.gain = _checks.one_of("gain", gain, GAINS)
        self.grouping = _checks.one_of("grouping", grouping, GROUPINGS)
        self._direct = DirectDecoder(target)
        shapes = target.shapes()
        self._names = list(shapes)
        self.painters: dict[str, Painter | NeuronPainter]
        if self.grouping == "tensor":
            self.requested = self._check_coefficients(coefficients, self._names, "target tensor")
            self.painters = {n: Painter(shapes[n], min(k, math.prod(shapes[n])), self.order)
                             for n, k in zip(self._names, self.requested)}
            self._ks = [p.k for p in self.painters.values()]
        else:
            layers = neuron_layers(target)
            self.requested = self._check_coefficients(coefficients, list(layers), "layer")
            self.painters = {}
            for (layer, parts), k in zip(layers.items(), self.requested):
                length = sum(math.prod(shape) // shape[axis] for _, shape, axis in parts)
                self.painters[layer] = NeuronPainter(parts, min(k, length))
            self._ks = [p.genes for p in self.painters.values()]
        #: per painter (tensor or layer): scale x (gain "size": sqrt(signal length / k))
        self._factors = {n: self.scale * (math.sqrt(_length(p) / p.k) if self.gain == "size" else 1.0)
                         for n, p in self.painters.items()}

    @staticmethod
    def _check_coefficients(value: Any, names: list[str], what: str) -> list[int]:
        """One k per tensor (or layer), from an integer or a list as long as the target has tensors (layers)."""
        allowed = (f"an integer in [1, {MAX_COEFFICIENTS}], or a list of {len(names)} such integers "
                   f"(one per {what}: {', '.join(names)})")
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
        if self.grouping == "tensor":
            return {name: painter.paint(part) * self._factors[name]
                    for (name, painter), part in zip(self.painters.items(), parts)}
        painted: dict[str, torch.Tensor] = {}
        for (layer, painter), part in zip(self.painters.items(), parts):
            painted.update({n: t * self._factors[layer] for n, t in painter.paint(part).items()})
        return {name: painted[name] for name in self._names}     # the target's tensor order

    def decode(self, genotypes: Any, device: torch.device | str = "cpu") -> Phenotypes:
        g = torch.as_tensor(genotypes, dtype=torch.float32, device=device)
        painted = self.paint(g)
        flat = torch.cat([t.reshape(g.shape[0], -1) for t in painted.values()], dim=1)
        return self._direct.decode(flat, device=device)

    def project(self, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
        """Genotypes ``[P, genome_size]`` whose painting is the least-squares fit of ``tensors`` (exact when
        every k is its tensor's full size): the chosen coefficients of each tensor's forward DCT."""
        if self.grouping == "neuron":
            return torch.cat([painter.project(tensors) / self._factors[layer]
                              for layer, painter in self.painters.items()], dim=1)
        return torch.cat([painter.project(tensors[name]) / self._factors[name]
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
        out.update({"order": self.order, "scale": self.scale, "gain": self.gain,
                    "generated_params": self.target.num_params,
                    "grouping": self.grouping, "coefficients": {n: p.k for n, p in self.painters.items()}})
        return out



def _length(painter: Any) -> int:
    """The signal length one of a painter's genes spreads over: a tensor's size, or a neuron's signal."""
    return painter.length if isinstance(painter, NeuronPainter) else math.prod(painter.shape)


def neuron_layers(target: TargetSpec) -> dict[str, list[tuple[str, tuple[int, ...], int]]]:
    """``{layer: [(tensor, shape, neuron axis), ...]}`` in the target's order: which weights feed each neuron
    (``grouping: neuron``). MLP/Elman layer ``i``: ``w{i}`` and ``u{i}`` by column, ``b{i}``; conv layer
    ``conv{i}`` by output channel with ``conv{i}_b``; the linear head ``fc`` by column with ``fc_b``; a fully
    recurrent network is one layer (``w0``, ``u0`` by column, ``b0``: neuron ``j`` reads inputs, then neurons)."""
    shapes = target.shapes()
    layers: dict[str, list[tuple[str, tuple[int, ...], int]]] = {}
    if isinstance(target, FullyRecurrentSpec):
        layers["layer0"] = [(n, shapes[n], 0 if n == "b0" else 1) for n in ("w0", "u0", "b0") if n in shapes]
    elif isinstance(target, LayeredSpec):
        for i in range(len(target.sizes) - 1):
            layers[f"layer{i}"] = [(n, shapes[n], 0 if n == f"b{i}" else 1)
                                   for n in (f"w{i}", f"u{i}", f"b{i}") if n in shapes]
    elif isinstance(target, ConvSpec):
        for i in range(len(target.channels)):
            layers[f"conv{i}"] = [(f"conv{i}", shapes[f"conv{i}"], 0), (f"conv{i}_b", shapes[f"conv{i}_b"], 0)]
        layers["fc"] = [("fc", shapes["fc"], 1), ("fc_b", shapes["fc_b"], 0)]
    else:
        _checks.fail("grouping", "neuron", f"tensor (neuron needs an MLP, Elman, fully recurrent or conv target, not a "
                                           f"{type(target).__name__})")
    return layers
