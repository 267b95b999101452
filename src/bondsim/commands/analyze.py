"""Summarize a sweep: tables, response curves, heatmaps and sensitivity indices (:mod:`bondsim.sweep.analysis`)."""

from __future__ import annotations

import argparse
import sys

from ..extras import require
from ..metrics import OUTCOMES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``bondsim analyze``."""
    parser.add_argument("sweep_dir", metavar="SWEEP_DIR", help="directory written by bondsim sweep")
    parser.add_argument("--out", help="output directory (default SWEEP_DIR/analysis)")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace existing files in --out (default: refuse a non-empty output)"
    )
    parser.add_argument(
        "--metrics", help=f"comma-separated observables (default every outcome column, e.g. {', '.join(OUTCOMES)})"
    )
    parser.add_argument("--conf", type=float, default=0.95, help="confidence level of the intervals (default 0.95)")
    parser.add_argument(
        "--window",
        nargs=2,
        type=float,
        metavar=("START_DAY", "END_DAY"),
        help="use each run's mean over these days instead of its final values",
    )


def command(args: argparse.Namespace) -> int:
    """Analyze a sweep and list what was written."""
    require("sweep", "bondsim analyze")
    from ..sweep.analysis import analyze

    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    window = tuple(args.window) if args.window else None
    info = analyze(args.sweep_dir, args.out, metrics, args.conf, window, overwrite=args.overwrite)
    print(
        f"bondsim analyze: {info['runs_analyzed']} of {info['runs_in_design']} runs, {info['design']} design, "
        f"{info['outcome']}; wrote {len(info['written'])} files to {info['out']}: {', '.join(info['written'])}"
    )
    for note in info["notes"]:
        print(f"bondsim analyze: note: {note}", file=sys.stderr)
    for warning in info["warnings"]:
        print(f"bondsim analyze: warning: {warning}", file=sys.stderr)
    return 0
