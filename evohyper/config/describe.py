"""What a task, strategy or decoder accepts, read from its constructor signature and docstring.

Why one source: ``evohyper describe NAME``, ``evohyper list`` and the README's options reference are all
rendered from here, and a test compares the README with it, so the documented options cannot drift from
the ones the config validator checks. An option is documented by a docstring line (class or
``__init__``, its own or a base class's) of the form ``name: what it does``; several options may share
one (``a, b: ...``), and a line may continue on more-indented lines (or, for a line at the left margin,
up to a blank line).
"""
from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from evohyper.api.registry import first_sentence
from evohyper.config.budget import Budget
from evohyper.config.build import COMPONENTS
from evohyper.config.options import describe_type, options_of
from evohyper.config.sections import BackendConfig, EvaluationConfig, OutputConfig, ReevaluateConfig

#: the engine's own config sections ``evohyper describe NAME`` documents besides components
SECTIONS: dict[str, type] = {"budget": Budget, "backend": BackendConfig, "evaluation": EvaluationConfig,
                             "evaluation.reevaluate": ReevaluateConfig, "output": OutputConfig}
#: (config block, registry, constructor arguments that are not config options)
KINDS = tuple((kind, *COMPONENTS[kind]) for kind in ("task", "strategy", "decoder"))


@dataclass
class Option:
    name: str
    type: str
    default: str      # as YAML ("required" when there is none)
    doc: str


@dataclass
class Component:
    kind: str
    name: str
    summary: str
    options: list[Option]
    notes: list[str] = field(default_factory=list)


def _yaml(value: Any) -> str:
    if value is inspect.Parameter.empty:
        return "required"
    if isinstance(value, tuple):
        value = list(value)
    try:
        return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix("...").strip()
    except yaml.YAMLError:
        return repr(value)


def option_docs(target: Any, names: list[str]) -> dict[str, str]:
    """``{option: one-line doc}`` from ``name: text`` lines of the class and ``__init__`` docstrings
    (the first one of an option wins: a class's own docs before its base classes')."""
    docs: dict[str, str] = {}
    for name, doc in option_lines(target, names):
        docs.setdefault(name, doc)
    return docs


def option_lines(target: Any, names: list[str]) -> list[tuple[str, str]]:
    """Every ``(option, doc)`` documentation line found for ``names``, in reading order."""
    if not names:
        return []
    ours = {"evohyper", "evohyper_tasks", target.__module__.split(".")[0]}   # not torch.nn.Module's, object's
    classes = [c for c in getattr(target, "__mro__", (target,)) if c.__module__.split(".")[0] in ours]
    docs_of = [d for c in classes for d in (c.__doc__, getattr(vars(c).get("__init__"), "__doc__", None))]
    text = "\n\n".join(inspect.cleandoc(d) for d in docs_of if d)   # own docs first, then the base classes'

    alt = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    one = rf"(?:``)?(?:{alt})(?:``)?"
    head = re.compile(rf"^(?P<indent>[ \t]*)(?P<names>{one}(?:\s*(?:,|/|and)\s*{one})*)\s*:\s+(?P<text>.*)$")
    lines = text.splitlines()
    found: list[tuple[str, str]] = []
    i = 0
    while i < len(lines):
        m = head.match(lines[i])
        if not m:
            i += 1
            continue
        indent, parts = len(m.group("indent")), [m.group("text")]
        i += 1
        # continuation: up to a blank line or the next option; more indented, unless the option starts a line
        while i < len(lines) and lines[i].strip() and not head.match(lines[i]) and \
                (indent == 0 or len(lines[i]) - len(lines[i].lstrip()) > indent):
            parts.append(lines[i].strip())
            i += 1
        doc = " ".join(" ".join(parts).split()).rstrip(";")
        found += [(name, doc) for name in re.findall(rf"(?:{alt})", m.group("names"))]
    return found


def component(kind: str, name: str) -> Component:
    reg, skip = next((r, s) for k, r, s in KINDS if k == kind)
    target = reg.get(name)
    opts = options_of(target, skip)
    docs = option_docs(target, list(opts))
    options = [Option(k, describe_type(tp) if tp is not Any else "any", _yaml(default), docs.get(k, ""))
               for k, (tp, default) in opts.items()]
    notes = []
    if kind == "task":
        keys = getattr(target, "network_keys", None)
        notes.append("network keys: " + (", ".join(keys) if keys else "none (no network: block)")
                     if keys is not None else "network keys: not checked")
        notes.append(f"direction: {'maximised' if getattr(target, 'maximize', True) else 'minimised'}")
    else:
        notes.append(f"genotypes: {getattr(target, 'genotype_kind', 'vector')}")
    return Component(kind, name, first_sentence(inspect.getdoc(target)), options, notes)


#: top-level config keys that are not components, explained by ``evohyper describe KEY``
CONFIG_KEYS = {
    "plugins": Component(
        "config key", "plugins",
        "Python modules imported before anything is built, in the driver and in every Ray actor.",
        [Option("plugins", "list[str]", "[]",
                "module names, e.g. [my_envs, my_tasks]; each is imported before the task, decoder and strategy "
                "are built, in the driver and in every Ray actor (each actor is its own process). A module may "
                "register components by decorator (evohyper.api.registry: @tasks.register('name'), strategies, "
                "decoders) or gymnasium environments (gymnasium.register('MyEnv-v0', entry_point=...)), then "
                "named in the config (task: {name: gym, env: MyEnv-v0}); without plugins a gym id may name "
                "its module itself (env: 'my_envs:MyEnv-v0'). Modules are found in the current directory or "
                "on PYTHONPATH; an environment registered only in your own script is unknown to Ray actors. "
                "An installed package can use entry points instead (README, section 5)")],
        ["where: the top level of a search config (plugins: [my_envs])"]),
}


def section(name: str) -> Component:
    """An engine config section (``evaluation``, ``evaluation.reevaluate``, ``backend``, ...), documented
    like a component: from its dataclass's fields and docstring."""
    target = SECTIONS[name]
    opts = options_of(target)
    docs = option_docs(target, list(opts))
    options = [Option(k, describe_type(tp) if tp is not Any else "any", _yaml(default), docs.get(k, ""))
               for k, (tp, default) in opts.items()]
    return Component("section", name, first_sentence(inspect.getdoc(target)), options)


def find(name: str) -> list[Component]:
    """Every registered component called ``name`` (a name may be a task and a decoder at once), or the
    top-level config key or engine config section of that name."""
    found = [component(kind, name) for kind, reg, _ in KINDS if name in reg.names()]
    found += [CONFIG_KEYS[name]] if name in CONFIG_KEYS else []
    return found + ([section(name)] if name in SECTIONS else [])


def builtin(kind: str) -> list[str]:
    """The names of a kind shipped with evohyper (its own modules and evohyper_tasks), sorted."""
    reg = next(r for k, r, _ in KINDS if k == kind)
    return [n for n in reg.names() if reg.get(n).__module__.split(".")[0] in ("evohyper", "evohyper_tasks")]


def as_text(c: Component) -> str:
    lines = [f"{c.kind} {c.name}: {c.summary}", *[f"  {note}" for note in c.notes]]
    if not c.options:
        lines.append("  options: none")
    for o in c.options:
        lines.append(f"  {o.name} ({o.type}; default {o.default})")
        if o.doc:
            lines.append(f"      {o.doc}")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def as_markdown() -> str:
    """The README's options reference: every built-in task, strategy and decoder."""
    out = []
    for kind, _, _ in KINDS:
        for name in builtin(kind):
            c = component(kind, name)
            out += [f"#### {kind} `{name}`", "", f"{c.summary} ({'; '.join(c.notes)})", ""]
            if c.options:
                out += ["| option | type | default | what |", "|---|---|---|---|"]
                out += [f"| `{o.name}` | {_cell(o.type)} | `{_cell(o.default)}` | {_cell(o.doc)} |" for o in c.options]
            else:
                out.append("No options.")
            out.append("")
    return "\n".join(out).rstrip() + "\n"
