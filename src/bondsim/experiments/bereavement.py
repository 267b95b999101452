"""Bereavement: people lose their strongest partner for good (the ``loss`` event); protest, then despair.

Separation from an attachment figure brings protest (distress, calling, searching), then despair
(Bowlby; Panksepp's separation-distress system). In the model a loss closes the tie to the
strongest partner for good: grief for that partner drains opioid tone (``separation_grief``)
and fades with ``grief_half_life_days``; the signal falls short of the reference, which is felt
as distress and drives relief seeking until the reference adapts (``reference_adaptation_days``).
The bereaved people are compared with themselves over the days before the loss. A small sweep
over the grief half-life (and, at the default grief, over the bond half-life) shows which time
scale the low tone follows. What the model does not show (the withdrawal of despair): README.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..params import Params
from ..plots import save_figure, subplots
from .chronic import mean_ci
from .common import Context, Experiment, build, parallel_map, run_until, write_table

DESIGN: dict[str, Any] = {
    "replicates": 4,  # communities per condition
    "community": 120,
    "bereaved": 30,  # people who lose their strongest partner
    "warmup_days": 21,
    "baseline_days": 7,  # the days before the loss each bereaved person is compared with
    "followup_days": 56,
    "grief_half_lives": [3.5, 7.0, 14.0, 28.0],  # days; the sweep, at the default bond half-life
    "bond_half_lives": [30.0, 120.0],  # days; extra conditions at the default grief half-life
}
PARAMS: dict[str, Any] = {"engine": "array"}
MEASURES = ("distress", "seeking_rate", "relief_seeking", "tone_ratio", "grief", "positive_affect", "felt_connection")
EARLY_HOURS = 72  # hourly resolution for the first days after the loss


def conditions(design: dict[str, Any], params: Params) -> list[tuple[float, float]]:
    """(grief half-life, bond half-life) of every condition, in days; the defaults' condition always, once."""
    out = [(params.grief_half_life_days, params.bond_half_life_days)]
    out += [(float(g), params.bond_half_life_days) for g in design["grief_half_lives"]]
    out += [(params.grief_half_life_days, float(b)) for b in design["bond_half_lives"]]
    return list(dict.fromkeys(out))


def run_community(params: Params, design: dict[str, Any], grief: float, bond: float, seed: int) -> dict[str, Any]:
    """One community: hourly means over the bereaved from the baseline to the end of follow-up."""
    d = design
    model = build(
        params,
        seed,
        n_agents=d["community"],
        grief_half_life_days=grief,
        bond_half_life_days=bond,
        separation="loss",
        separation_day=float(d["warmup_days"]),
        separation_fraction=d["bereaved"] / d["community"],
    )
    relief = 24.0 * model.params.relief_seeking
    run_until(model, 24.0 * (d["warmup_days"] - d["baseline_days"]))
    series: dict[str, list[float]] = {k: [] for k in ("hours", "lost_bond", *MEASURES)}
    who = None
    end = 24.0 * (d["warmup_days"] + d["followup_days"])
    while model.hours < end - 1e-9:
        model.step()
        if who is None:  # the event draws the bereaved when it happens; follow the same people before it
            who = model.separated_index if model.separated_index.size else None
        series["hours"].append(model.hours - 24.0 * d["warmup_days"])
        for k in ("distress", "seeking_rate", "grief", "positive_affect", "felt_connection"):
            series[k].append(model.engine.view(k).copy())
        series["relief_seeking"].append(relief * model.engine.view("distress"))
        series["tone_ratio"].append(model.engine.view("tone") / model.engine.view("tone_set_point"))
        series["lost_bond"].append(model.engine.view("absent_bond").copy())
    hours = np.asarray(series.pop("hours"))
    return {
        "hours": hours,
        **{k: np.array([np.asarray(v)[who].mean() for v in values]) for k, values in series.items()},
    }


def half_time(t: np.ndarray, deviation: np.ndarray) -> dict[str, float | None]:
    """Peak of a deviation after the loss, its time, and when it first falls to half the peak (linear interpolation).

    ``hours_to_half`` counts from the peak, ``hours_from_loss_to_half`` from the loss (hour 0).
    """
    after = t > 0
    t, x = t[after], deviation[after]
    k = int(np.argmax(x))
    below = np.nonzero(x[k:] <= 0.5 * x[k])[0]
    crossing = None
    if below.size:
        j = k + int(below[0])  # first sample at or below half; j > k since the peak is above half
        crossing = float(t[j - 1] + (t[j] - t[j - 1]) * (x[j - 1] - 0.5 * x[k]) / (x[j - 1] - x[j]))
    return {
        "peak": float(x[k]),
        "peak_hour": float(t[k]),
        "hours_to_half": None if crossing is None else crossing - float(t[k]),
        "hours_from_loss_to_half": crossing,
    }


def summarize_condition(runs: list[dict[str, Any]], design: dict[str, Any]) -> dict[str, Any]:
    """Per measure: the change from each community's baseline, peaks, half-times and windows (95% CI)."""
    t = runs[0]["hours"]
    before = t <= 0

    def change(run: dict[str, Any], k: str) -> np.ndarray:
        return run[k] - run[k][before].mean()

    def over(k: str, first_day: float, last_day: float, sign: float = 1.0) -> dict[str, float]:
        w = (t > 24.0 * first_day) & (t <= 24.0 * last_day)
        return mean_ci([sign * change(r, k)[w].mean() for r in runs])

    mean_change = {k: np.mean([change(r, k) for r in runs], axis=0) for k in MEASURES}
    # the tone's slow course in daily means (day d ends at hour 24 d), free of the hourly swings of contacts
    day = np.ceil(t / 24.0 - 1e-9)
    deficit = pd.Series(-mean_change["tone_ratio"]).groupby(day).mean()
    tone = half_time(24.0 * deficit.index.to_numpy(), deficit.to_numpy())
    return {
        "lost_bond": mean_ci([r["lost_bond"][t > 0][0] for r in runs]),
        "baseline": {k: float(np.mean([r[k][before].mean() for r in runs])) for k in MEASURES},
        "distress": {
            **half_time(t, mean_change["distress"]),
            "first_day": over("distress", 0, 1),
            "days_2_to_7": over("distress", 1, 7),
        },
        "seeking_rate": {
            **half_time(t, mean_change["seeking_rate"]),
            "first_day": over("seeking_rate", 0, 1),
            "days_2_to_7": over("seeking_rate", 1, 7),
            "weeks_2_to_4": over("seeking_rate", 7, 28),
        },
        "relief_seeking": {**half_time(t, mean_change["relief_seeking"]), "first_day": over("relief_seeking", 0, 1)},
        "tone_deficit": {
            **tone,
            "days_to_half": None if tone["hours_from_loss_to_half"] is None else tone["hours_from_loss_to_half"] / 24.0,
            "first_week": over("tone_ratio", 0, 7, -1.0),
            "weeks_2_to_4": over("tone_ratio", 7, 28, -1.0),
        },
        "positive_affect": {"first_day": over("positive_affect", 0, 1), "days_2_to_7": over("positive_affect", 1, 7)},
        "felt_connection": {
            "first_week": over("felt_connection", 0, 7),
            "weeks_2_to_4": over("felt_connection", 7, 28),
        },
    }


def run(ctx: Context) -> dict[str, Any]:
    """Every condition on the same communities; time courses, half-times, figure and report."""
    d = ctx.design
    seeds = ctx.child_seeds(d["replicates"])
    conds = conditions(d, ctx.params)
    tasks = [(ctx.params, d, g, b, s) for g, b in conds for s in seeds]
    results = parallel_map(run_community, tasks, ctx.workers, ctx.progress, "bereavement communities")
    by_condition = {c: results[i * len(seeds) : (i + 1) * len(seeds)] for i, c in enumerate(conds)}
    t = results[0]["hours"]
    rows = []
    for (g, b), runs in by_condition.items():
        for i, r in enumerate(runs):
            day = np.floor((t - 1e-9) / 24.0).astype(int)
            frame = pd.DataFrame({"day": day, **{k: r[k] for k in MEASURES}}).groupby("day").mean().reset_index()
            rows.append(frame.assign(grief_half_life_days=g, bond_half_life_days=b, replicate=i))
    daily = pd.concat(rows, ignore_index=True)
    write_table(daily, ctx.out / "daily_by_community.csv")
    main = (ctx.params.grief_half_life_days, ctx.params.bond_half_life_days)
    early = (t > -24.0) & (t <= EARLY_HOURS)
    hourly = pd.DataFrame(
        {"hours": t[early], **{k: np.mean([r[k] for r in by_condition[main]], axis=0)[early] for k in MEASURES}}
    )
    write_table(hourly, ctx.out / "hourly_default.csv")

    sweep = []
    for (g, b), runs in sorted(by_condition.items(), key=lambda c: (c[0][1] != main[1], c[0])):
        s = summarize_condition(runs, d)
        sweep.append({"grief_half_life_days": g, "bond_half_life_days": b, **s})
    default = next(s for s in sweep if (s["grief_half_life_days"], s["bond_half_life_days"]) == main)
    summary: dict[str, Any] = {
        "measure": "bereaved people: change from their own mean over the baseline days before the loss, "
        "95% CI over communities; seeking in attempts/day, tone as tone / set point",
        "default": default,
        "sweep": [
            {
                "grief_half_life_days": s["grief_half_life_days"],
                "bond_half_life_days": s["bond_half_life_days"],
                "tone_deficit_peak": s["tone_deficit"]["peak"],
                "tone_deficit_days_to_half": s["tone_deficit"]["days_to_half"],
                "distress_hours_to_half": s["distress"]["hours_to_half"],
            }
            for s in sweep
        ],
    }
    plot(by_condition, main, t, ctx.out / "course.png")
    (ctx.out / "report.md").write_text("\n".join(report_lines(d, summary)), encoding="utf-8")
    return summary


def plot(by_condition: dict, main: tuple[float, float], t: np.ndarray, path) -> None:
    """Protest (distress and seeking over the first days) and the tone's course over the grief sweep."""
    days = t / 24.0
    runs = by_condition[main]
    mean = {k: np.mean([r[k] for r in runs], axis=0) for k in MEASURES}
    first = (days > -1.0) & (days <= 7.0)
    fig, axes = subplots(1, 3, figsize=(14, 4))
    ax = axes[0]
    ax.plot(days[first], mean["distress"][first], color="tab:red")
    ax.set_ylabel("distress (0-1)")
    ax = axes[1]
    ax.plot(days[first], mean["seeking_rate"][first], color="k", label="both drives")
    ax.plot(days[first], mean["relief_seeking"][first], color="tab:red", label="relief drive")
    ax.set_ylabel("contact seeking (attempts/day)")
    ax.legend(frameon=False)
    for ax in axes[:2]:
        ax.axvline(0.0, color="grey", lw=0.8)
        ax.set_xlabel("days since the loss")
    ax = axes[2]
    colors = iter(("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink", "tab:olive"))
    for (g, b), rs in by_condition.items():
        tone = np.mean([r["tone_ratio"] for r in rs], axis=0)
        daily = pd.Series(tone).groupby(np.floor((t - 1e-9) / 24.0)).mean()
        style = "-" if b == main[1] else ":"
        ax.plot(daily.index, daily.values, style, color=next(colors), label=f"grief {g:g} d, bond {b:g} d")
    ax.axvline(0.0, color="grey", lw=0.8)
    ax.set_xlabel("days since the loss")
    ax.set_ylabel("tone / set point (daily mean)")
    ax.legend(frameon=False, fontsize=8)
    fig.suptitle("Bereavement: the loss of the strongest partner")
    fig.tight_layout()
    save_figure(fig, path)


def report_lines(d: dict[str, Any], summary: dict[str, Any]) -> list[str]:
    """report.md: the default condition's protest and grief, and the sweep's half-times."""
    s = summary["default"]

    def ci(x: dict[str, float]) -> str:
        return f"{x['mean']:+.3f} ({x['ci_low']:+.3f} .. {x['ci_high']:+.3f})"

    def num(x: float | None, fmt: str = ".1f") -> str:
        return "not within the follow-up" if x is None else format(x, fmt)

    lines = [
        "# Bereavement: the loss of the strongest partner",
        "",
        f"{d['replicates']} communities of {d['community']} per condition, {d['bereaved']} bereaved; "
        f"{summary['measure']}. Bond lost: {s['lost_bond']['mean']:.2f}.",
        "",
        "| measure | peak change | peak at (h) | hours from peak to half | first day | days 2-7 |",
        "|---|---|---|---|---|---|",
        f"| distress | {s['distress']['peak']:+.3f} | {s['distress']['peak_hour']:g} | "
        f"{num(s['distress']['hours_to_half'])} | {ci(s['distress']['first_day'])} | "
        f"{ci(s['distress']['days_2_to_7'])} |",
        f"| contact seeking (attempts/day) | {s['seeking_rate']['peak']:+.2f} | {s['seeking_rate']['peak_hour']:g} | "
        f"{num(s['seeking_rate']['hours_to_half'])} | {ci(s['seeking_rate']['first_day'])} | "
        f"{ci(s['seeking_rate']['days_2_to_7'])} |",
        f"| relief seeking (attempts/day) | {s['relief_seeking']['peak']:+.2f} | "
        f"{s['relief_seeking']['peak_hour']:g} | {num(s['relief_seeking']['hours_to_half'])} | "
        f"{ci(s['relief_seeking']['first_day'])} | |",
        f"| positive affect | | | | {ci(s['positive_affect']['first_day'])} | "
        f"{ci(s['positive_affect']['days_2_to_7'])} |",
        "",
        f"Tone deficit (1 - tone / set point, from baseline): first week {ci(s['tone_deficit']['first_week'])}, "
        f"weeks 2-4 {ci(s['tone_deficit']['weeks_2_to_4'])}; contact seeking weeks 2-4 "
        f"{ci(s['seeking_rate']['weeks_2_to_4'])}; felt connection weeks 2-4 "
        f"{ci(s['felt_connection']['weeks_2_to_4'])}.",
        "",
        "| grief half-life (days) | bond half-life (days) | tone deficit peak | days from loss to half | "
        "ratio to grief half-life | distress: hours from peak to half |",
        "|---|---|---|---|---|---|",
    ]
    for r in summary["sweep"]:
        days = r["tone_deficit_days_to_half"]
        ratio = "" if days is None else f"{days / r['grief_half_life_days']:.2f}"
        lines.append(
            f"| {r['grief_half_life_days']:g} | {r['bond_half_life_days']:g} | {r['tone_deficit_peak']:.3f} | "
            f"{num(days)} | {ratio} | {num(r['distress_hours_to_half'])} |"
        )
    lines += ["", "![course](course.png)", ""]
    return lines


EXPERIMENT = Experiment(
    name="bereavement",
    summary="the loss of the strongest partner: distress and relief seeking peak and fade, tone low while grief lasts",
    design=DESIGN,
    params=PARAMS,
    run=run,
    trials_key="replicates",
)
