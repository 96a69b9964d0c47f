"""``RowBatch``: a population of genotypes that is not one tensor, yet slices and ships like one.

Why a protocol in the core: a backend cuts the population into chunks of rows and sends each to a worker
(``engine/backends/ray/wire.py``); observers pick single rows (the best, the top k) and stack a few again.
For a ``Tensor[P, D]`` that is indexing. A population of NEAT genomes (``families.neat.GenomeBatch``: a
dozen padded tensors) or any other structured genotype does the same through this protocol, so no engine
code knows a family, and nothing crosses a process boundary but named arrays and a little JSON (never
pickled objects per gene: P-NEAT at P = 150 is 47 MB of arrays or 2.2 M Python gene objects).

A row batch class registers under a *kind* (``registry.row_batches.register("neat-genomes")``; third-party
ones under the entry-point group ``evohyper.row_batches``); the wire sends
``{"__rows__": kind, "arrays": {...}, "meta": {...}}`` and the receiving side rebuilds it with
``row_batches.get(kind).from_arrays(arrays, meta)``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import torch

from evohyper.api.registry import component_name, row_batches

__all__ = ["RowBatch", "cat_rows", "from_payload", "is_row_batch", "kind_of", "population_of_one", "row_batches",
           "to_payload"]


@runtime_checkable
class RowBatch(Protocol):
    """``P`` genotypes as rows: sliceable, concatenable, and convertible to named arrays and back."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int | slice | Sequence[int] | torch.Tensor) -> RowBatch:
        """The rows at ``index`` as a batch of the same class (an int gives a batch of one row)."""

    def to_arrays(self) -> dict[str, torch.Tensor]:
        """Every row as named tensors (first dimension ``len(self)``); ``from_arrays`` inverts it."""

    def meta(self) -> dict[str, Any]:
        """JSON-serialisable facts ``from_arrays`` needs beside the arrays (may be empty)."""

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> RowBatch:
        """The batch ``to_arrays``/``meta`` described."""

    @classmethod
    def cat(cls, batches: Sequence[RowBatch]) -> RowBatch:
        """The rows of ``batches`` in order, as one batch."""


def is_row_batch(obj: Any) -> bool:
    """A registered row batch (plain tensors, lists and other genotypes are not)."""
    return not isinstance(obj, (torch.Tensor, list, tuple, dict)) and isinstance(obj, RowBatch) \
        and kind_of(obj) is not None


def population_of_one(genotype: Any) -> Any:
    """One genotype as a population of one, whatever its type (a tensor row gains a first dimension, a row
    batch's one genotype already is a batch of one row, anything else goes in a list): what a decoder
    decodes when one individual (the exported best, a replayed one) is all there is."""
    if isinstance(genotype, torch.Tensor):
        return genotype.unsqueeze(0)
    return genotype if is_row_batch(genotype) else [genotype]


def kind_of(obj: Any) -> str | None:
    """The kind ``obj``'s class is registered under in ``row_batches`` (None: not registered)."""
    cls = type(obj)
    kind = component_name(cls)   # its entry-point name, even before the registry loaded it
    if kind not in row_batches.names():
        return None
    return kind if row_batches.get(kind) is cls else None


def to_payload(batch: Any) -> dict[str, Any]:
    """``{"__rows__": kind, "arrays": {name: Tensor}, "meta": {...}}`` of a registered row batch (CPU tensors)."""
    kind = kind_of(batch)
    if kind is None:
        raise TypeError(f"{type(batch).__name__} is not a registered row batch (row_batches.register(kind))")
    arrays = {k: v.detach().to("cpu") for k, v in batch.to_arrays().items()}
    return {"__rows__": kind, "arrays": arrays, "meta": dict(batch.meta())}


def from_payload(payload: Mapping[str, Any]) -> Any:
    """The row batch ``to_payload`` described (arrays as tensors), rebuilt by its registered class."""
    return row_batches.get(payload["__rows__"]).from_arrays(payload["arrays"], payload.get("meta") or {})


def cat_rows(items: Sequence[Any]) -> Any:
    """Row batches of one class concatenated (what observers do with single rows they collected)."""
    return type(items[0]).cat(list(items))
