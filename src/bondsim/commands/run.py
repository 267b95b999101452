"""Run the model once: ``bondsim run`` writes timeseries.csv and run.json (and a figure).

:func:`write_run` does the same for scripts. ``bondsim run --from-sweep DIR --run ID`` runs one
run of a sweep again (:mod:`bondsim.sweep.reproduce`): its rows, exactly as the sweep recorded
them, go to timeseries.csv, and run.json says whether they are identical to the sweep's.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from .. import events as interventions
from ..errors import UserError
from ..io import check_output, now, output_directory, versions, write_json
from ..memory import check_memory
from ..metrics import UNITS
from ..model import BondingModel, make_seed, state_params, steps_for
from ..outputs import Outputs, parse_outputs
from ..params import RUN_TABLES, ParameterError, Params, parse_assignments, read_toml
from ..states import SavedState
from .arguments import (
    add_model_arguments,
    add_overwrite_argument,
    model_params,
    positive_float,
    positive_int,
    seed_value,
)

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
    parser.add_argument(
        "--save-state",
        action="store_true",
        help="also write settled.npz: the community at time zero, to start other runs from (--state)",
    )
    parser.add_argument(
        "--state",
        metavar="FILE",
        help="start from a saved community (settled.npz) with its parameters and seed; --set changes doses and "
        "behaviour, not what built it",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    outputs = parser.add_argument_group("outputs (replace those of the --config file's [outputs] table)")
    outputs.add_argument(
        "--output",
        metavar="OUTPUT",
        action="append",
        dest="outputs",
        help="a column to record (repeatable): a metric, 'METRIC by GROUP' or module:function",
    )
    outputs.add_argument("--people", metavar="VAR,...", help="per-person variables to write to people.parquet")
    outputs.add_argument("--people-at", metavar="SCHEDULE", help="when to take them (default end)")
    outputs.add_argument("--record", metavar="SCHEDULE", help="all (default), every:K, hours:[h1, h2] or end")
    outputs.add_argument("--stop", metavar="CONDITION", help="end the run early when e.g. 'distress > 0.8' holds")
    again = parser.add_argument_group("one run of a sweep again")
    again.add_argument("--from-sweep", metavar="DIR", help="a sweep folder: rerun its run --run ID exactly")
    again.add_argument(
        "--run", metavar="ID", type=int, dest="run_id", help="the run number (column run of the dataset)"
    )


# flags that set what --from-sweep takes from the sweep: refused beside it
NOT_WITH_SWEEP = (
    ("config", "--config"),
    ("assignments", "--set"),
    ("engine", "--engine"),
    ("steps", "--steps"),
    ("days", "--days"),
    ("seed", "--seed"),
    ("outputs", "--output"),
    ("people", "--people"),
    ("people_at", "--people-at"),
    ("record", "--record"),
    ("stop", "--stop"),
    ("plot", "--plot"),
    ("state", "--state"),
    ("save_state", "--save-state"),
)


def run_outputs(args: argparse.Namespace) -> Outputs:
    """The outputs of ``bondsim run``: the ``[outputs]`` table of ``--config``, then the flags."""
    table = dict(read_toml(args.config).get("outputs", {}) or {}) if args.config else {}
    if not isinstance(table, dict):
        table = {"metrics": table}  # refused by parse_outputs with one line
    if args.outputs:
        table["metrics"] = list(args.outputs)
    if args.people is not None:
        table["people"] = [v.strip() for v in args.people.split(",") if v.strip()]
    for key in ("people_at", "record", "stop"):
        if getattr(args, key) is not None:
            table[key] = getattr(args, key)
    return parse_outputs(table, "[outputs]" if not (args.outputs or args.record or args.stop) else "outputs")


def run_events(args: argparse.Namespace, params: Params) -> tuple[interventions.Event, ...]:
    """The interventions of ``bondsim run``: the ``[[events]]`` of ``--config``, checked."""
    if not args.config:
        return ()
    tables = read_toml(args.config).get("events")
    return () if tables is None else interventions.parse(tables, f"[[events]] in {args.config}", params)


def write_run(
    out: str | Path,
    params: Params | None = None,
    steps: int | None = None,
    days: float | None = None,
    seed: int | None = None,
    plot: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    outputs: Outputs | None = None,
    events: tuple[interventions.Event, ...] = (),
    state: SavedState | None = None,
    save_state: bool = False,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run the model once and write ``timeseries.csv`` and ``run.json`` (and ``timeseries.png``) into ``out``.

    What ``bondsim run`` does, for scripts. Returns the timeseries and run.json's content. With
    ``outputs`` (:class:`bondsim.outputs.Outputs`), the timeseries holds those columns at their
    schedule, per-person data goes to ``people.parquet``, and a stop condition may end the run early.
    ``events`` (:func:`bondsim.events.parse`) act at their day and hour from time zero (after the
    warm-up, ``params.warmup_days``); run.json lists them. ``state`` (:func:`bondsim.model.state_params`)
    starts from a saved community at time zero instead of building one (its seed is the run's);
    ``save_state`` also writes ``settled.npz``, the community at time zero.

    Raises:
        OutputError: ``out`` is not empty (without ``overwrite``), cannot be written, or the disk filled up;
            nothing is left behind.
        ResourceError: the population does not fit in this machine's memory on ``params.engine``.
        KeyboardInterrupt: on Ctrl-C, with nothing left behind.
    """
    from .. import outputs as outs
    from ..recording import record

    params = params or Params()
    outputs = outputs or Outputs()
    outs.check_outputs(outputs, params)
    if plot and outputs.metrics is not None:
        raise ParameterError("--plot draws the default metrics: leave out the metrics of [outputs] (or --output)")
    n_steps = steps_for(params, steps, days)
    seed = make_seed(seed) if state is None else state.seed
    out = check_output(out, overwrite=overwrite)
    check_memory(params.n_agents, params.mean_degree, params.engine)
    # the output is staged from the start: an unwritable --out fails before the run, not after it,
    # and an interrupted or failed run leaves nothing behind
    with output_directory(out, overwrite=overwrite) as tmp:
        started_at = now()
        t0 = time.perf_counter()
        model = BondingModel(params, seed=seed, state=state)
        if save_state:
            model.save_state(tmp / "settled.npz")
        interventions.schedule(model, events)
        recording = record(model, n_steps, outputs, progress=progress)
        frame = recording.frame
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
            "outputs": outputs.to_dict(),
            "stopped_at_step": recording.stopped_at,
            "warmed_up_days": model.warmed_up_days,
            "from_state": state is not None,
            "events": interventions.to_tables(events),
        }
        if not outputs.plain:
            info["columns"] = outs.describe(outputs, params, UNITS, present=list(frame.columns))
        if recording.people is not None:
            recording.people.to_parquet(tmp / "people.parquet", index=False, engine="pyarrow")
            info["people_columns"] = outs.describe_people(outputs, params)
        frame.to_csv(tmp / "timeseries.csv", index=False)
        write_json(tmp / "run.json", info)
        if plot:
            from ..plots import plot_timeseries

            plot_timeseries(frame, tmp / "timeseries.png", title=_title(params))
    return frame, info


def command(args: argparse.Namespace) -> int:
    """Run the model and write its outputs."""
    if args.from_sweep is not None or args.run_id is not None:
        return from_sweep(args)
    state = None
    if args.state:
        if args.config:
            raise UserError("--state starts from a saved community with its parameters: change them with --set")
        if args.seed is not None:
            raise UserError("--state runs with the seed of the saved community: drop --seed")
        overrides = parse_assignments(args.assignments)
        overrides.update({k: getattr(args, k) for k in ("engine", "threads") if getattr(args, k, None)})
        params, state = state_params(args.state, overrides)
    else:
        params = model_params(args, reads=RUN_TABLES)
    outputs = run_outputs(args)
    events = run_events(args, params)
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
        outputs=outputs,
        events=events,
        state=state,
        save_state=args.save_state,
    )
    if not args.quiet:
        last = frame.iloc[-1]
        n_steps = info["steps"]
        print(
            f"bondsim run: {params.n_agents} people, {n_steps} steps ({n_steps * params.step_hours / 24:g} days), "
            f"drug {params.drug}, seed {info['seed']}, {info['elapsed_seconds']:.1f} s"
        )
        shown = [c for c in (SUMMARY_COLUMNS if outputs.metrics is None else frame.columns[2:]) if c in frame]
        print("  final: " + ", ".join(f"{c} {float(last[c]):.3f}" for c in shown))
        if info["stopped_at_step"] is not None:
            print(f"  stopped at step {info['stopped_at_step']}: {outputs.stop.text}")
        extra = (
            (" and timeseries.png" if args.plot else "")
            + (" and people.parquet" if (out / "people.parquet").exists() else "")
            + (" and settled.npz" if args.save_state else "")
        )
        print(f"  wrote {out / 'timeseries.csv'} and {out / 'run.json'}" + extra)
    return 0


def _title(params: Params) -> str:
    drug = params.drug if params.drug in ("none", "placebo") else f"{params.drug} {params.dose_mg:g} mg"
    return f"{params.n_agents} people, {params.network.replace('_', '-')} network, {drug}"


def from_sweep(args: argparse.Namespace) -> int:
    """``bondsim run --from-sweep DIR --run ID``: one run of a sweep again, compared with the sweep's rows.

    Exit status 0 when the rows are identical to the sweep's (or the sweep has none for the run),
    1 when they differ (e.g. another bondsim), 2 for a user error.
    """
    from ..sweep.reproduce import identical, rerun, same_code

    if args.from_sweep is None:
        raise ParameterError("--run needs --from-sweep DIR: the sweep whose run to do again")
    if args.run_id is None:
        raise ParameterError("--from-sweep needs --run ID: the run to do again (column run of the dataset)")
    given = [flag for dest, flag in NOT_WITH_SWEEP if getattr(args, dest, None) not in (None, [], False)]
    if given:
        raise ParameterError(f"{given[0]} cannot go with --from-sweep: the run takes everything from the sweep")
    out = check_output(Path(args.out), overwrite=args.overwrite)
    started_at = now()
    t0 = time.perf_counter()
    found, result = rerun(args.from_sweep, args.run_id)
    elapsed = time.perf_counter() - t0
    same = identical(found, result.rows)
    task = found.task
    params = task.params()
    with output_directory(out, overwrite=args.overwrite) as tmp:
        result.rows.to_csv(tmp / "timeseries.csv", index=False)
        if result.people is not None:
            result.people.to_parquet(tmp / "people.parquet", index=False, engine="pyarrow")
        info = {
            "command": "run",
            "from_sweep": str(found.out),
            "run": task.run,
            "point": task.point,
            "replicate": task.replicate,
            "arm": task.arm,
            "params": params.to_dict(),
            "seed": task.seed,
            "steps": int(result.rows["step"].max()) if len(result.rows) else 0,
            "engine": params.engine,
            "started": started_at,
            "elapsed_seconds": round(elapsed, 3),
            "versions": versions(),
            "outputs": task.outputs.to_dict(),
            "identical_to_sweep": same,
            "same_bondsim_as_sweep": same_code(found),
        }
        write_json(tmp / "run.json", info)
    if not args.quiet:
        arm = f", arm {task.arm}" if task.arm else ""
        verdict = {
            True: f"identical to {found.recorded}",
            None: f"the sweep has no rows of run {task.run} to compare with",
            False: f"DIFFERENT from {found.recorded}",
        }[same]
        print(
            f"bondsim run: run {task.run} of {found.out} (point {task.point}, replicate {task.replicate}{arm}, "
            f"seed {task.seed}), {elapsed:.1f} s: {verdict}"
        )
        print(f"  wrote {out / 'timeseries.csv'} and {out / 'run.json'}")
    if same is False:
        why = "" if same_code(found) else " (this bondsim differs from the sweep's: see the manifest's bondsim)"
        print(f"bondsim run: the rerun differs from the sweep's rows{why}", file=sys.stderr)
        return 1
    return 0
