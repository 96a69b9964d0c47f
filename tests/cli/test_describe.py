"""Issue 13, item 5: every option of every component is documented in one place, shown by `evohyper describe`,
summarised by `evohyper list`, and mirrored by the README's options reference (which must not drift)."""
import inspect
from pathlib import Path

import pytest

from evohyper import cli
from evohyper.api import registry
from evohyper.config import describe
from evohyper.config.options import options_of

README = Path(__file__).resolve().parents[2] / "README.md"
BUILTIN = [(kind, name) for kind, _, _ in describe.KINDS for name in describe.builtin(kind)]


@pytest.mark.parametrize(("kind", "name"), BUILTIN, ids=[f"{k}-{n}" for k, n in BUILTIN])
def test_every_option_of_every_builtin_component_is_documented(kind, name):
    c = describe.component(kind, name)
    assert c.summary and c.summary.endswith((".", ")")), f"{kind} {name}: summary {c.summary!r}"
    missing = [o.name for o in c.options if not o.doc]
    assert not missing, f"{kind} {name}: options without a `name: what` docstring line: {missing}"


@pytest.mark.parametrize(("kind", "name"), BUILTIN, ids=[f"{k}-{n}" for k, n in BUILTIN])
def test_no_option_is_documented_twice(kind, name):
    """A prose line ``opt: ...`` in a docstring also reads as an option's doc: one per option, so the
    reference cannot show a different text than the component's options list."""
    reg, skip = next((r, s) for k, r, s in describe.KINDS if k == kind)
    names = [n for n, _ in describe.option_lines(reg.get(name), list(options_of(reg.get(name), skip)))]
    assert not {n for n in names if names.count(n) > 1}, f"{kind} {name}: documented more than once"


def _cli(capsys, *args):
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_describe_prints_type_default_and_doc_of_every_option(capsys):
    code, out, err = _cli(capsys, "describe", "cmaes")
    assert code == 0, err
    assert out.startswith("strategy cmaes: CMA-ES (pycma)")
    for option, default in (("popsize", "null"), ("sigma0", "0.5"), ("x0", "0.0"), ("diagonal", "false"),
                            ("active", "true")):
        line = next(ln for ln in out.splitlines() if ln.strip().startswith(option + " "))
        assert f"default {default})" in line, line
    assert "int or null" in out and "sep-CMA" in out


def test_describe_a_task_lists_its_network_keys(capsys):
    code, out, _ = _cli(capsys, "describe", "xor")
    assert code == 0 and "network keys: hidden, activation, output_activation, bias" in out


def test_describe_an_unknown_name_is_one_line_exit_2(capsys):
    code, _, err = _cli(capsys, "describe", "cmaez")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "cmaez" in err and "did you mean cmaes" in err


def test_describe_all_markdown_is_the_reference(capsys):
    code, out, _ = _cli(capsys, "describe", "--all", "--markdown")
    assert code == 0 and out == describe.as_markdown()


def test_list_shows_whole_first_sentences(capsys):
    code, out, _ = _cli(capsys, "list")
    assert code == 0
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


def test_describe_plugins_explains_the_top_level_key(capsys):
    """Issue 21, item 8: `plugins:` (user modules registering components or gymnasium environments)."""
    code, out, err = _cli(capsys, "describe", "plugins")
    assert code == 0, err
    assert out.startswith("config key plugins:")
    for text in ("Ray actor", "gymnasium.register", "current directory", "PYTHONPATH", "my_envs:MyEnv-v0"):
        assert text in out, text


def test_describe_gym_says_how_to_name_ones_own_environment(capsys):
    code, out, _ = _cli(capsys, "describe", "gym")
    assert code == 0
    env_doc = out.split("  env (")[1].split("\n  episodes (")[0]
    assert "my_envs:MyEnv-v0" in env_doc and "plugins: [my_envs]" in env_doc


@pytest.mark.parametrize("name", ["evaluation", "evaluation.reevaluate"])
def test_describe_an_engine_section_documents_every_option(capsys, name):
    code, out, err = _cli(capsys, "describe", name)
    assert code == 0, err
    assert out.startswith(f"section {name}: ")
    options = describe.section(name).options
    assert options and all(o.doc for o in options), [o.name for o in options if not o.doc]
    for o in options:
        assert f"  {o.name} (" in out
