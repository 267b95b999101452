"""The classroom app: a Solara page for teaching the brain opioid theory of attachment.

Serve it with ``bondsim app`` (a browser page on localhost) or show it in Jupyter with
``from bondsim.app import Page; Page()``. Every browser session has its own run, so one
student's clicks never reach another's page.

How it stays live, consistent and light (docs/classroom.md):

- the live views are SVG drawn by the browser from a few paths per frame
  (:mod:`bondsim.app.views`), not PNG images drawn by matplotlib on the server;
- the model steps, and a frozen snapshot of it (:class:`bondsim.app.views.Frame`) is taken,
  under one lock per session; the page only ever reads snapshots, so a figure can never mix
  two steps;
- each session's play loop is a thread that stops when the tab closes or disconnects;
- the page uses only the model's public interface (``state``, ``edge_bonds``, ``open_edges``,
  ``network``, ``params``, ``hours``, ``steps_done``, ``treated_index``, ``drug``, ``step``), so it
  runs with either engine.

Everything is served from this machine: the page's scripts, style sheets and fonts are bundled
in ``assets/`` (``tools/bundle_app_assets.py``), so no request leaves it.

One module per concept:

- ``lessons``: the presets (settings, what to look for, comparison run), the controls, the Info text;
- ``run``: one run of a lesson and its history; ``layout``: where the people are drawn;
- ``session``: one browser session (its run, latest snapshot, play thread, Solara context);
- ``views``: the snapshot (``Frame``) and what the page shows of it (SVG, monitors);
- ``downloads``: the CSV table and PNG figure for a lab report;
- ``page``: the Solara components (``Page``), styled by ``static/*.css``;
- ``server``: the process ``bondsim app`` (:mod:`bondsim.commands.app`) becomes, Solara's server
  serving ``page``; ``config``: what the command passes to it (the engine, a config file).
"""

from __future__ import annotations

from typing import Any

from .config import CONFIG_ENV, base_params
from .lessons import CONTROLS, DEFAULTS, INFO, NETWORKS, PRESETS, app_drugs, describe, preset_kwargs
from .run import Run, preset_run
from .session import FRIENDLY_ERROR, Session

__all__ = [
    "CONFIG_ENV",
    "CONTROLS",
    "DEFAULTS",
    "FRIENDLY_ERROR",
    "INFO",
    "NETWORKS",
    "PRESETS",
    "Page",
    "Run",
    "Session",
    "app_drugs",
    "base_params",
    "describe",
    "preset_kwargs",
    "preset_run",
]


def __getattr__(name: str) -> Any:
    """``Page`` on first use: importing :mod:`bondsim.app.page` imports Solara, which happens only then."""
    if name == "Page":
        from .page import Page

        globals()["Page"] = Page
        return Page
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
