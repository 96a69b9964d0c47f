"""Built-in strategies, decoders and row batches come through entry points, as a user's do (issue 25 item 5)."""
from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

from evohyper.api import registry


def test_every_built_in_is_an_entry_point_of_its_group():
    for reg, names in ((registry.strategies, {"cmaes", "snes", "neat", "circuit_ga", "regularized_evolution"}),
                       (registry.decoders, {"direct", "hyperneat", "es_hyperneat", "ghn", "hypergan", "circuit"}),
                       (registry.row_batches, {"neat-genomes"})):
        assert names <= {ep.name for ep in entry_points(group=reg.group)}, reg.group
        for name in names:
            assert registry.component_name(reg.get(name)) == name


def test_a_component_is_imported_only_when_its_name_is_asked_for():
    code = ("import sys; from evohyper.api import registry; names = registry.strategies.names(); "
            "assert 'cmaes' in names and 'evohyper.strategies.cmaes' not in sys.modules, sorted(sys.modules); "
            "registry.strategies.get('cmaes'); assert 'evohyper.strategies.cmaes' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_built_in_made_in_python_is_called_by_its_registered_name():
    code = ("from evohyper.strategies.pgpe import PGPE; from evohyper.api.registry import component_name; "
            "assert component_name(PGPE) == 'pgpe', component_name(PGPE)")
    subprocess.run([sys.executable, "-c", code], check=True)
