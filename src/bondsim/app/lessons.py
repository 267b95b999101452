"""The lessons: each one's settings, events, what to look for, checkpoints and class question; the controls; Info.

Every lesson starts from a settled community (:func:`bondsim.app.run.settled_model`): its day 0 is
the end of a warm-up in which bonds and felt connection have become stationary, so the lines are
flat until the lesson's first event. Each "what to look for" sentence is checked by its own test in
``tests/test_app.py`` on the lesson's default community, reading the numbers the page shows.

A new lesson is a new entry in :data:`PRESETS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import drugs
from .assets import static_text
from .config import base_params


def app_drugs() -> tuple[str, ...]:
    """The drugs a class can choose: the registry's, and the config's own, placebo first."""
    custom = base_params().drugs if base_params() is not None else ()
    return tuple(name for name in drugs.names(custom) if name != "none")


APP_DRUGS = app_drugs()
NETWORKS = {"small world": "small_world", "random": "random", "a few hubs": "scale_free"}
USUAL_REJECTION = 0.2

# the six panels a lesson shows unless it names its own (keys of bondsim.app.views.QUANTITIES)
DEFAULT_PANELS = ("felt_connection", "tone_ratio", "distress", "seeking", "occupancy", "strong_bonds")


@dataclass(frozen=True)
class Event:
    """Something that happens in a lesson, at ``day`` (days after the lesson's day 0).

    Kinds: ``doses`` (the pill, once a day at the hour of ``day``, ``count`` times; 0 = to the
    end), ``loss`` (``separation_fraction`` of the people lose their closest partner for good),
    ``isolation`` (everyone chosen is alone for ``isolation_days``) and ``rejection`` (from then on
    the rejection rate of the controls; before, the usual 20%).
    """

    kind: str
    day: float
    count: int = 0


@dataclass(frozen=True)
class Checkpoint:
    """Play pauses at ``day`` and the page asks ``question``."""

    day: float
    question: str


@dataclass(frozen=True)
class Measure:
    """The lesson's result that a class pools: a difference of group means of ``key`` at ``day``.

    ``first`` minus ``second``: group labels (``{drug}`` is the drug's name), or ``"comparison"``
    for the comparison run's mean of the same people.
    """

    key: str
    day: float
    first: str
    second: str
    question: str
    what: str
    low: float
    high: float
    step: float = 0.01


@dataclass(frozen=True)
class Preset:
    """A teaching moment.

    Attributes:
        name: the button's label.
        settings: a value for every control.
        extras: other parameters the lesson fixes (how many lose a partner, how long the isolation).
        events: what happens, and when (days after day 0).
        looks: what to look for, as (key, sentence) pairs; each sentence has its own test.
        baseline_without: event kinds the comparison run leaves out (empty: no comparison run).
        baseline_label: the comparison run's name on the plots.
        days: the lesson's length: play pauses there, and the time axis spans it.
        checkpoints: where play pauses to ask a question.
        panels: the six quantities plotted.
        ranges: y ranges that differ from the quantity's usual one (to make this lesson's effect visible).
        measure: the class question: what students predict and what their runs report.
        speed: the play speed it starts with (simulated hours per second).
    """

    name: str
    settings: dict[str, Any]
    extras: dict[str, Any] = field(default_factory=dict)
    events: tuple[Event, ...] = ()
    looks: tuple[tuple[str, str], ...] = ()
    baseline_without: tuple[str, ...] = ()
    baseline_label: str = ""
    days: float = 4.0
    checkpoints: tuple[Checkpoint, ...] = ()
    panels: tuple[str, ...] = DEFAULT_PANELS
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    measure: Measure | None = None
    speed: int = 5

    @property
    def text(self) -> str:
        """What to look for, as one paragraph."""
        return " ".join(sentence for _, sentence in self.looks)

    def look(self, key: str) -> str:
        """One sentence of what to look for."""
        return dict(self.looks)[key]


DEFAULTS: dict[str, Any] = {
    "drug": "placebo",
    "dose_mg": 50.0,
    "treated_fraction": 0.5,
    "rejection_rate": USUAL_REJECTION,
    "n_agents": 200,
    "network": "small_world",
    "seed": 1,
}

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "free play",
            dict(DEFAULTS),
            events=(Event("doses", 1.0),),
            looks=(
                (
                    "settled",
                    "The community has settled before day 0: contact renews bonds as fast as they fade, so the "
                    "lines are flat. A thicker link is a stronger bond.",
                ),
                (
                    "chance",
                    "From day 1 half the group takes a placebo pill (orange rings). Who takes it was drawn by "
                    "chance, so the two groups' lines differ a little already on day 0, before any pill.",
                ),
                (
                    "nothing",
                    "The pill does nothing pharmacologically: after day 1 the gap between the lines stays what it "
                    "was before.",
                ),
            ),
            checkpoints=(Checkpoint(1.0, "The pill group takes its first pill now. Will their lines move away?"),),
            measure=Measure(
                "felt_connection",
                4.0,
                "placebo pill",
                "no pill",
                "Does a placebo pill change how connected people feel? Predict the pill group's felt connection "
                "minus the no-pill group's on day 4.",
                "felt connection, pill minus no pill, day 4",
                -0.1,
                0.1,
            ),
        ),
        Preset(
            "placebo vs naltrexone",
            {**DEFAULTS, "drug": "naltrexone", "dose_mg": 50.0},
            events=(Event("doses", 1.0),),
            looks=(
                (
                    "occupancy",
                    "From day 1 half take 50 mg naltrexone a day, the others are the placebo arm. Within two hours "
                    "naltrexone holds about nine in ten of their mu-opioid receptors, so each contact rewards less.",
                ),
                (
                    "distress",
                    "Their distress jumps at once, then fades: each later dose brings a smaller jump, and by day 4 "
                    "they have got used to the lower opioid signal.",
                ),
                (
                    "seeking",
                    "Seeking company first rises (relief from distress), then, from day 2, falls below the placebo "
                    "arm's: they have learned that contact rewards less.",
                ),
                (
                    "connection",
                    "The naltrexone arm feels less connected, more so each day (Inagaki et al. 2016). How much "
                    "less differs between communities: compare with your class.",
                ),
            ),
            days=5.0,
            checkpoints=(
                Checkpoint(
                    1.125,
                    "Three hours after the first dose: how many receptors does naltrexone hold? "
                    "What happened to distress and to seeking?",
                ),
                Checkpoint(3.0, "Compare seeking company now with day 1. Why can it first rise and later fall?"),
            ),
            ranges={"seeking": (2.0, 8.0)},
            measure=Measure(
                "felt_connection",
                5.0,
                "{drug} arm",
                "placebo arm",
                "Will naltrexone raise or lower felt connection, and by how much? Predict the naltrexone arm's "
                "felt connection minus the placebo arm's on day 5.",
                "felt connection, naltrexone minus placebo, day 5",
                -0.1,
                0.1,
            ),
        ),
        Preset(
            "separation",
            {**DEFAULTS, "treated_fraction": 0.0},
            extras={"separation_fraction": 0.3},
            events=(Event("loss", 1.0),),
            looks=(
                (
                    "tone",
                    "On day 1, three people in ten lose their closest partner for good, and so those partners lose "
                    "someone too (purple rings). Their tone falls at once and stays low.",
                ),
                (
                    "distress",
                    "Their distress jumps above the others' and above that of the same people with no loss "
                    "(dashed), and eases only a little over the next days.",
                ),
                (
                    "protest",
                    "At first they seek company more than the others (protest); from day 2 they seek it less "
                    "(despair) (Panksepp 1978; Bowlby 1969).",
                ),
            ),
            baseline_without=("loss",),
            baseline_label="the same people, no loss",
            days=5.0,
            checkpoints=(
                Checkpoint(
                    1.25,
                    "Six hours after the loss: colour people by distress. Who is distressed? Compare "
                    "the purple line with its dashed twin.",
                ),
                Checkpoint(
                    3.0, "Their distress eases only a little, yet they now seek company less than the others. Why?"
                ),
            ),
            ranges={"seeking": (3.0, 8.0), "distress": (0.0, 0.5)},
            measure=Measure(
                "distress",
                5.0,
                "lost a partner",
                "comparison",
                "How much more distress will those who lost a partner feel on day 5 than the same people would "
                "have with no loss?",
                "distress, lost a partner minus the same people with no loss, day 5",
                -0.2,
                0.6,
            ),
        ),
        Preset(
            "morphine and distress",
            {**DEFAULTS, "drug": "morphine", "dose_mg": 10.0},
            extras={"separation_fraction": 1.0, "isolation_days": 2.0},
            events=(Event("isolation", 1.0), Event("doses", 1.0, count=2)),
            looks=(
                (
                    "alone",
                    "From day 1 to day 3 everyone is alone. The placebo arm's distress jumps, then eases slowly as "
                    "they get used to being alone.",
                ),
                (
                    "soothed",
                    "The morphine arm takes 10 mg when left alone and again a day later: for hours after each dose "
                    "its distress is lower than the placebo arm's (Panksepp et al. 1980).",
                ),
                (
                    "wears off",
                    "As each dose wears off, its distress comes back higher than the placebo arm's: morphine kept "
                    "them from getting used to being alone.",
                ),
                (
                    "reunion",
                    "On day 3 they are together again: the placebo arm's distress is gone, the morphine arm's "
                    "stays above it (withdrawal).",
                ),
            ),
            checkpoints=(
                Checkpoint(1.25, "Everyone has been alone for six hours. Which arm is more distressed, and why?"),
                Checkpoint(2.0, "The first dose has worn off. Which arm is more distressed now?"),
            ),
            measure=Measure(
                "distress",
                2.25,
                "{drug} arm",
                "placebo arm",
                "Alone, six hours after a dose of morphine: how much less (or more) distress than the placebo arm?",
                "distress, morphine minus placebo, day 2 hour 6",
                -0.6,
                0.6,
            ),
        ),
        Preset(
            "morphine withdrawal",
            {**DEFAULTS, "drug": "morphine", "dose_mg": 10.0},
            events=(Event("doses", 1.0, count=4),),
            looks=(
                (
                    "between doses",
                    "From day 1 the morphine arm takes 10 mg a day for four days. As each dose wears off they feel "
                    "distress the placebo arm does not, and the next dose takes it away.",
                ),
                (
                    "withdrawal",
                    "After the last dose (day 4) the distress comes back with no next dose to end it: withdrawal, "
                    "which fades only slowly, over weeks.",
                ),
                ("seeking", "Withdrawal drives them to seek company more than the placebo arm."),
            ),
            days=8.0,
            checkpoints=(
                Checkpoint(2.0, "The first dose has worn off. What does the morphine arm feel, and why?"),
                Checkpoint(5.0, "The last dose was a day ago. What do you expect over the next days?"),
            ),
            ranges={"seeking": (3.0, 8.0), "distress": (0.0, 0.5)},
            speed=10,
            measure=Measure(
                "distress",
                8.0,
                "{drug} arm",
                "placebo arm",
                "Four days after the last dose of morphine, how much more distress than the placebo arm?",
                "distress, morphine minus placebo, day 8",
                -0.2,
                0.5,
            ),
        ),
        Preset(
            "rejection",
            {**DEFAULTS, "rejection_rate": 0.7, "treated_fraction": 0.0},
            events=(Event("rejection", 1.0),),
            looks=(
                (
                    "tone",
                    "From day 1, seven approaches in ten are turned down (usually two). Each rejection lowers tone: "
                    "within a day it is well below the same community's with the usual rejection (dashed).",
                ),
                (
                    "distress",
                    "Distress rises within hours and stays above the usual run's (Eisenberger et al. 2003; Hsu et "
                    "al. 2013).",
                ),
                ("seeking", "People keep trying: they seek company more."),
                (
                    "bonds",
                    "Felt connection and close bonds wear down only slowly: after five days they are less than a "
                    "hundredth below the usual run's, too little to see. Bonds take weeks to change.",
                ),
            ),
            baseline_without=("rejection",),
            baseline_label="usual rejection (20%)",
            days=6.0,
            checkpoints=(Checkpoint(1.5, "Twelve hours of rejection: what happened to tone and to distress?"),),
            ranges={"distress": (0.0, 0.5), "seeking": (3.0, 8.0)},
            measure=Measure(
                "tone_ratio",
                6.0,
                "everyone",
                "comparison",
                "How far will opioid tone fall when seven approaches in ten are turned down? Predict tone with "
                "70% rejection minus tone with the usual 20%, on day 6.",
                "opioid tone, 70% minus 20% rejection, day 6",
                -1.0,
                0.5,
            ),
        ),
        Preset(
            "weeks of naltrexone",
            {**DEFAULTS, "drug": "naltrexone", "dose_mg": 50.0},
            events=(Event("doses", 1.0, count=21),),
            looks=(
                (
                    "receptors",
                    "From day 1 the naltrexone arm takes 50 mg a day for three weeks. Their brains make more mu "
                    "receptors: within two weeks the number rises by more than half (Zukin et al. 1982; Lesscher "
                    "et al. 2003).",
                ),
                (
                    "distress",
                    "Their distress jumps at first, then fades within days although the blockade goes on: they get "
                    "used to it (no lasting low mood: Krupitsky et al. 2016).",
                ),
                ("seeking", "Seeking company stays low for as long as they take it: contact still rewards less."),
                (
                    "after",
                    "After the last dose (day 21) the blockade fades over about two weeks; the receptors fall back "
                    "towards the placebo arm's number and seeking and felt connection come back. Little overshoots: "
                    "in this model the rebound is small, because the drug leaves as slowly as the extra receptors go.",
                ),
            ),
            days=35.0,
            checkpoints=(
                Checkpoint(3.0, "Two days of naltrexone: what happened to distress, and to the receptors?"),
                Checkpoint(14.0, "Two weeks in: distress is gone, but is seeking back?"),
                Checkpoint(22.0, "The last dose was yesterday. Predict: will anything overshoot as the drug goes?"),
            ),
            panels=("felt_connection", "receptors", "distress", "seeking", "occupancy", "strong_bonds"),
            ranges={"seeking": (2.0, 8.0)},
            speed=100,
            measure=Measure(
                "seeking",
                21.0,
                "{drug} arm",
                "placebo arm",
                "After three weeks of naltrexone, will people seek company more or less than the placebo arm, and "
                "by how much (attempts a day)?",
                "seeking company, naltrexone minus placebo, day 21 (a day)",
                -4.0,
                4.0,
                step=0.1,
            ),
        ),
    )
}


@dataclass(frozen=True)
class Control:
    """A control in the sidebar: its label shows its value, with units."""

    key: str
    kind: str  # "select", "float" or "int"
    label: Callable[[Any], str]
    low: float = 0.0
    high: float = 1.0
    step: float = 1.0
    values: tuple[str, ...] = ()


CONTROLS: dict[str, Control] = {
    c.key: c
    for c in (
        Control("drug", "select", lambda v: "Pill taken once a day", values=APP_DRUGS),
        Control("dose_mg", "float", lambda v: f"Dose: {v:g} mg a day", 0.0, 100.0, 5.0),
        Control("treated_fraction", "float", lambda v: f"People taking the pill: {v:.0%}", 0.0, 1.0, 0.05),
        Control("rejection_rate", "float", lambda v: f"Approaches turned down: {v:.0%}", 0.0, 0.9, 0.05),
        Control("n_agents", "int", lambda v: f"Group size: {v} people", 20, 1000, 10),
        Control("network", "select", lambda v: "Who knows whom", values=tuple(NETWORKS)),
        Control("seed", "int", lambda v: f"Community number: {v}", 0, 99, 1),
    )
}


def describe(key: str, value: Any) -> str:
    """A setting in plain words (for the 'press Reset' notice)."""
    control = CONTROLS[key]
    if key == "network":
        return {v: k for k, v in NETWORKS.items()}.get(value, str(value))
    if control.kind == "select":
        return str(value)
    return control.label(value).split(": ", 1)[1]


def changed_settings(name: str, settings: dict[str, Any], own: dict[str, Any] | None = None) -> list[str]:
    """The settings that differ from the lesson's own, in plain words ("People taking the pill: 100%").

    ``own``: the lesson's settings as this student was given them (in a class, their community).
    """
    own = PRESETS[name].settings if own is None else own
    out = []
    for key, control in CONTROLS.items():
        if key in settings and settings[key] != own.get(key):
            title = control.label(settings[key]).split(":")[0]
            out.append(f"{title}: {describe(key, settings[key])}")
    return out


def preset_kwargs(name: str) -> dict[str, Any]:
    """Settings and extras of a preset, as one dictionary."""
    preset = PRESETS[name]
    return {**preset.settings, **preset.extras}


INFO = static_text("info.html")  # the Info tab: what the model is, how it works, what to try, references
