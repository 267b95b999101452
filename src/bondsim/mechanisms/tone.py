"""Endogenous opioid tone: released by contact, lost to rejection and to absent partners, relaxing to a set point.

Tone T is the person's endogenous mu-opioid level (tone units; the mean set point is 1). Each
accepted contact releases opioid; a rejection costs a fraction of tone; partners who are away
(lost for good, or unreachable during an isolation) drain it in proportion to the bonds to them;
and tone relaxes to the person's own set point. Equations and sources: docs/model.md.
"""

from __future__ import annotations

import math

import numpy as np

from ..mechanism import Parameter, Variable, rule

PARAMETERS = (
    Parameter("set_point", 1.0, "tone units", "mean endogenous tone set point", 0.1, 10.0,
              source="defines the tone unit", status="fixed"),
    Parameter("set_point_sd", 0.1, "fraction", "person-to-person SD of the set point, relative", 0.0, 0.5,
              source="modest individual differences"),
    Parameter("tone_relaxation_hours", 3.0, "h", "time constant of tone's return to its set point", 0.1, 240.0,
              source="opioid release after grooming or contact fades within hours (Keverne et al. 1989)"),
    Parameter("contact_release", 0.5, "tone units", "opioid release per accepted contact", 0.0, 10.0,
              source="CSF beta-endorphin rose 17-186% after grooming (Keverne et al. 1989): +50% of the set point",
              status="fixed"),
    Parameter("rejection_tone_drop", 0.3, "fraction", "fraction of tone lost on a rejection", 0.0, 1.0,
              source="rejection changes mu-opioid activity (Hsu et al. 2013); social pain (Eisenberger et al. 2003)"),
    Parameter("separation_grief", 0.5, "1/h", "tone loss rate per unit of bond to absent partners", 0.0, 10.0,
              source="separation lowers opioid activity and raises distress (Panksepp et al. 1980)"),
)  # fmt: skip

VARIABLES = (
    Variable("tone_set_point", "the person's own tone set point", "tone units", initial=1.0),
    Variable("tone", "endogenous opioid tone", "tone units", initial=1.0),
)


def constants(params) -> dict:
    """Per-step factors: what is left of a deviation from the set point, and of tone after a rejection."""
    return {
        "tone_keep": math.exp(-params.step_hours / params.tone_relaxation_hours),
        "rejection_keep": 1.0 - params.rejection_tone_drop,
    }


def initialize(params, n, network, rng) -> dict:
    """Log-normal set points with mean ``set_point`` and relative spread ``set_point_sd``; tone starts there."""
    sd = params.set_point_sd
    set_point = params.set_point * np.exp(sd * rng.standard_normal(n) - 0.5 * sd**2)
    return {"tone_set_point": set_point, "tone": set_point.copy()}


@rule("update", writes=("tone",))
def update_tone(
    tone, tone_set_point, contacts, rejections, closed_ties, edge_bond, edge_closed,
    contact_release, rejection_keep, separation_grief, tone_keep, dt,
):  # fmt: skip
    """Release by contact, loss by rejection and by grief for absent partners, then relaxation."""
    absent_bond = 0.0
    if closed_ties:  # the bonds to partners who are away
        for k in range(len(edge_bond)):
            if edge_closed[k]:
                absent_bond += edge_bond[k]
    tone = tone + contact_release * contacts
    if rejections:
        tone = tone * rejection_keep**rejections
    if absent_bond > 0.0:
        tone = tone * math.exp(-dt * separation_grief * absent_bond)
    return tone_set_point + (tone - tone_set_point) * tone_keep
