"""Run the two contrast sweeps docs/sweeps.md shows and write their numbers and figures into it.

    .venv/bin/python tools/refresh_sweep_docs.py [--out DIR] [--workers 2]

Runs ``experiments/sweeps/naltrexone_contrast.toml`` (80 paired runs) and
``experiments/sweeps/naltrexone_sobol.toml`` (1280 paired runs) into ``DIR`` (default: a
temporary directory), analyses them, draws what pairing saves (the paired interval of the
naltrexone effect over time beside the one independent runs give) into docs/img/sweeps_pairing.png,
copies the Sobol convergence and over-time figures into docs/img/, and replaces the blocks of
docs/sweeps.md between ``<!-- sweeps:NAME -->`` and ``<!-- /sweeps:NAME -->`` with the numbers
the runs gave. About five minutes on two cores.
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
from scipy import stats

from bondsim import sweep
from bondsim.plots import save_figure, subplots

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "sweeps.md"
IMG = ROOT / "docs" / "img"
METRICS = ["felt_connection", "distress"]


def independent_half_width(a: np.ndarray, b: np.ndarray, conf: float = 0.95) -> float:
    """Half-width of Welch's t interval of mean(a) - mean(b) from independent samples."""
    va, vb, na, nb = a.var(ddof=1), b.var(ddof=1), len(a), len(b)
    se2 = va / na + vb / nb
    df = se2**2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
    return float(stats.t.ppf(0.5 + conf / 2, df) * np.sqrt(se2))


def pairing_block(out: Path) -> str:
    """The table of what pairing saved at the end of the runs (day 14), per point and observable."""
    finals = sweep.final_values(out)
    contrast = sweep.contrasts(out, METRICS).set_index(["point", "metric"])
    rows = [
        "| rejection rate | observable | effect (naltrexone - placebo) | SD placebo | SD naltrexone "
        "| SD of the paired difference | 95% half-width, paired | 95% half-width, independent runs "
        "| variance ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for point, part in finals.groupby("point"):
        wide = part.set_index(["replicate", "arm"])[METRICS].unstack("arm")
        for metric in METRICS:
            a, b = wide[(metric, "naltrexone")].to_numpy(), wide[(metric, "placebo")].to_numpy()
            c = contrast.loc[(point, metric)]
            rows.append(
                f"| {part['rejection_rate'].iloc[0]:g} | {metric} | {c['mean']:+.4f} | {b.std(ddof=1):.4f} "
                f"| {a.std(ddof=1):.4f} | {(a - b).std(ddof=1):.4f} | {c['ci_high'] - c['mean']:.4f} "
                f"| {independent_half_width(a, b):.4f} | {c['variance_ratio']:.1f} |"
            )
    return "\n".join(rows)


def plot_pairing(out: Path, path: Path, metric: str = "felt_connection") -> None:
    """The naltrexone effect on ``metric`` over time at each point: paired interval beside the independent one."""
    data = sweep.results(out)
    course = sweep.contrast_course(out, [metric])
    points = sorted(course["point"].unique())
    fig, axes = subplots(1, len(points), figsize=(4.2 * len(points), 3.3), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, point in zip(axes, points, strict=True):
        line = course[course["point"] == point].sort_values("day")
        runs = data[data["point"] == point]
        half = []
        for step in line["step"]:
            at = runs[runs["step"] == step].set_index(["replicate", "arm"])[metric].unstack("arm")
            a, b = at["naltrexone"].to_numpy(), at["placebo"].to_numpy()
            half.append(independent_half_width(a, b) if np.ptp(a - b) > 0 else 0.0)
        half = np.asarray(half)
        day, mean = line["day"].to_numpy(), line["mean"].to_numpy()
        ax.fill_between(day, mean - half, mean + half, color="tab:grey", alpha=0.25, lw=0, label="independent runs")
        ax.fill_between(day, line["ci_low"], line["ci_high"], color="tab:red", alpha=0.45, lw=0, label="paired runs")
        ax.plot(day, mean, color="tab:red", lw=1.4)
        ax.axhline(0, color="black", lw=0.6)
        ax.axvline(7, color="black", lw=0.6, ls=":")
        ax.set_xlabel("day (naltrexone from day 7)")
        ax.set_title(f"rejection rate {line['rejection_rate'].iloc[0]:g}", fontsize=9)
    axes[0].set_ylabel(f"{metric.replace('_', ' ')}: naltrexone - placebo")
    axes[0].legend(frameon=False, fontsize=8, loc="lower left")
    fig.suptitle("95% intervals of the effect from 20 replicates per arm", fontsize=10)
    save_figure(fig, path)


def sobol_block(out: Path) -> str:
    """The diagnostics of the Sobol indices of the contrast (sum of S1, unsettled indices, N to settle)."""
    sums = sweep.sobol_diagnostics(out, METRICS)
    first = sweep.sobol_indices(out, METRICS)
    rows = [
        "| observable | parameter | S1 | ST |",
        "|---|---|---|---|",
    ]
    for r in first.itertuples():
        rows.append(f"| {r.metric} | {r.parameter} | {r.S1:.2f} ± {r.S1_conf:.2f} | {r.ST:.2f} ± {r.ST_conf:.2f} |")
    rows += ["", "| observable | N | sum of S1 | wide intervals | S1 > ST | N to settle |", "|---|---|---|---|---|---|"]
    for r in sums.itertuples():
        rows.append(
            f"| {r.metric} | {r.N} | {r.sum_S1:.2f} ± {r.sum_S1_conf:.2f} | {r.wide} of 6 | {r.S1_above_ST} "
            f"| {r.N_to_settle} |"
        )
    return "\n".join(rows)


def replace_block(text: str, name: str, body: str) -> str:
    """``text`` with the block between ``<!-- sweeps:NAME -->`` and ``<!-- /sweeps:NAME -->`` replaced by ``body``."""
    pattern = re.compile(rf"(<!-- sweeps:{name} -->\n)(?:.*?\n)?(<!-- /sweeps:{name} -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"docs/sweeps.md has no block <!-- sweeps:{name} -->")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def main() -> None:
    """Run (or reuse, in ``--out``) both sweeps, draw and copy the figures, and rewrite the page's blocks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="where the sweeps go (default: a temporary directory)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    base = args.out or Path(tempfile.mkdtemp(prefix="bondsim-sweep-docs-"))
    outs = {}
    for name in ("naltrexone_contrast", "naltrexone_sobol"):
        out = base / name
        if not (out / "manifest.json").is_file():
            spec = sweep.load_spec(ROOT / "experiments" / "sweeps" / f"{name}.toml")
            report = sweep.run_sweep(spec, out, workers=args.workers, progress=True)
            print(f"{name}: {report.done} runs in {report.elapsed_seconds:.0f} s")
        if not (out / "analysis").is_dir():
            sweep.analyze(out)
        outs[name] = out
    IMG.mkdir(exist_ok=True)
    plot_pairing(outs["naltrexone_contrast"], IMG / "sweeps_pairing.png")
    analysis = outs["naltrexone_sobol"] / "analysis"
    shutil.copy(analysis / "sobol_convergence_naltrexone.png", IMG / "sweeps_sobol_convergence.png")
    shutil.copy(analysis / "sobol_time_naltrexone.png", IMG / "sweeps_sobol_time.png")
    text = PAGE.read_text(encoding="utf-8")
    text = replace_block(text, "pairing", pairing_block(outs["naltrexone_contrast"]))
    text = replace_block(text, "sobol", sobol_block(outs["naltrexone_sobol"]))
    PAGE.write_text(text, encoding="utf-8")
    print(pairing_block(outs["naltrexone_contrast"]))
    print(sobol_block(outs["naltrexone_sobol"]))


if __name__ == "__main__":
    main()
