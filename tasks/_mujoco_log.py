"""MuJoCo's warnings, each printed once per process.

MuJoCo's default warning handler prints every warning of the model compiler (e.g. "compiler attribute
'settotalmass' is deprecated", which the gymnasium MuJoCo models raise) each time a model is compiled, i.e.
once per environment built (64 lines per generation-zero on halfcheetah_pgpe.yaml, relayed from every Ray
actor), and appends it to ``MUJOCO_LOG.TXT`` in the working directory. This handler prints each distinct
message once to stderr and writes no file. A handler someone else installed is left alone.
"""
from __future__ import annotations

import sys
from typing import Any

_seen: set[str] = set()


def _warn_once(message: str) -> None:
    text = str(message).strip()
    if text not in _seen:
        _seen.add(text)
        print(f"WARNING (MuJoCo, printed once): {text}", file=sys.stderr, flush=True)


def install(gymnasium: Any, env_id: str) -> None:
    """Before environment ``env_id`` is made: if it is a MuJoCo one, route MuJoCo's warnings through
    ``_warn_once``. Other environments do not import mujoco; an id gymnasium cannot look up is left to make()."""
    try:
        entry = str(gymnasium.spec(env_id).entry_point or "")
    except Exception:  # noqa: BLE001 - not registered (yet): make() reports it
        return
    if "mujoco" not in entry:
        return
    try:
        import mujoco
    except ImportError:
        return
    current = mujoco.get_mju_user_warning()
    if current is None:
        mujoco.set_mju_user_warning(_warn_once)
