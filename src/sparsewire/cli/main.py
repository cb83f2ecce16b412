"""sparsewire: make, inspect and experiment with the structure of sparse neural networks."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

# Other modules add subcommands here: name -> (configure parser, handler).
SUBCOMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {}


def subcommand(name: str, configure: Callable[[argparse.ArgumentParser], None]):
    """Decorator registering ``handler(args) -> exit code`` as ``sparsewire NAME``."""

    def wrap(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        SUBCOMMANDS[name] = (configure, handler)
        return handler

    return wrap


def _print_table(table: pd.DataFrame) -> None:
    if table.empty:
        print("(no finished trials)")
        return
    with pd.option_context("display.max_rows", 500, "display.max_columns", 50, "display.width", 200):
        print(table.to_string(index=False))


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="study config (YAML) with a 'study:' key")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key (dotted, value parsed as YAML); repeatable")
    p.add_argument("--out", help="study folder (default: runs/<name>)")
    p.add_argument("--workers", type=int, default=1, help="parallel trials (1 = sequential in this process; >1 uses Ray)")
    p.add_argument("--ray-address", default=None, help="address of an existing Ray cluster (default: start a local one)")
    p.add_argument("--data-dir", default=None,
                   help="folder holding the datasets; the only place searched (and downloaded into) when given")
    p.add_argument("--threads", type=int, default=None,
                   help="torch intra-op threads per trial (default: torch's; 1 is best for small models "
                        "on a busy machine or with several workers)")
    p.add_argument("--max-nodes", type=int, default=None,
                   help="largest graph a trial may build or read (default 10000; same as $SPARSEWIRE_MAX_NODES)")
    p.add_argument("--wait", action="store_true", help="if another run holds the study folder, wait for it to end")
    p.add_argument("--save-models", action="store_true",
                   help="keep every trained network in OUT/models/<trial id>.pt (from now on, for this folder); "
                        "load one with sparsewire.studies.load_trial_model. Studies that hand over networks: prune, "
                        "dynamic-sparsity, prior, reber-structure, search (its best network)")
    p.add_argument("--force", action="store_true",
                   help="record this study in a folder that holds another study (its rows stay in the store; "
                        "rows of another study type are hidden from tables)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument("--log", action="append", default=[], choices=["tensorboard", "mlflow"],
                   help="also log every trial's history and results to TensorBoard (DIR/tensorboard) or MLflow "
                        "(local file store DIR/mlruns); repeatable; needs the tensorboard / mlflow package")
    p.add_argument("--no-report", action="store_true", help="do not write report.md at the end")


@subcommand("run", _run_args)
def _run(args: argparse.Namespace) -> int:
    """Run (or resume) a study from a YAML config; finished trials are skipped."""
    import os

    from sparsewire.data.sources import DIR_ENV_VAR
    from sparsewire.graphs.io import MAX_NODES_ENV

    previous = {name: os.environ.get(name) for name in (DIR_ENV_VAR, MAX_NODES_ENV)}
    if args.max_nodes is not None:
        os.environ[MAX_NODES_ENV] = str(args.max_nodes)
    try:
        return _run_study(args)
    finally:  # the data folder and node limit apply to this run (and its workers) only
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run_study(args: argparse.Namespace) -> int:
    from sparsewire.errors import EXIT_OK, EXIT_TRIALS
    from sparsewire.loggers import make_loggers
    from sparsewire.results.report import summary_table, write_report
    from sparsewire.studies import load_config, run_study
    from sparsewire.studies.executors import make_executor

    if args.data_dir is not None:
        from sparsewire.data.sources import use_data_dir

        use_data_dir(args.data_dir)
    if args.threads is not None:
        import torch

        if args.threads < 1:
            raise ValueError(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    study_type, config = load_config(args.config, args.overrides)
    out = Path(args.out or Path("runs") / getattr(config, "name", study_type.name))
    loggers = make_loggers(args.log, out, study_type.name)  # a missing package: one line, before any work
    executor = make_executor(args.workers, args.ray_address)
    summary = run_study(study_type, config, out, executor=executor, progress=not args.no_progress,
                        force=args.force, wait=args.wait, loggers=loggers, save_models=args.save_models)
    print()
    _print_table(summary_table(out))
    _print_notes(out)
    print(f"\n{summary.line()}")
    print(f"Results: {out / 'results.csv'}")
    if not args.no_report:
        print(f"Report:  {write_report(out)}")
    return EXIT_OK if summary.ok else EXIT_TRIALS


def _print_notes(out: str | Path) -> None:
    """Smoke-test and at-chance notes under a results table (Markdown emphasis dropped)."""
    from sparsewire.results.report import notes

    for note in notes(out):
        print("\n" + note.replace("**", "").replace("`", ""))


def _dir_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="study folder")
    p.add_argument("--include-diverged", action="store_true",
                   help="also list trials whose training diverged (left out by default)")


@subcommand("results", _dir_args)
def _results(args: argparse.Namespace) -> int:
    """Print the results table of a study folder (read-only)."""
    from sparsewire.results.report import diverged_table, summary_table

    _print_table(summary_table(args.dir))
    _print_notes(args.dir)
    if args.include_diverged:
        diverged = diverged_table(args.dir)
        print(f"\ndiverged trials ({len(diverged)}):")
        _print_table(diverged)
    return 0


def _report_args(p: argparse.ArgumentParser) -> None:
    _dir_args(p)
    p.add_argument("--out", default=None, help="folder for report.md and its plots (default: the study folder)")


@subcommand("report", _report_args)
def _report(args: argparse.Namespace) -> int:
    """Write DIR/report.md with tables and PNG plots from the study's results store (read-only)."""
    from sparsewire.results.report import write_report

    print(write_report(args.dir, include_diverged=args.include_diverged, to=args.out))
    return 0


def _load_plugins() -> None:
    """Import modules that register further subcommands (graph, predict, ...), if present."""
    import importlib

    for module in ("sparsewire.cli.graph", "sparsewire.cli.predict"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise


def build_parser() -> argparse.ArgumentParser:
    _load_plugins()
    parser = argparse.ArgumentParser(prog="sparsewire", description=__doc__, epilog=_exit_codes_epilog(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (configure, handler) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=(handler.__doc__ or "").strip().splitlines()[0] if handler.__doc__ else None)
        configure(p)
        # --debug after the subcommand too (SUPPRESS: does not reset a --debug given before it)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        p.set_defaults(handler=handler)
    return parser


def _exit_codes_epilog() -> str:
    from sparsewire.errors import EXIT_CODES

    return "exit codes:\n" + "\n".join(f"  {code:>3}  {text}" for code, text in EXIT_CODES.items())


def _one_line(err: BaseException) -> str:
    """An error as the CLI prints it: its message, with the file it concerns if the message lacks it."""
    text = str(err).strip() or type(err).__name__
    filename = getattr(err, "filename", None)
    if isinstance(err, OSError):
        text = err.strerror or text
        if filename is not None:
            text = f"{filename}: {text}"
    return text


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM/SIGHUP end the run like Ctrl-C does: ``finally`` blocks run (Ray is shut down, the lock freed)."""
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sparsewire`` command; exit codes: :data:`sparsewire.errors.EXIT_CODES`."""
    import os
    import signal
    import warnings

    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or os.environ.get("SPARSEWIRE_DEBUG", "") not in ("", "0")
    saved_format, saved_handlers = warnings.formatwarning, {}
    if not debug:  # warnings as one line each, without the source line that raised them
        warnings.formatwarning = lambda message, category, *_, **__: f"sparsewire: warning: {message}\n"
    for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if signum is not None and threading_is_main():
            saved_handlers[signum] = signal.signal(signum, _terminate)
    try:
        return _handle(args, debug)
    finally:  # main() may be called in-process (tests, notebooks): leave the process as it was
        warnings.formatwarning = saved_format
        for signum, handler in saved_handlers.items():
            signal.signal(signum, handler)


def _handle(args: argparse.Namespace, debug: bool) -> int:
    """Run the subcommand; errors become one line on stderr and an exit code."""
    from sparsewire.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, SparsewireError

    try:
        return args.handler(args)
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        if debug:
            raise
        print("\nsparsewire: interrupted — rerun the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SparsewireError as err:
        if debug:
            raise
        print(f"sparsewire: error: {_one_line(err)}", file=sys.stderr)
        return err.exit_code
    except (ValueError, OSError, KeyError) as err:  # bad arguments, files that are missing or unwritable
        if debug:
            raise
        print(f"sparsewire: error: {_one_line(err)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as err:  # noqa: BLE001 - a bug: one line by default, the traceback with --debug
        if debug:
            raise
        print(f"sparsewire: internal error: {type(err).__name__}: {_one_line(err)} "
              "(rerun with --debug for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


def threading_is_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


if __name__ == "__main__":
    # `python -m sparsewire.cli.main`: plugins register into the importable module, not this __main__ copy.
    from sparsewire.cli import main as _cli

    sys.exit(_cli.main())
