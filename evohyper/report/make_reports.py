"""`make reports`: regenerate every science report in reports/ from configs in search_spaces/.

Each report is a function registered in ``REPORTS``; it runs real searches (seeds listed in the
report) and writes markdown + PNG. ``python -m evohyper.report.make_reports [name ...]``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

from evohyper.report.multi_seed import multi_seed_report

ROOT = Path.cwd()


def cartpole_snes(out_dir: Path) -> Path:
    """The default job (SNES on cart-pole) over 5 seeds: learning curves and final returns."""
    return multi_seed_report(ROOT / "search_spaces" / "cartpole_snes.yaml", seeds=[0, 1, 2, 3, 4],
                             out_dir=out_dir, slug="cartpole_snes",
                             overrides=["backend.name=local", "output.tensorboard=false"])


def circuit_design(out_dir: Path) -> Path:
    """GA baseline (through the engine) vs the hypernetwork circuit designer and its ablations."""
    from evohyper.report.circuit_design import circuit_design_report
    return circuit_design_report(out_dir, ROOT / "search_spaces" / "circuit_design_ga.yaml")


REPORTS: dict[str, Callable[[Path], Path]] = {"cartpole_snes": cartpole_snes, "circuit_design": circuit_design}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("names", nargs="*", help=f"reports to make (default all): {', '.join(REPORTS)}")
    p.add_argument("--out", default="reports", help="output directory")
    args = p.parse_args(argv)
    unknown = [n for n in args.names if n not in REPORTS]
    if unknown:
        print(f"unknown report(s) {unknown}; available: {', '.join(REPORTS)}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.names or list(REPORTS):
        start = time.perf_counter()
        print(f"[reports] {name} ...", flush=True)
        path = REPORTS[name](out)
        print(f"[reports] {name}: wrote {path} in {time.perf_counter() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
