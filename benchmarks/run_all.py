"""Run every benchmark in one process and write ``reports/performance.md`` (``make bench``).

Usage: ``python -m benchmarks.run_all [--only NAME ...] [--output PATH]``. To add a benchmark, write a
module with a ``section() -> str`` function returning its markdown and append it to ``SECTIONS``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks import (
    bench_batched,
    bench_circuits,
    bench_control,
    bench_defaults,
    bench_es_hyperneat,
    bench_evotorch,
    bench_hyperneat,
    bench_neat,
    bench_neat_engine,
    bench_ray,
    bench_threads,
)
from benchmarks.report import Section, build, write
from benchmarks.timing import progress

REPORT = Path(__file__).resolve().parent.parent / "reports" / "performance.md"

SECTIONS: list[Section] = [
    Section("batched", bench_batched.section),
    Section("evotorch", bench_evotorch.section),
    Section("hyperneat", bench_hyperneat.section),
    Section("es_hyperneat", bench_es_hyperneat.section),
    Section("circuits", bench_circuits.section),
    Section("neat", bench_neat.section),
    Section("control", bench_control.section),
    Section("threads", bench_threads.section),
    Section("defaults", bench_defaults.section),
    Section("neat_engine", bench_neat_engine.section),  # uses Ray in its last part (section 5)
    Section("ray", bench_ray.section),  # last: Ray's processes linger briefly after shutdown
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run_all", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=[s.name for s in SECTIONS],
                        help="run only these sections and print the markdown (unless --output is given)")
    parser.add_argument("--output", type=Path, default=None, help=f"report path (default {REPORT})")
    args = parser.parse_args(argv)
    sections = [s for s in SECTIONS if not args.only or s.name in args.only]
    text = build(sections)
    if args.only and args.output is None:
        print(text)  # a partial run never overwrites the committed full report
    else:
        path = write(text, args.output or REPORT)
        progress(f"wrote {path}")
    return 0 if "**This benchmark failed**" not in text else 1


if __name__ == "__main__":
    sys.exit(main())
