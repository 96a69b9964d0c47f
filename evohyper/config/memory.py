"""The memory a search needs, estimated from its config before anything is allocated.

Why: a population of 10**9 or a network of 10**12 weights used to pass validation and then fail (or hang
in a library's constructor) after the run had started. The estimate is a lower bound of what the
driver and the evaluators hold at once: the population's genotypes (float64 in the strategy, float32 for
torch), every evaluator's phenotypes and the strategy's own state (``Strategy.state_bytes``). A config
whose estimate exceeds the memory available on this machine is refused, naming the key to change. What
the constructors themselves allocate (a decoder's parameters, a task's data) is bounded by ``build_cap``:
an allocation past it fails at once and is reported as a config error of that component.
"""
from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evohyper.config.options import ConfigError, options_of

GENOTYPE_BYTES = 8 + 4   # per genotype value: the strategy's float64 copy and torch's float32 one
PHENOTYPE_BYTES = 4      # per phenotype parameter (float32)
POPULATION_KEYS = ("popsize", "population")


def _read_int(path: str, key: str | None = None) -> int | None:
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    if key is None:
        text = text.strip()
        return int(text) if text.isdigit() else None
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024   # /proc/meminfo is in kB
    return None


def available_bytes() -> int | None:
    """Memory this process could still allocate: MemAvailable, capped by a cgroup limit (None: unknown)."""
    found = [v for v in (_read_int("/proc/meminfo", "MemAvailable"),) if v is not None]
    limit, used = _read_int("/sys/fs/cgroup/memory.max"), _read_int("/sys/fs/cgroup/memory.current")
    if limit is not None and used is not None:
        found.append(max(0, limit - used))
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return None
    return min(found)


def fmt_bytes(n: float) -> str:
    if n < 1000:
        return f"{n:.0f} B"
    for unit in ("KB", "MB", "GB"):
        n /= 1000
        if n < 1000:
            return f"{n:.1f} {unit}"
    return f"{n / 1000:,.1f} TB"


def _data_bytes() -> int | None:
    """This process's data memory (heap and private mappings: what RLIMIT_DATA counts)."""
    return _read_int("/proc/self/status", "VmData")


@contextlib.contextmanager
def build_cap() -> Iterator[None]:
    """While components are built for validation, cap this process's data memory at what it uses plus half
    of what is available, so a constructor whose options ask for a huge allocation (a hypernetwork of
    width 10**7, a task of resolution 10**7) fails at once (a ConfigError) instead of filling the machine.
    The other half is left for the search itself. Linux only (RLIMIT_DATA); elsewhere nothing is capped."""
    used, available = _data_bytes(), available_bytes()
    try:
        import resource

        previous = resource.getrlimit(resource.RLIMIT_DATA)
    except (ImportError, AttributeError, OSError, ValueError):
        previous = None
    if previous is None or used is None or available is None:
        yield
        return
    cap = used + available // 2
    if previous[0] != resource.RLIM_INFINITY and previous[0] <= cap:
        yield   # already capped at least as tightly
        return
    try:
        resource.setrlimit(resource.RLIMIT_DATA, (cap, previous[1]))
    except (OSError, ValueError):
        yield
        return
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, previous)


def population_hint(strategy_cls: type, block: dict[str, Any]) -> tuple[int | None, str | None]:
    """The population size a strategy block asks for (and its key), from the block or the default."""
    defaults = options_of(strategy_cls)
    for key in POPULATION_KEYS:
        value = block.get(key, defaults.get(key, (None, None))[1])
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value, key
    return None, None


def check_phenotype(num_params: int) -> None:
    """One network that cannot fit is refused before any decoder is built for it."""
    available = available_bytes()
    need = num_params * PHENOTYPE_BYTES
    if available is not None and need > available:
        raise ConfigError("network", f"one network of {num_params:,} parameters needs {fmt_bytes(need)} of "
                                     f"memory, more than the {fmt_bytes(available)} available on this machine; "
                                     "use a smaller network")


def check_search(num_params: int, genome_size: int | None, strategy_cls: type, block: dict[str, Any],
                 evaluators: int) -> None:
    """Refuse a search whose population, phenotypes and strategy state cannot fit in memory."""
    available = available_bytes()
    if available is None:
        return
    genome = int(genome_size or 0)
    popsize, key = population_hint(strategy_cls, block)
    per_genotype, per_phenotype = genome * GENOTYPE_BYTES, num_params * PHENOTYPE_BYTES
    state = int(strategy_cls.state_bytes(genome, {k: v for k, v in block.items() if k != "name"}))
    P = popsize or 1
    need = P * per_genotype + math.ceil(P / max(1, evaluators)) * per_phenotype + state
    if need <= available:
        return
    what = (f"the search needs about {fmt_bytes(need)} of memory (population {P:,} x genotypes of {genome:,} "
            f"values, phenotypes of {num_params:,} parameters, strategy state {fmt_bytes(state)}), more than the "
            f"{fmt_bytes(available)} available on this machine")
    if state > available / 2:
        raise ConfigError("strategy", f"{what}; {strategy_cls.state_advice()}")
    if per_genotype + per_phenotype + state > available / 2:
        raise ConfigError("network", f"{what}; use a smaller network or decoder genome")
    raise ConfigError(f"strategy.{key}" if key else "strategy", f"{what}; lower the population size")
