"""What the classroom app shows, drawn from one snapshot of a run (a :class:`Frame`).

The live views are small SVG documents built here on the server and drawn by the browser:
no image is encoded per step and nothing is fetched from the internet. The people of the
network are drawn as a few SVG paths (one per colour), the links as a few paths (one per
bond-strength class), so a frame stays a few tens of kilobytes even with 1,000 people.
The same snapshot gives the monitors (number readouts), and the downloads of
:mod:`bondsim.app.downloads` (the data table as CSV, a matplotlib figure for lab reports as PNG).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np

# quantity key -> (panel title, y range, unit hint)
PANELS: dict[str, tuple[str, tuple[float, float], str]] = {
    "felt_connection": ("felt connection", (0.0, 1.0), "0 none to 1 full"),
    "tone_ratio": ("opioid tone", (0.0, 2.0), "1 = own set point"),
    "distress": ("distress", (0.0, 1.0), "0 none to 1 full"),
    "seeking": ("seeking company", (0.0, 15.0), "attempts per person per day"),
    "occupancy": ("receptors held by drug", (0.0, 1.0), "share of mu receptors"),
    "strong_bonds": ("close bonds", (0.0, 3.0), "strong bonds per person"),
}
SHORT_UNITS = {"tone_ratio": "1 = set point", "seeking": "per day", "strong_bonds": "per person"}
GROUP_COLOURS = ("#c0392b", "#2471a3", "#7d3c98", "#1e8449")
BASELINE_COLOUR = "#555555"
MARK_COLOURS = {"treated": "#000000", "bereaved": "#8e44ad", "isolated": "#7f8c8d"}
COLOUR_MODES = {"tone": "opioid tone", "distress": "distress"}
_N_COLOURS = 21
_N_WIDTHS = 6


@dataclass(frozen=True, eq=False)
class Frame:
    """An immutable snapshot of a run: everything the views, monitors and downloads read.

    Attributes:
        run_id: which run it belongs to (a new one after each reset).
        steps: steps done; hours: simulated time (h); step_hours: length of a step (h).
        people: per-person arrays (``tone_ratio``, ``distress``, ``treated``, ``bereaved``,
            ``isolated``), copies.
        edges: (k, 2) endpoints of the open ties (each once) and ``strength`` their mean bond;
            ``edge_ids`` their rows in the run's list of ties (for the painter's cached text).
        layout: (n, 2) positions of the people in [0, 1].
        days: time of each recorded step (days).
        series: quantity -> group label -> mean at each recorded step.
        baseline: quantity -> mean of the comparison run at each recorded step (or empty).
        baseline_label: what the comparison run is.
        groups: group label -> number of people.
        x_max: right end of the time axis (days).
        drug: drug name; drug_active: whether it acts on receptors.
    """

    run_id: int
    steps: int
    hours: float
    step_hours: float
    people: dict[str, np.ndarray]
    edges: np.ndarray
    strength: np.ndarray
    layout: np.ndarray
    edge_ids: np.ndarray
    days: np.ndarray
    series: dict[str, dict[str, np.ndarray]]
    baseline: dict[str, np.ndarray] = field(default_factory=dict)
    baseline_label: str = ""
    groups: dict[str, int] = field(default_factory=dict)
    x_max: float = 4.0
    drug: str = "placebo"
    drug_active: bool = False

    @property
    def day(self) -> float:
        """Simulated time (days)."""
        return self.hours / 24.0

    @property
    def n(self) -> int:
        """Number of people."""
        return len(self.layout)

    def latest(self) -> dict[str, dict[str, float]]:
        """Group label -> quantity -> latest mean (the monitors)."""
        out: dict[str, dict[str, float]] = {}
        for key, by_group in self.series.items():
            for label, values in by_group.items():
                out.setdefault(label, {})[key] = float(values[-1]) if len(values) else float("nan")
        if self.baseline:
            out[self.baseline_label] = {k: float(v[-1]) for k, v in self.baseline.items() if len(v)}
        return out


def day_text(hours: float) -> str:
    """'day 2, hour 5' for 53 h: the day count starts at 0 like the time axis."""
    day, hour = divmod(round(hours), 24)
    return f"day {day}, hour {hour}"


# ------------------------------------------------------------------ colours


def _hex(rgb) -> str:
    r, g, b = (round(255 * float(c)) for c in rgb[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def _palette(name: str) -> list[str]:
    from matplotlib import colormaps

    cmap = colormaps[name]
    return [_hex(cmap(x)) for x in np.linspace(0.0, 1.0, _N_COLOURS)]


_PALETTES: dict[str, list[str]] = {}


def palette(mode: str) -> list[str]:
    """The colours of the people for a colour mode, low to high."""
    if mode not in COLOUR_MODES:
        raise ValueError(f"colour mode {mode!r}: use one of {', '.join(COLOUR_MODES)}")
    if mode not in _PALETTES:
        _PALETTES[mode] = _palette("RdYlBu" if mode == "tone" else "Reds")
    return _PALETTES[mode]


def colour_values(frame: Frame, mode: str) -> tuple[np.ndarray, float, float, str]:
    """Values that colour the people, their range and the colour bar's label."""
    if mode == "tone":
        return frame.people["tone_ratio"], 0.0, 2.0, "opioid tone (1 = own set point)"
    if mode == "distress":
        return frame.people["distress"], 0.0, 1.0, "distress (0 none, 1 full)"
    raise ValueError(f"colour mode {mode!r}: use one of {', '.join(COLOUR_MODES)}")


# ------------------------------------------------------------------ the network (SVG)


class NetworkPainter:
    """Draws the network of one run as SVG; the positions' text is computed once per run."""

    SIZE = 1000

    def __init__(self, layout: np.ndarray, edges: np.ndarray) -> None:
        xy = np.rint(40 + layout * (self.SIZE - 80)).astype(np.int64)
        self.xy = xy
        self._dot = np.array([f"M{x} {y}h0" for x, y in xy.tolist()], dtype=object)
        ends = np.hstack([xy[edges[:, 0]], xy[edges[:, 1]]]) if len(edges) else np.zeros((0, 4), dtype=np.int64)
        self._segment = np.array([f"M{p} {q}L{r} {s}" for p, q, r, s in ends.tolist()], dtype=object)
        self._rings: dict[int, np.ndarray] = {}

    def _ring_text(self, mask: np.ndarray, r: int) -> str:
        if r not in self._rings:
            self._rings[r] = np.array(
                [f"M{x - r} {y}a{r} {r} 0 1 0 {2 * r} 0a{r} {r} 0 1 0 {-2 * r} 0" for x, y in self.xy.tolist()],
                dtype=object,
            )
        return "".join(self._rings[r][mask])

    def svg(self, frame: Frame, mode: str = "tone", big: bool = False) -> str:
        """The SVG document of the network now."""
        values, lo, hi, label = colour_values(frame, mode)
        colours = palette(mode)
        size = self.SIZE
        n = frame.n
        dot = 24 if n <= 250 else 16 if n <= 600 else 12
        font = 46 if big else 40
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size + 190}" '
            f'data-steps="{frame.steps}" data-run="{frame.run_id}" class="bondsim-network" '
            f'style="width:100%;height:auto;font-family:sans-serif">',
            f'<rect width="{size}" height="{size + 190}" fill="white"/>',
        ]
        # links: thicker and darker for stronger bonds
        if len(frame.strength):
            cls = np.minimum((np.clip(frame.strength, 0.0, 1.0) * _N_WIDTHS).astype(np.int64), _N_WIDTHS - 1)
            for k in range(_N_WIDTHS):
                chosen = frame.edge_ids[cls == k]
                if len(chosen):
                    width = 1.0 + 2.2 * k
                    opacity = 0.12 + 0.14 * k
                    parts.append(
                        f'<path d="{"".join(self._segment[chosen])}" stroke="#000" stroke-opacity="{opacity:.2f}" '
                        f'stroke-width="{width:.1f}" fill="none"/>'
                    )
        # marks under the dots: treated (black ring), lost a partner (purple ring), isolated (dashed grey ring)
        people = frame.people
        marks = (
            ("treated", dot // 2 + 4, 5, ""),
            ("bereaved", dot // 2 + 11, 6, ""),
            ("isolated", dot // 2 + 11, 4, ' stroke-dasharray="6 5"'),
        )
        for key, radius, width, extra in marks:
            mask = np.asarray(people.get(key, np.zeros(n, dtype=bool)), dtype=bool)
            if key == "isolated" and mask.all():
                continue  # everyone is alone: the legend says so, rings would only clutter
            if mask.any():
                parts.append(
                    f'<path d="{self._ring_text(mask, radius)}" stroke="{MARK_COLOURS[key]}" stroke-width="{width}" '
                    f'fill="none"{extra}/>'
                )
        # people, one path per colour (round caps on zero-length lines are dots)
        idx = np.clip(((np.nan_to_num(values) - lo) / (hi - lo) * (_N_COLOURS - 1)).round(), 0, _N_COLOURS - 1)
        idx = idx.astype(np.int64)
        for k in np.unique(idx).tolist():
            d = "".join(self._dot[idx == k])
            parts.append(
                f'<path d="{d}" stroke="{colours[k]}" stroke-width="{dot}" stroke-linecap="round" fill="none"/>'
            )
        # colour bar and legend
        y0 = size + 20
        stops = "".join(f'<stop offset="{i / (_N_COLOURS - 1):.3f}" stop-color="{c}"/>' for i, c in enumerate(colours))
        parts.append(f'<defs><linearGradient id="bar-{mode}">{stops}</linearGradient></defs>')
        parts.append(f'<rect x="40" y="{y0}" width="360" height="26" fill="url(#bar-{mode})" stroke="#888"/>')
        name = html.escape(label.split(" (")[0])
        parts.append(
            f'<text x="40" y="{y0 + 30 + font}" font-size="{font}">{lo:g}</text>'
            f'<text x="400" y="{y0 + 30 + font}" font-size="{font}" text-anchor="end">{hi:g}</text>'
            f'<text x="220" y="{y0 + 30 + font}" font-size="{font}" text-anchor="middle">{name}</text>'
        )
        legend = []
        if people["treated"].any():
            legend.append(("treated", "black ring: takes the pill"))
        if people["bereaved"].any():
            legend.append(("bereaved", "purple ring: lost a partner"))
        if people["isolated"].any():
            legend.append(
                ("isolated", "everyone is alone now" if people["isolated"].all() else "dashed ring: alone now")
            )
        legend.append(("", "thicker link: stronger bond"))
        for i, (key, text) in enumerate(legend):
            parts.append(
                f'<text x="440" y="{y0 + 20 + i * (font + 4)}" font-size="{font - 6}" '
                f'fill="{MARK_COLOURS.get(key, "#333")}">{html.escape(text)}</text>'
            )
        parts.append("</svg>")
        return "".join(parts)


# ------------------------------------------------------------------ the plots (SVG)


def _ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    return [lo + (hi - lo) * i / count for i in range(count + 1)]


def _day_ticks(x_max: float) -> list[float]:
    step = 1 if x_max <= 8 else 2 if x_max <= 16 else 5 if x_max <= 40 else 10
    return [float(d) for d in range(0, int(x_max) + 1, step)]


def _thin(x: np.ndarray, y: np.ndarray, most: int = 400) -> tuple[np.ndarray, np.ndarray]:
    if len(x) <= most:
        return x, y
    keep = np.unique(np.linspace(0, len(x) - 1, most).round().astype(np.int64))
    return x[keep], y[keep]


def plots_svg(frame: Frame, big: bool = False) -> str:
    """Six panels over time (days), one line per group, fixed axes, the comparison run dashed."""
    width, height = 1000, 860 if big else 900
    font = 40 if big else 34
    top = 10 + 2 * (font + 8)  # room for the legend
    cols, rows = 2, 3
    left_pad, right_pad, title_pad, bottom_pad = 2.0 * font, 24, font + 6, 1.2 * font
    cell_w = width / cols
    cell_h = (height - top) / rows
    x_max = frame.x_max
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" data-steps="{frame.steps}" '
        f'data-run="{frame.run_id}" class="bondsim-plots" style="width:100%;height:auto;font-family:sans-serif">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    labels = list(next(iter(frame.series.values())).keys()) if frame.series else []
    legend = [
        (GROUP_COLOURS[i % len(GROUP_COLOURS)], f"{lab} ({frame.groups.get(lab, 0)})", "")
        for i, lab in enumerate(labels)
    ]
    if frame.baseline:
        legend.append((BASELINE_COLOUR, frame.baseline_label, ' stroke-dasharray="10 6"'))
    x = 20
    y = 10 + font
    for colour, text, dash in legend:
        w = 42 + 0.52 * font * len(text) + 24
        if x + w > width:
            x, y = 20, y + font + 8
        parts.append(
            f'<line x1="{x}" y1="{y - font / 3:.0f}" x2="{x + 34}" y2="{y - font / 3:.0f}" stroke="{colour}" '
            f'stroke-width="5"{dash}/><text x="{x + 42}" y="{y}" font-size="{font}">{html.escape(text)}</text>'
        )
        x += w
    parts.append(
        f'<text x="{width - 10}" y="{10 + 2 * font + 8}" font-size="{font * 0.8:.0f}" text-anchor="end" '
        f'fill="#555">time axis: days</text>'
    )
    for i, (key, (title, (lo, hi), _)) in enumerate(PANELS.items()):
        col, row = i % cols, i // cols
        x0 = col * cell_w + left_pad
        x1 = (col + 1) * cell_w - right_pad
        y0 = top + row * cell_h + title_pad
        y1 = top + (row + 1) * cell_h - bottom_pad
        sx = lambda d, x0=x0, x1=x1: x0 + (x1 - x0) * d / x_max  # noqa: E731
        sy = lambda v, y0=y0, y1=y1, lo=lo, hi=hi: y1 - (y1 - y0) * (np.clip(v, lo, hi) - lo) / (hi - lo)  # noqa: E731
        short = SHORT_UNITS.get(key)
        unit_text = f'<tspan font-weight="normal" fill="#555"> ({html.escape(short)})</tspan>' if short else ""
        parts.append(
            f'<text x="{col * cell_w + 8}" y="{y0 - 8}" font-size="{font * 0.9:.0f}" font-weight="bold">'
            f"{html.escape(title)}{unit_text}</text>"
        )
        parts.append(
            f'<rect x="{x0}" y="{y0}" width="{x1 - x0:.0f}" height="{y1 - y0:.0f}" fill="none" stroke="#999"/>'
        )
        for v in _ticks(lo, hi, 2):
            yy = sy(v)
            parts.append(
                f'<line x1="{x0}" x2="{x1}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#ddd"/><text x="{x0 - 6}" '
                f'y="{yy + font / 3:.1f}" font-size="{font * 0.8:.0f}" text-anchor="end">{v:g}</text>'
            )
        if key == "tone_ratio":
            yy = sy(1.0)
            parts.append(
                f'<line x1="{x0}" x2="{x1}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#888" stroke-dasharray="3 4"/>'
            )
        ticks = _day_ticks(x_max)
        for d in ticks:
            xx = sx(d)
            text, anchor = f"{d:g}", "middle"
            parts.append(
                f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{y0}" y2="{y1}" stroke="#eee"/><text x="{xx:.1f}" '
                f'y="{y1 + font}" font-size="{font * 0.8:.0f}" text-anchor="{anchor}">{text}</text>'
            )
        lines = [(BASELINE_COLOUR, frame.baseline[key], ' stroke-dasharray="10 6"')] if key in frame.baseline else []
        for j, values in enumerate(frame.series.get(key, {}).values()):
            lines.append((GROUP_COLOURS[j % len(GROUP_COLOURS)], values, ""))
        for colour, values, dash in lines:
            if len(values) == 0:
                continue
            dx, dy = _thin(frame.days[: len(values)], np.asarray(values))
            pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(sx(dx).tolist(), sy(dy).tolist(), strict=True))
            parts.append(
                f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="4" '
                f'stroke-linejoin="round"{dash}/>'
            )
    parts.append("</svg>")
    return "".join(parts)


# ------------------------------------------------------------------ monitors

MONITORS = (
    ("distress", "distress", "{:.2f}"),
    ("felt_connection", "connection", "{:.2f}"),
    ("occupancy", "receptors held", "{:.0%}"),
    ("strong_bonds", "close bonds", "{:.1f}"),
)


def monitors_html(frame: Frame, big: bool = False) -> str:
    """The number readouts: the day and, per group, mean distress, connection, occupancy and close bonds."""
    size = 19 if big else 15
    rows = []
    latest = frame.latest()
    colours = {
        lab: GROUP_COLOURS[i % len(GROUP_COLOURS)] for i, lab in enumerate(next(iter(frame.series.values()), {}))
    }
    for label, values in latest.items():
        colour = colours.get(label, BASELINE_COLOUR)
        cells = "".join(
            f"<td style='padding:2px 10px;text-align:right'>{fmt.format(values.get(key, float('nan')))}</td>"
            for key, _, fmt in MONITORS
        )
        rows.append(
            f"<tr><td style='padding:2px 10px;color:{colour};font-weight:bold'>{html.escape(label)}</td>{cells}</tr>"
        )
    head = "".join(f"<th style='padding:2px 10px;text-align:right'>{html.escape(t)}</th>" for _, t, _ in MONITORS)
    return (
        f"<div class='bondsim-monitors' data-steps='{frame.steps}' style='font-size:{size}px;display:flex;"
        f"flex-wrap:wrap;align-items:center;gap:16px'>"
        f"<div class='bondsim-day' data-steps='{frame.steps}' style='font-size:{size * 1.5:.0f}px;font-weight:bold;"
        f"min-width:7em'>{day_text(frame.hours)}</div>"
        f"<table style='border-collapse:collapse'><tr><th></th>{head}</tr>{''.join(rows)}</table></div>"
    )
