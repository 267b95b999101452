"""The virtual Inagaki et al. 2016 trial: naltrexone vs placebo, within subject, crossover.

Each virtual trial builds a small community whose friends and family are agents
too, lets its bonds settle, then enrols 31 of its people: 16 take naltrexone
first (25, 25, 50, 50 mg on days 1-4), 15 placebo first; after a 10-day washout,
in which naltrexone keeps its hold on the receptors, the conditions swap. Every
evening a diary records felt connection and positive affect; on day 4 a lab task
reads affectionate messages from close others, rated 1-7. Ratings pass through a
measurement model: a person's response bias and occasion noise on the 1-7 scale
(docs/calibration.md).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..mechanisms.ratings import connection
from ..mechanisms.receptor import contact_reward, contact_value
from ..params import Params
from ..plots import save_figure, subplots
from ..stats import paired_effect, pooled, two_sample_t
from .common import Context, Experiment, build, parallel_map, run_until, write_table

MEASURES = ("daily_connection", "lab_connection", "positive_affect")
ROLES = {"daily_connection": "training target", "lab_connection": "validation", "positive_affect": "validation"}
META_G, META_LOW, META_HIGH = -0.20, -0.32, -0.07  # Løseth, Trøstheim & Leknes 2024

DESIGN: dict[str, Any] = {
    "trials": 200,  # virtual trials
    "community": 160,  # people in each trial's community, participants included
    "participants": 31,
    "naltrexone_first": 16,
    "doses_mg": [25.0, 25.0, 50.0, 50.0],  # one per day of a drug period (NCT01672723)
    "washout_days": 10,
    "warmup_days": 42,  # the community settles before enrolment (docs/model.md, stationary baseline)
    "baseline_days": 3,  # shown in the occupancy figure before the first dose
    "followup_days": 3,  # shown after the second period
    "dose_hour": 8.0,  # hour of the day of each dose
    "diary_hour": 22.0,  # hour of the day of the diary entry
    "lab_hours_after_dose": 2.0,  # the lab task on day 4, this long after the last dose
    "rating_person_sd": 0.59,  # a person's response bias on the 1-7 scale (calibrated)
    "rating_occasion_sd": 0.39,  # noise of one rating occasion on the 1-7 scale (calibrated)
}
PARAMS: dict[str, Any] = {"engine": "array", "drug": "naltrexone", "dose_mg": 0.0}


def rating(value, rng: np.random.Generator, bias, occasion_sd: float) -> np.ndarray:
    """A 1-7 rating of a quantity in [0, 1]: 1 + 6 x, plus a person's bias and occasion noise, clipped."""
    x = np.asarray(value, dtype=np.float64)
    return np.clip(1.0 + 6.0 * x + bias + occasion_sd * rng.standard_normal(x.shape), 1.0, 7.0)


def lab_connection(model, closeness: str = "close") -> np.ndarray:
    """Connection felt reading messages from a close other (or a stranger), in [0, 1], for everyone.

    The felt-connection rule applied to that one person: the bond to them (the person's
    strongest bond for a close other, 0 for a stranger) in place of the strength of close ties,
    and the value of this moment's contact with them in place of the remembered value.
    """
    bond = model.engine.get("strongest_bond") if closeness == "close" else np.zeros(model.n)
    reward = model.evaluate(contact_reward, bond=bond)
    return model.evaluate(connection, close_ties=bond, value=model.evaluate(contact_value, reward=reward))


def run_trial(params: Params, design: dict[str, Any], seed: int) -> dict[str, Any]:
    """One virtual trial: the model's values (in [0, 1]) behind every rating, and the hourly occupancy.

    Returns a dict with ``person``, ``naltrexone_first`` (one flag per participant), ``raw``
    (``(period, measure)`` -> array of shape (occasions, participants)), ``occupancy`` (hourly
    mean of each order group), ``residual_occupancy`` (naltrexone-first group, end of washout: its
    mean) and ``residual_people`` (the same, person by person).
    """
    d = design
    model = build(params, seed, n_treated=d["participants"], n_agents=d["community"])
    people = model.treated_index
    order = np.zeros(people.size, dtype=bool)  # True: naltrexone first
    order[_noise_rng(seed, 0).permutation(people.size)[: d["naltrexone_first"]]] = True
    first, second = people[order], people[~order]
    n_days = len(d["doses_mg"])
    start = 24.0 * (d["warmup_days"] + d["baseline_days"])
    periods = (start, start + 24.0 * (n_days + d["washout_days"]))
    end = periods[1] + 24.0 * (n_days + d["followup_days"])
    for period, who in zip(periods, (first, second), strict=True):
        model.schedule_doses([(period + 24.0 * k + d["dose_hour"], mg) for k, mg in enumerate(d["doses_mg"])], who)
    checkpoints = [(periods[1], -1, "washout_end")]
    for p, period in enumerate(periods):
        checkpoints += [(period + 24.0 * k + d["diary_hour"], p, "diary") for k in range(n_days)]
        checkpoints.append((period + 24.0 * (n_days - 1) + d["dose_hour"] + d["lab_hours_after_dose"], p, "lab"))
    checkpoints.sort()

    run_until(model, 24.0 * d["warmup_days"])
    raw: dict[tuple[int, str], list[np.ndarray]] = {(p, m): [] for p in (0, 1) for m in MEASURES}
    occupancy = []
    residual = np.full(first.size, np.nan)
    while model.hours < end - 1e-9:
        while checkpoints and checkpoints[0][0] <= model.hours + 1e-9:
            _, p, kind = checkpoints.pop(0)
            s = model.state()
            if kind == "diary":
                raw[p, "daily_connection"].append(s["felt_connection"][people].copy())
                raw[p, "positive_affect"].append(s["positive_affect"][people].copy())
            elif kind == "lab":
                raw[p, "lab_connection"].append(lab_connection(model)[people])
            else:
                residual = s["occupancy"][first].copy()
        occ = model.state()["occupancy"]
        occupancy.append((occ[first].mean(), occ[second].mean()))
        model.step()
    return {
        "person": people,
        "naltrexone_first": order,
        "raw": {k: np.array(v) for k, v in raw.items()},
        "occupancy": np.asarray(occupancy),
        "residual_occupancy": float(residual.mean()),
        "residual_people": residual,
    }


def _noise_rng(seed: int, stream: int) -> np.random.Generator:
    """Generator of a trial's measurement draws, independent of the model's (SeedSequence child)."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(stream + 1)[stream])


def ratings(trial: dict[str, Any], design: dict[str, Any], seed: int) -> dict[tuple[str, str], np.ndarray]:
    """Each participant's 1-7 rating per measure and condition (diary: mean of the days' ratings).

    A person's response bias (``rating_person_sd``) is shared by both conditions; every
    occasion adds its own noise (``rating_occasion_sd``).
    """
    rng = _noise_rng(seed, 1)
    order = trial["naltrexone_first"]
    out = {}
    for m in MEASURES:
        bias = design["rating_person_sd"] * rng.standard_normal(order.size)
        period = [rating(trial["raw"][p, m], rng, bias, design["rating_occasion_sd"]).mean(axis=0) for p in (0, 1)]
        out[m, "naltrexone"] = np.where(order, period[0], period[1])
        out[m, "placebo"] = np.where(order, period[1], period[0])
    return out


def analyse_trial(values: dict[tuple[str, str], np.ndarray], first: np.ndarray) -> dict[str, Any]:
    """Paired effects of naltrexone for each measure, and the order/carry-over checks, of one trial.

    Args:
        values: ratings per (measure, condition), one per participant (see :func:`ratings`).
        first: whether each participant took naltrexone first.
    """
    out: dict[str, Any] = {}
    for m in MEASURES:
        ntx, plc = values[m, "naltrexone"], values[m, "placebo"]
        eff = paired_effect(ntx, plc)
        out[m] = eff
        # carry-over (Grizzle 1965): the sum of both periods should not depend on the order
        out[m, "carryover_p"] = two_sample_t((ntx + plc)[first], (ntx + plc)[~first])[1]
        # placebo after naltrexone minus placebo first: residual blockade would lower it
        out[m, "placebo_order_difference"] = float(plc[first].mean() - plc[~first].mean())
        # period effect: (period 1 - period 2) compared between the orders
        diff = np.where(first, ntx - plc, plc - ntx)
        out[m, "period_p"] = two_sample_t(diff[first], -diff[~first])[1]
    return out


def run(ctx: Context) -> dict[str, Any]:
    """Run the virtual trials, analyse them, write tables, figures and the report."""
    d = ctx.design
    t0 = time.perf_counter()
    seeds = ctx.child_seeds(d["trials"])
    results = parallel_map(
        run_trial, [(ctx.params, d, s) for s in seeds], ctx.workers, ctx.progress, "inagaki2016 trials"
    )
    values = [ratings(r, d, s) for r, s in zip(results, seeds, strict=True)]
    analyses = [analyse_trial(v, r["naltrexone_first"]) for v, r in zip(values, results, strict=True)]

    rows = []
    for t, (r, a) in enumerate(zip(results, analyses, strict=True)):
        for m in MEASURES:
            e = a[m]
            rows.append(
                {
                    "trial": t,
                    "seed": seeds[t],
                    "measure": m,
                    "n": e.n,
                    "mean_naltrexone": e.mean_treatment,
                    "mean_placebo": e.mean_control,
                    "hedges_g": e.hedges_g,
                    "variance": e.variance,
                    "ci_low": e.ci_low,
                    "ci_high": e.ci_high,
                    "t": e.t,
                    "p": e.p,
                    "carryover_p": a[m, "carryover_p"],
                    "period_p": a[m, "period_p"],
                    "placebo_order_difference": a[m, "placebo_order_difference"],
                    "residual_occupancy_end_of_washout": r["residual_occupancy"],
                }
            )
    trials = pd.DataFrame(rows)
    people_rows = []
    first = results[0]
    for m in MEASURES:
        for c in ("naltrexone", "placebo"):
            for i, person in enumerate(first["person"]):
                people_rows.append(
                    {
                        "trial": 0,
                        "person": int(person),
                        "order": "naltrexone_first" if first["naltrexone_first"][i] else "placebo_first",
                        "measure": m,
                        "condition": c,
                        "rating": values[0][m, c][i],
                    }
                )
    people = pd.DataFrame(people_rows)
    occ = np.mean([r["occupancy"] for r in results], axis=0)
    hours = np.arange(occ.shape[0]) * ctx.params.step_hours
    occupancy = pd.DataFrame(
        {
            "day": hours / 24.0 - d["baseline_days"],
            "occupancy_naltrexone_first": occ[:, 0],
            "occupancy_placebo_first": occ[:, 1],
        }
    )

    summary: dict[str, Any] = {}
    for m in MEASURES:
        sub = trials[trials["measure"] == m]
        pool = pooled(sub["hedges_g"], sub["variance"])
        summary[m] = {
            "hedges_g": pool["estimate"],
            "ci_low": pool["ci_low"],
            "ci_high": pool["ci_high"],
            "fraction_significant": float(np.mean((sub["p"] < 0.05) & (sub["hedges_g"] < 0))),
            "fraction_p_below_05": float(np.mean(sub["p"] < 0.05)),
            "trial_g_median": float(sub["hedges_g"].median()),
            "trial_g_2_5": float(sub["hedges_g"].quantile(0.025)),
            "trial_g_97_5": float(sub["hedges_g"].quantile(0.975)),
            "mean_naltrexone": float(sub["mean_naltrexone"].mean()),
            "mean_placebo": float(sub["mean_placebo"].mean()),
            "fraction_carryover_p_below_05": float(np.mean(sub["carryover_p"] < 0.05)),
            "placebo_order_difference": float(sub["placebo_order_difference"].mean()),
        }
    residual = np.concatenate([r["residual_people"] for r in results])
    summary["residual_occupancy_end_of_washout"] = float(residual.mean())
    summary["residual_occupancy_percentiles"] = {str(q): float(np.percentile(residual, q)) for q in (5, 25, 50, 75, 95)}
    summary["peak_occupancy"] = float(occ.max())
    summary["meta_analysis"] = {
        "hedges_g": META_G,
        "ci_low": META_LOW,
        "ci_high": META_HIGH,
        "source": "Løseth, Trøstheim & Leknes 2024",
    }
    summary["trials"] = d["trials"]

    write_table(trials, ctx.out / "trials.csv")
    write_table(people, ctx.out / "participants_trial0.csv")
    write_table(occupancy, ctx.out / "occupancy.csv")
    _figures(ctx.out, trials, people, occupancy, d)
    (ctx.out / "report.md").write_text(_report(summary, d, time.perf_counter() - t0), encoding="utf-8")
    return summary


def _figures(out: Path, trials: pd.DataFrame, people: pd.DataFrame, occupancy: pd.DataFrame, d: dict[str, Any]) -> None:

    fig, axes = subplots(1, 3, figsize=(11, 4), sharey=True)
    for ax, m in zip(axes, MEASURES, strict=True):
        sub = people[people["measure"] == m]
        ntx = sub[sub["condition"] == "naltrexone"]["rating"].to_numpy()
        plc = sub[sub["condition"] == "placebo"]["rating"].to_numpy()
        for a, b in zip(plc, ntx, strict=True):
            ax.plot([0, 1], [a, b], color="grey" if b < a else "tab:orange", lw=0.8, alpha=0.7)
        ax.plot([0, 1], [plc.mean(), ntx.mean()], color="black", lw=2.5, marker="o")
        ax.set_xticks([0, 1], ["placebo", "naltrexone"])
        ax.set_xlim(-0.3, 1.3)
        ax.set_title(m.replace("_", " "))
    axes[0].set_ylabel("rating (1-7)")
    fig.suptitle("Virtual trial 0: each line is one participant")
    fig.tight_layout()
    save_figure(fig, out / "paired.png")

    fig, axes = subplots(1, 3, figsize=(11, 3.8), sharex=True)
    for ax, m in zip(axes, MEASURES, strict=True):
        g = trials[trials["measure"] == m]["hedges_g"]
        ax.hist(g, bins=25, color="tab:blue", alpha=0.7)
        ax.axvspan(META_LOW, META_HIGH, color="tab:red", alpha=0.2, label="meta-analysis 95% CI")
        ax.axvline(META_G, color="tab:red", lw=2)
        ax.axvline(g.median(), color="black", ls="--", label="median of virtual trials")
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_title(m.replace("_", " "))
        ax.set_xlabel("Hedges' g (naltrexone - placebo)")
    axes[0].set_ylabel("virtual trials")
    axes[0].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    save_figure(fig, out / "g_distribution.png")

    fig, ax = subplots(figsize=(9, 3.8))
    ax.plot(occupancy["day"], 100 * occupancy["occupancy_naltrexone_first"], label="naltrexone first")
    ax.plot(occupancy["day"], 100 * occupancy["occupancy_placebo_first"], label="placebo first")
    n_days = len(d["doses_mg"])
    for start in (0, n_days + d["washout_days"]):
        ax.axvspan(start, start + n_days, color="grey", alpha=0.15)
    ax.set_xlabel("trial day (shaded: drug periods)")
    ax.set_ylabel("mu receptors blocked (%)")
    ax.set_ylim(0, 100)
    ax.legend(frameon=False)
    fig.tight_layout()
    save_figure(fig, out / "occupancy.png")


def _report(s: dict[str, Any], d: dict[str, Any], elapsed: float) -> str:
    lines = [
        "# Virtual Inagaki et al. 2016 crossover trial",
        "",
        f"{d['trials']} virtual trials, each with {d['participants']} participants ({d['naltrexone_first']} "
        f"naltrexone first) in a community of {d['community']} people; naltrexone "
        f"{', '.join(f'{x:g}' for x in d['doses_mg'])} mg on days 1-{len(d['doses_mg'])}, "
        f"{d['washout_days']}-day washout. Run time {elapsed:.0f} s.",
        "",
        "| measure | role in calibration | pooled g ± Monte Carlo error (95%) | one 31-person trial: 95% "
        "prediction interval | median trial g | trials with p < .05, g < 0 | carry-over p < .05 |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in MEASURES:
        r = s[m]
        lines.append(
            f"| {m} | {ROLES[m]} | {r['hedges_g']:.3f} ± {0.5 * (r['ci_high'] - r['ci_low']):.3f} | "
            f"[{r['trial_g_2_5']:.2f}, {r['trial_g_97_5']:.2f}] | "
            f"{r['trial_g_median']:.3f} | {100 * r['fraction_significant']:.0f}% | "
            f"{100 * r['fraction_carryover_p_below_05']:.0f}% |"
        )
    lines += [
        "",
        "The Monte Carlo error says how precisely these virtual trials pin down the model's pooled effect; it "
        "shrinks with more trials and says nothing about real studies. What one real trial of this size could "
        "show is the prediction interval. The daily-connection effect is the calibration's training target "
        "(experiments/calibration/fit_rating_model.py fits opioid_rating_weight to it), so its closeness to "
        "the meta-analysis is by construction; the lab and affect effects were not used in any fit.",
        "",
        f"Meta-analysis (Løseth, Trøstheim & Leknes 2024), an estimate over 17 real outcomes: g = {META_G} "
        f"(95% CI {META_LOW} to {META_HIGH}).",
        "",
        f"Residual receptor occupancy at the end of the washout (naltrexone-first group): "
        f"{100 * s['residual_occupancy_end_of_washout']:.1f}% on average (peak {100 * s['peak_occupancy']:.1f}%); "
        "people differ in their kinetics, so over every participant of every trial: "
        + ", ".join(f"{q}th percentile {100 * v:.1f}%" for q, v in s["residual_occupancy_percentiles"].items())
        + ".",
        "",
        "![paired ratings](paired.png)",
        "",
        "![g distribution](g_distribution.png)",
        "",
        "![occupancy](occupancy.png)",
        "",
    ]
    return "\n".join(lines)


EXPERIMENT = Experiment(
    name="inagaki2016",
    summary="crossover trial of naltrexone vs placebo on felt connection (Inagaki et al. 2016), T virtual trials",
    design=DESIGN,
    params=PARAMS,
    run=run,
    trials_key="trials",
)
