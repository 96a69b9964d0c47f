"""The import rule of docs/architecture.md, enforced: no module imports a layer above its own, and a task
imports only the core and a family's public face.

Every import in ``evohyper/`` and ``tasks/`` is read from the source (``import_graph.py``: module level and
inside functions alike, ``importlib.import_module`` with a literal name, and the modules a file names as
strings when it imports by name), so a lazy or computed upward import fails as well.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from import_graph import imports_of, plant, sources, within

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
    # NEAT-NSGA-II (issue 23) uses the genotype-agnostic Pareto helpers and front files of the vector NSGA-II
    # (DEAP's selNSGA2/selTournamentDCD, moocore's hypervolume) rather than a second copy of them
    "evohyper.families.neat": (*COMPONENT, "evohyper.strategies.mo"),
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
#: a family's public face: ``evohyper.families.<family>`` itself (its ``__init__``), none of its modules
FAMILY_FACE = re.compile(r"^evohyper\.families(\.[A-Za-z0-9_]+)?$")


def layer_of(module: str) -> str:
    """The most specific layer prefix that ``module`` belongs to."""
    best = ""
    for layer in ALLOWED:
        if within(module, layer) and len(layer) > len(best):
            best = layer
    return best


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(within(name, p) for p in prefixes)


def _library_violations(srcs, known) -> list[str]:
    found = []
    for module, source in srcs.items():
        if not within(module, "evohyper"):
            continue
        layer = layer_of(module)
        allowed = tuple(dict.fromkeys((*ALLOWED[layer], layer)))
        for imp in imports_of(source, known):
            where = source.shown
            for name in imp.named():
                if _within(name, OUTSIDE):
                    found.append(f"{where}:{imp.line} imports {name} "
                                 "(the library never imports tasks, experiments or benchmarks)")
                elif _within(name, ("evohyper",)) and not _within(name, allowed):
                    if name == "evohyper" and layer != "evohyper":   # `from evohyper import x` names a submodule
                        continue
                    found.append(f"{where}:{imp.line}: layer {layer} imports {name} ({imp.how}); "
                                 f"allowed: {', '.join(allowed)}")
    return found


def _task_violations(srcs, known) -> list[str]:
    """A built-in task imports the core (``evohyper.api``, ``evohyper``), a family's face, its own package."""
    found = []
    for module, source in srcs.items():
        if not within(module, "evohyper_tasks"):
            continue
        for imp in imports_of(source, known):
            names = [imp.base, *(f"{imp.base}.{n}" for n in imp.names if f"{imp.base}.{n}" in known)]
            for name in names:
                if _within(name, ("experiments", "benchmarks", "tests")):
                    found.append(f"{source.shown}:{imp.line} imports {name} (tasks import no scripts)")
                elif _within(name, ("evohyper",)) and not (_within(name, CORE) or name == "evohyper"
                                                           or FAMILY_FACE.match(name)):
                    found.append(f"{source.shown}:{imp.line} imports {name}; a task may import "
                                 "evohyper.api, evohyper and a family's face evohyper.families.<family>")
    return found


def violations(roots: dict[str, Path] | None = None) -> list[str]:
    """One line per import that breaks the rule, under the roots (default: ours)."""
    srcs = sources(roots)
    known = set(srcs)
    return _library_violations(srcs, known) + _task_violations(srcs, known)


def test_every_module_belongs_to_a_layer():
    modules = [m for m in sources() if within(m, "evohyper")]
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
    assert bool(violations(plant(tmp_path, {f"evohyper/{layer}": line}))) == fails


@pytest.mark.parametrize("text, fails", [
    # by a variable: the module names the file holds as strings are taken as imported
    ("import importlib\nMODULES = ('evohyper.engine.search',)\n\ndef f():\n"
     "    for m in MODULES:\n        importlib.import_module(m)\n", True),
    ("import importlib\n\nclass R:\n    def __init__(self, mods=('evohyper.viz',)):\n        self.mods = mods\n\n"
     "    def load(self):\n        for m in self.mods:\n            importlib.import_module(m)\n", True),
    # a string naming a module in a file that imports nothing by name is just text
    ("MODULES = ('evohyper.engine.search',)\n", False),
])
def test_the_rule_resolves_imports_by_name(tmp_path, text, fails):
    files = {"evohyper/api/bad.py": text, "evohyper/engine/search.py": "", "evohyper/viz/__init__.py": ""}
    assert bool(violations(plant(tmp_path, files))) == fails


@pytest.mark.parametrize("line, fails", [
    ("from evohyper.api.task import Task\n", False),
    ("from evohyper import Task\n", False),
    ("from evohyper.families.circuits import log_ratio\n", False),               # the family's face
    ("from evohyper_tasks._common import check_int\n", False),
    ("from evohyper.families.circuits.space import DEFAULT_SPACE\n", True),        # one of its modules
    ("from evohyper.families.circuits import space\n", True),                      # the same, through the face
    ("def f():\n    from evohyper.engine.runner import run\n", True),
    ("from evohyper.config import validate\n", True),
    ("from experiments.multi_seed import band\n", True),
])
def test_the_rule_holds_tasks_to_the_core_and_family_faces(tmp_path, line, fails):
    files = {"tasks/bad.py": line, "tasks/_common.py": "", "evohyper/families/circuits/__init__.py": "",
             "evohyper/families/circuits/space.py": ""}
    assert bool(violations(plant(tmp_path, files))) == fails
