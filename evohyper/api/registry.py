"""Registries of tasks, strategies and decoders, by name, extended through Python entry points.

A user's package exposes ``[project.entry-points."evohyper.tasks"] mytask = "pkg.mod:MyTask"``
(likewise ``evohyper.strategies`` and ``evohyper.decoders``) and evohyper finds it by name.
"""
from __future__ import annotations

import difflib
import importlib
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
    return vars(cls).get("registered_name") or cls.__name__   # a subclass registered under no name: its class


@dataclass(frozen=True)
class Entry:
    name: str
    target: Any  # the class (or factory)

    @property
    def description(self) -> str:
        return first_sentence(inspect.getdoc(self.target))


class Registry:
    """Name -> component class. Built-ins register by decorator; others come from entry points."""

    def __init__(self, kind: str, group: str, builtin_modules: tuple[str, ...] = (), plural: str | None = None):
        self.kind, self.group = kind, group
        self.plural = plural or f"{kind}s"
        self._builtin_modules = builtin_modules
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
        for mod in self._builtin_modules:
            importlib.import_module(mod)
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


def import_plugins(modules: list[str]) -> None:
    """Import user modules named in a config's ``plugins:`` (they may register components by decorator)."""
    for module in modules:
        importlib.import_module(module)


tasks = Registry("task", "evohyper.tasks")
strategies = Registry("strategy", "evohyper.strategies", ("evohyper.strategies", "evohyper.families"),
                      plural="strategies")
decoders = Registry("decoder", "evohyper.decoders", ("evohyper.decoders", "evohyper.families"))
#: kind -> ``RowBatch`` class (``evohyper.api.rows``): populations that are not one tensor (NEAT's ``GenomeBatch``)
row_batches = Registry("row batch", "evohyper.row_batches", ("evohyper.families",), plural="row batches")
