"""What the two HyperNEAT decoders share: a NEAT CPPN queried at node pairs, its options and their checks.

Why one base class: ``hyperneat`` and ``es_hyperneat`` both decode NEAT genomes into CPPNs, feed them
``(source coords, target coords[, distance][, 1.0])`` and express the weight output with a threshold and a
scale, at one precision and within one memory bound. Those six options, their documentation (read by
``evohyper describe``), their checks and what a strategy is told (``info``) live here once; each decoder adds
only its own geometry (a fixed substrate, or the quadtree search).
"""
from __future__ import annotations

from typing import Any, ClassVar

import torch

from evohyper.api.checks import Checks
from evohyper.api.decoder import Decoder, DecoderInfo

DTYPES = {"float32": torch.float32, "float64": torch.float64}
MAX_CHUNK_MB = 1e6   # MiB of CPPN working buffer (a terabyte)

_checks = Checks("decoder")


class CPPNDecoder(Decoder):
    """A decoder of NEAT genomes read as CPPNs (the HyperNEAT family's base).

    Options:
      weight_threshold: CPPN outputs with ``|w| <= weight_threshold`` express no connection, in [0, 1).
      max_weight: the largest weight magnitude (> 0); expressed weights are scaled into [-max_weight, max_weight].
      distance_input: give the CPPN the distance between the two nodes as an extra input.
      bias_input: give the CPPN a constant 1.0 input.
      dtype: precision of the CPPN queries (and of ES-HyperNEAT's networks): ``float32`` or ``float64``.
      max_chunk_mb: largest CPPN working buffer in MiB (> 0); bigger populations are decoded in groups.
    """

    genotype_kind: ClassVar[str] = "neat"

    def set_cppn_options(self, *, weight_threshold: Any, max_weight: Any, distance_input: Any, bias_input: Any,
                         dtype: Any, max_chunk_mb: Any) -> None:
        """Check the shared options and keep them (``dtype`` as a torch dtype, the bound in bytes)."""
        self.weight_threshold = _checks.real("weight_threshold", weight_threshold, 0.0, 1.0, high_open=True)
        self.max_weight = _checks.scale("max_weight", max_weight)
        self.distance_input = _checks.boolean("distance_input", distance_input)
        self.bias_input = _checks.boolean("bias_input", bias_input)
        self.dtype = DTYPES[_checks.one_of("dtype", dtype, DTYPES)]
        self.max_chunk_bytes = _checks.real("max_chunk_mb", max_chunk_mb, 0.0, MAX_CHUNK_MB, low_open=True) * 2**20

    @property
    def genome_size(self) -> None:
        return None

    def info(self) -> DecoderInfo:
        """NEAT genotypes with the CPPN's inputs and outputs (what strategy ``neat`` configures)."""
        return DecoderInfo(genotype="neat", genome_inputs=self.num_inputs, genome_outputs=self.num_outputs,
                           genome_feed_forward=True)

    @property
    def coordinate_dim(self) -> int:
        """Coordinates per node (2 for ES-HyperNEAT's square, the substrate's dimension for HyperNEAT)."""
        raise NotImplementedError

    @property
    def num_inputs(self) -> int:
        """CPPN inputs: source and target coordinates, then optional distance and bias."""
        return 2 * self.coordinate_dim + int(self.distance_input) + int(self.bias_input)

    @property
    def num_outputs(self) -> int:
        raise NotImplementedError

    def input_names(self) -> list[str]:
        """CPPN input labels for drawings: ``x1, y1, x2, y2[, dist][, bias]``."""
        d = self.coordinate_dim
        axes = ["x", "y", "z"] + [f"c{i}" for i in range(3, d)]
        names = [f"{a}1" for a in axes[:d]] + [f"{a}2" for a in axes[:d]]
        return names + (["dist"] if self.distance_input else []) + (["bias"] if self.bias_input else [])

    def output_names(self) -> list[str]:
        raise NotImplementedError
