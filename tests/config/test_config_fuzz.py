"""Issue 13: a seeded config fuzzer over every search config in search_spaces/.

Every mutated config must end in one of two ways: valid, or a ConfigError (the CLI's exit 2) in one line
that names the key path. Never another exception, never a hang (each case runs under a timeout). Cases
are validated in process; a small sample goes through the real CLI (`evohyper run --check`) to check
the exit codes and the one-line messages end to end.
"""
from __future__ import annotations

import copy
import importlib.metadata
import math
import random
import resource
import signal
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
import yaml

from evohyper.config import ConfigError, load_raw, memory, validate
from evohyper.config.schema import TOP_KEYS

ROOT = Path(__file__).resolve().parents[2]
FILES = [f for f in sorted((ROOT / "search_spaces").glob("*.yaml")) if "runs" not in yaml.safe_load(f.read_text())]
CASES = 300          # data mutations, validated in process
TEXT_CASES = 50      # mutations of the YAML text, read by load_raw
CASE_TIMEOUT_S = 10
CASE_MEMORY = 1_500 * 2**20   # what one case may allocate (RLIMIT_DATA): the build reports more as a ConfigError
WEIRD = [None, True, False, 0, -1, 1, 2, 10**9, 10**12, 2**63, -(2**63), 0.0, -0.5, 1e-300, 1e300, math.nan,
         math.inf, -math.inf, "", "x", "a" * 300, "a\x00b", "../../x", "cuda", "nonsense", "none", [], [1, 2, 3],
         [[[[]]]], {}, {"x": 1}, {"name": "cmaes"}, ["cmaes"], 1.5, "1", "sum", [10**6, 10**6]]


class CaseTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise CaseTimeout()


def _paths(node, prefix=()):
    """Every (path, value) below ``node`` (mapping keys and list indices)."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield (*prefix, key), value
        yield from _paths(value, (*prefix, key))


def _parent(raw, path):
    node = raw
    for key in path[:-1]:
        node = node[key]
    return node


def _names(rng):
    from evohyper.api import registry
    reg = rng.choice([registry.tasks, registry.strategies, registry.decoders])
    return rng.choice(reg.names())


def mutate(raw, rng):
    """One random mutation of a config (a deep copy); returns (config, description)."""
    raw = copy.deepcopy(raw)
    paths = [p for p, _ in _paths(raw)]
    path = rng.choice(paths)
    parent, key = _parent(raw, path), path[-1]
    kind = rng.choice(["weird", "weird", "weird", "delete", "unknown", "typo", "wrap", "name", "scale"])
    where = ".".join(map(str, path))
    if kind == "weird":
        parent[key] = copy.deepcopy(rng.choice(WEIRD))
    elif kind == "delete":
        del parent[key]
    elif kind == "unknown" and isinstance(parent, dict):
        parent[f"{key}_x"] = 1
    elif kind == "typo" and isinstance(parent, dict) and isinstance(key, str) and len(key) > 1:
        i = rng.randrange(len(key))
        parent[key[:i] + key[i + 1:]] = parent.pop(key)
    elif kind == "wrap":
        parent[key] = [parent[key]] if rng.random() < 0.5 else {"v": parent[key]}
    elif kind == "name":
        parent[key] = _names(rng)
    elif kind == "scale" and isinstance(parent[key], (int, float)) and not isinstance(parent[key], bool):
        parent[key] = parent[key] * rng.choice([-1, 0, 10**6, 0.5])
    else:
        parent[key] = None
    return raw, f"{kind} at {where}: {parent.get(key, '<deleted>') if isinstance(parent, dict) else parent}"


def _check_error(err: ConfigError, label: str) -> None:
    text = str(err)
    assert "\n" not in text, f"{label}: multi-line message {text!r}"
    assert err.path, f"{label}: the error names no key: {text!r}"
    top = err.path.split(".")[0].split("[")[0]
    assert top in TOP_KEYS or "unknown key" in text, f"{label}: the error's key path {err.path!r} is not a config key"
    assert text.startswith(err.path), f"{label}: {text!r}"


def outcome(call, label: str) -> ConfigError | None:
    """Run one case under the timeout and memory budget: None if valid, the ConfigError otherwise; anything
    else fails the test."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, CASE_TIMEOUT_S)
    limits = resource.getrlimit(resource.RLIMIT_DATA)
    resource.setrlimit(resource.RLIMIT_DATA, (memory._data_bytes() + CASE_MEMORY, limits[1]))
    try:
        call()
        return None
    except ConfigError as err:
        return err
    except CaseTimeout:
        pytest.fail(f"{label}: no answer within {CASE_TIMEOUT_S}s (a hang)")
    except Exception as exc:  # noqa: BLE001 - the point: nothing but a ConfigError may escape
        pytest.fail(f"{label}: {type(exc).__name__} instead of a ConfigError:\n{traceback.format_exc()[-3000:]}")
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, limits)
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def bases():
    return {f.name: load_raw(f) for f in FILES}


@pytest.fixture(scope="module")
def data_cases(bases):
    """The mutated configs and what validation said of each (shared with the CLI sample)."""
    results = []
    for i in range(CASES):
        rng = random.Random(i)
        name = rng.choice(sorted(bases))
        raw, what = mutate(bases[name], rng)
        label = f"case {i} ({name}, {what!r:.200})"
        results.append((label, raw, outcome(lambda raw=raw: validate(raw), label)))
    return results


def test_every_mutated_config_is_valid_or_one_located_config_error(data_cases):
    refused = 0
    for label, _, err in data_cases:
        if err is not None:
            _check_error(err, label)
            refused += 1
    assert refused > CASES // 2, refused      # the mutator does produce mostly bad configs


def _text_mutation(text: str, rng: random.Random) -> bytes:
    lines = text.splitlines(keepends=True)
    kind = rng.choice(["dup", "truncate", "bytes", "nul", "nest", "tab", "alias"])
    if kind == "dup":
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
        return "".join(lines).encode()
    if kind == "truncate":
        return text[:rng.randrange(len(text))].encode()
    if kind == "bytes":
        i = rng.randrange(len(text))
        return text[:i].encode() + bytes(rng.randrange(256) for _ in range(8)) + text[i:].encode()
    if kind == "nul":
        i = rng.randrange(len(text))
        return (text[:i] + "\x00" + text[i:]).encode()
    if kind == "nest":
        depth = rng.choice([70, 2000, 20000])
        return (text + "\ndescription: " + "[" * depth + "]" * depth + "\n").encode()
    if kind == "tab":
        return text.replace("  ", "\t", 1).encode()
    bomb = "\n".join([f"x0: &a0 [{', '.join(['v'] * 10)}]"] +
                     [f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)])
    return (text + "\ndescription:\n  " + bomb.replace("\n", "\n  ") + "\n").encode()


def test_every_mutated_yaml_text_is_valid_or_one_config_error(tmp_path):
    for i in range(TEXT_CASES):
        rng = random.Random(10_000 + i)
        f = rng.choice(FILES)
        path = tmp_path / f"case{i}.yaml"
        path.write_bytes(_text_mutation(f.read_text(), rng))
        label = f"text case {i} ({f.name})"
        err = outcome(lambda path=path: validate(load_raw(path)), label)
        if err is not None:
            assert "\n" not in str(err), f"{label}: {err}"


def test_a_sample_through_the_real_cli(data_cases, tmp_path):
    """exit 0 for a valid config, exit 2 and one `config error: <key path>: ...` line otherwise."""
    invalid = [c for c in data_cases if c[2] is not None]
    valid = [c for c in data_cases if c[2] is None]
    sample = [*random.Random(1).sample(invalid, 3), *random.Random(2).sample(valid, 1)]
    for i, (label, raw, err) in enumerate(sample):
        path = tmp_path / f"cli{i}.yaml"
        path.write_text(yaml.safe_dump(raw, allow_unicode=True))
        proc = subprocess.run([sys.executable, "-m", "evohyper.cli", "run", "--check", str(path)],
                              capture_output=True, text=True, timeout=120)
        if err is None:
            assert proc.returncode == 0 and "config OK" in proc.stdout, f"{label}: {proc.stderr[-2000:]}"
            continue
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert proc.returncode == 2, f"{label}: exit {proc.returncode}: {proc.stderr[-2000:]}"
        assert lines == [f"config error: {_installed_names_only(str(err))}"], f"{label}: {proc.stderr[-2000:]}"


def _installed_names_only(err: str) -> str:
    """The in-process message with the names only this test session registered (test tasks registered when
    their modules are collected) dropped from a "one of a, b, ..." list: what the fresh CLI process lists."""
    head, sep, names = err.partition("one of ")
    if not sep:
        return err
    installed = {ep.name for group in ("evohyper.tasks", "evohyper.strategies", "evohyper.decoders")
                 for ep in importlib.metadata.entry_points(group=group)}
    return head + sep + ", ".join(n for n in names.split(", ") if n in installed)


# ---------------------------------------------------------------- issue 21 item 11: what still crashed
def _cli_check(tmp_path, base: str, path: str, value) -> subprocess.CompletedProcess:
    raw = load_raw(ROOT / "search_spaces" / base)
    node = raw
    *parents, key = path.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    if value is None:
        del node[key]
    else:
        node[key] = value
    file = tmp_path / "c.yaml"
    file.write_text(yaml.safe_dump(raw))
    return subprocess.run([sys.executable, "-m", "evohyper.cli", "run", "--check", str(file)],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("base,path,value", [
    ("pendulum_pgpe.yaml", "strategy.radius_init", 1e300),    # was an OverflowError from evotorch
    ("cartpole_po_elman_snes.yaml", "task.episodes", 10**30),  # was a torch native crash
    ("pendulum_pgpe.yaml", "task.max_steps", 10**16),          # was an episode that never ended
])
def test_the_crashes_issue_21_found_are_one_config_error(tmp_path, base, path, value):
    proc = _cli_check(tmp_path, base, path, value)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith(f"config error: {path}: "), proc.stderr[-2000:]
    assert path.rsplit(".", 1)[1] in lines[0], lines[0]                    # the key ...
    assert "1e+06]" in lines[0] or "000]" in lines[0], lines[0]             # ... and the range allowed


def test_a_budget_with_only_target_fitness_warns_in_one_line(tmp_path, capsys):
    from evohyper import cli

    raw = {"name": "t", "task": {"name": "sphere", "dim": 2}, "strategy": {"name": "snes", "popsize": 4},
           "budget": {"target_fitness": -0.001}}
    file = tmp_path / "t.yaml"
    for budget, warned in (({"target_fitness": -0.001}, True), ({"target_fitness": -0.001, "generations": 5}, False)):
        file.write_text(yaml.safe_dump({**raw, "budget": budget}))
        assert cli.main(["run", "--check", str(file)]) == 0
        lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
        if warned:
            assert len(lines) == 1 and "target_fitness" in lines[0] and "warning" in lines[0].lower(), lines
            assert "generations" in lines[0] and "seconds" in lines[0], lines[0]   # says how to bound it
        else:
            assert lines == [], lines
