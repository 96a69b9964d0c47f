"""Timing helpers shared by every benchmark: medians with spread, machine description, progress.

All wall times use ``time.perf_counter``. A benchmark reports the median of its repeats together with
the interquartile range (IQR) and min/max, so a reader can see how noisy the machine was.
"""
from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class Timing:
    """Summary of repeated wall-time samples (seconds)."""

    samples: list[float] = field(default_factory=list)

    @classmethod
    def of(cls, samples: Sequence[float]) -> Timing:
        if not samples:
            raise ValueError("Timing needs at least one sample")
        return cls(sorted(float(s) for s in samples))

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def q1(self) -> float:
        return _quantile(self.samples, 0.25)

    @property
    def q3(self) -> float:
        return _quantile(self.samples, 0.75)

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def min(self) -> float:
        return self.samples[0]

    @property
    def max(self) -> float:
        return self.samples[-1]

    @property
    def n(self) -> int:
        return len(self.samples)

    def scaled(self, factor: float) -> Timing:
        """The same samples multiplied by ``factor`` (e.g. seconds -> ms, or per-item costs)."""
        return Timing.of([s * factor for s in self.samples])

    def spread_ms(self) -> str:
        """``IQR a-b ms (min c, max d, n=k)`` for a table cell."""
        return (f"IQR {self.q1 * 1e3:.3g}–{self.q3 * 1e3:.3g} ms "
                f"(min {self.min * 1e3:.3g}, max {self.max * 1e3:.3g}, n={self.n})")


def _quantile(sorted_samples: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile of already sorted samples (numpy's default method)."""
    if len(sorted_samples) == 1:
        return sorted_samples[0]
    pos = q * (len(sorted_samples) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_samples) - 1)
    return sorted_samples[lo] + (sorted_samples[hi] - sorted_samples[lo]) * (pos - lo)


def median_time(fn: Callable[[], Any], repeats: int = 7, warmup: int = 1) -> Timing:
    """Call ``fn`` ``warmup`` times untimed, then ``repeats`` times timed; return the samples' summary."""
    if repeats < 1 or warmup < 0:
        raise ValueError("repeats must be >= 1 and warmup >= 0")
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return Timing.of(samples)


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms" if seconds < 10 else f"{seconds:.3g} s"


def fmt_time(seconds: float) -> str:
    """ms below a second, else s (``timing.fmt_ms`` writes 1.2e+03 ms up to 10 s)."""
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def spread(t: Timing) -> str:
    """``IQR a–b, min c, max d, n=k`` with readable units."""
    return f"IQR {fmt_time(t.q1)}–{fmt_time(t.q3)}, min {fmt_time(t.min)}, max {fmt_time(t.max)}, n={t.n}"


def fmt_ratio(x: float) -> str:
    return f"{x:.3g}x"


def met(ok: bool) -> str:
    return "**yes**" if ok else "**no**"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


_T0 = time.perf_counter()


def progress(message: str) -> None:
    """One progress line on stderr, with the seconds since the benchmarks started."""
    print(f"[bench {time.perf_counter() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def _cpu_jiffies() -> tuple[int, int] | None:
    """(busy, total) jiffies summed over all CPUs, from /proc/stat (None where unavailable)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def cpu_busy(interval: float = 1.0) -> float:
    """Fraction of the machine's CPU time spent busy over ``interval`` seconds (NaN if unknown).
    Called while this process sleeps, it measures what *other* processes are using."""
    a = _cpu_jiffies()
    time.sleep(interval)
    b = _cpu_jiffies()
    if a is None or b is None or b[1] == a[1]:
        return float("nan")
    return (b[0] - a[0]) / (b[1] - a[1])


def wait_for_quiet(threshold: float = 0.25, max_wait_s: float = 60.0) -> tuple[float, float]:
    """Wait (at most ``max_wait_s``) until other processes use less than ``threshold`` of the CPUs, so
    that a benchmark does not measure someone else's load. Returns (last busy fraction, seconds waited)."""
    start = time.perf_counter()
    busy = cpu_busy()
    while not busy < threshold and time.perf_counter() - start < max_wait_s:
        progress(f"  machine busy ({busy * 100:.0f}% CPU used by other processes); waiting for it to quieten")
        time.sleep(4.0)
        busy = cpu_busy()
    return busy, time.perf_counter() - start


def loadavg() -> str:
    try:
        return "/".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_simd() -> str:
    """The vector instruction sets that matter for float32 GEMM throughput."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return "unknown"
    found = [name for name in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile") if name in flags]
    return ", ".join(found) or "none of avx2/fma/avx512f"


def machine_info() -> dict[str, Any]:
    """What a reader needs to compare these figures with another machine's."""
    info: dict[str, Any] = {
        "CPU": cpu_model(),
        "SIMD": cpu_simd(),
        "torch CPU capability": torch.backends.cpu.get_cpu_capability(),
        "logical cores (os.cpu_count)": os.cpu_count(),
        "cores usable by this process": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "n/a",
        "Python": platform.python_version(),
        "torch": torch.__version__,
        "torch intra-op threads (driver)": torch.get_num_threads(),
        "torch inter-op threads (driver)": torch.get_num_interop_threads(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "unset"),
        "load average at start (1/5/15 min)": loadavg(),
    }
    for mod in ("ray", "evotorch"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001 - reported as missing, not fatal
            info[mod] = "not installed"
    return info


class NotTheSameComputation(AssertionError):
    """Two sides of a side-by-side benchmark disagree: the figure would compare different work."""


def require_same(what: str, diff: float, tol: float) -> float:
    """Side by side means the same computation (DESIGN.md, principle 9): stop, naming the measured difference,
    unless the two sides agree within the stated tolerance ``tol`` (a NaN difference fails too)."""
    if not diff <= tol:
        raise NotTheSameComputation(f"{what}: max |difference| {diff:.3g} exceeds the stated tolerance {tol:g}; "
                                    "the two sides do not compute the same result, so no ratio is reported")
    return diff
