"""No import circles: no two files of ours import each other, directly or through others.

Why: a circle means neither file can be read (or loaded) without the other; it is how a lazy import inside a
function creeps in to dodge an ImportError. Counted over ``evohyper/``, ``tasks/``, ``experiments/`` and
``benchmarks/``, with imports inside functions, under ``TYPE_CHECKING`` and by name (``import_graph.py``); an
import of a package counts as an import of its ``__init__``, so a submodule that imports its own package's
face while that face imports it is a circle too.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from import_graph import circles, graph, plant, sources

#: Circles the rule lets stand, each with its reason.
ALLOWED_CIRCLES: dict[tuple[str, ...], str] = {}


def circle_violations(roots: dict[str, Path] | None = None) -> list[str]:
    found = []
    for circle in circles(graph(sources(roots))):
        if tuple(sorted(set(circle))) not in ALLOWED_CIRCLES:
            found.append(" -> ".join(circle))
    return found


def test_no_import_circles():
    assert circle_violations() == []


def test_every_allowed_circle_still_exists():
    """An allow-list entry whose circle is gone must go too (so the list only shrinks)."""
    present = {tuple(sorted(set(c))) for c in circles(graph(sources()))}
    assert [c for c in ALLOWED_CIRCLES if c not in present] == []


@pytest.mark.parametrize("files, fails", [
    ({"evohyper/engine/a.py": "from evohyper.engine.b import B\nA = 1\n",
      "evohyper/engine/b.py": "from evohyper.engine.a import A\nB = 1\n"}, True),
    # through a function-level import (the evaluation <-> training circle of issue 25)
    ({"evohyper/engine/evaluation.py": "def train():\n    from evohyper.engine.training import train\n",
      "evohyper/engine/training.py": "from evohyper.engine.evaluation import TaskShapeError\n"}, True),
    # through a third module
    ({"experiments/w.py": "from experiments.t import lines\n", "experiments/t.py": "from experiments.s import x\n",
      "experiments/s.py": "def f():\n    from experiments.w import LENGTHS\n"}, True),
    # a submodule that imports its package's face, while the face imports the submodule
    ({"evohyper/viz/__init__.py": "from evohyper.viz.compare import compare\n",
      "evohyper/viz/compare.py": "from evohyper.viz import report\n"}, True),
    # ... but importing a sibling submodule through the package is not a circle with the face
    ({"evohyper/viz/__init__.py": "from evohyper.viz.compare import compare\n",
      "evohyper/viz/compare.py": "from evohyper.viz import report\n", "evohyper/viz/report.py": ""}, False),
    # relative imports, and TYPE_CHECKING-only imports count
    ({"tasks/a.py": "from . import b\n",
      "tasks/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import A\n"}, True),
    # by name: a module that imports the strings it holds
    ({"evohyper/api/loader.py": "import importlib\nMODS = ('evohyper.strategies',)\n"
                                  "def load():\n    for m in MODS:\n        importlib.import_module(m)\n",
      "evohyper/strategies/__init__.py": "from evohyper.api.loader import load\n"}, True),
    ({"evohyper/engine/a.py": "from evohyper.engine.b import B\n", "evohyper/engine/b.py": "import os\n"}, False),
])
def test_the_check_catches_a_circle(tmp_path, files, fails):
    """The checker itself can fail: a circle planted in a copy of the layout is reported."""
    assert bool(circle_violations(plant(tmp_path, files))) == fails
