"""Run a virtual trial from a design file, compare two side by side, or list the library (:mod:`bondsim.trials`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..batch import default_workers
from ..errors import UserError
from ..extras import require
from ..model import make_seed
from ..trials import DEFAULT_SEED, library, load, run_design
from .arguments import add_overwrite_argument, positive_int, seed_value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``bondsim trial``."""
    parser.add_argument(
        "design",
        nargs="*",
        metavar="DESIGN",
        help="design file (.toml) or a library design's name; two of them: run both and compare them",
    )
    parser.add_argument(
        "--compare",
        nargs="+",
        metavar="CONFIG",
        help="run the design under this model config beside the defaults (or under two configs) and compare",
    )
    parser.add_argument("--list", action="store_true", help="list the library's designs and exit")
    parser.add_argument(
        "--trials",
        "--replications",
        dest="replications",
        type=positive_int,
        help="virtual trials, as in `bondsim experiment --trials` (default: the design's [run] replications)",
    )
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
    if len(args.design) > 2:
        raise UserError(f"bondsim trial compares two designs, not {len(args.design)}")
    if len(args.design) == 2 or args.compare:
        return _compare(args)
    design = load(args.design[0])  # a bad design is refused before anything runs
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


def _compare(args: argparse.Namespace) -> int:
    """Two designs, or one design under two configs, side by side (:mod:`bondsim.trials.compare`)."""
    from ..trials import check_runnable
    from ..trials.compare import compare, format_table, sides

    if args.power:
        raise UserError("--power is for one design: drop it when comparing")
    if getattr(args, "posterior", None):
        raise UserError("--posterior is for one design: drop it when comparing")
    designs = [load(d) for d in args.design]  # bad designs and configs are refused before anything runs
    pair = sides(designs, args.compare, engine=args.engine)
    for side in pair:
        check_runnable(side.design)
    require("trials", "a virtual trial")
    if args.engine == "array":
        require("array", "a virtual trial on the array engine (--engine agents runs without it)")
    a, b = pair
    out = Path(args.out or f"results/trials/compare-{a.label}-{b.label}".replace(" ", ""))
    workers = args.workers if args.workers or args.scheduler else default_workers()
    table, summary = compare(
        pair,
        out,
        replications=args.replications,
        seed=make_seed(args.seed),
        workers=None if args.scheduler else workers,
        scheduler=args.scheduler,
        progress=not args.quiet,
        overwrite=args.overwrite,
    )
    print(format_table(table, pair))
    if not args.quiet:
        print(
            f"bondsim trial: {a.label} and {b.label}, {summary['replications']} virtual trials each with the same "
            f"seeds ({summary['seed']}), {summary['elapsed_seconds']:.0f} s; wrote {out}/comparison.csv, "
            "summary.json and trials.parquet"
        )
    return 0
