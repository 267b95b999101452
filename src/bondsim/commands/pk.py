"""Drug concentrations and receptor occupancy over time: ``bondsim pk``.

For one typical person, or, with ``--people N``, the spread of occupancy over a virtual population
whose kinetics differ person to person (``bondsim.pharmacology.population``).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from .. import drugs
from ..errors import InputError, UserError, did_you_mean
from ..io import check_output, output_file
from ..params import load
from ..pharmacology import BLOCKADE_VARIABILITY, PK_VARIABILITY, dose_times, population, simulate

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
    parser.add_argument(
        "--dose",
        type=_nonnegative,
        nargs="+",
        required=True,
        metavar="MG",
        help="dose in mg; with --schedule daily, several doses are those of consecutive days (e.g. 25 25 50 50)",
    )
    parser.add_argument(
        "--hours",
        type=_nonnegative,
        nargs="+",
        metavar="H",
        help="hours after the first dose to report (default: 0 to 336)",
    )
    parser.add_argument("--schedule", choices=("once", "daily"), default="once", help="one dose or daily doses")
    parser.add_argument("--days", type=int, default=1, help="days of daily dosing (with --schedule daily)")
    parser.add_argument(
        "--people",
        type=int,
        default=0,
        metavar="N",
        help="print the mean and 5th-95th percentiles of occupancy over N virtual people (default: one typical person)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the people's kinetics (with --people)")
    parser.add_argument(
        "--pk-variability",
        type=_nonnegative,
        default=PK_VARIABILITY,
        metavar="SD",
        help=f"SD of log exposure between people (with --people; default {PK_VARIABILITY:g})",
    )
    parser.add_argument(
        "--blockade-variability",
        type=_nonnegative,
        default=BLOCKADE_VARIABILITY,
        metavar="SD",
        help=f"SD of log binding rate between people (with --people; default {BLOCKADE_VARIABILITY:g})",
    )
    parser.add_argument("--plot", metavar="FILE.png", help="draw plasma levels and occupancy of the typical person")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --plot file (default: refuse)")


def command(args: argparse.Namespace) -> int:
    """Print CSV of hours, plasma_ng_ml, occupancy, metabolite_ng_ml, effect_ng_ml (or, with --people, percentiles)."""
    custom = load(args.config).drugs if args.config else ()
    known = {name: drugs.profile(name, custom) for name in drugs.names(custom)}
    active = [name for name, p in known.items() if p.active]
    if args.drug not in active:
        raise InputError(f"unknown drug '{args.drug}': use one of {', '.join(active)}{did_you_mean(args.drug, active)}")
    drug = known[args.drug]
    if any(mg <= 0 for mg in args.dose):
        raise UserError(f"--dose {' '.join(f'{mg:g}' for mg in args.dose)}: every dose must be a positive number of mg")
    if args.days < 1:
        raise UserError(f"--days {args.days} must be at least 1")
    if len(args.dose) > 1 and args.schedule != "daily":
        raise UserError(f"--dose with {len(args.dose)} doses needs --schedule daily (one dose per day)")
    if len(args.dose) > 1 and args.days not in (1, len(args.dose)):
        raise UserError(f"--days {args.days} does not match the {len(args.dose)} daily doses given by --dose")
    if args.people < 0 or args.people > 1_000_000:
        raise UserError(f"--people {args.people} must be between 0 (one typical person) and 1000000")
    if args.plot and not args.plot.lower().endswith(".png"):
        raise UserError(f"--plot {args.plot} must name a .png file")
    if args.plot:
        check_output(args.plot, overwrite=args.overwrite, directory=False)
    if len(args.dose) > 1:
        doses = [(24.0 * day, mg) for day, mg in enumerate(args.dose)]
    else:
        doses = dose_times(args.schedule, args.dose[0], days=args.days)
    days = max(args.days, len(args.dose))
    hours = args.hours if args.hours else DEFAULT_HOURS
    if args.people:
        table = population(
            drug,
            doses,
            hours,
            people=args.people,
            seed=args.seed,
            pk_variability=args.pk_variability,
            blockade_variability=args.blockade_variability,
        )
    else:
        table = simulate(drug, doses, hours)
        table = table[["hours", "plasma_ng_ml", "occupancy", "metabolite_ng_ml", "effect_ng_ml"]]
    if args.plot:  # the figure first: if it cannot be written, the table is not printed either
        from ..plots import plot_pk

        end = max(max(hours), 24.0 * days + 48.0)
        curve = simulate(drug, doses, np.linspace(0.0, end, 600))
        with output_file(args.plot, overwrite=args.overwrite) as tmp:
            mg = "+".join(f"{d:g}" for d in args.dose)
            plot_pk(curve, tmp, title=f"{args.drug} {mg} mg {args.schedule}")
    table.to_csv(sys.stdout, index=False, float_format="%.4g")
    return 0
