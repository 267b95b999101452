"""Distress and adaptation, on three clocks: the hedonic reference (days), receptors (a week), dependence (weeks).

What a person feels as distress has three parts:

- the **hedonic shortfall**: the opioid signal below the reference r, the signal the person has
  got used to over the last days (an opponent process, Solomon & Corbit 1974). A drug's lasting
  change of the signal is felt at first and fades as r follows it; the r a drug leaves behind
  when it stops is felt as a rebound or as withdrawal;
- the **tone shortfall**: endogenous tone below the person's own set point, an absolute level
  that no drug and no adaptation moves. A rejection or a loss lowers tone, so it hurts under a
  months-long blockade too, and a blockade alone does not pin distress;
- **withdrawal**: physical dependence q follows, over weeks, the drug's push on the activation
  per receptor (what an agonist adds to it; an antagonist takes away). While the drug is there
  its push matches q; once it is gone, the unmatched dependence is expressed as withdrawal w,
  which builds up over about a day and fades as q does: onset within hours of the last dose, a
  peak a day or two later, then a long tail. An antagonist leaves no withdrawal: its push was
  negative.

And two slow homeostatic processes:

- **receptor number** N: made at a constant rate and removed in proportion to their activation
  (activity-dependent internalisation), relaxing to N* = (1 + k) / (1 + k u): chronic blockade
  (u near 0) up-regulates receptors towards 1 + k, chronic agonist (u > 1) down-regulates them
  (tolerance); acute doses, lasting hours, barely move them;
- **despair** E follows grief at the pace of the hedonic reference: the grief a person has got used
  to damps the appetitive drive to seek contact (protest first, then despair: Bowlby 1969).

Equations and sources: docs/model.md.
"""

from __future__ import annotations

import math

from ..mechanism import Parameter, Variable, helper, rule
from .receptor import free_activation

LEAST_REFERENCE = 1e-6  # the reference stays positive: affect divides by it

PARAMETERS = (
    Parameter("receptor_plasticity", 0.8, "fraction", "extra receptor number under full chronic blockade, relative "
              "to the undrugged number", 0.0, 2.0,
              source="mu binding +80% after 8 days of naltrexone pellets in mice (Lesscher et al. 2003); +55-90% in "
                     "other strains and ligands (Yoburn and colleagues)", status="fixed"),
    Parameter("receptor_adaptation_days", 3.0, "days", "receptor turnover time without activation (internalisation "
              "shortens it)", 0.1, 365.0,
              source="chronic (about a week), not acute, naltrexone raises receptor number "
                     "(Zukin et al. 1982; Unterwald et al. 1995)"),
    Parameter("reference_adaptation_days", 1.0, "days", "time constant of the hedonic reference (opponent process)",
              0.1, 365.0, source="months of naltrexone bring no lasting dysphoria (Krupitsky et al. 2016); with "
                                 "relief_seeking it sets the state dependence of seeking (calibration.md)",
              status="calibrated"),
    Parameter("tone_distress_share", 0.5, "fraction", "share of distress read as tone below its set point (an "
              "absolute level) rather than as the signal below the hedonic reference", 0.0, 1.0,
              source="assumed: no study found that months of naltrexone abolish the pain of rejection or loss "
                     "(science.md section 7); with a half, a rejection under months of blockade is felt half as "
                     "much as without (model.md)"),
    Parameter("dependence_days", 4.0, "days", "time constant of the fast part of physical dependence on an "
              "agonist", 0.5, 60.0,
              source="the acute phase of withdrawal from a short-acting opioid lasts 4-10 days "
                     "(Kosten & O'Connor 2003; WHO 2009)"),
    Parameter("lasting_dependence_days", 45.0, "days", "time constant of the lasting part of physical dependence",
              1.0, 365.0, source="a protracted phase of weeks to months follows (Kosten & O'Connor 2003)"),
    Parameter("lasting_share", 0.25, "fraction", "share of withdrawal carried by the lasting part of dependence",
              0.0, 1.0, source="assumed: the protracted phase is milder than the acute one"),
    Parameter("withdrawal_onset_hours", 30.0, "h", "time constant of withdrawal's expression once dependence is "
              "unmatched", 1.0, 240.0,
              source="withdrawal from morphine or heroin starts 8-24 h and peaks 36-72 h after the last dose "
                     "(Kosten & O'Connor 2003; WHO 2009); set by hand to those landmarks (calibration.md)",
              status="calibrated"),
    Parameter("withdrawal_gain", 0.8, "", "distress per unit of unmatched dependence", 0.0, 5.0,
              source="assumed: two weeks of daily morphine then stopping is felt about as strongly as the loss "
                     "of a closest partner"),
)  # fmt: skip

VARIABLES = (  # the receptor number, the reference and distress are the receptor's (bondsim.mechanisms.receptor)
    Variable("dependence", "physical dependence, its fast part (days): an agonist's push on activation per receptor"),
    Variable("lasting_dependence", "physical dependence, its lasting part (weeks)"),
    Variable("withdrawal", "withdrawal: dependence not matched by the drug, expressed with a lag (0-1 scale)"),
)


def constants(params) -> dict:
    """What is left of a deviation of each slow variable from its target after one step."""
    return {
        "receptor_rate": params.step_hours / (24.0 * params.receptor_adaptation_days),
        "reference_keep": math.exp(-params.step_hours / (24.0 * params.reference_adaptation_days)),
        "dependence_keep": math.exp(-params.step_hours / (24.0 * params.dependence_days)),
        "lasting_dependence_keep": math.exp(-params.step_hours / (24.0 * params.lasting_dependence_days)),
        "withdrawal_keep": math.exp(-params.step_hours / params.withdrawal_onset_hours),
    }


@helper
def feeling(signal, reference, tone, tone_set_point, withdrawal, tone_distress_share):
    """Distress, 0-1: 1 - exp(-x), x the hedonic and the tone shortfall, weighted, and withdrawal.

    Small shortfalls are felt as they are (1 - exp(-x) is about x); large ones saturate smoothly, so
    that more of a shortfall is always felt a little more (a drug that deepens an isolated
    person's shortfall still raises their distress).
    """
    hedonic = max(reference - signal, 0.0)
    absolute = max(1.0 - tone / tone_set_point, 0.0)
    return 1.0 - math.exp(-((1.0 - tone_distress_share) * hedonic + tone_distress_share * absolute + withdrawal))


@rule("observe", writes=("distress",))
def feel(signal, reference, tone, tone_set_point, withdrawal, tone_distress_share):
    """Distress now, against the references the person brings into the step."""
    return feeling(signal, reference, tone, tone_set_point, withdrawal, tone_distress_share)


@rule("observe", writes=("receptors", "reference", "dependence", "lasting_dependence", "withdrawal", "despair"))
def adapt(
    signal, tone, occupancy, grief, receptors, reference, dependence, lasting_dependence, withdrawal, despair,
    baseline_activation, endogenous_per_tone, drug_efficacy, receptor_plasticity, receptor_rate, reference_keep,
    dependence_keep, lasting_dependence_keep, lasting_share, withdrawal_keep, withdrawal_gain,
):  # fmt: skip
    """Each slow process moves towards its target over one step, exactly for the step's activation.

    Receptor number: dN/dt = [(1 + k) - N (1 + k u)] / tau_N, with u the activation per receptor
    relative to the undrugged set point. The hedonic reference follows the signal; dependence
    follows the drug's push on u (what the drug adds to, or takes from, the activation per
    receptor); withdrawal follows the dependence that the push no longer matches; despair follows
    grief at the pace of the reference.
    """
    per_receptor = signal / receptors  # u
    target = (1.0 + receptor_plasticity) / (1.0 + receptor_plasticity * per_receptor)
    keep = math.exp(-receptor_rate * (1.0 + receptor_plasticity * per_receptor))
    receptors = target + (receptors - target) * keep
    reference = max(signal + (reference - signal) * reference_keep, LEAST_REFERENCE)
    # what an agonist adds to the activation per receptor (an antagonist adds nothing: it makes no one dependent)
    push = max(occupancy * (drug_efficacy - free_activation(tone, endogenous_per_tone)) / baseline_activation, 0.0)
    fast = push + (dependence - push) * dependence_keep
    lasting = push + (lasting_dependence - push) * lasting_dependence_keep
    unmatched = withdrawal_gain * (
        (1.0 - lasting_share) * max(fast - push, 0.0) + lasting_share * max(lasting - push, 0.0)
    )
    withdrawal = unmatched + (withdrawal - unmatched) * withdrawal_keep
    despair = grief + (despair - grief) * reference_keep
    return receptors, reference, fast, lasting, withdrawal, despair
