"""Endogenous opioid tone: released by contact, lost to rejection and to grief, relaxing to a set point.

Tone T is the person's endogenous mu-opioid level (tone units; the mean set point is 1). Each
accepted contact closes a fraction of the gap to a ceiling, the more the closer the partner;
a rejection costs a fraction of tone; grief for partners who are away drains it; and tone
relaxes to the person's own set point. Grief starts at the bond to the partner lost and fades
on its own time scale (not the bond's); it ends when the partner is back. Between events the
tone follows its differential equation exactly, and a contact or a rejection is taken to fall
anywhere in the step, so the step length changes no expected value of these jumps. Equations and
sources: docs/model.md.
"""

from __future__ import annotations

import math

import numpy as np

from ..mechanism import Parameter, Variable, helper, power_of, rule

PARAMETERS = (
    Parameter("set_point", 1.0, "tone units", "mean endogenous tone set point", 0.1, 10.0,
              source="defines the tone unit", status="fixed"),
    Parameter("set_point_sd", 0.1, "fraction", "person-to-person SD of the set point, relative", 0.0, 0.5,
              source="modest individual differences"),
    Parameter("tone_relaxation_hours", 3.0, "h", "time constant of tone's return to its set point", 0.1, 240.0,
              source="opioid release after grooming or contact fades within hours (Keverne et al. 1989)"),
    Parameter("tone_ceiling", 2.86, "x set point", "the most tone contact can raise (release saturates there)",
              2.0, 10.0, source="CSF beta-endorphin rose at most 186% after grooming (Keverne et al. 1989); a ceiling "
                                "below 2 could not produce that rise (the range, model.md)",
              status="fixed"),
    Parameter("contact_release", 0.27, "fraction", "share of the gap to the ceiling one contact with a closest "
              "partner closes", 0.01, 1.0,
              source="+50% of the set point at rest, within the 17-186% rise after grooming (Keverne et al. 1989)",
              status="fixed"),
    Parameter("stranger_weight", 0.2, "fraction", "release of a contact with a stranger, relative to a closest "
              "partner (bond 1); in between it grows linearly with the bond", 0.0, 1.0,
              source="a fifth, set by hand; the lab task then rates messages from strangers and close others "
                     "1.5 and 4.9 on a 1-7 scale, against 1.97 and 4.67 (Inagaki, Hazlett & Andreescu 2019)"),
    Parameter("rejection_tone_drop", 0.3, "fraction", "fraction of tone lost on a rejection", 0.0, 0.9,
              source="rejection changes mu-opioid activity (Hsu et al. 2013); social pain (Eisenberger et al. 2003)"),
    Parameter("separation_grief", 0.5, "1/h", "tone loss rate per unit of grief (bond to absent partners)", 0.0,
              10.0, source="separation lowers opioid activity and raises distress (Panksepp et al. 1980)"),
    Parameter("grief_half_life_days", 14.0, "days", "half-life of grief for a partner who stays away", 0.1,
              3650.0, source="grief fades over weeks, faster than the bond itself"),
)  # fmt: skip

VARIABLES = (
    Variable("tone_set_point", "the person's own tone set point", "tone units", initial=1.0),
    Variable("tone", "endogenous opioid tone", "tone units", initial=1.0),
    Variable("grief", "grief for partners who are away", "bond units"),
    Variable("absent_bond", "sum of the bonds to partners who are away", "bond units"),
)


def constants(params) -> dict:
    """Per-step factors: what a rejection leaves of tone, of grief, and of the gap to the set point without grief."""
    return {
        "rejection_keep": 1.0 - params.rejection_tone_drop,
        "grief_keep": math.exp(-math.log(2.0) * params.step_hours / (24.0 * params.grief_half_life_days)),
        "relaxation_keep": math.exp(-(1.0 / params.tone_relaxation_hours) * params.step_hours),
    }


def initialize(params, n, network, rng) -> dict:
    """Log-normal set points with mean ``set_point`` and relative spread ``set_point_sd``; tone starts there."""
    sd = params.set_point_sd
    set_point = params.set_point * np.exp(sd * rng.standard_normal(n) - 0.5 * sd**2)
    return {"tone_set_point": set_point, "tone": set_point.copy()}


@helper
def released(tone, tone_set_point, bond, count, contact_release, tone_ceiling, stranger_weight):
    """Tone after ``count`` contacts with a partner of this bond: each closes c w(b) of the gap to the ceiling.

    w(b) = stranger_weight + (1 - stranger_weight) b: a closest partner releases most.
    """
    closes = contact_release * (stranger_weight + (1.0 - stranger_weight) * bond)
    ceiling = tone_ceiling * tone_set_point
    return ceiling - (ceiling - tone) * power_of(1.0 - closes, count)


@rule("update", writes=("tone", "grief", "absent_bond"))
def update_tone(
    tone, tone_set_point, grief, absent_bond, contacts, rejections, closed_ties, edge_bond, edge_met, edge_closed,
    contact_release, tone_ceiling, stranger_weight, rejection_keep, separation_grief, grief_keep,
    tone_relaxation_hours, relaxation_keep, dt,
):  # fmt: skip
    """Release by contact, loss by rejection and by grief, relaxation to the set point, over one step."""
    raised = tone
    absent = 0.0
    if contacts or closed_ties:
        for k in range(len(edge_bond)):
            if edge_met[k]:
                raised = released(
                    raised, tone_set_point, edge_bond[k], edge_met[k], contact_release, tone_ceiling, stranger_weight
                )
            if edge_closed[k]:
                absent += edge_bond[k]
    if absent > absent_bond:  # a new absence: grief for it starts at the bond
        grief += absent - absent_bond
    grief = min(grief, absent) * grief_keep  # a partner back (or a faded bond) ends that grief
    # a contact's release and a rejection's loss both fall anywhere in the step
    change = raised - tone - tone * (1.0 - power_of(rejection_keep, rejections))
    # dT/dt = (S - T) / tau - grief_rate T, solved over the step
    rate = 1.0 / tone_relaxation_hours + separation_grief * grief
    settled = tone_set_point / (tone_relaxation_hours * rate)
    keep = relaxation_keep if grief == 0.0 else math.exp(-rate * dt)  # the same number, computed once when no grief
    tone = settled + (tone - settled) * keep + change * (1.0 - keep) / (rate * dt)
    return min(max(tone, 0.0), tone_ceiling * tone_set_point), grief, absent
