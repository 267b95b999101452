"""Run a named experiment, or list them (:mod:`bondsim.experiments`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError
from ..experiments import DEFAULT_SEED, REGISTRY, get, run_experiment
from ..io import check_output
from .arguments import add_overwrite_argument, positive_int, seed_value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``bondsim experiment``."""
    parser.add_argument("name", nargs="?", metavar="NAME", help="experiment to run (see --list)")
    parser.add_argument("--list", action="store_true", help="list the experiments and exit")
    parser.add_argument("--out", help="output directory (default results/NAME)")
    add_overwrite_argument(parser)
    parser.add_argument("--seed", type=seed_value, default=DEFAULT_SEED, help=f"master seed (default {DEFAULT_SEED})")
    parser.add_argument(
        "--trials", type=positive_int, help="number of virtual trials (inagaki2016, maintenance, meta_analysis)"
    )
    parser.add_argument("--engine", choices=("agents", "array"), help="simulation engine (default: array)")
    parser.add_argument("--config", metavar="FILE", help="TOML file with [design] and [params] overrides")
    parser.add_argument("--workers", type=positive_int, help="worker processes (default: usable cores)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def command(args: argparse.Namespace) -> int:
    """List the experiments, or run one."""
    if args.list:
        width = max(map(len, REGISTRY))
        for name, exp in REGISTRY.items():
            print(f"{name:<{width}}  {exp.summary}")
        return 0
    if not args.name:
        raise InputError("name an experiment (bondsim experiment --list shows them)")
    get(args.name)
    out = Path(args.out or f"results/{args.name}")
    check_output(out, overwrite=args.overwrite)  # before anything runs
    summary = run_experiment(
        args.name,
        out,
        seed=args.seed,
        trials=args.trials,
        engine=args.engine,
        config=args.config,
        progress=not args.quiet,
        workers=args.workers,
        overwrite=args.overwrite,
    )
    if not args.quiet:
        print(
            f"bondsim experiment {args.name}: seed {summary['seed']}, {summary['elapsed_seconds']:.0f} s; "
            f"wrote {out}/summary.json, report.md, tables and figures"
        )
    return 0
