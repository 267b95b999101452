"""``bondsim calibrate SPEC.toml``: run a spec's ABC-SMC and write its posterior, diagnostics and report.

Writes into the output directory, all at once or not at all (:func:`bondsim.io.output_directory`):
``posterior.csv`` (the last generation's particles and weights), ``generations.csv`` (per
generation: epsilon, acceptance rate, effective sample size, particles, evaluations, simulations),
``pairplot.png``, ``targets.csv`` (each training target: published value, posterior predictive
mean and 95% interval), ``summary.json`` and ``report.md``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..batch import Runner, default_workers
from ..extras import require
from ..io import check_output, now, output_directory, versions, write_json
from ..trials.design import library
from ..trials.design import load as load_design
from .particle import predictive, rating_sds
from .report import pairplot, parameter_table, report
from .spec import RATING_NOISE, Spec
from .spec import load as load_spec


def ess(weights: np.ndarray) -> float:
    """Effective sample size of normalised or unnormalised weights, (sum w)^2 / sum w^2."""
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / np.sum(w**2))


def not_read(spec: Spec) -> list[dict[str, Any]]:
    """Every published outcome of the library (and of the spec's own designs) that no target read."""
    read = {(spec.designs[t.design].name, t.measure, t.statistic) for t in spec.targets}
    designs = {name: load_design(path) for name, path in library().items()}
    designs.update({d.name: d for d in spec.designs.values()})
    rows = []
    for name, design in sorted(designs.items()):
        items = []
        for o in design.outcomes:
            effect = f"g = {o.hedges_g:g}" if o.hedges_g is not None else o.reported  # "" if nothing was published
            if effect and (name, o.measure, "hedges_g") not in read:
                items.append(f"{o.measure} ({effect})")
            for level in ("mean", "sd"):
                value = getattr(o, f"control_{level}")
                if value is not None and (name, o.measure, f"control_{level}") not in read:
                    items.append(f"{o.measure} (control {level} {value:g})")
        if items:
            rows.append({"design": name, "role": design.study.role, "outcomes": items})
    return rows


def posterior_frame(spec: Spec, history: Any) -> pd.DataFrame:
    """The last generation's particles: the fitted parameters, the rating SDs (if fitted) and the weights."""
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    frame = frame[spec.names].reset_index(drop=True).astype(float)
    for p in spec.priors:
        if p.kind == "loguniform":  # pyabc held it as its logarithm (particle.natural)
            frame[p.name] = np.exp(frame[p.name])
    if RATING_NOISE in frame:
        split = [rating_sds(x, spec.retest) for x in frame[RATING_NOISE]]
        frame["rating_person_sd"] = [s["person_sd"] for s in split]
        frame["rating_occasion_sd"] = [s["occasion_sd"] for s in split]
    frame["weight"] = np.asarray(weights, dtype=float) / np.sum(weights)
    return frame


def generations_frame(history: Any, sampler: Any) -> pd.DataFrame:
    """Per generation: epsilon, acceptance rate, ESS, particles, evaluations and simulations run."""
    pops = history.get_all_populations()
    rows = []
    for p in pops[pops["t"] >= 0].itertuples():
        _, w = history.get_distribution(m=0, t=int(p.t))
        rows.append(
            {
                "generation": int(p.t),
                "epsilon": float(p.epsilon),
                "acceptance_rate": float(p.particles / p.samples),
                "ess": ess(w),
                "particles": int(p.particles),
                "evaluations": int(p.samples),
                "simulations": int(sampler.simulations.get(int(p.t), p.samples)),
            }
        )
    return pd.DataFrame(rows)


def posterior_predictive(
    spec: Spec, posterior: pd.DataFrame, runner: Runner, progress: bool
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Simulate ``spec.abc.predictive`` parameter sets drawn from the posterior; targets.csv and constraints held."""
    n = spec.abc.predictive
    stats: list[dict[str, float]] = []
    if n:
        rng = np.random.default_rng([spec.abc.seed, 0xC0FFEE])
        picks = rng.choice(len(posterior), size=n, p=posterior["weight"].to_numpy())
        tasks = [(spec, {k: float(posterior[k].iloc[i]) for k in spec.names}, d) for d, i in enumerate(picks)]
        stats = runner.map(predictive, tasks, progress=progress, desc="posterior predictive", unit="draw")
    rows = []
    for t in spec.targets:
        values = np.array([s[t.name] for s in stats], dtype=float)
        values = values[np.isfinite(values)]
        lo, hi = np.percentile(values, [2.5, 97.5]) if values.size else (np.nan, np.nan)
        rows.append(
            {"target": t.name, "design": t.design, "measure": t.measure, "statistic": t.statistic,
             "published": t.value, "scale": t.scale,
             "predictive_mean": float(values.mean()) if values.size else np.nan,
             "predictive_low": float(lo), "predictive_high": float(hi), "draws": int(values.size)}
        )  # fmt: skip
    held = {}
    for c in spec.constraints:
        diffs = np.array([s.get(f"constraint:{c.name}", np.nan) for s in stats], dtype=float)
        diffs = diffs[np.isfinite(diffs)]
        if diffs.size:
            held[c.name] = float(np.mean(diffs > 0 if c.direction == "higher" else diffs < 0))
    return pd.DataFrame(rows), held


def calibrate(
    spec: Spec | str | Path,
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = False,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Run a calibration spec's ABC-SMC; write the outputs into ``out``; return the summary.

    Args:
        spec: a spec, or a spec file.
        out: output directory (new or empty; with ``overwrite`` its files are replaced).
        workers: Dask worker processes (default: usable cores; 1 runs in this process).
        scheduler: a Dask scheduler's address (``tcp://host:port``) instead of ``workers``.
        progress: show progress bars on stderr.
        overwrite: replace the files of a non-empty ``out``.
    """
    require("calibrate", "bondsim calibrate")
    spec = spec if isinstance(spec, Spec) else load_spec(spec)
    if spec.engine == "array":
        require("array", "a calibration on the array engine (engine = 'agents' runs without it)")
    require("trials", "a calibration (its targets are virtual trials)")
    if workers is None and scheduler is None:
        workers = default_workers()
    if scheduler or workers > 1:
        require("sweep", "a calibration on Dask workers (--workers 1 runs in this process)")
    check_output(out, overwrite=overwrite)
    started, t0 = now(), time.perf_counter()
    with (
        output_directory(out, overwrite=overwrite) as tmp,
        tempfile.TemporaryDirectory(prefix="bondsim-abc-") as scratch,
        Runner(None if scheduler else workers, scheduler, backend="dask") as runner,
    ):
        from .smc import abc_run

        history, sampler = abc_run(spec, runner, str(Path(scratch) / "history.db"), progress)
        posterior = posterior_frame(spec, history)
        generations = generations_frame(history, sampler)
        fit_seconds = time.perf_counter() - t0
        targets, held = posterior_predictive(spec, posterior, runner, progress)
        elapsed = time.perf_counter() - t0
        last = generations.iloc[-1]
        if spec.abc.min_epsilon and last["epsilon"] <= spec.abc.min_epsilon:
            stopped = f"the tolerance reached min_epsilon = {spec.abc.min_epsilon:g}"
        elif spec.abc.max_simulations and generations["evaluations"].sum() >= spec.abc.max_simulations:
            stopped = f"the evaluations passed max_simulations = {spec.abc.max_simulations}"
        else:
            stopped = f"{len(generations)} generation(s) of at most {spec.abc.generations}"
        summary: dict[str, Any] = {
            "calibration": spec.name,
            "spec": spec.raw,
            "spec_file": Path(spec.path).name,
            "seed": spec.abc.seed,
            "engine": spec.engine,
            "runner": runner.info,
            "started": started,
            "elapsed_seconds": round(elapsed, 2),
            "fit_seconds": round(fit_seconds, 2),
            "stopped": stopped,
            "diagnostics": {
                "generations": len(generations),
                "final_epsilon": float(last["epsilon"]),
                "final_acceptance_rate": float(last["acceptance_rate"]),
                "final_ess": float(last["ess"]),
                "evaluations": int(generations["evaluations"].sum()),
                "simulations": int(generations["simulations"].sum()) + spec.abc.predictive,
                "particles": len(posterior),
            },
            "posterior": parameter_table(spec, posterior),
            "targets": targets.to_dict(orient="records"),
            "constraints_held": held,
            "training_targets": [
                {"name": t.name, "design": spec.designs[t.design].name, "measure": t.measure, "statistic": t.statistic}
                for t in spec.targets
            ],
            "validation_not_read": not_read(spec),
            "versions": versions(("pyabc", "statsmodels", "numba", "dask", "distributed")),
        }
        posterior.to_csv(tmp / "posterior.csv", index=False, float_format="%.8g")
        generations.to_csv(tmp / "generations.csv", index=False, float_format="%.6g")
        targets.to_csv(tmp / "targets.csv", index=False, float_format="%.6g")
        pairplot(tmp / "pairplot.png", spec, posterior)
        write_json(tmp / "summary.json", summary)
        (tmp / "report.md").write_text(report(spec, summary, generations, targets), encoding="utf-8")
    return summary


__all__ = ["calibrate", "ess", "not_read"]
