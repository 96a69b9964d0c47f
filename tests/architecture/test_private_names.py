"""No private name crosses its owner's border: a name with a leading underscore is used only where it is
defined.

Why: a private name is one its owner may change without notice; imported or written from elsewhere it is a
hidden interface (``search.strategy._population = None`` from the HyperGAN family, ``_describe`` from the
option checks). The owners, by Python's convention:

* ``a.b._c`` (a private module or a private name of module ``a.b``) belongs to ``a.b``: it may be imported
  from ``a.b`` itself and, where ``a.b`` is a package, from the package's modules (``evohyper.decoders._ha``
  from ``evohyper.decoders.static_hyper``; ``_describe`` of ``evohyper.config.options`` from no other module);
* ``obj._x`` (read, written, ``getattr``/``setattr``), ``obj`` not ``self``/``cls``/``super()``, is allowed
  only in a file that defines ``_x`` itself (a class touching another instance's private state); its type
  is unknown to a reader of the source, so the file is the border.

Checked over ``evohyper/``, ``tasks/`` and ``experiments/``. ``benchmarks/`` is left out on purpose: a
benchmark times internal paths by name (``MLPPhenotypes._forward_range``, evotorch's ``_distribution``).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from import_graph import defined_names, imports_of, is_private, plant, sources, walk_private_uses, within

CHECKED = ("evohyper", "evohyper_tasks", "experiments")

EVOTORCH = "pinned evotorch 0.6.x internals: our ask/tell is GaussianSearchAlgorithm._step_non_distributed, " \
           "re-implemented (strategies/_evotorch.py docstring; pyproject pins evotorch >=0.6,<0.7)"
#: (module, private name) -> why it may cross. Every entry is a documented dependency on someone's internals.
ALLOWED_PRIVATE: dict[tuple[str, str], str] = {
    **{("evohyper.strategies._evotorch", n): EVOTORCH
       for n in ("_distribution", "_obj_index", "_popsize", "_population", "_ranking_method", "_update_distribution")},
    # Ray's cluster flag, switched off while a private local Ray starts; a Ray without it is handled (no-op)
    ("evohyper.engine.backends.ray.runtime", "ray._private"): "Ray's ray_constants.ENABLE_RAY_CLUSTER",
    ("evohyper.engine.backends.ray.runtime", "ray._private.ray_constants"): "Ray's ray_constants.ENABLE_RAY_CLUSTER",
    # torch's in-place version counter of a tensor (what autograd checks too): a memo of the genome's key cells
    # is valid while the keys tensor is unchanged; the memo itself is an attribute this module sets on that tensor
    ("evohyper.families.neat.genome", "_version"): "torch Tensor._version: the in-place change counter",
    ("evohyper.families.neat.genome", "_neat_cells"): "the memo genome.py stores on a keys tensor (its own name)",
    # neat-python 2.0 (pinned) keeps the genome config's item list only there; the INI check refuses unknown items
    ("evohyper.families.neat.ini", "_params"): "neat-python DefaultGenomeConfig._params: the known INI items",
    # pyribs 0.12 (pinned) accumulates an archive's objective sum add by add and has no setter (nor a state API
    # other than pickle): NEAT MAP-Elites restores it so QD score and mean objective resume bit-identically
    ("evohyper.families.neat.map_elites", "_objective_sum"): "pyribs GridArchive's running objective sum",
    ("evohyper.families.neat.map_elites", "_stats_update"): "pyribs GridArchive's statistics from that sum",
}


def _owner(dotted: str) -> str | None:
    """The module or package that owns a dotted name with a private part (``a.b._c.d`` -> ``a.b``)."""
    parts = dotted.split(".")
    for i in range(1, len(parts)):
        if is_private(parts[i]):
            return ".".join(parts[:i])
    return None


def crossings(roots: dict[str, Path] | None = None) -> list[tuple[str, str, str]]:
    """``(module, private name, message)`` for every private name used outside its owner."""
    srcs = sources(roots)
    known = set(srcs)
    found = []
    for module, source in srcs.items():
        if not any(within(module, top) for top in CHECKED):
            continue
        for imp in imports_of(source, known):
            if imp.how == "by name":
                continue
            for name in imp.named():
                owner = _owner(name)
                if owner is not None and not within(module, owner):
                    found.append((module, name, f"{source.shown}:{imp.line} imports {name}, private to {owner}"))
        tree = ast.parse(source.path.read_text())
        defined = defined_names(tree)
        for line, name, _ in walk_private_uses(tree):
            if name not in defined:
                found.append((module, name, f"{source.shown}:{line} uses .{name} of an object; "
                                            "no line of this file defines it"))
    return found


def private_violations(roots: dict[str, Path] | None = None) -> list[str]:
    return [message for module, name, message in crossings(roots) if (module, name) not in ALLOWED_PRIVATE]


def test_no_private_name_crosses_its_owner():
    assert private_violations() == []


def test_every_allowed_private_name_is_still_used():
    """An allow-list entry nobody needs any more must go too (so the list only shrinks)."""
    used = {(module, name) for module, name, _ in crossings()}
    assert [entry for entry in ALLOWED_PRIVATE if entry not in used] == []


@pytest.mark.parametrize("files, fails", [
    ({"evohyper/config/describe.py": "from evohyper.config.options import _describe\n"}, True),
    ({"evohyper/decoders/conditioned.py": "from evohyper.decoders.static_hyper import _positive\n"}, True),
    ({"evohyper/decoders/static_hyper.py": "from evohyper.decoders import _ha\n"}, False),   # own package's
    ({"evohyper/decoders/static_hyper.py": "from evohyper.decoders._params import init_std\n"}, False),
    ({"evohyper/families/nas/x.py": "from evohyper.decoders import _ha\n"}, True),
    ({"evohyper/families/nas/x.py": "import evohyper.decoders._params\n"}, True),
    ({"evohyper/families/nas/x.py": "def f():\n    from evohyper.decoders._params import init_std\n"}, True),
    ({"experiments/report.py": "from experiments.multi_seed import _band\n"}, True),
    ({"evohyper/engine/x.py": "from ray._private import ray_constants\n"}, True),
    ({"tasks/gym.py": "from evohyper_tasks import _common\n"}, False),
    ({"evohyper/tune/__init__.py": "from evohyper.tune.driver import run_tune as _run\n"}, False),   # an alias
    ({"evohyper/families/hypergan/ensemble.py": "def f(search):\n    search.strategy._population = None\n"}, True),
    ({"evohyper/families/hypergan/ensemble.py": "def f(s):\n    setattr(s, '_population', None)\n"}, True),
    ({"evohyper/engine/r.py": "def f(search, p):\n    return search.strategy._copy_genotype(p, 0)\n"}, True),
    ({"evohyper/engine/r.py": "class A:\n    def __init__(self):\n        self._x = 1\n\n"
                              "    def same(self, other):\n        return other._x == self._x\n"}, False),
    ({"evohyper/engine/r.py": "class A(B):\n    def f(self):\n        return super()._g() + self._h\n"}, False),
    ({"benchmarks/bench.py": "def f(p):\n    return p._forward_range(0)\n"}, False),   # benchmarks: not checked
])
def test_the_check_catches_a_private_name_crossing(tmp_path, files, fails):
    """The checker itself can fail: a crossing planted in a copy of the layout is reported."""
    assert bool(private_violations(plant(tmp_path, files))) == fails
