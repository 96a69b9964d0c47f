"""The NEAT engine parity study (issue 22; docs/neat_engine.md 6.2): the same configs and seeds under each engine.

Runs ``(config, engine, seed)`` triples, each a normal evohyper run (``evohyper.engine.runner``, the code
behind ``evohyper run``/``evohyper resume``) of a shipped config with ``strategy.engine`` set by override, the
local backend and one thread, into its own run directory
``experiments/out/neat_engines/<config>/<engine>/seed<k>/`` (git-ignored), then writes
``reports/neat_engines.md`` from those directories alone (``experiments/neat_engines_report.py``).

| config | file | solved at | generations | seeds |
|---|---|---|---|---|
| xor | ``search_spaces/neat_xor.yaml`` | 3.9 | 300 | 0-19 |
| cartpole | ``search_spaces/neat_cartpole.yaml`` | 500 | 100 | 0-19 |
| visual | ``search_spaces/hyperneat_visual.yaml`` | 100 | 300 | 0-59 (the issue asks for 10; 60 for power) |

The target and the generation budget are passed as overrides (they equal the files' own today), so the study
keeps its budgets if a shipped config changes.

**Resumable and killable.** A triple whose directory has ``summary.json`` (written last, atomically) is done and
skipped; one with a run directory but no summary is continued with ``runner.resume`` (its newest valid
checkpoint; none: it restarts from generation 0); others start. Each triple runs in a child process (``--one``)
that records its pid in ``running.pid``: a triple whose recorded process is still alive is left to it. Killing
the script (SIGTERM, Ctrl-C) stops its children; re-running it continues where they were. ``--jobs N`` runs N
triples at once. An engine the strategy refuses (``batched`` before it lands) is reported and skipped.

Usage::

    python -m experiments.neat_engines [--configs xor cartpole visual] [--engines batched neat-python]
        [--seeds 0-4] [--jobs 1] [--runs-only] [--report-only] [--out reports] [--root experiments/out/neat_engines]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from experiments.neat_engines_spec import (  # noqa: F401  (the study's names, re-exported)
    ARMS,
    COMMON,
    DEFAULT_ENGINES,
    ENGINES,
    PIDFILE,
    ROOT,
    RUNS,
    STUDIES,
    SUMMARY,
    Study,
)


def budget(name: str, generations: int | None = None) -> list[str]:
    """The study's budget overrides (``generations``: a smaller budget, for smoke tests only)."""
    s = STUDIES[name]
    return [f"budget.generations={generations or s.generations}", f"budget.target_fitness={s.target}"]


def overrides(name: str, engine: str, seed: int, generations: int | None = None) -> list[str]:
    return [*COMMON, *ARMS[engine], f"seed={seed}", *budget(name, generations)]


def run_dir(root: Path, name: str, engine: str, seed: int) -> Path:
    return root / name / engine / f"seed{seed}"


def engine_refusal(engine: str) -> str | None:
    """None when strategy ``neat`` accepts ``engine``, else the config error that refuses it."""
    from evohyper.config import ConfigError, apply_overrides, load_raw, validate

    try:
        validate(apply_overrides(load_raw(ROOT / STUDIES["xor"].config), ARMS[engine])).components()
    except ConfigError as exc:
        return str(exc)
    return None


# ----------------------------------------------------------------------------- one triple (child process)
def run_one(root: Path, name: str, engine: str, seed: int, generations: int | None = None) -> dict[str, Any]:
    """Start, or resume (with the study's budget), one triple's run, then write its ``summary.json``."""
    import yaml

    from evohyper.config import apply_overrides, load_raw, validate
    from evohyper.engine import runner

    directory = run_dir(root, name, engine, seed)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / PIDFILE).write_text(str(os.getpid()))
    started = time.perf_counter()
    if (directory / runner.CONFIG_FILE).is_file():
        result, _ = runner.resume(directory, budget(name, generations))
        how = "resumed"
    else:
        config = validate(apply_overrides(load_raw(ROOT / STUDIES[name].config),
                                          overrides(name, engine, seed, generations)))
        tmp = directory / (runner.CONFIG_FILE + ".tmp")
        tmp.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
        os.replace(tmp, directory / runner.CONFIG_FILE)
        result, _ = runner.run(config, directory)
        how = "started"
    summary = summarize_run(directory, name, engine, seed, result.stop_reason, generations)
    summary["this_process"] = {"how": how, "seconds": time.perf_counter() - started}
    tmp = directory / (SUMMARY + ".tmp")
    tmp.write_text(json.dumps(summary, indent=1))
    os.replace(tmp, directory / SUMMARY)
    (directory / PIDFILE).unlink(missing_ok=True)
    return summary


def summarize_run(directory: Path, name: str, engine: str, seed: int, stop_reason: str,
                  generations: int | None = None) -> dict[str, Any]:
    """What the report needs that metrics.csv does not hold: the final species count and genome sizes (from
    the final checkpoint's strategy state: the population after the last ``tell``) and the champion's size
    (``best/genotype.json``)."""
    import neat

    from evohyper.engine.checkpoint import load_latest
    from evohyper.viz.run_report import read_metrics

    rows = read_metrics(directory)
    study = STUDIES[name]
    solved_at = next((int(r["generation"]) for r in rows if r["best_so_far"] >= study.target), None)
    state, path = load_latest(directory / "checkpoints")
    final = final_population(state.get("strategy", {}))
    champion = None
    best = directory / "best" / "genotype.json"
    if best.is_file():
        genome = json.loads(best.read_text()).get("genome", {})
        champion = {"nodes": len(genome.get("nodes", [])),
                    "enabled_links": sum(1 for c in genome.get("connections", []) if c[-1])}
    return {"config": name, "engine": engine, "seed": seed, "config_file": study.config, "target": study.target,
            "budget_generations": generations or study.generations, "generations": int(rows[-1]["generation"]) if rows else 0,
            "stop_reason": stop_reason, "best_fitness": rows[-1]["best_so_far"] if rows else None,
            "solved_at": solved_at, "seconds": rows[-1]["seconds"] if rows else None,
            "final_checkpoint": path.name, **final, "champion": champion, "neat_python": neat.__version__}


def final_population(strategy: dict[str, Any]) -> dict[str, Any]:
    """Species count and mean genome size of a strategy ``neat`` state, for each engine's state format:
    ``neat`` (the neat-python engine: genomes as JSON data) or the batched engine's tensors (docs/neat_engine.md
    5.5: ``n_nodes``, ``n_conns``, ``enabled`` concatenated, a species table with ``sid``). A format it
    does not know gives None, and the report says the figure was not recorded."""
    kind = strategy.get("kind")
    engine = strategy.get("engine", "neat-python")
    if kind == "neat" and engine == "neat-python" and strategy.get("started"):
        pop = strategy["population"]
        return {"state_kind": kind, "species": len(strategy["species"]["species"]), "population": len(pop),
                "mean_nodes": sum(len(g["nodes"]) for g in pop) / len(pop),
                "mean_enabled_links": sum(sum(1 for c in g["connections"] if c[-1]) for g in pop) / len(pop)}
    out: dict[str, Any] = {"state_kind": kind, "species": None, "population": None, "mean_nodes": None,
                           "mean_enabled_links": None}
    if (kind == "neat" and engine == "batched" or kind == "neat-batched") and strategy.get("started"):
        # kind "neat-batched": states written before the engine's keys were renamed (format, neat_generation)
        import torch

        pop = strategy["population"]  # batched_engine.state_dict: counts and live genes concatenated
        n_conns = torch.as_tensor(pop["n_conns"]).long()
        owner = torch.repeat_interleave(torch.arange(len(n_conns)), n_conns)
        links = torch.zeros(len(n_conns)).index_add_(0, owner, torch.as_tensor(pop["conn.enabled"]).float())
        out.update(population=len(n_conns), mean_nodes=float(torch.as_tensor(pop["n_nodes"]).double().mean()),
                   mean_enabled_links=float(links.double().mean()), species=len(strategy["species"]["sid"]))
    return out


# ----------------------------------------------------------------------------- the driver
def _alive(pid_file: Path) -> bool:
    """Is the process recorded in ``running.pid`` still running this script?"""
    try:
        pid = int(pid_file.read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return False
    return pid != os.getpid() and b"neat_engines" in cmdline


def plan(root: Path, configs: list[str], engines: list[str], seeds: list[int] | None) -> list[tuple[str, str, int, str]]:
    """``(config, engine, seed, state)`` with state ``done``, ``running`` (another live process), ``resume``, ``new``."""
    out = []
    for name in configs:   # seed by seed, the arms side by side: a stopped study stays balanced
        for seed in (s for s in STUDIES[name].seeds if seeds is None or s in seeds):
            for engine in engines:
                d = run_dir(root, name, engine, seed)
                state = ("done" if (d / SUMMARY).is_file() else "running" if _alive(d / PIDFILE)
                         else "resume" if (d / "config.yaml").is_file() else "new")
                out.append((name, engine, seed, state))
    return out


class Children:
    """The child processes running now: a signal to this script stops them too (no orphan keeps writing)."""

    def __init__(self) -> None:
        self.procs: set[subprocess.Popen[str]] = set()
        self.lock = threading.Lock()
        self.stopping = False

    def run(self, cmd: list[str], log: Path) -> int:
        with self.lock:
            if self.stopping:
                return -1
            env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
            with log.open("a") as fh:
                proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
            self.procs.add(proc)
        code = proc.wait()
        with self.lock:
            self.procs.discard(proc)
        return code

    def stop(self, *_: Any) -> None:
        with self.lock:
            self.stopping = True
            for proc in self.procs:
                proc.terminate()
        raise KeyboardInterrupt


def run_all(root: Path, configs: list[str], engines: list[str], seeds: list[int] | None, jobs: int,
            generations: int | None = None) -> None:
    for engine in list(engines):
        refusal = engine_refusal(engine)
        if refusal:
            print(f"[neat_engines] engine {engine} not available ({refusal}): its runs are skipped", flush=True)
            engines = [e for e in engines if e != engine]
    todo = plan(root, configs, engines, seeds)
    pending = [t for t in todo if t[3] in ("new", "resume")]
    counts = {s: sum(t[3] == s for t in todo) for s in ("done", "running", "resume", "new")}
    print(f"[neat_engines] {len(todo)} triples: {counts}; running {len(pending)} with {jobs} job(s)", flush=True)
    children, finished, t0 = Children(), [0], time.perf_counter()
    previous = {s: signal.signal(s, children.stop) for s in (signal.SIGTERM, signal.SIGINT)}

    def one(triple: tuple[str, str, int, str]) -> None:
        name, engine, seed, state = triple
        if children.stopping:
            return
        d = run_dir(root, name, engine, seed)
        d.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        code = children.run([sys.executable, "-m", "experiments.neat_engines", "--root", str(root),
                             "--one", name, engine, str(seed),
                             *(["--generations", str(generations)] if generations else [])], d / "run.log")
        finished[0] += 1
        tail = f"exit {code}, see {d / 'run.log'}"
        if code == 0 and (d / SUMMARY).is_file():
            s = json.loads((d / SUMMARY).read_text())
            tail = (f"solved at generation {s['solved_at']}" if s["solved_at"] else
                    f"not solved in {s['generations']} generations") + f", best {s['best_fitness']:.4g}"
        print(f"[neat_engines] {finished[0]}/{len(pending)} {name} {engine} seed {seed} ({state}): {tail} "
              f"({time.perf_counter() - start:.0f} s; {time.perf_counter() - t0:.0f} s in all)", flush=True)

    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            list(pool.map(one, pending))
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _seeds(text: str | None) -> list[int] | None:
    if text is None:
        return None
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", nargs="+", choices=list(STUDIES), default=list(STUDIES))
    p.add_argument("--engines", nargs="+", choices=ENGINES, default=list(DEFAULT_ENGINES),
                   help="the arms to run (batched-float32 is opt-in; the report shows every arm with runs)")
    p.add_argument("--seeds", default=None, help="a subset of each config's seeds, e.g. 0-4 or 0,3")
    p.add_argument("--jobs", type=int, default=1, help="triples run at once (child processes)")
    p.add_argument("--root", type=Path, default=RUNS, help="where the run directories go")
    p.add_argument("--out", type=Path, default=ROOT / "reports", help="where neat_engines.md goes")
    p.add_argument("--runs-only", action="store_true", help="run the missing triples, write no report")
    p.add_argument("--report-only", action="store_true", help="write the report from the run directories only")
    p.add_argument("--generations", type=int, default=None,
                   help="a smaller generation budget for every config (smoke tests; not the study)")
    p.add_argument("--one", nargs=3, metavar=("CONFIG", "ENGINE", "SEED"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        name, engine, seed = args.one
        run_one(args.root, name, engine, int(seed), args.generations)
        return 0
    if not args.report_only:
        try:
            run_all(args.root, args.configs, args.engines, _seeds(args.seeds), args.jobs, args.generations)
        except KeyboardInterrupt:
            print("[neat_engines] stopped; re-run the same command to continue", flush=True)
            return 130
    if not args.runs_only:
        from experiments.neat_engines_report import write_report

        print(write_report(args.root, args.out, command="python -m experiments.neat_engines "
                           + " ".join(argv if argv is not None else sys.argv[1:])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
