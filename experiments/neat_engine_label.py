"""The sentence a NEAT-family report prints about the engine that made it (issue 22: reports say which engine, so a
change of the default never leaves a report's numbers attributed to the wrong one)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def engine_of(config_path: str | Path, overrides: Sequence[str] = ()) -> tuple[str, str | None]:
    """``(engine, gene dtype)`` a config runs strategy ``neat`` with, defaults resolved (dtype None: neat-python)."""
    from evohyper.config import apply_overrides, load_raw
    from evohyper.families.neat.strategy import DEFAULT_DTYPE, DEFAULT_ENGINE

    options = apply_overrides(load_raw(Path(config_path)), list(overrides)).get("strategy", {})
    engine = options.get("engine") or DEFAULT_ENGINE
    return engine, (options.get("dtype") or DEFAULT_DTYPE) if engine == "batched" else None


def engine_label(config_path: str | Path, overrides: Sequence[str] = ()) -> str:
    engine, dtype = engine_of(config_path, overrides)
    how = (f"the batched tensor engine, {dtype} genes" if engine == "batched"
           else "neat-python 2.0's own reproduction and speciation")
    return f"NEAT engine: `{engine}` ({how}; strategy options `engine`, `dtype`)."
