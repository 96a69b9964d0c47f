"""Registries of tasks, strategies and decoders, by name, filled from Python entry points.

A package exposes ``[project.entry-points."evohyper.tasks"] mytask = "pkg.mod:MyTask"`` (likewise
``evohyper.strategies``, ``evohyper.decoders`` and ``evohyper.row_batches``) and evohyper finds it by name.
The built-ins register exactly so (evohyper's own ``pyproject.toml``), so this core module names no module
above it; a class is imported when its name is first asked for. ``register`` (a decorator) serves modules
named under a config's ``plugins:``.
"""
from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any


class UnknownComponentError(LookupError):
    pass


_SENTENCE = re.compile(r"(.+?[.!?])(?=\s+[A-Z`(]|\s*$)", re.S)


def first_sentence(doc: str | None) -> str:
    """The first sentence of a docstring's first paragraph, whole (however many lines it spans)."""
    paragraph = " ".join((doc or "").strip().split("\n\n")[0].split())
    match = _SENTENCE.match(paragraph)
    return match.group(1) if match else paragraph


def did_you_mean(word: Any, choices: list[str] | tuple[str, ...]) -> str:
    """``"did you mean 'x'? "`` for the closest of ``choices`` to a mistyped ``word`` (difflib), else ``""``."""
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def component_name(obj: Any) -> str:
    """The name a component was registered under (what configs and errors call it), else its class name."""
    cls = obj if isinstance(obj, type) else type(obj)
    name = vars(cls).get("registered_name") or _entry_point_name(cls)
    return name or cls.__name__   # a subclass registered under no name: its class


def _entry_point_name(cls: type) -> str | None:
    """The entry-point name of a class built before any registry loaded it (``CMAES(...)`` in Python)."""
    value = f"{cls.__module__}:{cls.__qualname__}"
    for registry in (tasks, strategies, decoders, row_batches):
        for ep in entry_points(group=registry.group):
            if ep.value == value:
                return ep.name
    return None


@dataclass(frozen=True)
class Entry:
    name: str
    target: Any  # the class (or factory)

    @property
    def description(self) -> str:
        return first_sentence(inspect.getdoc(self.target))


class Registry:
    """Name -> component class, from the entry-point group ``group`` (and ``register`` for plug-in modules)."""

    def __init__(self, kind: str, group: str, plural: str | None = None):
        self.kind, self.group = kind, group
        self.plural = plural or f"{kind}s"
        self._entries: dict[str, Any] = {}
        self._loaded = False

    def register(self, name: str) -> Callable[[Any], Any]:
        def deco(obj: Any) -> Any:
            self._entries[name] = obj
            _name(obj, name)
            return obj
        return deco

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for ep in entry_points(group=self.group):
            if ep.name not in self._entries:
                self._entries[ep.name] = ep  # resolved lazily: a broken plug-in only fails when used

    def get(self, name: str) -> Any:
        self._load()
        if name not in self._entries:
            raise UnknownComponentError(
                f"unknown {self.kind} {name!r}; {did_you_mean(name, self.names())}available: "
                f"{', '.join(self.names())} (third-party {self.plural} register under the entry-point group "
                f"{self.group!r})")
        obj = self._entries[name]
        if hasattr(obj, "load") and hasattr(obj, "group"):  # an EntryPoint not yet imported
            obj = self._entries[name] = obj.load()
            _name(obj, name)
        return obj

    def names(self) -> list[str]:
        self._load()
        return sorted(self._entries)

    def entries(self) -> list[Entry]:
        return [Entry(n, self.get(n)) for n in self.names()]


def _name(obj: Any, name: str) -> None:
    """Remember a class's registered name (``component_name``); the first registration wins."""
    if isinstance(obj, type) and "registered_name" not in vars(obj):
        try:
            obj.registered_name = name
        except (AttributeError, TypeError):   # a class that refuses new attributes keeps its class name
            pass


tasks = Registry("task", "evohyper.tasks")
strategies = Registry("strategy", "evohyper.strategies", plural="strategies")
decoders = Registry("decoder", "evohyper.decoders")
#: kind -> ``RowBatch`` class (``evohyper.api.rows``): populations that are not one tensor (NEAT's ``GenomeBatch``)
row_batches = Registry("row batch", "evohyper.row_batches", plural="row batches")
