"""Run a virtual trial from a design file, or list the library of published studies (:mod:`bondsim.trials`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UserError
from ..trials import DEFAULT_SEED, library, load, run_design
from .arguments import add_overwrite_argument, positive_int, seed_value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``bondsim trial``."""
    parser.add_argument("design", nargs="?", metavar="DESIGN", help="design file (.toml), or a library design's name")
    parser.add_argument("--list", action="store_true", help="list the library's designs and exit")
    parser.add_argument("--replications", type=positive_int, help="virtual trials (default: the design's [run])")
    parser.add_argument("--seed", type=seed_value, default=DEFAULT_SEED, help=f"master seed (default {DEFAULT_SEED})")
    parser.add_argument("--out", help="output directory (default results/trials/NAME)")
    add_overwrite_argument(parser)
    parser.add_argument("--power", type=positive_int, nargs="+", metavar="N", help="power at these sample sizes")
    parser.add_argument("--engine", choices=("agents", "array"), default="array", help="simulation engine")
    parser.add_argument(
        "--posterior",
        metavar="NAME|FILE",
        help="draw each virtual trial's parameters from a calibration's posterior: 'default' (shipped) or a "
        "posterior.csv; the report adds the prediction intervals with parameter uncertainty",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, help="worker processes (default: cores; 1 runs in this process)")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="use an existing Dask scheduler")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def command(args: argparse.Namespace) -> int:
    """List the library, or run a design."""
    if args.list:
        for name, path in library().items():
            d = load(path)
            n = "?" if d.participants.n is None else d.participants.n
            print(f"{name:<18} {d.study.role:<10} N={n:<4} {d.layout.kind:<9} {d.study.citation[:72]}")
        return 0
    if not args.design:
        raise UserError("name a design file or a library design (bondsim trial --list shows the library)")
    design = load(args.design)  # a bad design is refused before anything runs
    posterior = None
    if args.posterior:
        from ..calibration.posterior import load as load_posterior

        posterior = load_posterior(args.posterior)  # a missing or malformed posterior too
    out = Path(args.out or f"results/trials/{design.name}")
    summary = run_design(  # checks that it can run, the sizes and the output before running
        design,
        out,
        replications=args.replications,
        seed=args.seed,
        power=args.power,
        engine=args.engine,
        workers=args.workers,
        scheduler=args.scheduler,
        progress=not args.quiet,
        overwrite=args.overwrite,
        posterior=posterior,
    )
    if not args.quiet:
        print(
            f"bondsim trial {design.name}: {summary['replications']} virtual trials, seed {summary['seed']}"
            + (f", parameters from the posterior {posterior.name}" if posterior is not None else "")
            + ", "
            f"{summary['elapsed_seconds']:.0f} s; wrote {out}/report.md, summary.json, trials.parquet and figures"
        )
    return 0
