"""Fit the model's free parameters to published targets by ABC-SMC (:mod:`bondsim.calibration`)."""

from __future__ import annotations

import argparse

from ..calibration.run import calibrate
from ..calibration.spec import load
from ..extras import require
from ..io import check_output
from .arguments import add_overwrite_argument, positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``bondsim calibrate``."""
    parser.add_argument("spec", metavar="SPEC.toml", help="calibration spec (experiments/calibration/default.toml)")
    parser.add_argument("--out", required=True, help="output directory")
    add_overwrite_argument(parser)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, help="Dask worker processes (default: cores; 1: this process)")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="use an existing Dask scheduler")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def command(args: argparse.Namespace) -> int:
    """Check the spec and the output, then run the calibration."""
    require("calibrate", "bondsim calibrate")
    spec = load(args.spec)  # a bad spec is refused before anything runs
    check_output(args.out, overwrite=args.overwrite)
    summary = calibrate(
        spec,
        args.out,
        workers=args.workers,
        scheduler=args.scheduler,
        progress=not args.quiet,
        overwrite=args.overwrite,
    )
    if not args.quiet:
        d = summary["diagnostics"]
        print(
            f"bondsim calibrate {spec.name}: {d['generations']} generations, {d['evaluations']} evaluations, "
            f"final epsilon {d['final_epsilon']:.3g}, ESS {d['final_ess']:.0f}, {summary['elapsed_seconds']:.0f} s; "
            f"wrote {args.out}/posterior.csv, generations.csv, targets.csv, pairplot.png, summary.json and report.md"
        )
    return 0
