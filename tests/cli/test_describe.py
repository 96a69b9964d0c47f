"""Issue 13, item 5: every option of every component is documented in one place, shown by `evohyper describe`,
summarised by `evohyper list`, and mirrored by the README's options reference (which must not drift)."""
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from evohyper.api import registry
from evohyper.config import describe

CLI = [sys.executable, "-m", "evohyper.cli"]
README = Path(__file__).resolve().parents[2] / "README.md"
BUILTIN = [(kind, name) for kind, _, _ in describe.KINDS for name in describe.builtin(kind)]


@pytest.mark.parametrize(("kind", "name"), BUILTIN, ids=[f"{k}-{n}" for k, n in BUILTIN])
def test_every_option_of_every_builtin_component_is_documented(kind, name):
    c = describe.component(kind, name)
    assert c.summary.endswith((".", ")")) or c.summary, c.summary
    missing = [o.name for o in c.options if not o.doc]
    assert not missing, f"{kind} {name}: options without a `name: what` docstring line: {missing}"


def test_describe_prints_type_default_and_doc_of_every_option():
    proc = subprocess.run([*CLI, "describe", "cmaes"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("strategy cmaes: CMA-ES (pycma)")
    for option, default in (("popsize", "null"), ("sigma0", "0.5"), ("x0", "0.0"), ("diagonal", "false"),
                            ("active", "true")):
        line = next(ln for ln in out.splitlines() if ln.strip().startswith(option + " "))
        assert f"default {default})" in line, line
    assert "int or null" in out and "sep-CMA" in out


def test_describe_a_task_lists_its_network_keys():
    proc = subprocess.run([*CLI, "describe", "xor"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "network keys: hidden, activation, output_activation, bias" in proc.stdout


def test_describe_an_unknown_name_is_one_line_exit_2():
    proc = subprocess.run([*CLI, "describe", "cmaez"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "cmaez" in proc.stderr and "cmaes" in proc.stderr


def test_list_shows_whole_first_sentences():
    out = subprocess.run([*CLI, "list"], capture_output=True, text=True, check=True, timeout=120).stdout
    flat = " ".join(out.split())
    for kind, name in BUILTIN:
        reg = next(r for k, r, _ in describe.KINDS if k == kind)
        sentence = describe.first_sentence(inspect.getdoc(reg.get(name)))
        assert sentence in flat, (name, sentence)
    # a first sentence that spans two docstring lines is shown whole, not cut at the line end
    assert "each later generation draws ``children`` tournaments" in flat


def test_first_sentence_is_whole():
    assert describe.first_sentence("A b (c. d) e.f g.\n  More. Text") == "A b (c. d) e.f g."
    assert describe.first_sentence("One line\ncontinued here. Second.") == "One line continued here."


def test_readme_options_reference_matches_the_code():
    text = README.read_text()
    start, end = "<!-- options-reference:start -->", "<!-- options-reference:end -->"
    assert start in text and end in text, "README lacks the generated options reference"
    section = text.split(start)[1].split(end)[0].strip("\n") + "\n"
    assert section == describe.as_markdown(), (
        "README options reference differs from the code: regenerate it with "
        "`evohyper describe --all --markdown` (see the README)")


def test_option_docs_parser_reads_the_documented_forms():
    class Toy:
        """Toy. The first sentence.

        Options:
          alpha: the first option, which
            continues here.
          beta, ``gamma``: shared text.
        delta: not indented (still an option line).
        """

        def __init__(self, alpha: int = 1, beta: float = 2.0, gamma: str = "x", delta: bool = True, eps: int = 0):
            """eps: from the init docstring."""

    docs = describe.option_docs(Toy, ["alpha", "beta", "gamma", "delta", "eps"])
    assert docs == {"alpha": "the first option, which continues here.", "beta": "shared text.",
                    "gamma": "shared text.", "delta": "not indented (still an option line).",
                    "eps": "from the init docstring."}
    assert describe.first_sentence(Toy.__doc__) == registry.Entry("toy", Toy).description == "Toy."
