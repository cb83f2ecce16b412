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
                   help="folder holding the datasets (searched first; same as SPARSEWIRE_DATA)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch intra-op threads per trial (default: torch's; 1 is best for small models "
                        "on a busy machine or with several workers)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument("--no-report", action="store_true", help="do not write report.md at the end")


@subcommand("run", _run_args)
def _run(args: argparse.Namespace) -> int:
    """Run (or resume) a study from a YAML config; finished trials are skipped."""
    from sparsewire.results.report import summary_table, write_report
    from sparsewire.studies import load_config, run_study
    from sparsewire.studies.executors import make_executor

    if args.data_dir is not None:
        import os

        os.environ["SPARSEWIRE_DATA"] = os.pathsep.join(filter(None, [args.data_dir, os.environ.get("SPARSEWIRE_DATA")]))
    if args.threads is not None:
        import torch

        if args.threads < 1:
            raise ValueError(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    study_type, config = load_config(args.config, args.overrides)
    out = Path(args.out or Path("runs") / getattr(config, "name", study_type.name))
    executor = make_executor(args.workers, args.ray_address)
    summary = run_study(study_type, config, out, executor=executor, progress=not args.no_progress)
    print()
    _print_table(summary_table(out))
    print(f"\n{summary.done} trials run, {summary.skipped} reused, {summary.failed} failed.")
    print(f"Results: {out / 'results.csv'}")
    if not args.no_report:
        print(f"Report:  {write_report(out)}")
    return 1 if summary.failed else 0


def _dir_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="study folder")


@subcommand("results", _dir_args)
def _results(args: argparse.Namespace) -> int:
    """Print the results table of a study folder."""
    from sparsewire.results.report import summary_table

    _print_table(summary_table(args.dir))
    return 0


@subcommand("report", _dir_args)
def _report(args: argparse.Namespace) -> int:
    """Write DIR/report.md with tables and PNG plots from the study's results store."""
    from sparsewire.results.report import write_report

    print(write_report(args.dir))
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
    parser = argparse.ArgumentParser(prog="sparsewire", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (configure, handler) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=(handler.__doc__ or "").strip().splitlines()[0] if handler.__doc__ else None)
        configure(p)
        p.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sparsewire`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, FileNotFoundError, KeyError) as err:
        print(f"sparsewire: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    # `python -m sparsewire.cli.main`: plugins register into the importable module, not this __main__ copy.
    from sparsewire.cli import main as _cli

    sys.exit(_cli.main())
