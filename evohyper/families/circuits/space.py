"""The circuit space: chain lengths, the six component kinds, E12 values, frequencies, and gene encoding.

Values are E12 preferred numbers over three decades per element, ranges chosen so that every
component's impedance crosses the 1 kOhm load inside the 100 Hz - 10 MHz band:
R 100 Ohm - 82 kOhm, C 1 nF - 820 nF, L 100 uH - 82 mH (36 values each). A circuit is held as
``kinds [N, L]`` (codes of ``simulator.KINDS``, ``EMPTY`` = -1 past its length) and value indices
``[N, L]`` into the element's table.

Genes (the GA's genotype, int64 ``[N, 1 + 2 L]``): ``[length, kind_1, value_1, ..., kind_L, value_L]``;
positions past ``length`` are carried but inactive (so a length mutation can re-expose them).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch

from evohyper.families.circuits.simulator import EMPTY, KINDS, element_of, log_frequencies, response

E12 = (1.0, 1.2, 1.5, 1.8, 2.2, 2.7, 3.3, 3.9, 4.7, 5.6, 6.8, 8.2)
#: first decade of each element's range: R 100 Ohm, C 1 nF, L 100 uH; three decades each
FIRST_DECADE = (1e2, 1e-9, 1e-4)
DECADES = 3
N_KINDS = len(KINDS)
N_VALUES = len(E12) * DECADES


def value_table() -> torch.Tensor:
    """``[3, 36]`` float64: the E12 values of R (ohm), C (farad), L (henry), ascending."""
    rows = [[base * 10 ** dec * m for dec in range(DECADES) for m in E12] for base in FIRST_DECADE]
    return torch.tensor(rows, dtype=torch.float64)


@dataclass(frozen=True)
class CircuitSpace:
    """Lengths, frequency grid and load shared by the dataset, the task, the GA and the designer."""

    min_length: int = 4
    max_length: int = 10
    frequencies: int = 64
    f_min: float = 1e2
    f_max: float = 1e7
    load: float = 1e3

    def __post_init__(self) -> None:
        if not 1 <= self.min_length <= self.max_length:
            raise ValueError(f"need 1 <= min_length <= max_length, got {self.min_length}, {self.max_length}")
        if self.frequencies < 2 or not 0 < self.f_min < self.f_max:
            raise ValueError("need frequencies >= 2 and 0 < f_min < f_max")

    @property
    def lengths(self) -> range:
        return range(self.min_length, self.max_length + 1)

    @property
    def genome_size(self) -> int:
        return 1 + 2 * self.max_length

    @cached_property
    def omega(self) -> torch.Tensor:
        return log_frequencies(self.frequencies, self.f_min, self.f_max)

    @cached_property
    def table(self) -> torch.Tensor:
        return value_table()

    # ------------------------------------------------------------------ values
    def values(self, kinds: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Physical values ``[N, L]`` float64 of value indices (EMPTY slots get 1.0, never used)."""
        el = element_of(kinds).clamp(min=0)
        v = self.table.to(kinds.device)[el, index.clamp(0, N_VALUES - 1)]
        return torch.where(kinds == EMPTY, torch.ones_like(v), v)

    def nearest_index(self, kinds: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """The E12 value index nearest to ``values`` in log scale (snaps refined continuous values)."""
        el = element_of(kinds).clamp(min=0)
        logs = self.table.to(values.device).log()[el]                 # [N, L, 36]
        return (logs - values.to(torch.float64).log().unsqueeze(-1)).abs().argmin(-1)

    def response(
        self, kinds: torch.Tensor, values: torch.Tensor, dtype: torch.dtype = torch.complex128
    ) -> torch.Tensor:
        """``[N, 2, K]`` response (``V_out``, ``I_in``) with this space's frequencies and load."""
        return response(kinds, values, self.omega.to(values.device), self.load, dtype)

    # ------------------------------------------------------------------ sampling
    def sample(self, n: int, length: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` random circuits of exactly ``length`` components: ``(kinds, value_index)`` padded to
        ``max_length``. Values are uniform over the E12 table; kinds are uniform over those allowed.

        A kind is allowed only if it does not repeat an element already in
        the current run of same-placement components: two series (or two parallel) components of the same
        element in one run merge into one component (``1/C = 1/C1 + 1/C2``, ``R = R1 + R2``, ...), so
        such a circuit has an exact equivalent with fewer components and its kinds cannot be recovered
        from its response. Every reduced circuit is its own shortest form under these rules.
        """
        if length not in self.lengths:
            raise ValueError(f"length {length} outside [{self.min_length}, {self.max_length}]")
        kinds = torch.full((n, self.max_length), EMPTY, dtype=torch.long)
        index = torch.zeros((n, self.max_length), dtype=torch.long)
        u = torch.rand((n, length, 2), generator=generator, dtype=torch.float64)  # one draw per slot:
        index[:, :length] = (u[..., 1] * N_VALUES).long().clamp(max=N_VALUES - 1)  # a prefix of n is stable
        run = torch.zeros((n, 2, 3), dtype=torch.bool)          # elements used in the current run, per placement
        rows = torch.arange(n)
        for pos in range(length):                                 # chain positions only (<= max_length)
            allowed = ~run.flatten(1)
            count = allowed.sum(1)
            pick = (u[:, pos, 0] * count).long().clamp(max=count - 1)
            kind = (torch.cumsum(allowed.long(), 1) <= pick.unsqueeze(1)).sum(1)  # the pick-th allowed kind
            kinds[:, pos] = kind
            placement, element = kind // 3, kind % 3
            run[rows, 1 - placement] = False                      # the other placement's run ends here
            run[rows, placement, element] = True
        return kinds, index

    # ------------------------------------------------------------------ genes
    def decode_genes(self, genes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Genes ``[N, 1 + 2L]`` -> ``(kinds, value_index)`` ``[N, L]``; inactive slots EMPTY / 0."""
        g = torch.as_tensor(genes)
        if g.dim() != 2 or g.shape[1] != self.genome_size:
            raise ValueError(f"circuit genes must be [N, {self.genome_size}], got {tuple(g.shape)}")
        if g.is_floating_point():
            if not torch.equal(g, g.round()):
                raise ValueError("circuit genes must be integers (use the circuit_ga strategy)")
            g = g.long()
        length, kinds, index = g[:, 0], g[:, 1::2], g[:, 2::2]
        bad = (
            ((length < self.min_length) | (length > self.max_length)).any()
            or ((kinds < 0) | (kinds >= N_KINDS)).any()
            or ((index < 0) | (index >= N_VALUES)).any()
        )
        if bad:
            raise ValueError(
                f"circuit genes out of range: length in [{self.min_length}, {self.max_length}], "
                f"kinds in [0, {N_KINDS - 1}], value indices in [0, {N_VALUES - 1}]"
            )
        active = torch.arange(self.max_length, device=g.device) < length.unsqueeze(1)
        return torch.where(active, kinds, EMPTY), torch.where(active, index, 0)

    def encode_genes(self, kinds: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Compact circuits (components first, then EMPTY) -> genes; inactive slots encoded as 0."""
        present = kinds != EMPTY
        length = present.sum(1)
        if not torch.equal(present, torch.arange(kinds.shape[1]) < length.unsqueeze(1)):
            raise ValueError("encode_genes needs compact circuits (no EMPTY slot before a component)")
        genes = torch.zeros((kinds.shape[0], self.genome_size), dtype=torch.long)
        genes[:, 0] = length
        genes[:, 1::2] = kinds.clamp(min=0)
        genes[:, 2::2] = torch.where(present, index, 0)
        return genes


DEFAULT_SPACE = CircuitSpace()
