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
import math
from dataclasses import dataclass, field

import numpy as np

# quantity key -> (title, usual y range, what the unit is, short unit for titles and monitors)
QUANTITIES: dict[str, tuple[str, tuple[float, float], str, str]] = {
    "felt_connection": ("felt connection", (0.0, 1.0), "0 none to 1 full", "0-1"),
    "tone_ratio": ("opioid tone", (0.0, 2.0), "1 = own set point", "1 = set point"),
    "distress": ("distress", (0.0, 1.0), "0 none to 1 full", "0-1"),
    "seeking": ("seeking company", (0.0, 10.0), "attempts per person per day, 6-hour mean", "a day"),
    "occupancy": ("receptors held by the drug", (0.0, 1.0), "share of mu receptors, %", "%"),
    "strong_bonds": ("close bonds", (0.0, 3.0), "bonds of 0.5 or more (on 0-1) per person", "per person"),
    "receptors": (
        "receptor number",
        (0.0, 2.0),
        "mu receptors, 1 = the number when tone is at its set point (a community above it has a few less)",
        "1 = at set point",
    ),
}
PANELS = QUANTITIES  # the name of earlier versions
PERCENT = frozenset({"occupancy"})  # shown as % on axes and monitors alike
CLOSE_BOND = "close bond: a bond of at least 0.5 on the 0-1 scale (a thick link)"

# One meaning per colour (Okabe & Ito's colour-blind-safe palette); rings have their group's colour.
# Checked under simulated deuteranopia and protanopia by tests/test_app.py.
ROLE_COLOURS = {
    "drug": "#D55E00",  # vermillion: those who take an active drug
    "pill": "#E69F00",  # orange: those who take a placebo pill
    "lost": "#CC79A7",  # reddish purple: those who lost a partner
    "other": "#0072B2",  # blue: the comparison group (no drug, no pill, no loss)
    "everyone": "#009E73",  # bluish green: everyone, when there is only one group
    "alone": "#56B4E9",  # sky blue, dashed: alone now
}
GROUP_COLOURS = (ROLE_COLOURS["drug"], ROLE_COLOURS["other"], ROLE_COLOURS["lost"], ROLE_COLOURS["everyone"])
BASELINE_COLOUR = "#555555"
MARK_COLOURS = {"treated": ROLE_COLOURS["drug"], "bereaved": ROLE_COLOURS["lost"], "isolated": ROLE_COLOURS["alone"]}
COLOUR_MODES = {"tone": "opioid tone", "distress": "distress"}
DOT_MAPS = {"tone": "cividis", "distress": "Greys"}  # lightness runs one way in both: readable in any colour vision
_N_COLOURS = 21
_N_WIDTHS = 6


def group_colour(label: str) -> str:
    """A group's colour, by what the group is (not by its place in a list)."""
    if label.endswith(" arm") and label != "placebo arm":
        return ROLE_COLOURS["drug"]
    if label == "placebo pill":
        return ROLE_COLOURS["pill"]
    if label == "lost a partner":
        return ROLE_COLOURS["lost"]
    if label == "everyone":
        return ROLE_COLOURS["everyone"]
    return ROLE_COLOURS["other"]


@dataclass(frozen=True)
class Mark:
    """A moment marked on the plots' time axis: a dose, a loss, the start or end of an isolation, a change."""

    day: float
    kind: str  # dose, loss, alone, together, rejection
    label: str


@dataclass(frozen=True, eq=False)
class Frame:
    """An immutable snapshot of a run: everything the views, monitors and downloads read.

    Attributes:
        run_id: which run it belongs to (a new one after each reset).
        steps: steps since the lesson's day 0; hours: hours since day 0; step_hours: length of a step (h).
        people: per-person arrays (``tone_ratio``, ``distress``, ``treated``, ``bereaved``,
            ``isolated``), copies.
        edges: (k, 2) endpoints of the open ties (each once) and ``strength`` their mean bond;
            ``edge_ids`` their rows in the run's list of ties (for the painter's cached text).
        layout: (n, 2) positions of the people in [0, 1].
        days: time of each recorded step (days since day 0).
        series: quantity -> group label -> mean at each recorded step.
        baseline: quantity -> mean of the comparison run at each recorded step, for the same people
            as the first group (or empty).
        baseline_label: what the comparison run is.
        groups: group label -> number of people.
        x_max: right end of the time axis (days): the lesson's length.
        drug: drug name; drug_active: whether it acts on receptors.
        panels: the six quantities plotted; ranges: their y ranges where not the usual.
        marks: doses and events marked on the time axis.
        lesson: the lesson's name; ended: whether the lesson has reached its end.
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
    panels: tuple[str, ...] = ("felt_connection", "tone_ratio", "distress", "seeking", "occupancy", "strong_bonds")
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    marks: tuple[Mark, ...] = ()
    lesson: str = ""
    ended: bool = False

    @property
    def day(self) -> float:
        """Simulated time (days since day 0)."""
        return self.hours / 24.0

    @property
    def n(self) -> int:
        """Number of people."""
        return len(self.layout)

    @property
    def labels(self) -> list[str]:
        """The groups' labels, the lesson's focus first."""
        return list(next(iter(self.series.values()), {}).keys())

    def y_range(self, key: str) -> tuple[float, float]:
        """The y range of a quantity's panel in this lesson."""
        return self.ranges.get(key, QUANTITIES[key][1])

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


def value_text(key: str, value: float) -> str:
    """A value as the monitors and descriptions write it, in the unit of its plot."""
    if not np.isfinite(value):
        return "-"
    if key in PERCENT:
        return f"{value:.0%}"
    if key in ("seeking", "strong_bonds"):
        return f"{value:.1f}"
    return f"{value:.2f}"


# ------------------------------------------------------------------ colours


def _hex(rgb) -> str:
    r, g, b = (round(255 * float(c)) for c in rgb[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


_PALETTES: dict[str, list[str]] = {}


def palette(mode: str) -> list[str]:
    """The colours of the people for a colour mode, low to high (never white: dots stay visible)."""
    if mode not in COLOUR_MODES:
        raise ValueError(f"colour mode {mode!r}: use one of {', '.join(COLOUR_MODES)}")
    if mode not in _PALETTES:
        from matplotlib import colormaps

        cmap = colormaps[DOT_MAPS[mode]]
        lo, hi = (0.0, 1.0) if mode == "tone" else (0.2, 1.0)
        _PALETTES[mode] = [_hex(cmap(x)) for x in np.linspace(lo, hi, _N_COLOURS)]
    return _PALETTES[mode]


def colour_values(frame: Frame, mode: str) -> tuple[np.ndarray, float, float, str]:
    """Values that colour the people, their range and the colour bar's label."""
    if mode == "tone":
        return frame.people["tone_ratio"], 0.0, 2.0, "opioid tone (1 = own set point)"
    if mode == "distress":
        return frame.people["distress"], 0.0, 1.0, "distress (0 none, 1 full)"
    raise ValueError(f"colour mode {mode!r}: use one of {', '.join(COLOUR_MODES)}")


# ------------------------------------------------------------------ text for screen readers


def network_description(frame: Frame, mode: str) -> str:
    """The network in words: who is marked, how many are below their set point or distressed, the ties."""
    people = frame.people
    parts = [f"The network of {frame.n} people at {day_text(frame.hours)}."]
    for label, count in frame.groups.items():
        if label != "everyone":
            parts.append(f"{count} {label} ({'ringed' if label != 'others' and label != 'no pill' else 'no ring'}).")
    below = int((people["tone_ratio"] < 1.0).sum())
    distressed = int((people["distress"] >= 0.2).sum())
    alone = int(people["isolated"].sum())
    parts.append(
        f"Coloured by {COLOUR_MODES[mode]}: {below} below their own set point of tone, {distressed} with "
        f"distress of 0.2 or more."
    )
    if alone:
        parts.append(f"{alone} are alone now.")
    strong = int((frame.strength >= 0.5).sum())
    parts.append(f"{len(frame.edges)} ties between people who know each other, {strong} of them close bonds.")
    return " ".join(parts)


def plots_description(frame: Frame) -> str:
    """The six plots in words: each quantity's latest value per group, and where it started."""
    parts = [f"Plots over days 0 to {frame.x_max:g} of the lesson {frame.lesson or ''}, now {day_text(frame.hours)}."]
    for key in frame.panels:
        title = QUANTITIES[key][0]
        by_group = frame.series.get(key, {})
        now = ", ".join(f"{label} {value_text(key, v[-1])}" for label, v in by_group.items() if len(v))
        start = ", ".join(f"{value_text(key, v[0])}" for v in by_group.values() if len(v))
        text = f"{title} ({QUANTITIES[key][2]}): {now}; on day 0 {start}"
        if key in frame.baseline and len(frame.baseline[key]):
            text += f"; {frame.baseline_label} {value_text(key, frame.baseline[key][-1])}"
        parts.append(text + ".")
    if frame.marks:
        parts.append("Marked: " + "; ".join(f"{m.label} on day {m.day:g}" for m in frame.marks) + ".")
    return " ".join(parts)


def _svg_open(cls: str, frame: Frame, width: float, height: float, title: str, desc: str) -> str:
    ident = f"{cls}-{frame.run_id}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {height:g}" data-steps="{frame.steps}" '
        f'data-run="{frame.run_id}" class="{cls}" role="img" aria-labelledby="{ident}-t {ident}-d" '
        f'style="width:100%;height:auto;font-family:sans-serif">'
        f'<title id="{ident}-t">{html.escape(title)}</title><desc id="{ident}-d">{html.escape(desc)}</desc>'
    )


# ------------------------------------------------------------------ the network (SVG)


class NetworkPainter:
    """Draws the network of one run as SVG; the positions' text is computed once per run."""

    SIZE = 1000

    def __init__(self, layout: np.ndarray, edges: np.ndarray) -> None:
        xy = np.rint(40 + layout * (self.SIZE - 80)).astype(np.int64)
        self.xy = xy
        self._dot = np.array([f"M{x} {y}h0" for x, y in xy.tolist()], dtype=object)
        self._all_dots = "".join(self._dot)
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
        height = size + 200
        parts = [
            _svg_open(
                "bondsim-network", frame, size, height, "The community's network", network_description(frame, mode)
            ),
            f'<rect width="{size}" height="{height}" fill="white"/>',
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
        # rings under the dots, in their group's colour: the pill, lost a partner, alone now (dashed)
        people = frame.people
        pill = ROLE_COLOURS["drug"] if frame.drug_active else ROLE_COLOURS["pill"]
        marks = (
            ("treated", dot // 2 + 4, 6, "", pill),
            ("bereaved", dot // 2 + 5, 7, "", ROLE_COLOURS["lost"]),
            ("isolated", dot // 2 + 12, 4, ' stroke-dasharray="6 5"', ROLE_COLOURS["alone"]),
        )
        treated_all = bool(np.asarray(people["treated"]).all())
        for key, radius, width, extra, colour in marks:
            mask = np.asarray(people.get(key, np.zeros(n, dtype=bool)), dtype=bool)
            if key == "isolated" and mask.all():
                continue  # everyone is alone: the legend says so, rings would only clutter
            if mask.any():
                parts.append(
                    f'<path d="{self._ring_text(mask, radius)}" stroke="{colour}" stroke-width="{width}" '
                    f'fill="none"{extra}/>'
                )
        # people: a dark outline, then one path per colour (round caps on zero-length lines are dots)
        parts.append(
            f'<path d="{self._all_dots}" stroke="#444" stroke-width="{dot + 3}" stroke-linecap="round" fill="none"/>'
        )
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
        if people["treated"].any() and not treated_all:
            legend.append((pill, "ring: takes the pill"))
        if people["bereaved"].any():
            legend.append((ROLE_COLOURS["lost"], "ring: lost a partner"))
        if people["isolated"].any():
            everyone = people["isolated"].all()
            legend.append((ROLE_COLOURS["alone"], "everyone is alone now" if everyone else "dashed ring: alone now"))
        legend.append(("#333", "thicker link: stronger bond"))
        for i, (colour, text) in enumerate(legend[:4]):
            parts.append(
                f'<text x="440" y="{y0 + 20 + i * (font + 4)}" font-size="{font - 6}" font-weight="bold" '
                f'fill="{colour}">{html.escape(text)}</text>'
            )
        parts.append("</svg>")
        return "".join(parts)


# ------------------------------------------------------------------ the plots (SVG)


def _ticks(lo: float, hi: float, count: int = 2) -> list[float]:
    return [lo + (hi - lo) * i / count for i in range(count + 1)]


def _tick_text(key: str, value: float) -> str:
    return f"{value:.0%}" if key in PERCENT else f"{value:g}"


def _day_ticks(x_max: float) -> list[float]:
    step = 1 if x_max <= 8 else 7 if x_max > 20 else 2
    return [float(d) for d in range(0, int(x_max) + 1, step)]


MOST_POINTS = 400  # at most this many points on a line over the lesson's whole span (about one per pixel)


def _points_text(x: np.ndarray, y: np.ndarray) -> str:
    """SVG polyline points in whole units (a line is four units wide); points without a value are left out."""
    xy = np.column_stack([x, y])
    whole = np.rint(xy[np.isfinite(xy).all(axis=1)]).astype(np.int64)
    return " ".join(map("%d,%d".__mod__, map(tuple, whole.tolist())))


class LineText:
    """The plots' lines as SVG text, formatted once per point: a step adds a point or two to lines that only grow.

    The points kept are every ``stride``-th step, with a stride fixed by the lesson's whole span, so
    that the points already drawn stay the same as a line grows; each call formats only the points
    after the longest run of points equal to those of the previous call (all of them if anything
    before has changed), plus the latest one.
    """

    def __init__(self) -> None:
        self._lines: dict[tuple, tuple[np.ndarray, np.ndarray, str]] = {}

    def points(self, key: tuple, x: np.ndarray, y: np.ndarray, stride: int) -> str:
        """The points of the line ``key`` (pixels ``x``, ``y`` of every step so far), thinned to ``stride``."""
        n = len(x)
        kept = np.arange(0, n, stride)
        xs, ys = x[kept], y[kept]
        text, start = "", 0
        previous = self._lines.get(key)
        if previous is not None:
            px, py, ptext = previous
            m = len(px)
            same = m <= len(xs) and np.array_equal(px, xs[:m], equal_nan=True)
            if same and np.array_equal(py, ys[:m], equal_nan=True):
                text, start = ptext, m
        new = _points_text(xs[start:], ys[start:])
        text = f"{text} {new}" if text and new else text or new
        self._lines[key] = (xs, ys, text)
        if kept[-1] != n - 1:  # the latest step, until it is one of the kept points
            text = f"{text} {_points_text(x[-1:], y[-1:])}"
        return text


def text_width(text: str, font: float) -> float:
    """A generous estimate of the width of ``text`` in sans-serif at ``font`` (for laying out, not drawing)."""
    return 0.58 * font * len(text)


def plots_svg(frame: Frame, big: bool = False, lines: LineText | None = None) -> str:
    """Six panels over the lesson's days, one line per group, fixed axes, marks, the comparison dashed.

    Projector mode lays them out three by two, larger text on a wider picture, to fit a 1280x720 screen.
    ``lines``: the run's formatted lines so far (a page drawing every step passes its run's), else
    every line is formatted afresh.
    """
    lines_text = LineText() if lines is None else lines
    line_ident = f"bondsim-line-{frame.run_id}-{frame.steps}-{int(big)}"  # unique among the pictures of a notebook
    stride = max(1, math.ceil((frame.x_max * 24.0 / frame.step_hours + 1) / MOST_POINTS))
    cols, rows = (3, 2) if big else (2, 3)
    width, height = (1150, 680) if big else (1000, 940)
    font = 34
    small = round(font * 0.8)
    labels = frame.labels
    colours = {label: group_colour(label) for label in labels}
    focal = labels[0] if labels else ""
    # the legend, wrapped to the width
    legend = [(colours[lab], f"{lab} ({frame.groups.get(lab, 0)})", "") for lab in labels]
    if frame.baseline:
        legend.append((colours.get(focal, BASELINE_COLOUR), frame.baseline_label, ' stroke-dasharray="10 7"'))
    doses = [m for m in frame.marks if m.kind == "dose"]
    events = [m for m in frame.marks if m.kind != "dose"]
    if doses:
        legend.append(("", f"▼ dose ({doses[0].label})", "dose"))
    rows_of_legend: list[list[tuple[float, tuple]]] = [[]]
    x = 20.0
    for item in legend:
        w = (42 if item[2] != "dose" else 0) + text_width(item[1], font) + 24
        if x + w > width - 10 and rows_of_legend[-1]:
            rows_of_legend.append([])
            x = 20.0
        rows_of_legend[-1].append((x, item))
        x += w
    line_h = font + 10
    top = 10 + line_h * len(rows_of_legend) + 6
    parts = [
        _svg_open("bondsim-plots", frame, width, height, "The lesson's plots over time", plots_description(frame)),
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    for r, row in enumerate(rows_of_legend):
        y = 10 + font + r * line_h
        for x, (colour, text, dash) in row:
            if dash == "dose":
                parts.append(
                    f'<text x="{x:.0f}" y="{y}" font-size="{font}" class="bondsim-legend">{html.escape(text)}</text>'
                )
                continue
            parts.append(
                f'<line x1="{x:.0f}" y1="{y - font / 3:.0f}" x2="{x + 34:.0f}" y2="{y - font / 3:.0f}" '
                f'stroke="{colour}" stroke-width="6"{dash}/><text x="{x + 42:.0f}" y="{y}" font-size="{font}" '
                f'class="bondsim-legend">{html.escape(text)}</text>'
            )
    cell_w = width / cols
    footer = small + 10  # the time axis' note and the events, under the panels
    cell_h = (height - top - footer) / rows
    left_pad, right_pad = 0.62 * small * 4 + 12, 20
    title_h, bottom_pad = font + 14, small + 16
    for i, key in enumerate(frame.panels):
        title, _, _, short = QUANTITIES[key]
        lo, hi = frame.y_range(key)
        col, row = i % cols, i // cols
        x0 = col * cell_w + left_pad
        x1 = (col + 1) * cell_w - right_pad
        y0 = top + row * cell_h + title_h + small * 0.5  # room for the top tick label's upper half
        y1 = top + (row + 1) * cell_h - bottom_pad
        x_max = frame.x_max
        sx = lambda d, x0=x0, x1=x1, x_max=x_max: x0 + (x1 - x0) * d / x_max  # noqa: E731
        sy = lambda v, y0=y0, y1=y1, lo=lo, hi=hi: y1 - (y1 - y0) * (np.clip(v, lo, hi) - lo) / (hi - lo)  # noqa: E731
        title_font = font * 0.9
        unit_text = f'<tspan font-weight="normal" fill="#444"> ({html.escape(short)})</tspan>'
        if text_width(title + f" ({short})", title_font) > cell_w - 16:
            unit_text = ""
            fitted = (cell_w - 16) / (0.52 * len(title))  # a sans-serif letter is under 0.52 em: no collision
            title_font = min(title_font, fitted)
        parts.append(
            f'<text x="{col * cell_w + 8:.0f}" y="{top + row * cell_h + font:.0f}" font-size="{title_font:.0f}" '
            f'font-weight="bold" class="bondsim-title">{html.escape(title)}{unit_text}</text>'
        )
        parts.append(
            f'<rect x="{x0:.0f}" y="{y0:.0f}" width="{x1 - x0:.0f}" height="{y1 - y0:.0f}" fill="none" stroke="#999"/>'
        )
        for v in _ticks(lo, hi, 2):
            yy = sy(v)
            parts.append(
                f'<line x1="{x0:.0f}" x2="{x1:.0f}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#ddd"/><text x="{x0 - 6:.0f}" '
                f'y="{yy + small / 3:.1f}" font-size="{small}" text-anchor="end" class="bondsim-tick">'
                f"{_tick_text(key, v)}</text>"
            )
        if key in ("tone_ratio", "receptors"):
            yy = sy(1.0)
            parts.append(
                f'<line x1="{x0:.0f}" x2="{x1:.0f}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#888" stroke-dasharray="3 4"/>'
            )
        for d in _day_ticks(x_max):
            xx = sx(d)
            parts.append(
                f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{y0:.0f}" y2="{y1:.0f}" stroke="#eee"/><text x="{xx:.1f}" '
                f'y="{y1 + small + 4:.0f}" font-size="{small}" text-anchor="middle" class="bondsim-tick">{d:g}</text>'
            )
        # events: a vertical line each (an isolation is shaded until it ends); doses: a triangle on top
        alone = [m for m in events if m.kind == "alone"]
        for m in alone:
            end = next((e.day for e in events if e.kind == "together" and e.day > m.day), x_max)
            parts.append(
                f'<rect x="{sx(m.day):.1f}" y="{y0:.0f}" width="{sx(end) - sx(m.day):.1f}" height="{y1 - y0:.0f}" '
                f'fill="{ROLE_COLOURS["alone"]}" fill-opacity="0.15"/>'
            )
        for m in events:
            colour = ROLE_COLOURS["lost"] if m.kind == "loss" else "#333"
            parts.append(
                f'<line x1="{sx(m.day):.1f}" x2="{sx(m.day):.1f}" y1="{y0:.0f}" y2="{y1:.0f}" stroke="{colour}" '
                f'stroke-width="2" stroke-dasharray="4 4" class="bondsim-event"/>'
            )
        if doses:
            dose_colour = ROLE_COLOURS["drug"] if frame.drug_active else ROLE_COLOURS["pill"]
            tri = "".join(f"M{sx(m.day) - 7:.1f} {y0:.0f}h14l-7 12z" for m in doses)
            parts.append(f'<path d="{tri}" fill="{dose_colour}" class="bondsim-dose"/>')
        drawn = []
        for label, values in frame.series.get(key, {}).items():
            drawn.append((label, colours[label], values, ""))
        if key in frame.baseline:  # on top, so that it is never hidden
            comparison = colours.get(focal, BASELINE_COLOUR)
            drawn.append((None, comparison, frame.baseline[key], ' stroke-dasharray="10 7"'))
        for label, colour, values, dash in drawn:
            if len(values) == 0:
                continue
            values = np.asarray(values)
            geometry = (x0, x1, y0, y1, lo, hi, x_max)
            pts = lines_text.points((key, label, geometry), sx(frame.days[: len(values)]), sy(values), stride)
            width_line = 3 if dash else 4
            if dash:
                parts.append(
                    f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="{width_line}" '
                    f'stroke-linejoin="round"{dash}/>'
                )
                continue
            # the points once, drawn twice: a white halo under the coloured line
            ident = f"{line_ident}-{len(parts)}"
            parts.append(
                f'<defs><polyline id="{ident}" points="{pts}" fill="none" stroke-linejoin="round"/></defs>'
                f'<use href="#{ident}" stroke="white" stroke-width="7"/>'
                f'<use href="#{ident}" stroke="{colour}" stroke-width="{width_line}" class="bondsim-line"/>'
            )
    parts.append(
        f'<text x="{width - 10}" y="{height - 4}" font-size="{small}" text-anchor="end" fill="#444" '
        f'class="bondsim-axis-note">days since day 0</text>'
    )
    if events:
        note = "; ".join(f"day {m.day:g}: {m.label}" for m in events)
        parts.append(
            f'<text x="10" y="{height - 4}" font-size="{small}" fill="#333" class="bondsim-axis-note">'
            f"┆ {html.escape(note)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


# ------------------------------------------------------------------ monitors

MONITORS = ("distress", "felt_connection", "occupancy", "strong_bonds")


def monitors_html(frame: Frame, big: bool = False) -> str:
    """The number readouts: the day and, per group, the latest means, in the plots' words and units."""
    size = 19 if big else 15
    rows = []
    latest = frame.latest()
    colours = {label: group_colour(label) for label in frame.labels}
    for label, values in latest.items():
        colour = colours.get(label, BASELINE_COLOUR)
        style = "" if label in colours else "font-style:italic;"
        cells = "".join(
            f"<td style='padding:2px 10px;text-align:right'>{value_text(key, values.get(key, float('nan')))}</td>"
            for key in MONITORS
        )
        rows.append(
            f"<tr><td style='padding:2px 10px;color:{colour};font-weight:bold;{style}'>{html.escape(label)}</td>"
            f"{cells}</tr>"
        )
    head = "".join(
        f"<th style='padding:2px 10px;text-align:right' title='{html.escape(QUANTITIES[key][2])}'>"
        f"{html.escape(QUANTITIES[key][0])} ({html.escape(QUANTITIES[key][3])})</th>"
        for key in MONITORS
    )
    end = "<div class='bondsim-ended'>end of the lesson</div>" if frame.ended else ""
    return (
        f"<div class='bondsim-monitors' data-steps='{frame.steps}' style='font-size:{size}px;display:flex;"
        f"flex-wrap:wrap;align-items:center;gap:16px'>"
        f"<div class='bondsim-day' data-steps='{frame.steps}' style='font-size:{size * 1.5:.0f}px;font-weight:bold;"
        f"min-width:7em'>{day_text(frame.hours)}<span style='font-size:{size}px;font-weight:normal;color:#444'>"
        f" of {frame.x_max:g} days</span>{end}</div>"
        f"<table style='border-collapse:collapse'><tr><th></th>{head}</tr>{''.join(rows)}</table>"
        f"<div style='font-size:{size - 2}px;color:#444'>{html.escape(CLOSE_BOND)}.</div></div>"
    )


# ------------------------------------------------------------------ the class's results (SVG)


def class_plot_svg(summary, measure, big: bool = False) -> str:
    """The class's results of a lesson: each student's prediction and result as dots, the mean and its 95% interval.

    Two rows on one axis (the measure's prediction range, widened to fit every value): the
    predictions above, the results below, each dot a student (hollow: a run with changed
    settings, not in the mean); the mean of the results as a bar, its interval as a line.
    """
    width, font = 1000, 30 if big else 26
    values = [v for _, v, p, _ in summary.rows for v in (v, p) if v is not None]
    lo, hi = min([measure.low, *values]), max([measure.high, *values])
    x0, x1 = 220.0, width - 30.0
    sx = lambda v: x0 + (x1 - x0) * (v - lo) / (hi - lo)  # noqa: E731
    rows_y = {"predictions": 90.0, "results": 200.0}
    height = 300
    n_results = sum(1 for _, v, _, _ in summary.rows if v is not None)
    n_predictions = sum(1 for _, _, p, _ in summary.rows if p is not None)
    desc = f"{measure.what}: {n_results} results, {n_predictions} predictions."
    if summary.mean is not None:
        desc += f" Mean result {summary.mean:+.3f}"
        if summary.low is not None:
            desc += f", 95% interval {summary.low:+.3f} to {summary.high:+.3f}"
        desc += "."
    if summary.predicted_mean is not None:
        desc += f" Mean prediction {summary.predicted_mean:+.3f}."
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="bondsim-class-plot" '
        f'role="img" aria-label="{html.escape(desc)}" data-results="{n_results}" '
        f'data-predictions="{n_predictions}" style="width:100%;height:auto;font-family:sans-serif">',
        f"<title>{html.escape(measure.what)}</title><desc>{html.escape(desc)}</desc>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    if lo < 0 < hi:
        parts.append(f'<line x1="{sx(0):.1f}" x2="{sx(0):.1f}" y1="40" y2="250" stroke="#999" stroke-dasharray="4 4"/>')
    for d in _ticks(lo, hi, 4):
        parts.append(
            f'<text x="{sx(d):.1f}" y="{height - 14}" font-size="{font * 0.85:.0f}" text-anchor="middle">'
            f"{d:+.2g}</text>"
        )
    parts.append(f'<line x1="{x0}" x2="{x1}" y1="250" y2="250" stroke="#666"/>')
    colours = {"predictions": ROLE_COLOURS["pill"], "results": ROLE_COLOURS["other"]}
    for name, y in rows_y.items():
        parts.append(f'<text x="10" y="{y + font / 3:.0f}" font-size="{font}" font-weight="bold">{name}</text>')
        column = 1 if name == "results" else 2
        points = [(row[0], row[column], row[3]) for row in summary.rows if row[column] is not None]
        seen: dict[int, int] = {}
        for student, value, changed in sorted(points, key=lambda p: p[1]):
            bucket = round(sx(value) / 14)
            k = seen.get(bucket, 0)
            seen[bucket] = k + 1
            yy = y + (k % 5 - 2) * 11
            hollow = changed and name == "results"
            fill = "white" if hollow else colours[name]
            parts.append(
                f'<circle cx="{sx(value):.1f}" cy="{yy:.1f}" r="9" fill="{fill}" stroke="{colours[name]}" '
                f'stroke-width="3" fill-opacity="0.85"><title>{html.escape(student)}: {value:+.3f}</title></circle>'
            )
    if summary.predicted_mean is not None:
        x = sx(summary.predicted_mean)
        y = rows_y["predictions"]
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y - 34}" y2="{y + 34}" stroke="#000" stroke-width="4"/>')
    if summary.mean is not None:
        y = rows_y["results"]
        if summary.low is not None:
            parts.append(
                f'<line x1="{sx(summary.low):.1f}" x2="{sx(summary.high):.1f}" y1="{y + 36}" y2="{y + 36}" '
                f'stroke="#000" stroke-width="4"/>'
            )
        x = sx(summary.mean)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y - 34}" y2="{y + 44}" stroke="#000" stroke-width="4"/>')
        label = f"mean {summary.mean:+.3f}"
        if summary.low is not None:
            label += f" (95%: {summary.low:+.3f} to {summary.high:+.3f})"
        parts.append(f'<text x="{x0}" y="{y - 44}" font-size="{font * 0.85:.0f}">{html.escape(label)}</text>')
    parts.append(
        f'<text x="{x0}" y="30" font-size="{font * 0.85:.0f}" fill="#333">{html.escape(measure.what)}</text></svg>'
    )
    return "".join(parts)
