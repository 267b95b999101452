"""The lessons: each preset's settings, what to look for and its comparison run; the sidebar's controls; the Info text.

A new lesson is a new entry in :data:`PRESETS`; its "what to look for" sentences are checked by
``tests/test_app.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import drugs
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


# ------------------------------------------------------------------ the Info view

INFO = """
<h2>What is it?</h2>
<p>A community of people on a social network whose brain opioids drive, and are driven by, social
contact: the <b>brain opioid theory of social attachment</b> (Panksepp 1978; Løseth, Ellingsen and Leknes
2014). Each dot is a person, each link a tie between two people who know each other. You can give some
people a pill (a placebo, naltrexone or morphine) and watch what happens to their bonds and feelings.</p>

<h2>How it works</h2>
<p>One step is one hour. Every hour:</p>
<ol>
<li><b>Two reasons to seek company.</b> People look for company at a rate that has two parts: the reward
they have learned to expect of contact (<i>wanting</i>), and their distress (<i>relief</i>). The "seeking
company" plot counts their attempts per day.</li>
<li><b>They turn to those they are close to.</b> A seeker picks a neighbour, preferring stronger bonds.</li>
<li><b>Yes or no.</b> The neighbour accepts or turns them down (the rejection rate). Accepted contact releases
opioids in both, more with a close partner than with a near-stranger; the <i>reward</i> is that release
acting through the receptors a drug leaves free. Bonds grow with the reward, but each person's bonds share
a limited capacity. A rejection lowers tone.</li>
<li><b>Distress is a shortfall from what you are used to.</b> The opioid signal is compared with the level
the person has got used to, and that level slowly follows the signal (about a day). So a lasting change is
felt at first and then fades, and a level the brain got used to under a drug is missed when the drug is
gone (withdrawal).</li>
<li><b>Receptors adapt too.</b> Over days, blocked receptors become more numerous and receptors kept busy
by an opioid drug become fewer (tolerance).</li>
<li><b>Everything fades.</b> Tone relaxes to its set point, bonds fade slowly, the pill's drug is absorbed
and cleared, and it holds a share of the mu-opioid receptors (occupancy).</li>
<li><b>Loss hurts.</b> Losing a partner, or being alone, lowers tone (grief, which fades over weeks):
separation distress. As the distress fades, the grief left behind damps the wish for company (despair).</li>
</ol>
<p><b>Naltrexone</b> blocks mu-opioid receptors, so contact rewards less. <b>Morphine</b> activates them, so
the opioid signal stays up even alone, for as long as a dose lasts. The <b>placebo</b> does nothing
pharmacologically.</p>
<details><summary><b>The equations</b> (click to open)</summary>
<pre style="white-space:pre-wrap">
signal        s = N A(T, O) / A0(S)           T tone, S set point, O drug occupancy, N receptor number
distress      D = min(max(r - s, 0), 1)        r = the signal the person is used to
used to       r moves toward s, time constant 1 day (an opponent process)
receptors     N moves toward 1 / (activation per receptor), within [1/(1+k), 1+k], time constant 3 days
seeking       attempts in an hour ~ Poisson(a M / (1 + E) + g D)   M expected reward, D distress, E despair
despair       E moves toward grief G, time constant 1 day
partner       chosen with weight f + b^gamma       b = bond to that neighbour
release       a contact closes c (w + (1 - w) b) of the gap between tone and its ceiling
reward        R = N (1 - O) [A(T after release) - A(T)] / R0      (1 = a closest partner, undrugged)
value         V = 1 - s_o + s_o R;   expected reward M moves a share mu of the way to V per contact
bond growth   b <- 1 - (1 - b)(1 - eta V (1 - B/K))^k     B = sum of bonds, K = capacity, k contacts
tone          rejection: T <- T (1 - delta);   dT/dt = (S - T) / tau - lambda G T     G = grief
grief         starts at the bond to the partner lost, halves every 14 days
bond decay    a bond halves in 60 days without contact
felt connection  F = (1 - w) sum(b^2)/K + w min(M, 1)
</pre>
<p>Every rule, parameter and source is in the project's <code>docs/model.md</code>; the drugs' kinetics in
<code>docs/pharmacology.md</code>.</p></details>

<h2>How to use it</h2>
<p>Pick a <b>lesson</b> in the sidebar, read what to look for, then press <b>Play</b> (or <b>Step</b> for one
hour). The numbers above the plots are the group means now. Change a setting, then press <b>Reset</b>: the
same lesson starts again with your settings. <b>Restart this lesson</b> brings back the lesson's own
settings. Colour the people by tone or distress; <b>Projector</b> makes the text large.</p>

<h2>Things to notice</h2>
<ul>
<li>Links thicken between people who meet often: bonds follow reward.</li>
<li>On naltrexone, distress jumps at first and then fades as people get used to it; seeking company first
rises (relief), then falls below the placebo arm's once people learn that contact rewards less. They feel
<i>less</i> connected.</li>
<li>After a loss, tone falls and stays low in those who lost someone; their distress jumps and they seek
company more (protest), then their distress fades and they seek company less (despair).</li>
<li>Alone, the morphine arm is calm for hours after each dose; as the dose wears off, its distress comes back
higher than the placebo arm's.</li>
<li>Stopping morphine after a few days brings withdrawal distress, which fades over about two days.</li>
</ul>

<h2>Things to try</h2>
<ul>
<li>Give naltrexone to everyone (100%): which line disappears, and why?</li>
<li>Set the dose to 0 mg: does the naltrexone arm still differ?</li>
<li>In <b>placebo vs naltrexone</b>, give a small dose (5 or 10 mg): is the first jump in distress smaller?
Does seeking still fall later?</li>
<li>In <b>morphine withdrawal</b>, raise the dose: is the withdrawal after stopping stronger?</li>
<li>Raise the rejection rate step by step: at what rate do close bonds stop growing?</li>
<li>Try a network with a few hubs: who has the strongest bonds?</li>
</ul>

<h2>Extending the model</h2>
<p>The rules are small Python functions, one module per mechanism (<code>src/bondsim/mechanisms/</code>); a
new drug is a new set of constants (<code>src/bondsim/pharmacology.py</code>, or a <code>[drugs.NAME]</code>
table in a config); a new lesson is a new entry in
<code>PRESETS</code> in <code>src/bondsim/app/lessons.py</code>. The same model runs parameter sweeps
(<code>bondsim sweep</code>) and virtual experiments (<code>bondsim experiment</code>).</p>

<h2>Related models</h2>
<p>Mesa's example models (virus on a network, Boltzmann wealth); the NetLogo Models Library's social
and network models; models of attachment and separation in the ethology literature.</p>

<h2>Credits and references</h2>
<p>bondsim developers, MIT licence. Built with Mesa and Solara.</p>
<ul>
<li>Panksepp J (1978) and Panksepp J, Herman B, Conner R, Bishop P, Scott JP (1978). The biology of social
attachments: opiates alleviate separation distress. <i>Biological Psychiatry</i> 13: 607-618.</li>
<li>Panksepp J, Meeker R, Bean NJ (1980). The neurochemical control of crying. <i>Pharmacology Biochemistry
and Behavior</i> 12: 437-443.</li>
<li>Solomon RL, Corbit JD (1974). An opponent-process theory of motivation. <i>Psychological Review</i>
81: 119-145.</li>
<li>Keverne EB, Martensz ND, Tuite B (1989). Beta-endorphin concentrations in cerebrospinal fluid of monkeys
are influenced by grooming relationships. <i>Psychoneuroendocrinology</i> 14: 155-161.</li>
<li>Eisenberger NI, Lieberman MD, Williams KD (2003). Does rejection hurt? <i>Science</i> 302: 290-292.</li>
<li>Hsu DT et al. (2013). Response of the mu-opioid system to social rejection and acceptance.
<i>Molecular Psychiatry</i> 18: 1211-1217.</li>
<li>Bowlby J (1969). <i>Attachment and Loss, Vol. 1: Attachment</i>. London: Hogarth Press.</li>
<li>Løseth GE, Ellingsen D-M, Leknes S (2014). State-dependent mu-opioid modulation of social motivation.
<i>Frontiers in Behavioral Neuroscience</i> 8: 430.</li>
<li>Inagaki TK, Ray LA, Irwin MR, Way BM, Eisenberger NI (2016). Opioids and social bonding: naltrexone
reduces feelings of social connection. <i>Social Cognitive and Affective Neuroscience</i> 11: 728-735.</li>
<li>Løseth GE, Trøstheim M, Leknes S (2024). Meta-analysis of mu-opioid manipulations of social
behaviour and feelings.</li>
</ul>
"""
