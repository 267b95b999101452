"""Run the virtual meta-analysis and the Inagaki 2016 power curve, and write their numbers into docs/trials.md.

    .venv/bin/python tools/refresh_trial_docs.py [--out DIR] [--seed 2016] [--reuse] [--only meta|power]

Runs ``bondsim experiment meta_analysis`` (over the shipped posterior, its default) and
``bondsim trial inagaki2016 --power 20 40 80 160`` with their defaults (seed 2016) into ``DIR``
(default: a temporary directory), copies the forest plot and the power curve into docs/img/, and
replaces each block of docs/trials.md between ``<!-- trials:NAME -->`` and ``<!-- /trials:NAME -->``
with what the runs gave; ``--only`` refreshes one of the two.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from bondsim.experiments import DEFAULT_SEED, run_experiment
from bondsim.trials import run_design

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "trials.md"
SIZES = [20, 40, 80, 160]


def meta_blocks(s: dict, out: Path) -> dict[str, str]:
    """The library table, the pooled-literature sentence and the list of where the model fails."""
    table = [line for line in (out / "report.md").read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    lit, rep = s["virtual_literature"], s["reported_significant"]
    val = s["virtual_literature_validation_only"]
    inside = s["observed_inside_prediction"]
    post = s.get("posterior")
    where = (
        f"over the shipped posterior ('{post['name']}', {post['particles']} particles; one parameter set per virtual "
        "literature, shared by its studies)"
        if post
        else "at the default parameters"
    )
    text = (
        f"Seed 2016, {s['replications']} virtual trials per study, {where}, run time "
        f"{s['elapsed_seconds'] / 60:.0f} min. Published effects inside their predicted 95% interval: "
        f"{inside['inside']} of {inside['of']} "
        "(the one published g we could find or derive, Inagaki, Hazlett & Andreescu 2019). One virtual replication "
        f"of this literature, pooled: g = {lit['hedges_g_median']:.2f} (median; 95% of virtual literatures between "
        f"{lit['hedges_g_2_5']:.2f} and {lit['hedges_g_97_5']:.2f}), a typical 95% CI of "
        f"[{lit['ci_low_median']:.2f}, {lit['ci_high_median']:.2f}], tau^2 = {lit['tau2_median']:.3f}, "
        f"I^2 = {lit['i2_median']:.0f}%; {100 * lit['fraction_excluding_zero']:.0f}% of virtual literatures exclude 0."
    )
    if post:
        fixed = s["sampling_only"]["virtual_literature"]
        text += (
            f" At the default parameters (sampling error only) the pooled g is {fixed['hedges_g_median']:.2f} "
            f"({fixed['hedges_g_2_5']:.2f} to {fixed['hedges_g_97_5']:.2f})."
        )
    text += (
        " Published: g = -0.20 [-0.32, -0.07], I^2 = 23%, over 17 outcomes, with a multilevel model; the virtual "
        f"literature pools {len(s['outcomes'])} outcomes as if independent, though outcomes of one sample are "
        "correlated. This agreement is not independent of the calibration, which fitted the Inagaki 2016 diary "
        "to g = -0.20; the validation outcomes alone pool to "
        f"g = {val['hedges_g_median']:.2f} (95% of virtual literatures between {val['hedges_g_2_5']:.2f} and "
        f"{val['hedges_g_97_5']:.2f}), I^2 = {val['i2_median']:.0f}%. For the record, not as a target: of "
        f"{rep['validation_outcomes']} validation outcomes the papers reported {rep['observed']} as a significant "
        f"reduction; the model expects {rep['expected']:.1f} (the sum of their powers)."
    )
    checks = "\n".join(
        f"- **{'holds' if c['holds'] else 'FAILS'}**: {c['check']} ({c['detail']})." for c in s.get("checks", [])
    )
    return {"meta-table": "\n".join(table), "meta-text": text, "meta-checks": checks}


def power_blocks(s: dict, out: Path) -> dict[str, str]:
    """The power table and the answer to the page's question."""
    curve = pd.read_csv(out / "power.csv")
    lines = ["| participants | " + " | ".join(curve["measure"].unique()) + " |"]
    lines.append("|---" * (1 + curve["measure"].nunique()) + "|")
    for n, rows in curve.groupby("participants", sort=True):
        cells = [f"{100 * r.power:.0f}% [{100 * r.power_low:.0f}, {100 * r.power_high:.0f}]" for r in rows.itertuples()]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")

    def first_at_80(measure: str) -> str:
        rows = curve[(curve["measure"] == measure) & (curve["power_low"] >= 0.8)]
        return f"{int(rows['participants'].min())}" if len(rows) else f"more than {max(SIZES)}"

    text = (
        f"Power with its binomial 95% interval, {s['replications']} virtual trials per size. The smallest of these "
        f"sizes whose whole interval lies above 80%: {first_at_80('daily_connection')} participants for the daily "
        f"diary, {first_at_80('lab_connection')} for the lab task and {first_at_80('positive_affect')} for positive "
        f"affect. At the real trial's 31 participants the "
        f"model gives the diary {100 * s['measures']['daily_connection']['power']:.0f}% power and the lab task "
        f"{100 * s['measures']['lab_connection']['power']:.0f}%."
    )
    return {"power-table": "\n".join(lines), "power-text": text}


def replace_blocks(page: str, blocks: dict[str, str]) -> str:
    """``page`` with each marked block's content replaced."""
    for name, content in blocks.items():
        pattern = re.compile(rf"(<!-- trials:{name} -->\n)(?:.*?\n)?(<!-- /trials:{name} -->)", re.S)
        if not pattern.search(page):
            raise SystemExit(f"docs/trials.md has no block <!-- trials:{name} -->")
        page = pattern.sub(lambda m, c=content: m.group(1) + c + "\n" + m.group(2), page)
    return page


def main(argv: list[str] | None = None) -> int:
    """Run both, update the page and its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="where the runs go (default: a temporary directory)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--reuse", action="store_true", help="take the runs already in --out instead of running")
    parser.add_argument("--only", choices=("meta", "power"), help="refresh only the meta-analysis or the power curve")
    args = parser.parse_args(argv)
    if args.reuse and args.out is None:
        parser.error("--reuse needs --out, the folder of the earlier runs")
    base = args.out or Path(tempfile.mkdtemp(prefix="bondsim-trials-"))
    blocks = {}
    if args.only in (None, "meta"):
        if args.reuse:
            meta = json.loads((base / "meta_analysis" / "summary.json").read_text(encoding="utf-8"))
        else:
            meta = run_experiment(
                "meta_analysis", base / "meta_analysis", seed=args.seed, overwrite=True, progress=True
            )
        blocks.update(meta_blocks(meta, base / "meta_analysis"))
        shutil.copyfile(base / "meta_analysis" / "forest.png", ROOT / "docs" / "img" / "trials_forest.png")
    if args.only in (None, "power"):
        if args.reuse:
            power = json.loads((base / "power" / "summary.json").read_text(encoding="utf-8"))
        else:
            power = run_design(
                "inagaki2016", base / "power", seed=args.seed, power=SIZES, overwrite=True, progress=True
            )
        blocks.update(power_blocks(power, base / "power"))
        shutil.copyfile(base / "power" / "power.png", ROOT / "docs" / "img" / "trials_power.png")
    PAGE.write_text(replace_blocks(PAGE.read_text(encoding="utf-8"), blocks), encoding="utf-8")
    print(f"docs/trials.md and its figures refreshed from {base}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
