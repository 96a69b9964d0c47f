"""Check a config block against a component's typed keyword options, with errors that name the key.

Components (tasks, strategies, decoders, the engine's own sections) declare their options as
annotated keyword arguments with defaults; this module turns those signatures into validation.
"""
from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Iterable
from typing import Any, Literal, Union

from evohyper.api.registry import did_you_mean


class ConfigError(ValueError):
    """A config problem, located by its dotted key path; always one line (the CLI prints it as is)."""

    def __init__(self, path: str, message: str):
        message = " ".join(line.strip() for line in str(message).splitlines() if line.strip())
        super().__init__(f"{path}: {message}" if path else message)
        self.path, self.message = path, message

    def __reduce__(self) -> tuple:
        """Picklable with both arguments (a Ray actor's build error reaches the driver as itself)."""
        return type(self), (self.path, self.message)


def describe_type(tp: Any) -> str:
    """An annotation in words, as error messages and ``evohyper describe`` say it (``one of 'a', 'b'``)."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(describe_type(a) for a in typing.get_args(tp))
    if origin in (list, tuple, typing.Sequence):
        args = typing.get_args(tp)
        return f"a list of {describe_type(args[0])}" if args else "a list"
    if origin is dict:
        return "a mapping"
    if tp is type(None):
        return "null"
    if tp is Any:
        return "anything"
    return getattr(tp, "__name__", str(tp))


def matches(value: Any, tp: Any) -> bool:
    """Does a YAML value fit a type annotation (int, float, bool, str, Literal, unions, lists)?"""
    if tp is Any or tp is inspect.Parameter.empty:
        return True
    origin = typing.get_origin(tp)
    if origin is Literal:
        return any(value == a and type(value) is type(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return any(matches(value, a) for a in typing.get_args(tp))
    if origin in (list, tuple, typing.Sequence):
        args = typing.get_args(tp)
        return isinstance(value, (list, tuple)) and (not args or all(matches(v, args[0]) for v in value))
    if origin is dict or tp is dict:
        return isinstance(value, dict)
    if tp is type(None):
        return value is None
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(tp, type):
        return isinstance(value, tp)
    return True


def options_of(target: Any, skip: Iterable[str] = ()) -> dict[str, tuple[Any, Any]]:
    """``{option: (annotation, default)}`` from a class's constructor (default ``empty`` = required)."""
    init = target.__init__ if isinstance(target, type) else target
    try:
        hints = typing.get_type_hints(init)
    except Exception:  # noqa: BLE001 - unresolvable annotations: fall back to no type checks
        hints = {}
    out = {}
    for name, p in inspect.signature(init).parameters.items():
        if name in ("self", *skip) or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        out[name] = (hints.get(name, Any), p.default)
    return out


def check_block(path: str, block: Any, target: Any, skip: Iterable[str] = (), extra: Iterable[str] = ()) -> None:
    """Raise ConfigError for unknown keys, missing required keys and values of the wrong type."""
    if not isinstance(block, dict):
        raise ConfigError(path, f"expected a mapping, got {block!r}")
    opts = options_of(target, skip)
    allowed = sorted([*opts, *extra])
    for key, value in block.items():
        if key in extra:
            continue
        if key not in opts:
            raise ConfigError(f"{path}.{key}" if path else key,
                              f"unknown key; {did_you_mean(key, allowed)}allowed keys: "
                              f"{', '.join(allowed) or '(none)'}")
        tp, _ = opts[key]
        if not matches(value, tp):
            raise ConfigError(f"{path}.{key}" if path else key, f"got {value!r}, expected {describe_type(tp)}")
    for key, (tp, default) in opts.items():
        if default is inspect.Parameter.empty and key not in block:
            raise ConfigError(f"{path}.{key}" if path else key, f"missing required key ({describe_type(tp)})")
