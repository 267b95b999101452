"""What a class takes home from a run, drawn from one snapshot (a :class:`~bondsim.app.views.Frame`).

The group means as a CSV table, and the network with the six plots as one PNG figure (matplotlib,
imported only when a figure is asked for) for a lab report.
"""

from __future__ import annotations

import io

import numpy as np

from .views import BASELINE_COLOUR, GROUP_COLOURS, MARK_COLOURS, PANELS, Frame, colour_values, day_text


def csv_text(frame: Frame) -> str:
    """The run's group means as a tidy table: one row per recorded step and group."""
    keys = list(PANELS)
    header = "day,hour,group,people," + ",".join(keys)
    out = [header]
    groups = list(next(iter(frame.series.values()), {}).keys())
    series = [(g, frame.groups.get(g, 0), {k: frame.series[k][g] for k in keys}) for g in groups]
    if frame.baseline:
        series.append((frame.baseline_label, frame.n, frame.baseline))
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

    fig = Figure(figsize=(13, 6.5), dpi=110)
    grid = fig.add_gridspec(3, 4, left=0.03, right=0.98, top=0.9, bottom=0.08, wspace=0.35, hspace=0.55)
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
    dots = ax.scatter(
        pos[:, 0],
        pos[:, 1],
        c=values,
        cmap="RdYlBu" if mode == "tone" else "Reds",
        vmin=lo,
        vmax=hi,
        s=30,
        edgecolors=np.where(treated[:, None], [[0, 0, 0, 1]], [[0.5, 0.5, 0.5, 0.5]]),
        linewidths=np.where(treated, 1.4, 0.4),
        zorder=2,
    )
    bereaved = frame.people["bereaved"]
    if bereaved.any():
        ax.scatter(
            pos[bereaved, 0], pos[bereaved, 1], s=140, facecolors="none", edgecolors=MARK_COLOURS["bereaved"], lw=1.5
        )
    fig.colorbar(dots, ax=ax, label=label, shrink=0.6)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(f"{frame.n} people, {day_text(frame.hours)}")
    for i, (key, (name, (ylo, yhi), unit)) in enumerate(PANELS.items()):
        pax = fig.add_subplot(grid[i // 2, 2 + i % 2])
        if key in frame.baseline:
            pax.plot(
                frame.days, frame.baseline[key], color=BASELINE_COLOUR, ls="--", lw=1.4, label=frame.baseline_label
            )
        for j, (glabel, series) in enumerate(frame.series[key].items()):
            pax.plot(frame.days, series, color=GROUP_COLOURS[j % len(GROUP_COLOURS)], lw=1.6, label=glabel)
        if key == "tone_ratio":
            pax.axhline(1.0, color="#888", ls=":", lw=1)
        pax.set_ylim(ylo, yhi)
        pax.set_xlim(0, frame.x_max)
        pax.set_title(f"{name}\n({unit})", fontsize=9)
        pax.grid(alpha=0.3)
        if i >= 4:
            pax.set_xlabel("day")
        if i == 0:
            handles, texts = pax.get_legend_handles_labels()
            fig.legend(handles, texts, loc="upper right", ncol=len(texts), fontsize=9, frameon=False)
    if title:
        fig.suptitle(title, x=0.03, ha="left", fontsize=12)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
