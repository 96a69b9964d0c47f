"""HyperNEAT decoder: NEAT CPPN genomes -> substrate weights, for a whole population at once.

For every pair of consecutive substrate layers (i -> i+1) the CPPN is queried at all source/target
coordinate pairs; its inputs are ``(source coords, target coords[, distance][, 1.0])``. Its outputs,
per layer pair ``p``, are a weight ``w_p`` (then, optionally, a link-expression output ``leo_p`` and
a bias output ``b_p``, the latter queried with the source at the origin). Weight expression as in
HyperNEAT (Stanley et al. 2009): the output is clamped to [-1, 1]; ``|w| <= weight_threshold`` means
no connection, otherwise ``sign(w) (|w| - t) / (1 - t) * max_weight``. With LEO the connection
exists iff ``leo_p > 0`` and its weight is ``w * max_weight`` (Verbancsics & Stanley 2011).

Genotypes are NEAT genomes (a ``GenomeBatch``); this decoder compiles them (``compile.compile_cppns``,
batched) and queries them batched: coordinate pairs in chunks of ``QUERY_CHUNK`` and, when the CPPN's working buffer
``[genomes, slots, QUERY_CHUNK]`` would exceed ``max_chunk_mb``, genomes in groups (the 55x55
substrate has 9.15 M pairs per genome; ``decode_chunks`` bounds the weights themselves).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import torch

from evohyper.api.checks import Checks
from evohyper.api.phenotypes import MLPPhenotypes, MLPSpec
from evohyper.families.hyperneat.cppn import CPPNDecoder
from evohyper.families.hyperneat.substrate import SubstrateSpec, mlp_substrate
from evohyper.families.neat.compile import compile_cppns
from evohyper.families.neat.convert import as_genome_batch
from evohyper.families.neat.genome import GenomeBatch
from evohyper.families.neat.runtime import CompiledCPPNs

_checks = Checks("decoder")


def express(w: torch.Tensor, threshold: float, max_weight: float, leo: torch.Tensor | None = None) -> torch.Tensor:
    """HyperNEAT weight expression of raw CPPN outputs (in place on ``w`` where possible).

    ``softshrink(w, t) = sign(w) * max(|w| - t, 0)``: the threshold-and-shift in one pass."""
    w = w.clamp_(-1.0, 1.0)
    if leo is not None:
        return w.mul_(max_weight).mul_(leo > 0)
    if threshold <= 0.0:
        return w.mul_(max_weight)
    return torch.nn.functional.softshrink(w, threshold).mul_(max_weight / (1.0 - threshold))


class HyperNEATDecoder(CPPNDecoder):
    """CPPN (NEAT genome) queried at substrate coordinate pairs -> weight matrices (HyperNEAT).

    Options (and those of every CPPN decoder, ``cppn.CPPNDecoder``):
      bias_output: an extra CPPN output per layer pair for node biases (needs a substrate with biases).
      leo: link-expression output (Verbancsics & Stanley 2011): a connection exists iff its LEO output > 0.
    """

    def __init__(self, target: SubstrateSpec | MLPSpec, *,
                 weight_threshold: float = 0.2,
                 max_weight: float = 3.0,
                 distance_input: bool = True,
                 bias_input: bool = True,
                 bias_output: bool = False,
                 leo: bool = False,
                 dtype: Literal["float32", "float64"] = "float32",
                 max_chunk_mb: float = 256.0):
        if isinstance(target, MLPSpec):  # an MLP task: its layers as rows of nodes (substrate.mlp_substrate)
            target = mlp_substrate(target)
        if not isinstance(target, SubstrateSpec):
            _checks.refuse("name", f"'hyperneat' needs a task whose target is a substrate (SubstrateSpec) or an "
                                   f"MLP; got {type(target).__name__}")
        super().__init__(target)
        self.set_cppn_options(weight_threshold=weight_threshold, max_weight=max_weight, distance_input=distance_input,
                              bias_input=bias_input, dtype=dtype, max_chunk_mb=max_chunk_mb)
        self.substrate = target.substrate
        self.bias_output, self.leo = _checks.boolean("bias_output", bias_output), _checks.boolean("leo", leo)
        if bias_output and not target.bias:
            _checks.fail("bias_output", bias_output, "false on a substrate without node biases (target bias: false)")
        self.num_pairs = len(self.substrate.layers) - 1
        self._query_cache: dict[tuple[int, str, str], torch.Tensor] = {}

    # ------------------------------------------------------------------ CPPN geometry
    @property
    def coordinate_dim(self) -> int:
        return self.substrate.dim

    @property
    def num_outputs(self) -> int:
        """CPPN outputs: ``[w_0..w_{p-1}, leo_0.., b_0..]`` for the p layer pairs."""
        return self.num_pairs * (1 + int(self.leo) + int(self.bias_output))

    def output_index(self, kind: Literal["weight", "leo", "bias"], pair: int) -> int:
        order = ["weight"] + (["leo"] if self.leo else []) + (["bias"] if self.bias_output else [])
        return order.index(kind) * self.num_pairs + pair

    def output_names(self) -> list[str]:
        """CPPN output labels for drawings: ``w``, ``leo``, ``b`` (numbered by layer pair when several)."""
        names = [""] * self.num_outputs
        for kind, short in (("weight", "w"), ("leo", "leo"), ("bias", "b")):
            if kind == "leo" and not self.leo or kind == "bias" and not self.bias_output:
                continue
            for p in range(self.num_pairs):
                names[self.output_index(kind, p)] = f"{short}{p}" if self.num_pairs > 1 else short
        return names

    def _inputs(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        """All ``(source, target)`` pairs, source-major: row ``s * n_tgt + t``."""
        ns, nt = src.shape[0], tgt.shape[0]
        parts = [src[:, None, :].expand(ns, nt, -1), tgt[None, :, :].expand(ns, nt, -1)]
        if self.distance_input:
            parts.append(torch.linalg.vector_norm(src[:, None, :] - tgt[None, :, :], dim=-1, keepdim=True))
        if self.bias_input:
            parts.append(torch.ones(ns, nt, 1, dtype=src.dtype, device=src.device))
        return torch.cat(parts, dim=-1).reshape(ns * nt, -1)

    def pair_inputs(self, pair: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """CPPN inputs ``[n_src * n_tgt, num_inputs]`` of layer pair ``pair`` (cached per device)."""
        key = (pair, str(device), str(self.dtype))
        if key not in self._query_cache:
            src = self.substrate.coords(pair, self.dtype, device)
            tgt = self.substrate.coords(pair + 1, self.dtype, device)
            self._query_cache[key] = self._inputs(src, tgt)
        return self._query_cache[key]

    # ------------------------------------------------------------------ decoding
    def compile(self, genotypes: GenomeBatch | Sequence[Any], device: torch.device | str = "cpu") -> CompiledCPPNs:
        return compile_cppns(as_genome_batch(genotypes), self.num_inputs, self.num_outputs, dtype=self.dtype,
                             device=device)

    QUERY_CHUNK = 16384  # coordinate pairs per CPPN call: 11x11 -> 11x11 (14,641) is one call

    def _groups(self, genotypes: GenomeBatch, device: torch.device) -> Iterator[tuple[int, CompiledCPPNs]]:
        """Compiled groups of genomes whose working buffer ``[G, slots, QUERY_CHUNK]`` fits ``max_chunk_mb``.
        The query chunk does not depend on the population size, so neither does the arithmetic."""
        cppns = self.compile(genotypes, device)
        buffer = cppns.num_slots * self.QUERY_CHUNK * torch.finfo(self.dtype).bits // 8  # whole population
        if buffer <= self.max_chunk_bytes or len(genotypes) == 1:
            yield 0, cppns
            return
        size = max(1, int(len(genotypes) * self.max_chunk_bytes // buffer))
        for start in range(0, len(genotypes), size):
            yield start, self.compile(genotypes[start:start + size], device)

    def query_outputs(self, cppns: CompiledCPPNs, inputs: torch.Tensor, outputs: Sequence[int]) -> torch.Tensor:
        """Selected CPPN outputs ``[G, len(outputs), Q]`` at ``inputs [Q, n_in]``, in chunks of queries."""
        Q = inputs.shape[0]
        out = torch.empty(cppns.num_genomes, len(outputs), Q, dtype=self.dtype, device=cppns.device)
        idx = torch.tensor(list(outputs), device=cppns.device)
        for start in range(0, Q, self.QUERY_CHUNK):  # chunks of coordinate pairs, each a batched call
            end = min(Q, start + self.QUERY_CHUNK)
            out[:, :, start:end] = cppns.query(inputs[start:end]).index_select(1, idx)
        return out

    def decode(self, genotypes: GenomeBatch | Sequence[Any], device: torch.device | str = "cpu") -> MLPPhenotypes:
        device = torch.device(device)
        genotypes = as_genome_batch(genotypes)
        G, sizes = len(genotypes), self.substrate.sizes
        tensors = {}
        for p in range(self.num_pairs):
            tensors[f"w{p}"] = torch.empty(G, sizes[p], sizes[p + 1], dtype=torch.float32, device=device)
            if self.target.bias:
                tensors[f"b{p}"] = torch.zeros(G, sizes[p + 1], dtype=torch.float32, device=device)
        for start, cppns in self._groups(genotypes, device):  # one group unless the buffer would be huge
            n = cppns.num_genomes
            for p in range(self.num_pairs):
                outs = [self.output_index("weight", p)] + ([self.output_index("leo", p)] if self.leo else [])
                raw = self.query_outputs(cppns, self.pair_inputs(p, device), outs)
                leo = raw[:, 1] if self.leo else None
                w = express(raw[:, 0], self.weight_threshold, self.max_weight, leo)
                tensors[f"w{p}"][start:start + n] = w.reshape(n, sizes[p], sizes[p + 1])
                if self.bias_output:
                    tensors[f"b{p}"][start:start + n] = self._biases(cppns, p, device)
        return self.target.build(tensors)

    def _biases(self, cppns: CompiledCPPNs, pair: int, device: torch.device) -> torch.Tensor:
        tgt = self.substrate.coords(pair + 1, self.dtype, device)
        src = torch.zeros(1, self.substrate.dim, dtype=self.dtype, device=device)
        raw = self.query_outputs(cppns, self._inputs(src, tgt), [self.output_index("bias", pair)])[:, 0]
        return raw.clamp_(-1.0, 1.0).mul_(self.max_weight).to(torch.float32)

    def decode_chunks(self, genotypes: GenomeBatch | Sequence[Any], genomes_per_chunk: int,
                      device: torch.device | str = "cpu") -> Iterator[tuple[int, MLPPhenotypes]]:
        """``(start, phenotypes)`` for consecutive groups of genomes: big substrates (55x55 = 37 MB of
        weights per genome) are decoded and consumed a few genomes at a time."""
        genotypes = as_genome_batch(genotypes)
        for start in range(0, len(genotypes), genomes_per_chunk):
            yield start, self.decode(genotypes[start:start + genomes_per_chunk], device)

    # ------------------------------------------------------------------ reporting
    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "cppn_inputs": self.num_inputs, "cppn_outputs": self.num_outputs,
                "weight_threshold": self.weight_threshold, "max_weight": self.max_weight, "leo": self.leo}

    def pictures(self, genotype: Any, out_dir: Path) -> list[Path]:
        """CPPN graph and weight-pattern images of one genome (see ``evohyper.families.hyperneat.pictures``)."""
        from evohyper.families.hyperneat.pictures import decoder_pictures
        return decoder_pictures(self, genotype, Path(out_dir))
