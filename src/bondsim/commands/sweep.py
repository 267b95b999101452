"""Run a parameter sweep from a TOML spec and write a Parquet dataset and its manifest (:mod:`bondsim.sweep`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import UserError
from ..extras import require
from ..params import ParameterError
from .arguments import positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``bondsim sweep``."""
    parser.add_argument("spec", metavar="SPEC.toml", help="the sweep spec (see docs/sweeps.md)")
    parser.add_argument("--out", help="sweep directory (default results/sweeps/<spec name>)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, help="worker processes (default: cores; 1 runs in this process)")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="use an existing Dask scheduler")
    again = parser.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue the sweep in --out, skipping finished runs")
    again.add_argument(
        "--extend",
        nargs="?",
        const="",
        metavar="OUT",
        help="grow the sweep in OUT (or --out) to this spec: run only new replicates and design points",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")


def _out_dir(args: argparse.Namespace) -> Path:
    if args.extend:
        if args.out and Path(args.out) != Path(args.extend):
            raise UserError(f"--extend {args.extend} and --out {args.out} name different folders: give one")
        return Path(args.extend)
    if args.extend is not None and not args.out:
        raise UserError("--extend needs the sweep folder: --extend OUT or --out OUT")
    return Path(args.out) if args.out else Path("results") / "sweeps" / Path(args.spec).stem


def command(args: argparse.Namespace) -> int:
    """Check the spec, run the sweep, report; exit status 1 if some runs failed."""
    require("sweep", "bondsim sweep")
    from ..sweep.execute import run_sweep
    from ..sweep.spec import invalid_points, load_spec

    spec = load_spec(args.spec)
    if spec.engine == "array":
        require("array", 'a sweep on the array engine (fix engine = "agents" in the spec to run without it)')
    out = _out_dir(args)
    extend = args.extend is not None
    bad = invalid_points(spec)
    if len(bad) == spec.n_points:
        raise ParameterError(f"every design point is refused by the model, e.g. {next(iter(bad.values()))}")
    if bad and not args.quiet:
        print(
            f"bondsim sweep: warning: {len(bad)} of {spec.n_points} design points break a rule between "
            f"parameters and will be recorded as failures, e.g. {next(iter(bad.values()))}",
            file=sys.stderr,
        )
    if not args.quiet:
        print(
            f"bondsim sweep: {spec.design} design, {spec.n_points} points x {spec.replicates} replicates = "
            f"{spec.n_runs} runs, seed {spec.seed} -> {out}"
        )
    report = run_sweep(
        spec,
        out,
        workers=args.workers,
        scheduler=args.scheduler,
        resume=args.resume,
        extend=extend,
        progress=not args.quiet,
        spec_file=str(args.spec),
    )
    if not args.quiet:
        resumed = f" ({report.resumed} already done)" if report.resumed else ""
        added = f", {report.added} new" if extend else ""
        print(
            f"bondsim sweep: {report.done} of {report.runs} runs done{resumed}{added} in "
            f"{report.elapsed_seconds:.1f} s; dataset {out / 'runs'}, manifest {out / 'manifest.json'}"
        )
    if report.failed:
        print(
            f"bondsim sweep: {report.failed} of {report.runs} runs failed; see {out / 'failures.csv'} "
            f"(bondsim sweep --resume retries them)",
            file=sys.stderr,
        )
        return 1
    return 0
