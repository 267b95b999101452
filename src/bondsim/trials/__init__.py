"""Virtual trials: ``bondsim trial DESIGN.toml`` runs a study design many times on the model.

A design file (:mod:`bondsim.trials.design`) names the community, participants, arms, layout,
measures, rating model and the paper's analysis; ``experiments/trials/`` is the library of the
published human studies. Each run writes ``trials.parquet`` (one row per virtual trial and
measure), ``summary.json``, ``report.md`` and figures into ``--out``, all at once or not at all;
``--power N ...`` adds the power of the design at each sample size (``power.csv``, ``power.png``).
``--posterior default`` (or a ``posterior.csv``) draws one parameter set per virtual trial from a
calibration's posterior, and the report shows each measure's prediction interval with parameter
uncertainty beside the sampling-only one (the same trials at the default parameters).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import UserError
from ..extras import require
from ..io import now, output_directory, versions, write_json
from ..model import make_seed
from ..params import load as load_params
from .design import TrialDesign, dump, library, load
from .run import TrialRun, power_curve, run_trials, summarize

DEFAULT_SEED = 2016
# what a run with a posterior keeps of the same trials at the default parameters (sampling error only)
SAMPLING_ONLY = ("hedges_g", "monte_carlo_error", "median_g", "prediction_low", "prediction_high", "power")


def check_runnable(design: TrialDesign) -> None:
    """Refuse a design whose number of participants was not published (the file says so)."""
    if not design.runnable:
        raise UserError(
            f"{design.name}: the number of participants is not known (participants.n): the design cannot run; "
            "give n in a copy of the file"
        )


def check_sizes(design: TrialDesign, sizes: list[int]) -> None:
    """Refuse sample sizes too small for the layout (every sequence needs two people)."""
    need = 2 * len(design.layout.sequences)
    small = [n for n in sizes if n < need]
    if small:
        raise UserError(f"--power {small[0]}: this layout needs at least {need} participants (2 per sequence)")


def run_design(
    design: TrialDesign | str | Path,
    out: str | Path,
    *,
    replications: int | None = None,
    seed: int = DEFAULT_SEED,
    power: list[int] | None = None,
    engine: str = "array",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = False,
    overwrite: bool = False,
    posterior: Any = None,
) -> dict[str, Any]:
    """Run a design's virtual trials (and optionally its power curve); write the outputs; return the summary.

    Args:
        design: a design, a design file, or the name of a library design (e.g. ``"inagaki2016"``).
        out: output directory (new or empty; with ``overwrite`` its files are replaced).
        replications: virtual trials (default: the design's ``[run] replications``).
        seed: master seed; replication r has seed ``seed_for(seed, r, bits=32)``.
        power: sample sizes for a power curve (the same replications at each).
        engine: ``array`` or ``agents``.
        workers: processes (default: usable cores).
        scheduler: a Dask scheduler's address (``tcp://host:port``) instead of ``workers``.
        progress: show progress bars.
        overwrite: replace the files of a non-empty ``out``.
        posterior: a calibration's posterior (a :class:`~bondsim.calibration.posterior.Posterior`, the
            name of a shipped one such as ``"default"``, or a ``posterior.csv``): each virtual trial
            draws its parameters from it, and the same trials also run at the default parameters
            (sampling error only); the summary and report give both prediction intervals.
    """
    from ..batch import default_workers
    from .report import power_figure, report, write_figures

    require("trials", "a virtual trial")
    if engine == "array":
        require("array", "a virtual trial on the array engine (--engine agents runs without it)")
    design = design if isinstance(design, TrialDesign) else load(design)
    check_runnable(design)
    replications = replications or design.replications
    if power:
        check_sizes(design, power)
    params = load_params(overrides={"engine": engine})
    seed = make_seed(seed)
    if posterior is not None:
        from ..calibration.posterior import Posterior
        from ..calibration.posterior import load as load_posterior

        posterior = posterior if isinstance(posterior, Posterior) else load_posterior(posterior)
    if workers is None and scheduler is None:
        workers = default_workers()
    started, t0 = now(), time.perf_counter()
    with output_directory(out, overwrite=overwrite) as tmp:
        run: TrialRun = run_trials(
            design, replications, seed, params, workers=workers, scheduler=scheduler, progress=progress,
            posterior=posterior,
        )  # fmt: skip
        summary = summarize(run)
        trials = run.trials
        if posterior is not None:  # the same trials at the default parameters: sampling error only
            fixed = run_trials(
                design, replications, seed, params, workers=workers, scheduler=scheduler, progress=progress,
                desc=f"{design.name} (default parameters)",
            )  # fmt: skip
            fixed_summary = summarize(fixed)
            for m in design.measures:
                summary[m.name]["sampling_only"] = {k: fixed_summary[m.name][k] for k in SAMPLING_ONLY}
            trials = pd.concat(
                [run.trials.assign(parameters="posterior"), fixed.trials.assign(parameters="default")],
                ignore_index=True,
            )
        curve = None
        if power:
            curve = power_curve(
                design, power, replications, seed, params, workers=workers, scheduler=scheduler, progress=progress,
                posterior=posterior,
            )  # fmt: skip
            curve.to_csv(tmp / "power.csv", index=False, float_format="%.6g")
            power_figure(tmp, curve, design)
            summary["power"] = curve.to_dict(orient="records")
        trials.to_parquet(tmp / "trials.parquet", index=False)
        figures = write_figures(tmp, run)
        elapsed = time.perf_counter() - t0
        (tmp / "report.md").write_text(
            report(run, summary, curve, figures, elapsed, posterior.info() if posterior is not None else None),
            encoding="utf-8",
        )
        (tmp / "design.toml").write_text(dump(design), encoding="utf-8")
        result = {
            "study": design.name,
            "role": design.study.role,
            "replications": replications,
            "measures": {m.name: summary[m.name] for m in design.measures},
            **{k: v for k, v in summary.items() if k not in {m.name for m in design.measures}},
            "seed": seed,
            "engine": engine,
            "started": started,
            "elapsed_seconds": round(elapsed, 2),
            "versions": versions(("statsmodels",)),
        }
        if posterior is not None:
            result["posterior"] = posterior.info()
        write_json(tmp / "summary.json", result)
    return result


__all__ = ["TrialDesign", "dump", "library", "load", "run_design"]
