"""The ``bondsim`` command: a thin layer over the library.

Each subcommand is a module of :mod:`bondsim.commands`, named after it, that provides
``add_arguments(parser)`` and ``command(args) -> int``. The library raises
:mod:`bondsim.errors` types; this module only formats them. Exit status: 0 done,
1 the work failed (e.g. runs of a sweep failed, out of memory), 2 a user error or
an output that cannot be written (one line), 130 interrupted, 143 terminated (one line).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import signal
import sys
import threading

from .errors import Terminated, UserError
from .extras import extra_of, install

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("bondsim.commands.run", "run the model and write timeseries.csv and run.json"),
    "pk": ("bondsim.commands.pk", "print drug concentrations and receptor occupancy over time"),
    "experiment": ("bondsim.commands.experiment", "run a named experiment (--list shows them)"),
    "params": ("bondsim.commands.params", "list every parameter with unit, default and range"),
    "trial": ("bondsim.commands.trial", "run a virtual trial from a design file, with its power by sample size"),
    "app": ("bondsim.commands.app", "serve the classroom app in the browser (localhost)"),
    "sweep": ("bondsim.commands.sweep", "run a parameter sweep on Dask and write a Parquet dataset"),
    "analyze": ("bondsim.commands.analyze", "summarize a sweep: tables, response curves, heatmaps, Sobol indices"),
    "calibrate": ("bondsim.commands.calibrate", "fit parameters to published targets (ABC-SMC); write a posterior"),
}


# commands whose outputs appear all at once or not at all, so an interrupt leaves nothing behind
STAGED = ("run", "pk", "experiment", "trial", "analyze", "calibrate")


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


def _say(command: str, message: str) -> None:
    """One line on stderr; on a terminal it first clears a progress bar left on the current line."""
    clear = "\r\x1b[K" if sys.stderr.isatty() else ""
    print(f"{clear}{' '.join(filter(None, ('bondsim', command)))}: {message}", file=sys.stderr, flush=True)


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM: unwind like Ctrl-C (workers stopped, staged outputs removed)."""
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bondsim`` command."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    chosen = next((a for a in argv if not a.startswith("-")), "")
    command = chosen if chosen in COMMANDS else ""
    reserve = bytearray(1 << 20)  # freed on a MemoryError so that the one line can still be written
    try:
        parser = build_parser(only=command)
        args = parser.parse_args(argv)
        if not getattr(args, "_run", None):
            parser.print_help()
            return 2
        return int(args._run(args) or 0)
    except UserError as exc:
        _say(command, f"error: {exc}")
        return 2
    except ModuleNotFoundError as exc:  # an optional part that is not installed, found late
        extra = extra_of(exc.name)
        if extra is None:
            raise
        _say(command, f"error: {exc.name} is not installed; it comes with the '{extra}' extra: {install(extra)}")
        return 2
    except KeyboardInterrupt as exc:
        stopped = "terminated" if isinstance(exc, Terminated) else "interrupted"
        _say(command, stopped + ("; nothing was written" if command in STAGED else ""))
        return 143 if isinstance(exc, Terminated) else 130
    except MemoryError:
        del reserve  # room for the one line below, written once the failed run's frames are released
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    gc.collect()  # only a MemoryError reaches this point
    _say(command, "error: ran out of memory: use fewer people (or --engine array, which needs about a fifth)")
    return 1


def console() -> None:
    """The ``bondsim`` program: :func:`main`, then a prompt exit."""
    code = main()
    gc.freeze()  # at exit the interpreter's collections would walk every imported object: a third of a second
    sys.exit(code)


if __name__ == "__main__":
    console()
