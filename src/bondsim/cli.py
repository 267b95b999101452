"""The ``bondsim`` command: a thin layer over the library.

Each subcommand lives in the module of its concept and provides
``add_arguments(parser)`` and ``command(args) -> int``. A user error prints one
line on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .errors import UserError

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("bondsim.runner", "run the model and write timeseries.csv and run.json"),
    "pk": ("bondsim.pk", "print drug concentrations and receptor occupancy over time"),
    "experiment": ("bondsim.experiments", "run a named experiment (--list shows them)"),
    "params": ("bondsim.paramtable", "list every parameter with unit, default and range"),
    "app": ("bondsim.app", "serve the classroom app in the browser (localhost)"),
    "sweep": ("bondsim.sweep", "run a parameter sweep on Dask and write a Parquet dataset"),
    "analyze": ("bondsim.sweep.analysis", "summarize a sweep: tables, response curves, heatmaps, Sobol indices"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit status 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every subcommand.

    Args:
        only: if given, import and fully define only this subcommand; the others are listed by
            name and help line (so starting one command does not import every other one).
    """
    from . import __version__

    parser = _Parser(prog="bondsim", description="Agent-based simulation of opioid-modulated social bonding.")
    parser.add_argument("--version", action="version", version=f"bondsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module, help_text) in COMMANDS.items():
        if only is not None and name != only:
            sub.add_parser(name, help=help_text)
            continue
        mod = importlib.import_module(module)
        p = sub.add_parser(name, help=help_text, description=(mod.__doc__ or help_text).strip().splitlines()[0])
        mod.add_arguments(p)
        p.set_defaults(_run=mod.command)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bondsim`` command."""
    argv = sys.argv[1:] if argv is None else list(argv)
    chosen = next((a for a in argv if not a.startswith("-")), "")
    parser = build_parser(only=chosen if chosen in COMMANDS else "")
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except UserError as exc:
        print(f"bondsim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"bondsim {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
