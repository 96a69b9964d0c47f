"""The import rule of docs/architecture.md, enforced: no module imports a layer above its own.

Every ``import`` in ``evohyper/`` is read from the source (module level and inside functions alike,
``importlib.import_module("...")`` with a literal name too), so a lazy upward import fails as well.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "evohyper"

CORE = ("evohyper.api",)
CONFIG = (*CORE, "evohyper.config")
COMPONENT = (*CONFIG,)  # generic strategies/decoders and each family: core and config only (plus themselves)
ENGINE = (*CONFIG, "evohyper.engine")
#: layer (module prefix) -> the evohyper packages it may import, besides itself
ALLOWED: dict[str, tuple[str, ...]] = {
    "evohyper.api": CORE,
    "evohyper.config": CONFIG,
    "evohyper.strategies": COMPONENT,
    "evohyper.decoders": COMPONENT,
    "evohyper.families.neat": COMPONENT,
    "evohyper.families.hyperneat": (*COMPONENT, "evohyper.families.neat"),   # the one edge between families
    "evohyper.families.nas": COMPONENT,
    "evohyper.families.hypergan": COMPONENT,
    "evohyper.families.circuits": COMPONENT,
    "evohyper.families": (*COMPONENT, "evohyper.families"),   # the package face imports its families
    "evohyper.engine": ENGINE,
    "evohyper.tune": (*ENGINE, "evohyper.tune"),
    "evohyper.viz": (*ENGINE, "evohyper.viz"),
    "evohyper.export": (*ENGINE, "evohyper.export"),             # reads run directories, like viz
    "evohyper.testing": ("evohyper",),                        # contract suites sit on top of everything
    "evohyper.cli": ("evohyper",),
    "evohyper": CORE,                                         # evohyper/__init__.py: the public core types
}
#: never imported from the library: the built-in tasks, the science scripts, the benchmarks
OUTSIDE = ("evohyper_tasks", "experiments", "benchmarks", "tasks", "tests")


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """``(line, imported module)`` for every import in one source file (``from a import b`` counts
    ``a.b`` too, since ``b`` may be a submodule)."""
    module = _module_name(path, root)
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, module, path.name == "__init__.py")
            out.append((node.lineno, base))
            out += [(node.lineno, f"{base}.{a.name}") for a in node.names if a.name != "*"]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__"):
                out.append((node.lineno, node.args[0].value))
    return out


def layer_of(module: str) -> str:
    """The most specific layer prefix that ``module`` belongs to."""
    best = ""
    for layer in ALLOWED:
        if (module == layer or module.startswith(layer + ".")) and len(layer) > len(best):
            best = layer
    return best


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(package: Path = PACKAGE) -> list[str]:
    """One line per upward import under ``package`` (a folder named ``evohyper``)."""
    root = package.parent
    found = []
    for path in sorted(package.rglob("*.py")):
        module = _module_name(path, root)
        layer = layer_of(module)
        allowed = tuple(dict.fromkeys((*ALLOWED[layer], layer)))
        for line, name in imports_of(path, root):
            where = f"{path.relative_to(root)}:{line}"
            if _within(name, OUTSIDE):
                found.append(f"{where} imports {name} (the library never imports tasks, experiments or benchmarks)")
            elif _within(name, ("evohyper",)) and not _within(name, allowed):
                if name == "evohyper" and layer != "evohyper":   # `from evohyper import x` names a submodule
                    continue
                found.append(f"{where}: layer {layer} imports {name}; allowed: {', '.join(allowed)}")
    return found


def test_every_module_belongs_to_a_layer():
    modules = [_module_name(p) for p in PACKAGE.rglob("*.py")]
    assert [m for m in modules if not layer_of(m)] == []


def test_no_module_imports_a_layer_above_its_own():
    assert violations() == []


def test_one_family_imports_another_only_hyperneat_imports_neat():
    """Families stay independent; HyperNEAT's CPPNs are NEAT genomes, the one recorded exception."""
    families = [layer for layer in ALLOWED if layer.startswith("evohyper.families.")]
    edges = {(a, b) for a in families for b in ALLOWED[a] if b.startswith("evohyper.families") and b != a}
    assert edges == {("evohyper.families.hyperneat", "evohyper.families.neat")}


@pytest.mark.parametrize("layer, line, fails", [
    ("strategies/bad.py", "from evohyper.engine.search import Search\n", True),
    ("api/bad.py", "def f():\n    from evohyper.config import ConfigError\n", True),
    ("families/nas/bad.py", "from evohyper.families.hyperneat.decoder import HyperNEATDecoder\n", True),
    ("families/nas/bad.py", "from evohyper.families.neat.compile import compile_cppns\n", True),
    ("families/neat/bad.py", "def f():\n    from evohyper.families.hyperneat.substrate import grid\n", True),
    ("families/neat/bad.py", "from evohyper.families.nas import space\n", True),
    ("families/hyperneat/bad.py", "from evohyper.families.nas import space\n", True),
    ("families/hyperneat/ok.py", "from evohyper.families.neat.compile import compile_cppns\n", False),
    ("engine/bad.py", "import importlib\nimportlib.import_module('evohyper.viz.run_report')\n", True),
    ("decoders/bad.py", "from evohyper_tasks.digits import DigitsTask\n", True),
    ("families/nas/ok.py", "from evohyper.api.checks import integer\nfrom . import space\n", False),
    ("engine/ok.py", "from evohyper.config import budget\n", False),
])
def test_the_rule_catches_an_upward_import(tmp_path, layer, line, fails):
    """The checker itself can fail: an upward import planted in a copy of the layout is reported."""
    pkg = tmp_path / "evohyper"
    target = pkg / layer
    target.parent.mkdir(parents=True)
    target.write_text(line)
    assert bool(violations(pkg)) == fails
