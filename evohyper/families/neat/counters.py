"""Identity counters of the batched NEAT engine: node ids, innovation numbers, genome and species ids.

Why one object: neat-python keeps these in four places (``DefaultGenomeConfig.node_indexer``, the
``InnovationTracker``, ``DefaultReproduction.genome_indexer``, ``DefaultSpeciesSet.indexer``); the batched
operators need them together, and the checkpoint stores exactly these four integers (docs/neat_engine.md,
section 5.5). The per-generation table that deduplicates identical ``add_connection`` mutations (neat's
``InnovationTracker.generation_innovations``) lives here too and is cleared at each generation's start,
so it is never state. Numbers are handed out in blocks (``arange``), never one at a time.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from evohyper.families.neat.genome import INT32_MAX

Tensor = torch.Tensor


@dataclass
class Counters:
    """``next_node_id``: the next new node id (None until first used: neat starts it lazily at
    ``max(node ids of the first genome) + 1``, S12); ``innovation``: the last innovation number handed
    out (neat's ``global_counter``; the first number is 1); ``next_gid`` / ``next_sid``: next genome and
    species ids (both start at 1 as neat's ``count(1)``)."""

    next_node_id: int | None = None
    innovation: int = 0
    next_gid: int = 1
    next_sid: int = 1
    _keys: Tensor | None = field(default=None, repr=False)  # sorted packed keys seen this generation
    _numbers: Tensor | None = field(default=None, repr=False)  # their innovation numbers

    def reset_generation(self) -> None:
        """Forget this generation's ``add_connection`` table (neat: ``reset_generation`` in ``reproduce``)."""
        self._keys = self._numbers = None

    def node_ids(self, n: int, first_free: int) -> Tensor:
        """``n`` new node ids in order (int64); ``first_free`` starts the counter if it is not started yet."""
        if self.next_node_id is None:
            self.next_node_id = int(first_free)
        start = self.next_node_id
        if start + n > INT32_MAX:
            raise OverflowError(f"NEAT node id counter would pass {INT32_MAX} (next {start}, {n} asked)")
        self.next_node_id = start + n
        return torch.arange(start, start + n, dtype=torch.int64)

    def innovations(self, n: int) -> Tensor:
        """``n`` fresh innovation numbers in order (int64), never shared."""
        start = self.innovation + 1
        self.innovation += n
        return torch.arange(start, start + n, dtype=torch.int64)

    def shared_innovations(self, keys: Tensor) -> Tensor:
        """Innovation numbers for packed ``add_connection`` keys: one number per distinct key within the
        generation (keys already numbered this generation reuse theirs; new ones are numbered in ascending
        key order). Same shape and device as ``keys``."""
        device = keys.device
        flat = keys.reshape(-1).to(torch.int64).cpu()
        out = torch.empty_like(flat)
        if flat.numel():
            uniq, inverse = torch.unique(flat, sorted=True, return_inverse=True)
            numbers = torch.empty_like(uniq)
            known = torch.zeros_like(uniq, dtype=torch.bool)
            if self._keys is not None and self._keys.numel():
                j = torch.searchsorted(self._keys, uniq).clamp(max=self._keys.numel() - 1)
                known = self._keys[j] == uniq
                numbers[known] = self._numbers[j[known]]
            fresh = ~known
            numbers[fresh] = self.innovations(int(fresh.sum()))
            if bool(fresh.any()):
                keys_all = uniq[fresh] if self._keys is None else torch.cat([self._keys, uniq[fresh]])
                nums_all = numbers[fresh] if self._numbers is None else torch.cat([self._numbers, numbers[fresh]])
                order = torch.argsort(keys_all)
                self._keys, self._numbers = keys_all[order], nums_all[order]
            out = numbers[inverse]
        return out.reshape(keys.shape).to(device)

    def gids(self, n: int) -> Tensor:
        start = self.next_gid
        self.next_gid += n
        return torch.arange(start, start + n, dtype=torch.int64)

    def state(self) -> dict[str, int | None]:
        return {"next_node_id": self.next_node_id, "innovation": self.innovation,
                "next_gid": self.next_gid, "next_sid": self.next_sid}

    @classmethod
    def from_state(cls, data: dict[str, int | None]) -> Counters:
        return cls(**{k: (None if data[k] is None else int(data[k]))
                      for k in ("next_node_id", "innovation", "next_gid", "next_sid")})
