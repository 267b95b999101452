"""The lessons: each preset's settings, what to look for and its comparison run; the sidebar's controls; the Info text.

A new lesson is a new entry in :data:`PRESETS`; its "what to look for" sentences are checked by
``tests/test_app.py``.
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


@dataclass(frozen=True)
class Preset:
    """A teaching moment: the controls' settings, fixed extras, what to look for, what to compare with.

    Attributes:
        name: the button's label.
        settings: a value for every control.
        extras: other parameters the lesson fixes (a separation, an isolation).
        text: what to look for (each sentence's direction is checked by a test).
        baseline: parameters changed in a comparison run of the same community, drawn dashed
            (empty: no comparison run).
        baseline_label: the comparison run's name on the plots.
        days: length of the lesson's time axis (days).
    """

    name: str
    settings: dict[str, Any]
    extras: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    baseline: dict[str, Any] = field(default_factory=dict)
    baseline_label: str = ""
    days: float = 4.0


DEFAULTS: dict[str, Any] = {
    "drug": "placebo",
    "dose_mg": 50.0,
    "treated_fraction": 0.5,
    "rejection_rate": 0.2,
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
            text=(
                "Half the group takes a placebo pill (black rings), which does nothing pharmacologically. Links "
                "thicken where people meet often, and close bonds grow. The pill and no-pill lines stay together: "
                "nothing differs between pill and no pill."
            ),
        ),
        Preset(
            "placebo vs naltrexone",
            {**DEFAULTS, "drug": "naltrexone", "dose_mg": 50.0},
            text=(
                "Half take 50 mg naltrexone a day, the others are the placebo arm. Within hours naltrexone holds "
                "nearly all mu-opioid receptors, so each contact rewards less. Distress jumps at first, then fades "
                "over about three days as people get used to the lower opioid signal. Seeking company first rises "
                "(relief from distress), then falls below the placebo arm's once people have learned that contact "
                "rewards less. The naltrexone arm feels less connected (Inagaki et al. 2016)."
            ),
        ),
        Preset(
            "separation",
            {**DEFAULTS, "treated_fraction": 0.0},
            extras={"separation": "loss", "separation_day": 2.0, "separation_fraction": 0.3},
            text=(
                "On day 2, three people in ten lose their closest partner for good, and so those partners lose someone "
                "too (purple rings). Their tone falls and stays low. Their distress jumps above the others' and "
                "they seek company more (protest); then the distress fades over the next two days as they get used "
                "to the loss, and they seek company less than the others (despair) (Panksepp 1978; Bowlby 1969). "
                "Dashed: the same community with no loss."
            ),
            baseline={"separation": "none"},
            baseline_label="no one leaves",
        ),
        Preset(
            "morphine and distress",
            {**DEFAULTS, "drug": "morphine", "dose_mg": 10.0},
            extras={
                "separation": "isolation",
                "separation_day": 1.0,
                "separation_fraction": 1.0,
                "isolation_days": 2.0,
            },
            text=(
                "From day 1 to day 3 everyone is alone. Half get 10 mg morphine a day. Alone, the placebo arm's "
                "distress jumps, then slowly fades as they get used to being alone. For hours after each dose the "
                "morphine arm feels almost no distress (Panksepp et al. 1980); as the dose wears off its distress "
                "comes back, higher than the placebo arm's: morphine kept them from getting used to being alone."
            ),
        ),
        Preset(
            "morphine withdrawal",
            {**DEFAULTS, "drug": "morphine", "dose_mg": 10.0},
            extras={"dosing_days": 4},
            text=(
                "Half take 10 mg morphine a day for four days (the last dose on day 3), then stop. Each dose lifts "
                "the opioid signal, and the brain gets used to more: as each dose wears off the morphine arm feels "
                "distress the placebo arm does not, and the next dose takes it away. After the last dose the "
                "withdrawal distress has no next dose to end it: it lasts about two days, fading as people get "
                "used to less, and drives them to seek company more."
            ),
            days=6.0,
        ),
        Preset(
            "rejection",
            {**DEFAULTS, "rejection_rate": 0.7, "treated_fraction": 0.0},
            text=(
                "Seven approaches in ten are turned down. Each rejection lowers tone: tone sits lower, people feel "
                "less connected and fewer close bonds grow than in the same community with the usual 20% rejection "
                "(dashed) (Eisenberger et al. 2003; Hsu et al. 2013). Distress is higher only in the first hours: "
                "people get used to the lower tone."
            ),
            baseline={"rejection_rate": 0.2},
            baseline_label="usual rejection (20%)",
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


def preset_kwargs(name: str) -> dict[str, Any]:
    """Settings and extras of a preset, as one dictionary."""
    preset = PRESETS[name]
    return {**preset.settings, **preset.extras}


INFO = static_text("info.html")  # the Info tab: what the model is, how it works, what to try, references
