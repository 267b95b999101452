"""What a class takes home from a run, drawn from one snapshot (a :class:`~bondsim.app.views.Frame`).

The group means as a CSV table, and the network with the six plots as one PNG figure (matplotlib,
imported only when a figure is asked for) for a lab report. Both name what was run: the lesson,
every setting that differs from the lesson's own, the engine and the community number (the seed),
so that the run can be made again.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from .. import __version__
from .lessons import CONTROLS, PRESETS, changed_settings, describe
from .views import QUANTITIES, ROLE_COLOURS, Frame, colour_values, day_text, group_colour


def run_description(
    lesson: str, settings: dict[str, Any], engine: str, own: dict[str, Any] | None = None
) -> list[tuple[str, str]]:
    """What was run, as (name, value) pairs: the lesson, the changed settings, every setting, engine, seed.

    ``own``: the lesson's settings as the student was given them (in a class, their community).
    """
    changed = changed_settings(lesson, settings, own) if lesson in PRESETS else []
    rows = [("lesson", lesson), ("changed from the lesson", "; ".join(changed) if changed else "nothing")]
    for key, control in CONTROLS.items():
        if key in settings:
            rows.append((control.label(settings[key]).split(":")[0], describe(key, settings[key])))
    rows += [("engine", engine), ("seed (community number)", str(settings.get("seed"))), ("bondsim", __version__)]
    return rows


def what_was_given(settings: dict[str, Any], frame: Frame) -> str:
    """The pill in words, as the run had it ("naltrexone 50 mg a day, everyone")."""
    share = float(settings.get("treated_fraction", 0.0))
    if share <= 0:
        return "no pill"
    who = "everyone" if share >= 1 else f"{share:.0%} of {frame.n} people"
    if not frame.drug_active:
        return f"a placebo pill, {who}"
    return f"{settings.get('drug')} {float(settings.get('dose_mg', 0)):g} mg a day, {who}"


def run_title(
    lesson: str, settings: dict[str, Any], engine: str, frame: Frame, own: dict[str, Any] | None = None
) -> str:
    """The figure's title: the lesson (with what was changed), what was given, the community, engine and time."""
    changed = changed_settings(lesson, settings, own) if lesson in PRESETS else []
    head = f"bondsim classroom: {lesson}" + (f" (changed: {'; '.join(changed)})" if changed else "")
    rejection = f"{float(settings.get('rejection_rate', 0.2)):.0%} of approaches turned down"
    return (
        f"{head}\n{what_was_given(settings, frame)}; {rejection}; community {settings.get('seed')}, "
        f"{engine} engine; {day_text(frame.hours)}"
    )


def csv_text(
    frame: Frame,
    lesson: str = "",
    settings: dict[str, Any] | None = None,
    engine: str = "array",
    settled_days: float | None = None,
    own: dict[str, Any] | None = None,
) -> str:
    """The run's group means as a tidy table: one row per recorded step and group, headed by what was run.

    The heading lines start with ``#`` (``pandas.read_csv(path, comment="#")`` skips them).
    """
    keys = list(QUANTITIES)
    out = []
    if settings is not None:
        for name, value in run_description(lesson, settings, engine, own):
            out.append(f"# {name}: {value}")
        if settled_days is not None:
            out.append(f"# day 0 is the end of a warm-up of {settled_days:g} days, in which the community settled")
        out.append("# units: " + "; ".join(f"{k}: {QUANTITIES[k][2]}" for k in keys))
    out.append("day,hour,group,people," + ",".join(keys))
    groups = frame.labels
    series = [(g, frame.groups.get(g, 0), {k: frame.series[k][g] for k in keys}) for g in groups]
    if frame.baseline:
        series.append(
            (frame.baseline_label, frame.groups.get(groups[0], frame.n) if groups else frame.n, frame.baseline)
        )
    for t, day in enumerate(frame.days.tolist()):
        for label, count, values in series:
            cells = ",".join(f"{float(values[k][t]):.5g}" if t < len(values[k]) else "" for k in keys)
            out.append(f"{day:.4f},{day * 24:.2f},{_csv(label)},{count},{cells}")
    return "\n".join(out) + "\n"


def _csv(text: str) -> str:
    return f'"{text}"' if ("," in text or '"' in text) else text


def report_png(frame: Frame, mode: str = "tone", title: str = "") -> bytes:
    """The network and the six plots in one PNG figure (matplotlib), for a lab report."""
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    from .views import DOT_MAPS

    fig = Figure(figsize=(13, 7), dpi=110)
    grid = fig.add_gridspec(3, 4, left=0.03, right=0.98, top=0.84, bottom=0.08, wspace=0.35, hspace=0.6)
    ax = fig.add_subplot(grid[:, :2])
    pos = frame.layout
    if len(frame.edges):
        seg = np.stack([pos[frame.edges[:, 0]], pos[frame.edges[:, 1]]], axis=1)
        s = np.clip(frame.strength, 0.0, 1.0)
        colours = np.zeros((len(s), 4))
        colours[:, 3] = 0.1 + 0.8 * s
        ax.add_collection(LineCollection(seg, colors=colours, linewidths=0.3 + 3.0 * s, zorder=1))
    values, lo, hi, label = colour_values(frame, mode)
    treated = frame.people["treated"]
    pill = ROLE_COLOURS["drug"] if frame.drug_active else ROLE_COLOURS["pill"]
    dots = ax.scatter(
        pos[:, 0], pos[:, 1], c=values, cmap=DOT_MAPS[mode], vmin=lo, vmax=hi, s=30,
        edgecolors=np.where(treated[:, None], [list(_rgb(pill))], [[0.3, 0.3, 0.3]]),
        linewidths=np.where(treated, 1.6, 0.4), zorder=2,
    )  # fmt: skip
    bereaved = frame.people["bereaved"]
    if bereaved.any():
        ax.scatter(
            pos[bereaved, 0], pos[bereaved, 1], s=140, facecolors="none", edgecolors=ROLE_COLOURS["lost"], lw=1.5
        )
    fig.colorbar(dots, ax=ax, label=label, shrink=0.6)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(f"{frame.n} people, {day_text(frame.hours)}")
    focal = frame.labels[0] if frame.labels else ""
    for i, key in enumerate(frame.panels):
        name, _, unit, _ = QUANTITIES[key]
        ylo, yhi = frame.y_range(key)
        pax = fig.add_subplot(grid[i // 2, 2 + i % 2])
        for glabel, series in frame.series[key].items():
            pax.plot(frame.days, series, color=group_colour(glabel), lw=1.6, label=glabel)
        if key in frame.baseline:
            pax.plot(frame.days, frame.baseline[key], color=group_colour(focal), ls="--", lw=1.2,
                     label=frame.baseline_label)  # fmt: skip
        if key in ("tone_ratio", "receptors"):
            pax.axhline(1.0, color="#888", ls=":", lw=1)
        for mark in frame.marks:
            if mark.kind == "dose":
                pax.plot([mark.day], [yhi], marker="v", color=pill, ms=4, clip_on=False)
            else:
                pax.axvline(mark.day, color=ROLE_COLOURS["lost"] if mark.kind == "loss" else "#333", ls=":", lw=1)
        pax.set_ylim(ylo, yhi)
        pax.set_xlim(0, frame.x_max)
        if key == "occupancy":
            pax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
        pax.set_title(f"{name}\n({unit})", fontsize=8)
        pax.grid(alpha=0.3)
        if i >= 4:
            pax.set_xlabel("days since day 0")
        if i == 0:
            handles, texts = pax.get_legend_handles_labels()
            fig.legend(handles, texts, loc="upper right", bbox_to_anchor=(0.98, 0.93), ncol=len(texts), fontsize=9,
                       frameon=False)  # fmt: skip
    if title:
        fig.suptitle(title, x=0.03, y=0.985, ha="left", va="top", fontsize=11)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _rgb(colour: str) -> tuple[float, float, float]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (0, 2, 4))
