"""Run the model once: ``bondsim run`` writes timeseries.csv and run.json (and a figure)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import pandas as pd

from .io import check_output, now, output_directory, versions, write_json
from .memory import check_memory
from .model import BondingModel, make_seed, steps_for
from .params import Params, load, parse_assignments

SUMMARY_COLUMNS = (
    "mean_tone",
    "felt_connection",
    "positive_affect",
    "distress",
    "seeking_rate",
    "mean_bond",
    "strong_bonds",
    "mean_occupancy",
)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--config``, ``--set`` and ``--engine``, shared by commands that build a model."""
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


def model_params(args: argparse.Namespace) -> Params:
    """Parameters from ``--config``, ``--set`` and ``--engine``, validated."""
    overrides = parse_assignments(args.assignments)
    if getattr(args, "engine", None):
        overrides["engine"] = args.engine
    return load(args.config, overrides)


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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``bondsim run``."""
    add_model_arguments(parser)
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--steps", type=positive_int, help="number of steps")
    length.add_argument("--days", type=positive_float, help="simulated days (default 7)")
    parser.add_argument("--seed", type=seed_value, help="master seed (default: drawn and recorded)")
    parser.add_argument("--out", default="results/run", help="output directory (default results/run)")
    add_overwrite_argument(parser)
    parser.add_argument("--plot", action="store_true", help="also write timeseries.png")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")


def add_overwrite_argument(parser: argparse.ArgumentParser, what: str = "files in --out") -> None:
    """``--overwrite``: the flag every command that writes files shares."""
    parser.add_argument(
        "--overwrite", action="store_true", help=f"replace existing {what} (default: refuse a non-empty output)"
    )


def write_run(
    out: str | Path,
    params: Params | None = None,
    steps: int | None = None,
    days: float | None = None,
    seed: int | None = None,
    plot: bool = False,
    overwrite: bool = False,
    progress: bool = False,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run the model once and write ``timeseries.csv`` and ``run.json`` (and ``timeseries.png``) into ``out``.

    What ``bondsim run`` does, for scripts. Returns the timeseries and run.json's content.

    Raises:
        OutputError: ``out`` is not empty (without ``overwrite``), cannot be written, or the disk filled up;
            nothing is left behind.
        ResourceError: the population does not fit in this machine's memory on ``params.engine``.
        KeyboardInterrupt: on Ctrl-C, with nothing left behind.
    """
    params = params or Params()
    n_steps = steps_for(params, steps, days)
    seed = make_seed(seed)
    out = check_output(out, overwrite=overwrite)
    check_memory(params.n_agents, params.mean_degree, params.engine)
    # the output is staged from the start: an unwritable --out fails before the run, not after it,
    # and an interrupted or failed run leaves nothing behind
    with output_directory(out, overwrite=overwrite) as tmp:
        started_at = now()
        t0 = time.perf_counter()
        model = BondingModel(params, seed=seed)
        frame = model.run(n_steps, progress=progress)
        elapsed = time.perf_counter() - t0
        info = {
            "command": "run",
            "params": params.to_dict(),
            "seed": seed,
            "steps": n_steps,
            "hours": n_steps * params.step_hours,
            "engine": params.engine,
            "started": started_at,
            "elapsed_seconds": round(elapsed, 3),
            "versions": versions(),
        }
        frame.to_csv(tmp / "timeseries.csv", index=False)
        write_json(tmp / "run.json", info)
        if plot:
            from .plots import plot_timeseries

            plot_timeseries(frame, tmp / "timeseries.png", title=_title(params))
    return frame, info


def command(args: argparse.Namespace) -> int:
    """Run the model and write its outputs."""
    params = model_params(args)
    out = Path(args.out)
    frame, info = write_run(
        out,
        params,
        steps=args.steps,
        days=args.days,
        seed=args.seed,
        plot=args.plot,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    if not args.quiet:
        last = frame.iloc[-1]
        n_steps = info["steps"]
        print(
            f"bondsim run: {params.n_agents} people, {n_steps} steps ({n_steps * params.step_hours / 24:g} days), "
            f"drug {params.drug}, seed {info['seed']}, {info['elapsed_seconds']:.1f} s"
        )
        print("  final: " + ", ".join(f"{c} {last[c]:.3f}" for c in SUMMARY_COLUMNS))
        print(f"  wrote {out / 'timeseries.csv'} and {out / 'run.json'}" + (" and timeseries.png" if args.plot else ""))
    return 0


def _title(params: Params) -> str:
    drug = params.drug if params.drug in ("none", "placebo") else f"{params.drug} {params.dose_mg:g} mg"
    return f"{params.n_agents} people, {params.network.replace('_', '-')} network, {drug}"
