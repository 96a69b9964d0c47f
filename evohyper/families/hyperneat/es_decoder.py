"""ES-HyperNEAT decoder (Risi & Stanley 2012): the CPPN decides where hidden nodes go and how dense they are.

The task gives only the input and output nodes: a substrate of two layers of 2-D points (the first layer
the inputs, the last the outputs, e.g. visual discrimination's two 11x11 sheets), or an MLP target whose
inputs are laid on the line y = -1 and outputs on y = +1 (e.g. cart-pole; its hidden sizes are ignored).
Hidden nodes live in [-1, 1]^2 and are found by quadtree search of the CPPN's weight pattern
(``es_quadtree``), from the inputs, then ``iteration_level`` rounds from the hidden nodes found, then into
the outputs; nodes not on an input -> output path are removed (``es_network``). With a two-layer
substrate the inputs, the hidden nodes and the outputs are three sheets over the same square; with an
MLP target they share one plane, as in the paper.

CPPN inputs ``(x1, y1, x2, y2[, distance][, 1.0])`` from source to target; one weight output for every
connection, or (``output_per_kind``) one each for input -> hidden, hidden -> hidden and hidden -> output.
Everything is batched over the population (see the two modules above); the phenotypes are
``ESPhenotypes``.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch

from evohyper.api.checks import MAX_LOOP, MAX_SCALE, Checks
from evohyper.api.phenotypes import MLPSpec
from evohyper.families.hyperneat import es_network, es_quadtree
from evohyper.families.hyperneat.cppn import CPPNDecoder
from evohyper.families.hyperneat.es_phenotypes import ESNetworkSpec, ESPhenotypes
from evohyper.families.hyperneat.substrate import SubstrateSpec, line
from evohyper.families.neat.compile import compile_cppns
from evohyper.families.neat.convert import as_genome_batch
from evohyper.families.neat.genome import GenomeBatch
from evohyper.families.neat.runtime import CompiledCPPNs

KINDS = ("in", "hidden", "out")

_checks = Checks("decoder")


class ESHyperNEATDecoder(CPPNDecoder):
    """ES-HyperNEAT: a CPPN's quadtree search places the hidden nodes, then weights them (batched).

    Options (and those of every CPPN decoder, ``cppn.CPPNDecoder``; the CPPN's dtype is the networks' too):
      initial_depth: quadtree depth every cell is divided to, whatever its variance (resolution 2^d).
      max_depth: deepest quadtree level, at most 5 (the finest hidden-node resolution, 2^d per side).
      variance_threshold: pruning descends into a cell whose weight variance (over its subtree's leaves)
        exceeds this; other cells are candidates.
      band_threshold: a candidate becomes a connection only where its band value (weight differences to
        its four neighbours) exceeds this (band pruning).
      division_threshold: below ``max_depth``, a cell past ``initial_depth`` is divided when the variance of
        its four children's weights exceeds this.
      iteration_level: rounds of hidden -> hidden discovery from the hidden nodes already found (0: none).
      output_per_kind: one CPPN output each for input -> hidden, hidden -> hidden and hidden -> output
        connections instead of one shared output.
      recurrent: allow hidden -> hidden cycles and run the network for ``activation_steps`` synchronous
        steps (otherwise acyclic, in exact feed-forward order).
      activation_steps: synchronous steps of a recurrent network (null: 2^max_depth + 1).
    """

    MAX_DEPTH: ClassVar[int] = 5

    def __init__(self, target: SubstrateSpec | MLPSpec, *,
                 initial_depth: int = 2,
                 max_depth: int = 3,
                 variance_threshold: float = 0.03,
                 band_threshold: float = 0.3,
                 division_threshold: float = 0.03,
                 iteration_level: int = 1,
                 weight_threshold: float = 0.2,
                 max_weight: float = 3.0,
                 distance_input: bool = False,
                 bias_input: bool = True,
                 output_per_kind: bool = False,
                 recurrent: bool = False,
                 activation_steps: int | None = None,
                 dtype: Literal["float32", "float64"] = "float32",
                 max_chunk_mb: float = 256.0):
        super().__init__(target)
        _checks.integer("max_depth", max_depth, 1, self.MAX_DEPTH)
        _checks.integer("initial_depth", initial_depth, 0, max_depth)
        _checks.integer("iteration_level", iteration_level, 0, 100)
        for name, value in (("variance_threshold", variance_threshold), ("band_threshold", band_threshold),
                            ("division_threshold", division_threshold)):
            _checks.real(name, value, 0.0, MAX_SCALE)
        _checks.integer("activation_steps", activation_steps, 1, MAX_LOOP, optional=True)
        self.set_cppn_options(weight_threshold=weight_threshold, max_weight=max_weight, distance_input=distance_input,
                              bias_input=bias_input, dtype=dtype, max_chunk_mb=max_chunk_mb)
        self.inputs, self.outputs, self.layout, act, out_act = self._geometry(target)
        self.spec = ESNetworkSpec(len(self.inputs), len(self.outputs), act, out_act)
        self.options = es_quadtree.QuadtreeOptions(int(initial_depth), int(max_depth), float(variance_threshold),
                                                   float(band_threshold), float(division_threshold),
                                                   self.weight_threshold, self.max_weight)
        self.grid = es_quadtree.QuadGrid(max_depth)
        self.iteration_level, self.recurrent = int(iteration_level), _checks.boolean("recurrent", recurrent)
        self.output_per_kind = _checks.boolean("output_per_kind", output_per_kind)
        self.steps = activation_steps if activation_steps is not None else (
            2 ** int(max_depth) + 1 if self.recurrent else None)

    @staticmethod
    def _geometry(target: Any) -> tuple[list[list[float]], list[list[float]], str, str, str]:
        """Input and output positions, the layout ("sheets" or "plane") and the node activations."""
        if isinstance(target, SubstrateSpec):
            sub = target.substrate
            if sub.dim != 2 or len(sub.layers) != 2:
                _checks.refuse("name", f"'es_hyperneat' places the hidden nodes itself: it needs a substrate of "
                                       f"two layers (inputs, outputs) of 2-D points; got {len(sub.layers)} layers of "
                                       f"{sub.dim}-D points")
            return sub.layers[0], sub.layers[1], "sheets", target.activation, target.output_activation
        if isinstance(target, MLPSpec):
            return (line(target.sizes[0], -1.0), line(target.sizes[-1], 1.0), "plane", target.activation,
                    target.output_activation)
        _checks.refuse("name", f"'es_hyperneat' needs a task whose target is a substrate (SubstrateSpec) or an "
                               f"MLP (MLPSpec, for its inputs and outputs); got {type(target).__name__}")

    # ------------------------------------------------------------------ CPPN geometry
    coordinate_dim = 2   # every node lies in [-1, 1]^2

    @property
    def num_outputs(self) -> int:
        return len(KINDS) if self.output_per_kind else 1

    def output_index(self, kind: str) -> int:
        return KINDS.index(kind) if self.output_per_kind else 0

    def output_names(self) -> list[str]:
        return [f"w_{k}" for k in KINDS] if self.output_per_kind else ["w"]

    def _values(self, cppns: CompiledCPPNs, output: int, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        """Clamped weight output ``[G, Q]`` of every genome at the pairs ``src -> tgt``, in chunks of pairs
        (always finite: the quadtree's masks multiply it)."""
        Q = src.shape[0]
        inputs = torch.empty(Q, self.num_inputs, dtype=src.dtype, device=src.device)
        inputs[:, :2], inputs[:, 2:4] = src, tgt
        if self.distance_input:
            torch.linalg.vector_norm(src - tgt, dim=1, out=inputs[:, 4])
        if self.bias_input:
            inputs[:, -1] = 1.0
        chunk = int(min(65536, max(1024, self.max_chunk_bytes // (cppns.num_slots * inputs.element_size()))))
        if Q <= chunk:  # one batched call
            out = cppns.query(inputs)[:, output].contiguous()
        else:
            out = torch.empty(cppns.num_genomes, Q, dtype=self.dtype, device=cppns.device)
            for start in range(0, Q, chunk):  # chunks of coordinate pairs, each one batched call
                end = min(Q, start + chunk)
                out[:, start:end] = cppns.query(inputs[start:end])[:, output]
        return out.nan_to_num_(nan=0.0).clamp_(-1.0, 1.0)  # NaN (e.g. inf - inf in a CPPN) reads as no weight

    # ------------------------------------------------------------------ decoding
    def discover(self, genotypes: GenomeBatch | Sequence[Any],
                 device: torch.device | str = "cpu") -> es_network.Discovery:
        """Every genome's connections over the candidate positions, before pruning (see ``es_network``)."""
        device = torch.device(device)
        genotypes = as_genome_batch(genotypes)
        cppns = compile_cppns(genotypes, self.num_inputs, self.num_outputs, dtype=self.dtype, device=device)
        per_source = len(genotypes) * self.grid.points_per_source * torch.finfo(self.dtype).bits // 8
        block = max(1, int(self.max_chunk_bytes // (8 * per_source)))  # the quadtree tensors of one block

        def explore(sources: torch.Tensor, kind: str) -> torch.Tensor:
            def values(src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
                return self._values(cppns, self.output_index(kind), src, tgt)
            parts = [es_quadtree.explore(values, sources[i:i + block], kind != "out", self.grid, self.options)
                     for i in range(0, sources.shape[0], block)]
            return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)

        def pts(p: list[list[float]]) -> torch.Tensor:
            return torch.tensor(p, dtype=self.dtype, device=device)

        return es_network.discover(explore, pts(self.inputs), pts(self.outputs),
                                   self.grid.positions.to(device=device, dtype=self.dtype), self.iteration_level,
                                   feed_forward=not self.recurrent)

    def decode(self, genotypes: GenomeBatch | Sequence[Any], device: torch.device | str = "cpu") -> ESPhenotypes:
        found = self.discover(genotypes, device)
        return self.spec.build(es_network.assemble(found, self.grid.positions.to(found.w_in.device), self.steps))

    # ------------------------------------------------------------------ reporting
    def describe(self) -> dict[str, Any]:
        o = self.options
        return {**super().describe(), "layout": self.layout, "inputs": len(self.inputs), "outputs": len(self.outputs),
                "cppn_inputs": self.num_inputs, "cppn_outputs": self.num_outputs, "initial_depth": o.initial_depth,
                "max_depth": o.max_depth, "variance_threshold": o.variance_threshold,
                "band_threshold": o.band_threshold, "division_threshold": o.division_threshold,
                "iteration_level": self.iteration_level, "weight_threshold": o.weight_threshold,
                "max_weight": o.max_weight, "recurrent": self.recurrent, "activation_steps": self.steps,
                "candidate_positions": self.grid.num_candidates}

    def pictures(self, genotype: Any, out_dir: Path) -> list[Path]:
        """The CPPN and the substrate it discovered (see ``es_pictures``)."""
        from evohyper.families.hyperneat.es_pictures import es_decoder_pictures
        return es_decoder_pictures(self, genotype, Path(out_dir))
