"""Reading a config file: bounded size, UTF-8 text, no duplicate keys, bounded nesting and expansion.

Why: a few bytes of YAML can hide a crash or a hang. An alias bomb expands to billions of values, 20,000
nested brackets overflow the parser's recursion, a repeated key silently replaces the first one. Each is
a ``ConfigError`` naming where it happens, found on the parsed node tree before any value is built.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from evohyper.config.options import ConfigError

MAX_BYTES = 10 * 2**20   # a search config is a few hundred bytes; anything this large is a mistake
MAX_DEPTH = 64           # nesting levels below the top-level mapping
MAX_VALUES = 100_000     # values after expanding YAML aliases (an alias counts as often as it is used)
_MERGE = "tag:yaml.org,2002:merge"


def _join(path: str, key: Any) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else str(key))


def walk(root: Any, children: Callable[[Any], Iterable[tuple[Any, Any]]], what: str = "the config") -> None:
    """Visit a tree without recursion, counting every value (shared ones each time they are reached):
    too deep or too many values is a ConfigError at the path where the limit was crossed."""
    stack = [(root, "", 0)]
    seen = 0
    while stack:
        node, path, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise ConfigError(path, f"{what} expands to more than {MAX_VALUES:,} values (YAML anchors and "
                                    "aliases count each time they are used); allowed: a plain search config")
        if depth > MAX_DEPTH:
            raise ConfigError(path, f"{what} is nested deeper than {MAX_DEPTH} levels; allowed: a plain search "
                                    "config")
        stack.extend((child, _join(path, key), depth + 1) for key, child in children(node))


def _node_children(node: yaml.Node) -> list[tuple[Any, yaml.Node]]:
    if isinstance(node, yaml.SequenceNode):
        return list(enumerate(node.value))
    if not isinstance(node, yaml.MappingNode):
        return []
    out, keys = [], {}
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE:
            out.append(("<<", value_node))
            continue
        name = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
        ident = (key_node.tag, name)
        if isinstance(key_node, yaml.ScalarNode) and ident in keys:
            raise _Duplicate(name, key_node.start_mark.line + 1, keys[ident])
        keys[ident] = key_node.start_mark.line + 1
        out.append((name, value_node))
    return out


def data_children(value: Any) -> list[tuple[Any, Any]]:
    """Children of plain config data (what ``yaml.safe_load`` returns), for :func:`walk`."""
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, (list, tuple)):
        return list(enumerate(value))
    return []


class _Duplicate(Exception):
    def __init__(self, key: str, line: int, first: int):
        super().__init__(key)
        self.key, self.line, self.first = key, line, first


def _checked_children(path_of: dict[int, str]) -> Callable[[yaml.Node], list[tuple[Any, yaml.Node]]]:
    """Node children that also remember each node's path, so a duplicate key can name it."""
    def children(node: yaml.Node) -> list[tuple[Any, yaml.Node]]:
        here = path_of.get(id(node), "")
        try:
            kids = _node_children(node)
        except _Duplicate as dup:
            raise ConfigError(_join(here, dup.key), f"duplicate key at line {dup.line} (first at line "
                                                    f"{dup.first}); allowed: each key once per mapping") from None
        for key, child in kids:
            path_of.setdefault(id(child), _join(here, key))
        return kids
    return children


def parse(text: str, source: str = "the config") -> Any:
    """YAML text -> plain data, refusing duplicate keys, deep nesting and alias bombs (see module doc)."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:   # the reader refuses control characters such as NUL up front
        raise ConfigError("", f"{source} is not valid YAML: {exc}") from None
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise ConfigError("", f"{source} is nested too deeply to parse; allowed: at most {MAX_DEPTH} "
                                  "levels") from None
        except yaml.YAMLError as exc:
            raise ConfigError("", f"{source} is not valid YAML: {exc}") from None
        if node is None:
            return {}
        walk(node, _checked_children({}), what=source)
        try:
            return loader.construct_document(node)
        except yaml.YAMLError as exc:
            raise ConfigError("", f"{source} is not valid YAML: {exc}") from None
    finally:
        loader.dispose()


def load_raw(path: str | Path) -> Any:
    """Read a config file (see the module doc for what is refused)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("", f"config file not found: {path}")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ConfigError("", f"{path} is larger than {MAX_BYTES // 2**20} MiB ({size:,} bytes); a search config "
                              "is a small YAML file")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError("", f"{path} is not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start}); "
                              "a search config is a YAML text file") from None
    return parse(text, str(path))
