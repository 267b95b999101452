"""Two virtual trials side by side: two designs, or one design under two models, with the difference of their g.

``bondsim trial A.toml B.toml`` runs both designs; ``bondsim trial A.toml --compare variant.toml``
runs one design under the calibrated defaults and under a config of parameter changes (a model
variant: ``name = value`` pairs, ``[params]``, ``mechanisms``, ``[drugs.NAME]``), and
``--compare one.toml two.toml`` under two configs. Replication r of both sides has the same seed
(``seed_for(seed, r)``: common random numbers, the same community wherever the two sides build
it alike), so each replication gives a paired difference of Hedges' g, B minus A, per measure the
two sides share. The difference is their mean over replications, its 95% interval
``1.96 sd / sqrt(R)`` from their spread; each side's own g and Monte Carlo error are beside it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import UserError
from ..io import now, output_directory, versions, write_json
from ..params import Params
from ..params import load as load_params
from ..stats import Z95
from .design import TrialDesign
from .run import run_trials, summarize_measure


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a label, a design and the model's parameters (before the design's changes)."""

    label: str
    design: TrialDesign
    params: Params
    config: str | None = None  # the config of a model variant, as given


def sides(designs: list[TrialDesign], configs: list[str] | None, engine: str = "array") -> tuple[Side, Side]:
    """The two sides of ``bondsim trial``: two designs, or one design under two configs (one: beside the defaults).

    Raises:
        UserError: not exactly two sides, or two designs without a measure in common.
    """
    configs = list(configs or [])
    if len(designs) == 2 and not configs:
        a, b = designs
        labels = (a.name, b.name) if a.name != b.name else (f"{a.name} (1)", f"{b.name} (2)")
        params = load_params(overrides={"engine": engine})
        out = (Side(labels[0], a, params), Side(labels[1], b, params))
    elif len(designs) == 1 and configs:
        if len(configs) > 2:
            raise UserError("--compare takes one config (beside the defaults) or two")
        given = [None, *configs] if len(configs) == 1 else configs
        labels = ["defaults" if c is None else Path(c).stem for c in given]
        if labels[0] == labels[1]:
            labels = [f"{labels[0]} (1)", f"{labels[1]} (2)"]
        out = tuple(
            Side(label, designs[0], load_params(c, {"engine": engine}), c)
            for label, c in zip(labels, given, strict=True)
        )
    elif len(designs) == 2:
        raise UserError("compare two designs, or one design under --compare configs, not both")
    else:
        raise UserError("bondsim trial takes one design, two designs to compare, or one design and --compare")
    if not shared_measures(out[0].design, out[1].design):
        raise UserError(
            f"{out[0].design.name} and {out[1].design.name} have no measure in common: "
            "a comparison needs the same measure name in both"
        )
    return out  # type: ignore[return-value]


def shared_measures(a: TrialDesign, b: TrialDesign) -> list[str]:
    """Names of the measures both designs take, in ``a``'s order."""
    names = {m.name for m in b.measures}
    return [m.name for m in a.measures if m.name in names]


def difference(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, Any]:
    """The paired difference of g (``b`` minus ``a``) of one measure over replications with the same seeds."""
    joined = a[["replication", "hedges_g"]].merge(
        b[["replication", "hedges_g"]], on="replication", suffixes=("_a", "_b")
    )
    d = (joined["hedges_g_b"] - joined["hedges_g_a"]).to_numpy()
    half = float(Z95 * np.std(d, ddof=1) / np.sqrt(d.size)) if d.size > 1 else float("nan")
    mean = float(np.mean(d))
    correlation = float(np.corrcoef(joined["hedges_g_a"], joined["hedges_g_b"])[0, 1]) if d.size > 2 else float("nan")
    return {
        "difference_g": mean,
        "difference_low": mean - half,
        "difference_high": mean + half,
        "difference_sd": float(np.std(d, ddof=1)) if d.size > 1 else float("nan"),
        "pair_correlation": correlation,
    }


def compare(
    pair: tuple[Side, Side],
    out: str | Path,
    *,
    replications: int | None = None,
    seed: int,
    workers: int | None = 1,
    scheduler: str | None = None,
    progress: bool = False,
    overwrite: bool = False,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run both sides with the same seeds and write ``comparison.csv``, ``trials.parquet`` and ``summary.json``.

    Returns the comparison table (one row per shared measure) and the summary.
    """
    a, b = pair
    replications = replications or min(a.design.replications, b.design.replications)
    measures = shared_measures(a.design, b.design)
    started, t0 = now(), time.perf_counter()
    with output_directory(out, overwrite=overwrite) as tmp:
        runs = [
            run_trials(
                s.design, replications, seed, s.params, workers=workers, scheduler=scheduler, progress=progress,
                desc=s.label,
            )
            for s in pair
        ]  # fmt: skip
        rows = []
        for name in measures:
            frames = [r.trials[r.trials["measure"] == name] for r in runs]
            row: dict[str, Any] = {"measure": name}
            for side, frame in zip("ab", frames, strict=True):
                s = summarize_measure(frame)
                row.update({f"g_{side}": s["hedges_g"], f"mc_error_{side}": s["monte_carlo_error"]})
                row[f"power_{side}"] = s["power"]
            row.update(difference(*frames))
            rows.append(row)
        table = pd.DataFrame(rows)
        table.to_csv(tmp / "comparison.csv", index=False, float_format="%.6g")
        trials = pd.concat([r.trials.assign(side=s.label) for s, r in zip(pair, runs, strict=True)], ignore_index=True)
        trials.to_parquet(tmp / "trials.parquet", index=False)
        summary = {
            "command": "trial --compare" if a.design is b.design else "trial A B",
            "sides": [
                {"label": s.label, "study": s.design.name, "config": s.config, "role": s.design.study.role}
                for s in pair
            ],
            "replications": replications,
            "seed": seed,
            "engine": a.params.engine,
            "comparison": table.to_dict(orient="records"),
            "started": started,
            "elapsed_seconds": round(time.perf_counter() - t0, 2),
            "versions": versions(("statsmodels",)),
        }
        write_json(tmp / "summary.json", summary)
    return table, summary


def format_table(table: pd.DataFrame, pair: tuple[Side, Side]) -> str:
    """The comparison as text: each side's g (Monte Carlo error) and the difference with its 95% interval."""
    a, b = pair
    lines = [f"{'measure':<20} {'g ' + a.label:>22} {'g ' + b.label:>22}   difference (B - A), 95% CI"]
    for r in table.itertuples():
        lines.append(
            f"{r.measure:<20} {f'{r.g_a:+.3f} ± {r.mc_error_a:.3f}':>22} {f'{r.g_b:+.3f} ± {r.mc_error_b:.3f}':>22}"
            f"   {r.difference_g:+.3f} [{r.difference_low:+.3f}, {r.difference_high:+.3f}]"
        )
    return "\n".join(lines)


__all__ = ["Side", "compare", "difference", "format_table", "shared_measures", "sides"]
