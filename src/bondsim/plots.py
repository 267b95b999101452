"""Figures: matplotlib only, written to PNG, readable on a slide."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure


def new_figure(figsize: tuple[float, float], layout: str | None = None) -> Figure:
    """A figure not tied to any GUI backend (no pyplot state, safe in threads and servers)."""
    return Figure(figsize=figsize, layout=layout)


def subplots(
    nrows: int = 1,
    ncols: int = 1,
    *,
    figsize: tuple[float, float] = (6.4, 4.8),
    layout: str | None = None,
    **kwargs: Any,
):
    """Like ``pyplot.subplots``, on a figure of :func:`new_figure`: returns ``(figure, axes)``."""
    fig = new_figure(figsize, layout)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def save_figure(fig: Figure, path: str | Path) -> None:
    """Write a figure to PNG atomically."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=130, bbox_inches="tight")
    os.replace(tmp, path)


def plot_timeseries(frame: pd.DataFrame, path: str | Path, title: str = "") -> None:
    """Four panels: opioid tone, felt connection and affect, distress and seeking, bonds and occupancy."""
    days = frame["hours"] / 24.0
    fig = new_figure((10, 6.5))
    axes = fig.subplots(2, 2, sharex=True)
    ax = axes[0, 0]
    ax.plot(days, frame["mean_tone"], color="tab:purple")
    ax.axhline(1.0, color="grey", lw=0.8, ls=":")
    ax.set_ylabel("opioid tone (set point = 1)")
    ax = axes[0, 1]
    ax.plot(days, frame["felt_connection"], label="felt connection")
    ax.plot(days, frame["positive_affect"], label="positive affect")
    ax.set_ylim(0, 1)
    ax.legend(frameon=False)
    ax = axes[1, 0]
    ax.plot(days, frame["distress"], color="tab:red", label="distress")
    ax.set_ylim(0, 1)
    ax.set_ylabel("distress (0-1)", color="tab:red")
    ax.set_xlabel("day")
    seeking = ax.twinx()
    seeking.plot(days, frame["seeking_rate"], color="tab:orange", label="contact seeking")
    seeking.set_ylim(0, max(10.0, float(frame["seeking_rate"].max()) * 1.1))
    seeking.set_ylabel("contact seeking (attempts per day)", color="tab:orange")
    ax = axes[1, 1]
    ax.plot(days, frame["mean_bond"], color="tab:green", label="mean bond")
    ax.plot(days, frame["mean_occupancy"], color="black", ls="--", label="receptor occupancy (treated)")
    ax.set_ylim(0, 1)
    ax.legend(frameon=False)
    ax.set_xlabel("day")
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)


def plot_pk(curve: pd.DataFrame, path: str | Path, title: str = "") -> None:
    """Plasma concentrations (log scale) and receptor occupancy over time."""
    fig = new_figure((8, 6))
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    ax1.semilogy(curve["hours"], curve["plasma_ng_ml"].clip(lower=1e-4), label="parent drug")
    if curve["metabolite_ng_ml"].max() > 0:
        ax1.semilogy(curve["hours"], curve["metabolite_ng_ml"].clip(lower=1e-4), label="6-beta-naltrexol")
    ax1.set_ylim(bottom=1e-2)
    ax1.set_ylabel("plasma (ng/mL)")
    ax1.legend(frameon=False)
    ax2.plot(curve["hours"], 100 * curve["occupancy"], color="black")
    ax2.set_ylim(0, 100)
    ax2.set_ylabel("mu receptors occupied (%)")
    ax2.set_xlabel("hours after first dose")
    ax1.set_title(title)
    fig.tight_layout()
    save_figure(fig, path)
