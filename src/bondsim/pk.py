"""Drug concentrations and receptor occupancy over time: ``bondsim pk``."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from . import drugs
from .errors import InputError, UserError, did_you_mean
from .io import check_output, output_file
from .params import load
from .pharmacology import dose_times, simulate

DEFAULT_HOURS = (0, 1, 2, 3, 4, 6, 8, 12, 24, 48, 72, 96, 120, 144, 168, 240, 336)


def _nonnegative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not np.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be a number >= 0")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``bondsim pk``."""
    active = ", ".join(name for name, p in drugs.BUILTIN.items() if p.active)
    parser.add_argument("drug", help=f"{active}, or a drug defined in --config")
    parser.add_argument("--config", metavar="FILE", help="TOML file whose [drugs.NAME] tables define more drugs")
    parser.add_argument("--dose", type=_nonnegative, required=True, metavar="MG", help="dose in mg")
    parser.add_argument(
        "--hours",
        type=_nonnegative,
        nargs="+",
        metavar="H",
        help="hours after the first dose to report (default: 0 to 336)",
    )
    parser.add_argument("--schedule", choices=("once", "daily"), default="once", help="one dose or daily doses")
    parser.add_argument("--days", type=int, default=1, help="days of daily dosing (with --schedule daily)")
    parser.add_argument("--plot", metavar="FILE.png", help="draw plasma levels and occupancy over time")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --plot file (default: refuse)")


def command(args: argparse.Namespace) -> int:
    """Print CSV of hours, plasma_ng_ml, occupancy, metabolite_ng_ml, effect_ng_ml."""
    custom = load(args.config).drugs if args.config else ()
    known = {name: drugs.profile(name, custom) for name in drugs.names(custom)}
    active = [name for name, p in known.items() if p.active]
    if args.drug not in active:
        raise InputError(f"unknown drug '{args.drug}': use one of {', '.join(active)}{did_you_mean(args.drug, active)}")
    drug = known[args.drug]
    if args.dose <= 0:
        raise UserError(f"--dose {args.dose:g} must be a positive number of mg")
    if args.days < 1:
        raise UserError(f"--days {args.days} must be at least 1")
    if args.plot and not args.plot.lower().endswith(".png"):
        raise UserError(f"--plot {args.plot} must name a .png file")
    if args.plot:
        check_output(args.plot, overwrite=args.overwrite, directory=False)
    doses = dose_times(args.schedule, args.dose, days=args.days)
    hours = args.hours if args.hours else DEFAULT_HOURS
    table = simulate(drug, doses, hours)
    table = table[["hours", "plasma_ng_ml", "occupancy", "metabolite_ng_ml", "effect_ng_ml"]]
    if args.plot:  # the figure first: if it cannot be written, the table is not printed either
        from .plots import plot_pk

        end = max(max(hours), 24.0 * args.days + 48.0)
        curve = simulate(drug, doses, np.linspace(0.0, end, 600))
        with output_file(args.plot, overwrite=args.overwrite) as tmp:
            plot_pk(curve, tmp, title=f"{args.drug} {args.dose:g} mg {args.schedule}")
    table.to_csv(sys.stdout, index=False, float_format="%.4g")
    return 0
