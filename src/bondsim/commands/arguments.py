"""Command-line arguments that several commands share: model parameters, numbers, seeds, --overwrite."""

from __future__ import annotations

import argparse
from collections.abc import Iterable

from ..model import make_seed
from ..params import Params, load, parse_assignments


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--config``, ``--set``, ``--engine`` and ``--threads``, shared by commands that build a model."""
    parser.add_argument("--config", metavar="FILE", help="TOML file of name = value parameters")
    parser.add_argument(
        "--set",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        dest="assignments",
        help="override one parameter (repeatable), e.g. --set drug=naltrexone",
    )
    parser.add_argument("--engine", choices=("agents", "array"), help="simulation engine (default: agents)")
    parser.add_argument(
        "--threads",
        type=positive_int,
        help="threads of the array engine's loops over people (default 1; the same results with any number)",
    )


def model_params(args: argparse.Namespace, reads: Iterable[str] = ()) -> Params:
    """Parameters from ``--config``, ``--set``, ``--engine`` and ``--threads``, validated.

    ``reads``: the tables of ``--config`` the command reads itself (any other is refused).
    """
    overrides = parse_assignments(args.assignments)
    if getattr(args, "engine", None):
        overrides["engine"] = args.engine
    if getattr(args, "threads", None):
        overrides["threads"] = args.threads
    return load(args.config, overrides, reads=reads)


def positive_int(text: str) -> int:
    """Parse an integer >= 1 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def positive_float(text: str) -> float:
    """Parse a number > 0 (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{value:g} must be a positive number")
    return value


def seed_value(text: str) -> int:
    """Parse a non-negative integer seed (argparse type)."""
    try:
        return make_seed(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a non-negative integer") from None


def add_overwrite_argument(parser: argparse.ArgumentParser, what: str = "files in --out") -> None:
    """``--overwrite``: the flag every command that writes files shares."""
    parser.add_argument(
        "--overwrite", action="store_true", help=f"replace existing {what} (default: refuse a non-empty output)"
    )
