"""Reads the imports of our source trees into a graph of modules (files), for the architecture tests.

Why one reader: the layer rule, the circle check and the private-name check must agree on what "module A
imports module B" means, or one check passes what another would catch. What counts as an import here:

* ``import a.b`` and ``from a.b import c``, at module level or inside a function (a lazy import is still a
  dependency a reader has to follow), under ``if TYPE_CHECKING:`` too;
* ``from a import b`` imports the submodule ``a.b`` where that file exists, else the module (or package
  face, ``a/__init__.py``) ``a``: an import of a package counts as an import of its ``__init__``;
* ``importlib.import_module("a.b")`` / ``__import__("a.b")`` with a literal name; and, in a file that calls
  either on anything but a literal (a variable, a loop over a constant tuple, a constructor argument), every
  string in that file that names one of our modules: the name may reach the call by any path, and a string
  naming a module in a file that imports by name is taken to be imported.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: top-level module name -> its folder (``tasks/`` is installed as ``evohyper_tasks``)
ROOTS: dict[str, Path] = {"evohyper": ROOT / "evohyper", "evohyper_tasks": ROOT / "tasks",
                          "experiments": ROOT / "experiments", "benchmarks": ROOT / "benchmarks"}
SKIP = ("out",)          # experiments/out: results, not code


@dataclass(frozen=True)
class Source:
    module: str
    path: Path
    is_package: bool     # a package's ``__init__.py``
    shown: str = ""      # the path to print: ``tasks/gym.py``


@dataclass(frozen=True)
class Import:
    line: int
    base: str                     # ``a.b`` of ``import a.b`` / ``from a.b import ...`` / ``import_module("a.b")``
    names: tuple[str, ...] = ()   # ``from a.b import x, y`` -> ("x", "y"); ``*`` dropped
    how: str = "import"           # "import", "from", "import_module", "by name" (a string in an import-by-name file)

    def named(self) -> list[str]:
        """Every dotted name this import may load: the base, and ``base.x`` for each ``x`` imported from it."""
        return [self.base, *(f"{self.base}.{n}" for n in self.names)]


def sources(roots: dict[str, Path] | None = None) -> dict[str, Source]:
    """Module name -> source, for every ``.py`` file under the roots."""
    out: dict[str, Source] = {}
    for top, folder in (ROOTS if roots is None else roots).items():
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(folder).with_suffix("").parts
            if rel and rel[0] in SKIP:
                continue
            parts = [top, *rel]
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            shown = f"{folder.name}/{path.relative_to(folder)}"
            out[".".join(parts)] = Source(".".join(parts), path, is_package, shown)
    return out


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def imports_of(source: Source, known: set[str] | None = None) -> list[Import]:
    """Every import in one file (see the module docstring); ``known``: our module names, for imports by name."""
    tree = ast.parse(source.path.read_text(), str(source.path))
    out: list[Import] = []
    by_name = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [Import(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            out.append(Import(node.lineno, _resolve(node, source.module, source.is_package),
                              tuple(a.name for a in node.names if a.name != "*"), "from"))
        elif isinstance(node, ast.Call) and _call_name(node) in ("import_module", "__import__") and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                out.append(Import(node.lineno, arg.value, how="import_module"))
            else:
                by_name = True
    if by_name and known:
        out += [Import(node.lineno, node.value, how="by name") for node in ast.walk(tree)
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in known]
    return out


def targets(imp: Import, known: set[str]) -> list[str]:
    """The files (module names) one import runs: a submodule where one is named, else the module or face."""
    if not imp.names:
        return [imp.base] if imp.base in known else []
    subs = [f"{imp.base}.{n}" for n in imp.names if f"{imp.base}.{n}" in known]
    face = [imp.base] if imp.base in known and len(subs) < len(imp.names) else []
    return face + subs


def graph(srcs: dict[str, Source]) -> dict[str, dict[str, int]]:
    """Module -> {imported module: first line}, over our modules only (self-imports dropped)."""
    known = set(srcs)
    edges: dict[str, dict[str, int]] = {m: {} for m in srcs}
    for module, source in srcs.items():
        for imp in imports_of(source, known):
            for target in targets(imp, known):
                if target != module:
                    edges[module].setdefault(target, imp.line)
    return edges


def circles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """Each group of modules that import each other, directly or through others (Tarjan's strongly connected
    components of size > 1), as one circle through them: ``[a, b, ..., a]``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:   # recursion depth = longest import chain: well under the limit
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return [_path_through(sorted(g), edges) for g in sorted(groups)]


def _path_through(group: list[str], edges: dict[str, dict[str, int]]) -> list[str]:
    """A shortest circle from the group's first module back to itself, inside the group."""
    start, inside = group[0], set(group)
    frontier, came = [start], {start: ""}
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(edges[v]):
                if w == start:
                    path = [v]
                    while came[path[-1]]:
                        path.append(came[path[-1]])
                    return [*reversed(path), start]
                if w in inside and w not in came:
                    came[w] = v
                    nxt.append(w)
        frontier = nxt
    return group   # unreachable for a strongly connected group


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def walk_private_uses(tree: ast.AST) -> Iterator[tuple[int, str, ast.AST]]:
    """``(line, name, node)`` for each ``obj._name`` (read, written or deleted) and ``getattr`` / ``setattr`` /
    ``hasattr`` / ``delattr(obj, "_name")``, where ``obj`` is not ``self``, ``cls`` or ``super()``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            if isinstance(owner, ast.Call) and getattr(owner.func, "id", "") == "super":
                continue
            yield node.lineno, node.attr, node
        elif isinstance(node, ast.Call) and _call_name(node) in ("getattr", "setattr", "hasattr", "delattr") \
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) \
                and isinstance(node.args[1].value, str) and is_private(node.args[1].value):
            first = node.args[0]
            if not (isinstance(first, ast.Name) and first.id in ("self", "cls")):
                yield node.lineno, node.args[1].value, node


def is_private(name: str) -> bool:
    """``_x`` (not a dunder, not ``_`` itself)."""
    return name.startswith("_") and not name.startswith("__") and name != "_"


def defined_names(tree: ast.AST) -> set[str]:
    """Names a file defines: functions, classes, assigned names, and attributes it sets on ``self``/``cls``
    (a class's private attributes are its module's to use on any instance, ``other._x`` included)."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) \
                and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            out.add(node.attr)
        elif isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__slots__" for t in node.targets):
            out |= {c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    return out


def plant(tmp: Path, files: dict[str, str]) -> dict[str, Path]:
    """Write ``files`` (``evohyper/...``, ``tasks/...``) into a copy of the layout under ``tmp``; its roots.
    The self-tests plant a violation this way and check that the check sees it."""
    for rel, text in files.items():
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp / rel).write_text(text)
    return {top: tmp / folder.name for top, folder in ROOTS.items()}

