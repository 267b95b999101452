"""Run every named experiment with its default design and print the numbers docs/experiments.md quotes.

    .venv/bin/python tools/refresh_experiment_docs.py [--out DIR] [--seed 2016] [--only NAME ...] [--figures]
                                                      [--reuse]

Each experiment runs with ``bondsim experiment NAME`` defaults (seed 2016, the page's seed) into
``DIR/NAME`` (default: a temporary directory); ``--reuse`` takes the runs already there instead.
``--figures`` copies the figures the page shows into docs/img/ and rewrites the page's generated
blocks (between ``<!-- experiments:NAME -->`` and ``<!-- /experiments:NAME -->``). The other
numbers are printed per experiment, in the page's order; paste them into the page. sensitivity
takes 9 minutes on two cores; meta_analysis runs every trial twice (over the posterior and at the
defaults).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bondsim.experiments import DEFAULT_SEED, REGISTRY, run_experiment
from bondsim.experiments.sensitivity import WIDE_ST, carriers

ROOT = Path(__file__).resolve().parents[1]
FIGURES = {  # experiment: the figures docs/experiments.md shows, copied to docs/img/exp_NAME_FIGURE
    "inagaki2016": ("g_distribution.png", "paired.png", "occupancy.png"),
    "separation_distress": ("dose_response.png",),
    "grooming": ("solicitation.png",),
    "maintenance": ("bonds_over_weeks.png",),
    "chronic_naltrexone": ("course.png",),
    "morphine_withdrawal": ("course.png",),
    "state_dependence": ("seeking_by_state.png",),
    "bereavement": ("course.png",),
    "sensitivity": ("sobol.png",),
}
PAGE = ROOT / "docs" / "experiments.md"


def ci(x: dict[str, float], fmt: str = "+.3f") -> str:
    """Mean (low .. high)."""
    return f"{x['mean']:{fmt}} ({x['ci_low']:{fmt}} .. {x['ci_high']:{fmt}})"


def inagaki2016(s: dict[str, Any], out: Path) -> list[str]:
    """Pooled g per measure, occupancy, and the report's tables and residual-blockade percentiles."""
    lines = []
    for m in ("daily_connection", "lab_connection", "positive_affect"):
        r = s[m]
        lines.append(
            f"{m}: pooled g {r['hedges_g']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]; "
            + ", ".join(f"{k} {v}" for k, v in r.items() if k not in ("hedges_g", "ci_low", "ci_high"))
        )
    lines.append(f"peak occupancy {s['peak_occupancy']:.3f}; residual at end of washout (mean) "
                 f"{s['residual_occupancy_end_of_washout']:.3f}")  # fmt: skip
    report = (out / "report.md").read_text(encoding="utf-8")
    lines += [line for line in report.splitlines() if line.startswith(("|", "Residual"))]
    return lines


def separation_distress(s: dict[str, Any], out: Path) -> list[str]:
    """Calls, expected calls, distress and occupancy per dose; paired call differences."""
    lines = [
        f"{r['drug']} {r['dose_mg']:g} mg: calls/h {r['distress_calls_per_hour']:.3f} (SEM {r['calls_sem']:.3f}), "
        f"expected {r['call_rate']:.3f}, distress {r['distress']:.3f}, occupancy {r['occupancy']:.2f}"
        for r in s["dose_response"]
    ]
    for drug, p in s["calls_vs_saline"].items():
        lines.append(f"calls {drug} {p['dose_mg']:g} mg - saline (paired): {p['mean']:+.3f} (SE {p['sem']:.3f})")
    return lines


def grooming(s: dict[str, Any], out: Path) -> list[str]:
    """Solicitations (counted and expected) per drug; tone rise after grooming."""
    lines = [
        f"{k}: solicitations/h {c['contact_seeking']:.3f} (SEM {c['sem']:.3f}), expected {c['solicitation_rate']:.3f}"
        for k, c in s["conditions"].items()
    ]
    return [*lines, f"tone rise after grooming {s['tone_rise_after_grooming_percent']:.0f}%"]


def maintenance(s: dict[str, Any], out: Path) -> list[str]:
    """Bonds, strong bonds and felt connection, treated vs untreated, per scenario."""
    lines = []
    for name, sc in s["scenarios"].items():
        t, u = sc["treated"], sc["untreated"]
        lines.append(
            f"{name}: bonds {t['bond_sum']:.2f} vs {u['bond_sum']:.2f}, strong bonds {t['strong_bonds']:.2f} vs "
            f"{u['strong_bonds']:.2f}, felt connection {t['felt_connection']:.3f} vs {u['felt_connection']:.3f}"
        )
    return lines


def windows(s: dict[str, Any], out: Path) -> list[str]:
    """Every window of a chronic course's summary (drug - placebo, 95% CI)."""
    lines = []
    for measure, values in s.items():
        if not isinstance(values, dict):
            if measure not in ("measure", "experiment", "seed", "engine", "started", "elapsed_seconds"):
                lines.append(f"{measure}: {values}")
            continue
        if measure in ("design", "params", "versions"):
            continue
        for key, v in values.items():
            lines.append(f"{measure} {key}: " + (ci(v) if isinstance(v, dict) else f"{v}"))
    return lines


def state_dependence(s: dict[str, Any], out: Path) -> list[str]:
    """Seeking, distress and reward memory differences per state, and by day."""
    lines = []
    for st in ("comfortable", "isolated"):
        r = s[st]
        lines.append(
            f"{st}: seeking {r['seeking_rate_placebo']:.2f} -> {r['seeking_rate_naltrexone']:.2f}/day, difference "
            f"{ci(r['seeking_rate_difference'], '+.2f')}; distress {ci(r['distress_difference'])}; reward memory "
            f"{ci(r['reward_memory_difference'])}; by day "
            + ", ".join(f"{b['mean']:+.2f}" for b in r["seeking_rate_difference_by_day"])
        )
    return [*lines, f"both_signs {s['both_signs']}"]


def bereavement(s: dict[str, Any], out: Path) -> list[str]:
    """The report's tables: protest peaks and half-times, tone deficit, the sweep."""
    report = (out / "report.md").read_text(encoding="utf-8")
    return [line for line in report.splitlines() if line.startswith(("|", "Tone", "4 communities"))]


def meta_analysis(s: dict[str, Any], out: Path) -> list[str]:
    """The library table (docs/trials.md takes it from tools/refresh_trial_docs.py)."""
    report = (out / "report.md").read_text(encoding="utf-8")
    return [line for line in report.splitlines() if line.startswith(("|", "One virtual", "Significance"))]


def sensitivity(s: dict[str, Any], out: Path) -> list[str]:
    """The report's tables and sentences."""
    report = (out / "report.md").read_text(encoding="utf-8")
    return [line for line in report.splitlines() if line.startswith(("|", "Hedges", "Parameters", "##", "Saltelli"))]


def sensitivity_block(s: dict[str, Any]) -> str:
    """The page's table of indices for both outputs, and what the run found."""
    outputs = list(s["outputs"].values())
    names = list(s["parameters"])
    head = "| parameter | status | range |" + "".join(
        f" {o['design']} {o['measure'].replace('_', ' ')}: S1 | ST |" for o in outputs
    )
    lines = [head, "|---" * (3 + 2 * len(outputs)) + "|"]
    carried = [carriers(o["indices"], o["noise_share"]) for o in outputs]
    for n in names:
        p = s["parameters"][n]
        cells = [f"`{n}`", p["status"], f"[{p['low']:g}, {p['high']:g}]"]
        for o, bold in zip(outputs, carried, strict=True):
            v = o["indices"].get(n)
            if v is None:
                cells += ["-", "-"]
                continue
            st = f"{v['ST']:.2f} ± {v['ST_conf']:.2f}"
            cells += [f"{v['S1']:.2f} ± {v['S1_conf']:.2f}", f"**{st}**" if n in bold else st]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("| sum | | |" + "".join(f" {o['S1_sum']:.2f} | {o['ST_sum']:.2f} |" for o in outputs))
    lines.append("")
    lines.append(
        f"Seed {s['seed']}, N = {s['samples']}: {s['points']} parameter sets, {s['trials_per_point']} virtual trials "
        f"of each design per set (the same seeds at every set), {s['virtual_trials']} virtual trials, "
        f"{s['elapsed_seconds'] / 60:.0f} min of run time. ± the half-width of the bootstrap 95% CI. Bold: a "
        f"total index above {WIDE_ST} plus the output's noise share with 95% confidence (trial noise inflates every "
        "total index by about its share; the first-order indices are unbiased by it)."
    )
    for o in outputs:
        pm = o["point_means"]
        noise = f"{100 * o['noise_share']:.0f}%" if o["noise_share"] is not None else "not estimated (one trial)"
        if o["noise_share_without_common_seeds"] is not None:
            noise += f" ({100 * o['noise_share_without_common_seeds']:.0f}% with independent seeds)"
        carried = ", ".join(f"`{n}`" for n in carriers(o["indices"], o["noise_share"])) or "no parameter"
        lines.append("")
        lines.append(
            f"- **{o['design']} {o['measure'].replace('_', ' ')}** ({o['role']}): g {o['hedges_g_at_defaults']:+.2f} "
            f"at the defaults; over the parameter sets {pm['mean']:+.2f} on average, 95% of sets between "
            f"{pm['q2.5']:+.2f} and {pm['q97.5']:+.2f}. First-order indices sum to {o['S1_sum']:.2f}; trial noise "
            f"is {noise} of the variance of the sets' means. Carried by {carried}."
        )
    return "\n".join(lines)


BLOCKS: dict[str, Callable[[dict[str, Any]], str]] = {"sensitivity": sensitivity_block}


def replace_block(page: str, name: str, content: str) -> str:
    """``page`` with the block ``<!-- experiments:NAME -->`` .. ``<!-- /experiments:NAME -->`` replaced."""
    pattern = re.compile(rf"(<!-- experiments:{name} -->\n)(?:.*?\n)?(<!-- /experiments:{name} -->)", re.S)
    if not pattern.search(page):
        raise SystemExit(f"docs/experiments.md has no block <!-- experiments:{name} -->")
    return pattern.sub(lambda m: m.group(1) + content + "\n" + m.group(2), page)


SHOW: dict[str, Callable[[dict[str, Any], Path], list[str]]] = {
    "inagaki2016": inagaki2016,
    "separation_distress": separation_distress,
    "grooming": grooming,
    "maintenance": maintenance,
    "chronic_naltrexone": windows,
    "morphine_withdrawal": windows,
    "state_dependence": state_dependence,
    "bereavement": bereavement,
    "meta_analysis": meta_analysis,
    "sensitivity": sensitivity,
}


def main(argv: list[str] | None = None) -> int:
    """Run the experiments, print their numbers, optionally copy the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="where the runs go (default: a temporary directory)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--only", nargs="+", choices=sorted(REGISTRY), help="run only these experiments")
    parser.add_argument(
        "--figures", action="store_true", help="copy the page's figures into docs/img/ and rewrite its generated blocks"
    )
    parser.add_argument("--reuse", action="store_true", help="take the runs already in --out instead of running")
    args = parser.parse_args(argv)
    if args.reuse and args.out is None:
        parser.error("--reuse needs --out, the folder of the earlier runs")
    missing = set(REGISTRY) - set(SHOW)
    if missing:
        parser.error(f"no numbers defined for {', '.join(sorted(missing))}: add them to SHOW")
    base = args.out or Path(tempfile.mkdtemp(prefix="bondsim-experiments-"))
    for name in args.only or list(SHOW):
        out = base / name
        if args.reuse:
            summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        else:
            summary = run_experiment(name, out, seed=args.seed, overwrite=True)
        print(f"## {name} (seed {summary['seed']}, {summary['elapsed_seconds']:.0f} s, {out})")
        for line in SHOW[name](summary, out):
            print(line)
        print()
        if args.figures:
            for figure in FIGURES.get(name, ()):
                shutil.copyfile(out / figure, ROOT / "docs" / "img" / f"exp_{name}_{figure}")
            if name in BLOCKS:
                PAGE.write_text(replace_block(PAGE.read_text(encoding="utf-8"), name, BLOCKS[name](summary)), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
