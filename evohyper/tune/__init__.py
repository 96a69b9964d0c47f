"""Meta-search on Ray Tune: every trial is one evohyper search (Ray is imported inside, on use)."""
from __future__ import annotations

from typing import Any


def run_tune(*args: Any, **kwargs: Any) -> Any:
    from evohyper.tune.driver import run_tune as _run

    return _run(*args, **kwargs)


def resume_tune(*args: Any, **kwargs: Any) -> Any:
    from evohyper.tune.driver import resume_tune as _resume

    return _resume(*args, **kwargs)


__all__ = ["resume_tune", "run_tune"]
