"""Validating a whole config: the search (``schema``, which builds the components) and its ``tune:`` block."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from evohyper.config.loading import load_raw
from evohyper.config.schema import Config, apply_overrides, validate_search
from evohyper.config.tune_schema import validate_tune


def validate(raw: Any) -> Config:
    """Check every key and value and build the components, so that every error surfaces before a run."""
    config = validate_search(raw)
    if raw.get("tune") is not None:
        validate_tune(raw)
    return config


def load_config(path: str | Path, overrides: list[str] = ()) -> Config:
    return validate(apply_overrides(load_raw(path), list(overrides)))
