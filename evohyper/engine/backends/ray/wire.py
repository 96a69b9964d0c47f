"""What crosses the process boundary to and from evaluator actors: genotypes, TrainingJobs, ChunkResults.

Plain CPU tensors travel as numpy arrays (Ray serialises numpy with zero-copy buffers and far less
overhead than torch tensors: measured 2.5 ms vs 4.2 ms for two small calls, reports/performance.md);
values are unchanged bit for bit. A population that is a registered row batch (``evohyper.api.rows``: NEAT's
``GenomeBatch``) travels as ``{"__rows__": kind, "arrays": {name: numpy}, "meta": {...}}`` and is rebuilt
on the actor by the class registered for ``kind``: named arrays, never pickled Python objects per gene.
Small chunks go inline with the actor call instead of through the object store (one round trip fewer
per chunk).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from evohyper.api import rows as _rows
from evohyper.engine.evaluation import ChunkResult

#: Chunks smaller than this go inline with the actor call (Ray copies them into the call message)
#: instead of through ``ray.put`` and the object store.
INLINE_BYTES = 256 * 1024


def to_wire(obj: Any) -> Any:
    """CPU tensors as numpy arrays, ``ChunkResult``s as a tagged dict of them; other objects as they are."""
    if isinstance(obj, torch.Tensor) and obj.device.type == "cpu" and not obj.requires_grad:
        return obj.numpy()
    if _rows.is_row_batch(obj):
        payload = _rows.to_payload(obj)
        return {**payload, "arrays": {k: v.contiguous().numpy() for k, v in payload["arrays"].items()}}
    if isinstance(obj, ChunkResult):
        return {"__chunk__": True, "fitness": obj.fitness.numpy(),
                "metrics": {k: v.numpy() for k, v in obj.metrics.items()},
                "sample_forwards": obj.sample_forwards, "errors": obj.errors, "error_texts": obj.error_texts,
                "env_steps": obj.env_steps, "state": {k: v.numpy() for k, v in obj.state.items()},
                "objectives": None if obj.objectives is None else obj.objectives.numpy(),
                "descriptors": None if obj.descriptors is None else obj.descriptors.numpy()}
    if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return {k: to_wire(v) for k, v in obj.items()}  # an evaluation state
    return obj


def from_wire(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(obj.copy() if not obj.flags.writeable else obj)
    if isinstance(obj, dict) and "__rows__" in obj:
        return _rows.from_payload({**obj, "arrays": {k: from_wire(v) for k, v in obj["arrays"].items()}})
    if isinstance(obj, dict) and obj.get("__chunk__"):
        return ChunkResult(
            fitness=from_wire(obj["fitness"]),
            metrics={k: from_wire(v) for k, v in obj["metrics"].items()},
            sample_forwards=obj["sample_forwards"],
            errors=obj["errors"],
            error_texts=[tuple(e) for e in obj.get("error_texts", [])],
            env_steps=obj["env_steps"],
            state={k: from_wire(v) for k, v in obj["state"].items()},
            objectives=None if obj.get("objectives") is None else from_wire(obj["objectives"]),
            descriptors=None if obj.get("descriptors") is None else from_wire(obj["descriptors"]),
        )
    if isinstance(obj, dict) and obj and all(isinstance(v, np.ndarray) for v in obj.values()):
        return {k: from_wire(v) for k, v in obj.items()}
    return obj


def nbytes(obj: Any) -> int:
    """Payload size of a wire chunk (unknown sizes count as large: they go through ``ray.put``)."""
    if isinstance(obj, dict) and "__rows__" in obj:
        return sum(int(a.nbytes) for a in obj["arrays"].values())
    return int(obj.nbytes) if isinstance(obj, np.ndarray) else INLINE_BYTES


def split_bounds(n: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous ``[start, end)`` ranges covering ``range(n)``, sizes differing by at most 1
    (never an empty range: fewer parts when ``n < parts``)."""
    parts = max(1, min(parts, n)) if n > 0 else 1
    base, extra = divmod(n, parts)
    bounds, start = [], 0
    for i in range(parts):
        end = start + base + (1 if i < extra else 0)
        bounds.append((start, end))
        start = end
    return bounds


def chunk(population: Any, start: int, end: int) -> Any:
    """Rows ``[start, end)`` of a population (tensor, list, row batch or TrainingJob), ready for the wire."""
    part = population[start:end]
    if isinstance(part, torch.Tensor):
        # A view pickles its whole storage; ship only this chunk's rows, from the CPU.
        part = part.detach().to("cpu").clone()
    return to_wire(part)
