"""The `evohyper` command line: run, resume, compare, tune, list, describe, show, export."""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

EXIT_CONFIG = 2


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread: the run unwinds as on Ctrl-C (Ray shut down, files closed)."""


def _on_sigterm(signum, frame) -> None:
    raise Terminated()


def _cmd_run(args: argparse.Namespace) -> int:
    from evohyper.config import apply_overrides, load_raw, validate
    from evohyper.engine.runner import run

    overrides = list(args.set or [])
    if args.backend:
        overrides.append(f"backend.name={args.backend}")
    if args.address:
        overrides.append(f"backend.address={args.address}")
    config = validate(apply_overrides(load_raw(args.config), overrides))
    from evohyper.config.budget import unbounded_warning

    if unbounded_warning(config.budget):
        print(unbounded_warning(config.budget), file=sys.stderr)
    if args.check:
        print(f"config OK: {config.name} (task {config.task['name']}, strategy {config.strategy['name']}, "
              f"decoder {config.decoder['name']}, backend {config.backend.name})")
        return 0
    result, run_dir = run(config)
    _print_result(result, run_dir)
    return 0


def _cmd_resume(args: argparse.Namespace) -> int:
    from evohyper.engine.runner import resume

    result, run_dir = resume(args.run_dir, overrides=args.set or [])
    _print_result(result, run_dir)
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from evohyper.viz.compare import compare

    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else None
    cmd = "evohyper compare " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["compare"] else None
    out = compare(args.spec, out_dir=args.out, parallel=args.parallel, seeds=seeds, command=cmd,
                  num_cpus=args.num_cpus, runs_dir=args.runs_dir)
    print(f"report: {out}")
    return 0


def _cmd_tune(args: argparse.Namespace) -> int:
    """Meta-search on Ray Tune (evohyper.tune); --resume restores an interrupted experiment."""
    from evohyper.tune import resume_tune, run_tune

    if bool(args.config) == bool(args.resume):
        print("error: give either a CONFIG or --resume EXPERIMENT_DIR", file=sys.stderr)
        return EXIT_CONFIG
    if args.resume:
        outcome = resume_tune(args.resume, num_cpus=args.num_cpus)
    else:
        from evohyper.config import apply_overrides, load_raw

        raw = apply_overrides(load_raw(args.config), list(args.set or []))
        outcome = run_tune(raw, num_cpus=args.num_cpus, name=args.name)
    from evohyper.viz.tune_report import write_tune_report  # matplotlib only at the end

    print(f"experiment directory: {outcome.experiment_dir}")
    report_dir = Path(args.report_dir) if args.report_dir else Path(outcome.experiment_dir)
    print(f"report: {write_tune_report(outcome, report_dir)}")
    errors = [r for r in outcome.results if r.error is not None]
    if errors:
        print(f"{len(errors)} trial(s) failed; continue with `evohyper tune --resume {outcome.experiment_dir}`",
              file=sys.stderr)
        return 1
    return 0


def _print_result(result, run_dir: Path) -> None:
    from evohyper.viz.run_report import write_run_report  # matplotlib only at the end

    write_run_report(run_dir)
    print(f"stopped: {result.stop_reason}; best fitness {result.best_fitness} after "
          f"{result.generations} generations")
    print(f"run directory: {run_dir}")
    print(f"report: {run_dir / 'report.md'}")


def _cmd_list(args: argparse.Namespace) -> int:
    from evohyper.api import registry

    for title, reg in (("tasks", registry.tasks), ("strategies", registry.strategies),
                       ("decoders", registry.decoders)):
        print(f"{title}:")
        for entry in reg.entries():
            print(f"  {entry.name:<14} {entry.description}")
    return 0


def _cmd_describe(args: argparse.Namespace) -> int:
    """Every option of a component (type, default, doc), from its signature and docstring."""
    import difflib

    from evohyper.config import describe

    if args.all:
        if args.markdown:
            print(describe.as_markdown(), end="")
        else:
            print("\n\n".join(describe.as_text(describe.component(k, n))
                              for k, _, _ in describe.KINDS for n in describe.builtin(k)))
        return 0
    if not args.name:
        print("error: give a NAME (see `evohyper list`) or --all", file=sys.stderr)
        return EXIT_CONFIG
    found = describe.find(args.name)
    if not found:
        names = sorted({n for _, reg, _ in describe.KINDS for n in reg.names()})
        close = difflib.get_close_matches(args.name, names, n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        print(f"error: no task, strategy or decoder is called {args.name!r}; {hint}known: {', '.join(names)}",
              file=sys.stderr)
        return EXIT_CONFIG
    print("\n\n".join(describe.as_text(c) for c in found))
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from evohyper.engine.run_dir import RunDir
    from evohyper.viz.run_report import pictures, plot_fitness, summarize

    run_dir = Path(args.run_dir)
    try:
        RunDir.open(run_dir)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.cell is not None or args.member is not None:
        return _show_member(run_dir, args)
    summary = summarize(run_dir)
    from evohyper.viz.archive_report import archive_summary
    from evohyper.viz.run_report import read_metrics

    rows = read_metrics(run_dir)
    summary |= {k: v for k, v in archive_summary(run_dir, rows[-1] if rows else None).items()
                if k != "archive_pictures"}
    png = plot_fitness(run_dir)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        width = max(len(k) for k in summary)
        for k, v in summary.items():
            print(f"{k:<{width}}  {v}")
    if png:
        print(f"fitness curve: {png}")
    for pic in pictures(run_dir):  # e.g. a HyperNEAT run's CPPN drawing and weight patterns
        print(f"picture: {pic}")
    from evohyper.engine import archive_files

    for pic in archive_files.pictures(RunDir(run_dir).archive):   # heatmap / front plot
        print(f"archive picture: {pic}")
    if args.episodes or args.video:
        return _replay(run_dir, args)
    return 0


def _show_member(run_dir: Path, args: argparse.Namespace) -> int:
    """``show --cell I|i,j`` / ``--member K``: one archive or front member's numbers, and its replay."""
    from evohyper.engine.archive_files import ArchiveError
    from evohyper.engine.replay import NotAnIndividualError, load_member

    if args.cell is not None and args.member is not None:
        print("error: give --cell or --member, not both", file=sys.stderr)
        return EXIT_CONFIG
    try:
        policy, archive, row = load_member(run_dir, cell=args.cell, member=args.member)
    except (ArchiveError, NotAnIndividualError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{archive.name(row)} of {len(archive)} ({archive.path}):")
    if archive.kind == "elites":   # the task's direction first, then the value as archive.csv keeps it
        again = "" if policy.reevaluation is None else f"; re-evaluated {policy.reevaluation['mean']:.6g}"
        print(f"  fitness: {policy.fitness:.6g}{again} (archive objective, higher is better: "
              f"{float(archive.objectives[row, 0]):.6g})")
    for j, name in enumerate(archive.objective_names if archive.kind == "front" else []):
        again = "" if archive.reevaluated is None else f"; re-evaluated {float(archive.reevaluated[row, j]):.6g}"
        print(f"  {name}: {float(archive.objectives[row, j]):.6g}{again}")
    if archive.measures is not None:
        for name, value in zip(archive.descriptor_names, archive.measures[row].tolist()):
            print(f"  {name}: {value:.6g}")
    if archive.reevaluation:
        r = archive.reevaluation
        print(f"  re-evaluation: {r['episodes']} fresh episodes, seed {r['seed']}")
    if args.episodes or args.video:
        return _replay(run_dir, args, policy, archive.name(row))
    return 0


def _replay(run_dir: Path, args: argparse.Namespace, best: Any = None, who: str = "the best individual") -> int:
    """``show --episodes N [--seed S] [--video FILE]``: the best policy (or ``best``, an archive member
    from ``load_member``) in the task's real environment."""
    if args.video:
        os.environ.setdefault("MUJOCO_GL", "egl")  # headless MuJoCo rendering; read when mujoco is imported
    from evohyper.engine.replay import load_best

    episodes = args.episodes or 1
    if episodes < 1:
        print(f"error: --episodes must be >= 1, got {episodes}", file=sys.stderr)
        return EXIT_CONFIG
    if args.video and Path(args.video).suffix.lower() not in (".gif", ".mp4"):
        print(f"error: --video {args.video}: allowed formats are .gif and .mp4", file=sys.stderr)
        return EXIT_CONFIG
    best = load_best(run_dir) if best is None else best
    seed, note = args.seed, ""
    if seed is None and best.reevaluation is None and best.seed is None:   # an archive keeps no search seeds
        seed = int(best.config.get("seed", 0))
        note = " (the archive records no evaluation seed: the run's seed)"
    try:
        played = best.replay(episodes, seed=seed, render=bool(args.video))
    except NotImplementedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    reeval = best.reevaluation
    seed = (reeval["seed"] if reeval else best.seed) if seed is None else seed
    scores = f"search fitness {best.fitness}" + ("" if best.generation is None else f", generation {best.generation}")
    if reeval:   # best/ was chosen on fresh episodes: their seed is the default, so N of them reproduce the mean
        scores += f"; re-evaluated mean {reeval['mean']:.6g} over {reeval['episodes']} fresh episodes"
    print(f"replay of {who} ({scores}), seed {seed}{note}:")
    for i, (ret, length) in enumerate(zip(played.returns, played.lengths)):
        print(f"  episode {i + 1}: return {ret:.6g} ({length} steps)")
    mean = sum(played.returns) / len(played.returns)
    print(f"mean return {mean:.6g} over {len(played.returns)} episode(s)")
    if args.video:
        from evohyper.viz.video import write_video

        try:
            print(f"video: {write_video(played.frames, args.video, played.fps)} (episode 1)")
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_CONFIG
    return 0


def _add_export(sub: Any) -> None:   # what ArgumentParser.add_subparsers returns
    """`evohyper export RUN_DIR --format torch|onnx [--out FILE]`: the best phenotype as a file (evohyper.export)."""
    def run_export(args: argparse.Namespace) -> int:
        from evohyper.export import ExportError, export_run

        try:
            res = export_run(args.run_dir, args.format, args.out, cell=args.cell, member=args.member)
        except ExportError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        checked = "not checked: onnxruntime is not installed" if res.file_difference is None \
            else f"max |file - module| {res.file_difference:.2g}"
        who = f"{res.description['member']}: " if "member" in res.description else ""
        shape = ", ".join(map(str, res.description["input_shape"]))
        print(f"exported: {who}{res.path} ({res.format}; input [B, {shape}]; "
              f"max |module - evohyper phenotype| {res.module_difference:.2g}; {checked})")
        return 0

    e = sub.add_parser("export", help="write a run's best phenotype as a torch.export program (.pt2) or ONNX")
    e.add_argument("run_dir")
    e.add_argument("--format", choices=["torch", "onnx"], default="torch",
                   help="torch: torch.export program, loadable with torch.export.load(path).module(); onnx: ONNX")
    e.add_argument("--out", help="output file (default RUN_DIR/best/model.pt2 or model.onnx; a member: "
                                 "RUN_DIR/archive/cell-I.pt2 or member-K.pt2)")
    _member_options(e, "export")
    e.set_defaults(func=run_export)


def _member_options(parser: argparse.ArgumentParser, verb: str) -> None:
    """``--cell`` / ``--member``: one member of a run's archive or Pareto front instead of ``best/``."""
    parser.add_argument("--cell", metavar="I|i,j", help=f"{verb} the archive's elite in cell I (archive.csv's "
                                                        "cell index) or at grid coordinates i,j instead of best/")
    parser.add_argument("--member", metavar="K", help=f"{verb} member K of the Pareto front (front.csv's row) "
                                                      "instead of best/")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="evohyper", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true", help="log more, and show tracebacks on errors")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a search from a YAML config")
    r.add_argument("config", help="path to a search config (see search_spaces/)")
    r.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config key, e.g. strategy.popsize=64")
    r.add_argument("--backend", choices=["local", "ray"], help="override backend.name")
    r.add_argument("--address", help="Ray address of an existing cluster ('auto' or host:port)")
    r.add_argument("--check", action="store_true", help="validate the config (and build its components), run nothing")
    r.set_defaults(func=_cmd_run)

    s = sub.add_parser("resume", help="continue a run from its newest valid checkpoint")
    s.add_argument("run_dir")
    s.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="change a budget limit or output.checkpoint_*/tensorboard/progress, "
                        "e.g. budget.generations=500")
    s.set_defaults(func=_cmd_resume)

    c = sub.add_parser("compare", help="run several configs over several seeds and write reports/compare_<name>.md")
    c.add_argument("spec", help="compare spec YAML listing configs (see search_spaces/compare_*.yaml)")
    c.add_argument("--out", default="reports", help="output directory (default reports/)")
    c.add_argument("--seeds", help="comma-separated seeds, overriding the spec's list")
    c.add_argument(
        "--parallel",
        choices=["auto", "ray", "none"],
        default="auto",
        help="one Ray task per (config, seed) (auto: when Ray is installed), or sequential",
    )
    c.add_argument("--num-cpus", type=int, help="size of the local Ray started for the runs (default: all cores)")
    c.add_argument("--runs-dir", help="where the runs are kept, as compare-<name>-<time>/<label>-seed<k>/ "
                                      "(default: each config's output.runs_dir, runs/)")
    c.set_defaults(func=_cmd_compare)

    t = sub.add_parser("tune", help="meta-search: run the tune: block of a config on Ray Tune")
    t.add_argument("config", nargs="?", help="search config with a tune: block (see search_spaces/)")
    t.add_argument("--resume", metavar="EXPERIMENT_DIR", help="restore an interrupted meta-search")
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key, e.g. tune.num_samples=4")
    t.add_argument("--num-cpus", type=float, help="CPUs of the local Ray started for the meta-search")
    t.add_argument("--name", help="experiment name (default: <config name>-<time>)")
    t.add_argument("--report-dir", help="where tune_<name>.md goes (default: the experiment directory)")
    t.set_defaults(func=_cmd_tune)

    ls = sub.add_parser("list", help="list tasks, strategies and decoders")
    ls.set_defaults(func=_cmd_list)

    d = sub.add_parser("describe", help="every option of a task, strategy or decoder: type, default, what it does")
    d.add_argument("name", nargs="?", help="a task, strategy or decoder name (see `evohyper list`)")
    d.add_argument("--all", action="store_true", help="describe every built-in component")
    d.add_argument("--markdown", action="store_true", help="with --all: the README's options reference")
    d.set_defaults(func=_cmd_describe)

    sh = sub.add_parser("show", help="summarise a run directory, plot its fitness curve, list its pictures")
    sh.add_argument("run_dir")
    sh.add_argument("--json", action="store_true", help="print the summary as JSON")
    sh.add_argument("--episodes", type=int, metavar="N",
                    help="replay the best policy for N episodes in the task's real environment (gym tasks)")
    sh.add_argument("--seed", type=int, help="episode seed of the replay (default: the one its fitness was "
                                             "recorded with, so the first episodes reproduce it)")
    sh.add_argument("--video", metavar="FILE", help="render the first replayed episode to FILE (.gif or .mp4)")
    _member_options(sh, "show (and replay)")
    sh.set_defaults(func=_cmd_show)
    _add_export(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Configure only our own logger: libraries (evotorch, Ray) keep their own logging setup.
    logger = logging.getLogger("evohyper")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO if args.verbose else logging.WARNING)
    from evohyper.config import ConfigError
    from evohyper.engine.errors import BackendError, CheckpointError, TaskError

    signal.signal(signal.SIGTERM, _on_sigterm)   # (re-installed after Ray starts: runtime.restore_sigterm)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except (TaskError, CheckpointError, BackendError, FileNotFoundError) as exc:
        if args.verbose:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Terminated:
        print("terminated (SIGTERM); resume with `evohyper resume RUN_DIR`", file=sys.stderr)
        return 128 + 15
    except KeyboardInterrupt:
        print("interrupted; resume with `evohyper resume RUN_DIR`", file=sys.stderr)
        return 130
    except BrokenPipeError:   # the reader went away (`evohyper list | head`): stop quietly, as EPIPE does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # nothing left to flush at exit
        return 1


if __name__ == "__main__":
    sys.exit(main())
