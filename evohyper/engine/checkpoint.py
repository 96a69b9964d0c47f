"""Safe checkpoints: JSON + tensors, atomic writes, schema version, checksums, no code execution.

A checkpoint file is ``torch.save({"schema", "meta", "tensors", "checksum"})`` where ``meta`` is a
JSON string in which every tensor is replaced by a reference into ``tensors``. Loading uses
``torch.load(weights_only=True)`` (no pickled code can run) and verifies the SHA-256 checksum, so a
truncated or corrupted file is detected and the previous checkpoint used instead.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from evohyper.engine.deferred_signals import deferred_signals
from evohyper.engine.errors import CheckpointError

__all__ = ["CheckpointError", "checkpoint_path", "list_checkpoints", "load_latest", "load_state", "prune",
           "remove_temp_files", "save_state"]   # CheckpointError: its old home

SCHEMA_VERSION = 1
_NAME = re.compile(r"^checkpoint-(\d{6,})\.pt$")
log = logging.getLogger("evohyper.checkpoint")


# ----------------------------------------------------------------------------- (de)flattening
def _flatten(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, torch.Tensor):
        key = f"t{len(tensors)}"
        tensors[key] = obj.detach().cpu().clone()
        return {"__tensor__": key}
    if isinstance(obj, np.ndarray):
        key = f"t{len(tensors)}"
        tensors[key] = torch.from_numpy(np.ascontiguousarray(obj).copy())
        return {"__ndarray__": key}
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            return {"__dict_items__": [[_flatten(k, tensors), _flatten(v, tensors)] for k, v in obj.items()]}
        return {k: _flatten(v, tensors) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return {"__tuple__": [_flatten(v, tensors) for v in obj]}
    if isinstance(obj, list):
        return [_flatten(v, tensors) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return {"__float__": repr(obj)}
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return _flatten(obj.item(), tensors)
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot checkpoint a {type(obj).__name__}: state must be JSON data and tensors")


def _unflatten(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_unflatten(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__ndarray__" in obj:
            return tensors[obj["__ndarray__"]].numpy()
        if "__tuple__" in obj:
            return tuple(_unflatten(v, tensors) for v in obj["__tuple__"])
        if "__float__" in obj:
            return float(obj["__float__"])
        if "__dict_items__" in obj:
            return {_unflatten(k, tensors): _unflatten(v, tensors) for k, v in obj["__dict_items__"]}
        return {k: _unflatten(v, tensors) for k, v in obj.items()}
    return obj


def _checksum(meta: str, tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256(meta.encode())
    for key in sorted(tensors):
        t = tensors[key]
        h.update(f"{key}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).contiguous().view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


# ----------------------------------------------------------------------------- files
def save_state(state: dict[str, Any], path: str | Path) -> Path:
    """Write ``state`` atomically (temp file in the same directory, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    meta = json.dumps(_flatten(state, tensors), sort_keys=True)
    payload = {"schema": SCHEMA_VERSION, "meta": meta, "tensors": tensors, "checksum": _checksum(meta, tensors)}
    with deferred_signals():   # a Ctrl-C/SIGTERM arriving mid-write is delivered once the file is whole
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".pt", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                torch.save(payload, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return path


def load_state(path: str | Path) -> dict[str, Any]:
    """Load and verify one checkpoint; raise CheckpointError if it is unreadable or corrupt."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure to parse means a corrupt file
        raise CheckpointError(f"{path}: unreadable checkpoint ({_first_line(exc)})") from exc
    if not isinstance(payload, dict) or payload.get("schema") is None:
        raise CheckpointError(f"{path}: not an evohyper checkpoint")
    if payload["schema"] != SCHEMA_VERSION:
        raise CheckpointError(f"{path}: schema version {payload['schema']}, this evohyper reads {SCHEMA_VERSION}")
    if _checksum(payload["meta"], payload["tensors"]) != payload["checksum"]:
        raise CheckpointError(f"{path}: checksum mismatch (file corrupted)")
    return _unflatten(json.loads(payload["meta"]), payload["tensors"])


def checkpoint_path(directory: str | Path, generation: int) -> Path:
    return Path(directory) / f"checkpoint-{generation:06d}.pt"


def list_checkpoints(directory: str | Path) -> list[Path]:
    """Checkpoint files, newest generation first."""
    d = Path(directory)
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in d.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def _first_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (torch's unpickling errors run to a dozen lines)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def load_latest(directory: str | Path,
                accept: Callable[[dict[str, Any]], None] | None = None) -> tuple[dict[str, Any], Path]:
    """The newest checkpoint that verifies (and that ``accept`` takes without raising: a state whose
    checksum is valid but whose content is inconsistent); each one skipped is reported in one line."""
    paths = list_checkpoints(directory)
    for path in paths:
        try:
            state = load_state(path)
        except CheckpointError as exc:
            log.warning("skipping corrupt checkpoint: %s", exc)
            continue
        try:
            if accept is not None:
                accept(state)
        except Exception as exc:  # noqa: BLE001 - whatever a wrong state breaks, the previous one is tried
            log.warning("skipping checkpoint %s: inconsistent content (%s)", path, _first_line(exc))
            continue
        return state, path
    raise CheckpointError(f"no valid checkpoint in {directory}" + (" (all corrupt)" if paths else ""))


def remove_temp_files(directory: str | Path) -> None:
    """Delete temp files of writes that never finished (a kill between the write and the rename)."""
    d = Path(directory)
    if d.is_dir():
        for tmp in d.glob(".tmp-*.pt"):
            tmp.unlink(missing_ok=True)


def prune(directory: str | Path, keep: int) -> None:
    for old in list_checkpoints(directory)[keep:]:
        old.unlink(missing_ok=True)
