"""Issue 21 item 12: a committed report names the command that regenerates it (four named the removed
``python -m evohyper.report.make_reports``), and the generators write the real one."""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATED = re.compile(r"[Gg]enerated by `([^`]*)`(?: \(`([^`]*)`(?:, runs in `([^`]*)`)?\))?")


def _generated_lines():
    for report in sorted((ROOT / "reports").glob("*.md")):
        for line in report.read_text().splitlines():
            match = GENERATED.search(line)
            if match:
                yield report.name, match


@pytest.mark.parametrize("name,match", list(_generated_lines()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_report_names_a_command_and_files_that_exist(name, match):
    command, *files = match.groups()
    module = re.match(r"python -m ([\w.]+)", command)
    if module:
        try:
            spec = importlib.util.find_spec(module.group(1))
        except ModuleNotFoundError:   # its package is gone too
            spec = None
        assert spec is not None, f"{name}: `{command}` names no module"
    for file in filter(None, files):
        if file.endswith(".py"):
            assert (ROOT / file).exists() or (ROOT / "experiments" / file).exists(), f"{name}: {file} does not exist"


def test_no_generator_names_the_removed_module():
    for source in sorted((ROOT / "experiments").glob("*.py")):
        text = source.read_text()
        assert "evohyper.report" not in text and "evohyper/report/" not in text, source.name


def test_a_compare_report_names_its_own_command(monkeypatch, tmp_path):
    """`python -m experiments.make_reports compare_digits compare_cartpole` writes two reports; each names
    the command that regenerates it alone."""
    from evohyper.viz import compare as compare_module
    from experiments import make_reports

    seen = {}
    monkeypatch.setattr(compare_module, "compare", lambda spec, **kw: seen.setdefault(Path(spec).name, kw["command"]))
    monkeypatch.setattr(sys, "argv", ["make_reports", "compare_digits", "compare_cartpole"])
    make_reports._compare("cartpole")(tmp_path)
    assert seen["compare_cartpole.yaml"].startswith("python -m experiments.make_reports compare_cartpole (= evohyper "
                                                    "compare search_spaces/compare_cartpole.yaml)")
