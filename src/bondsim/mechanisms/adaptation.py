"""Adaptation: receptor number and the opioid signal a person is used to both follow chronic change.

Two slow homeostatic processes (an opponent process, Solomon & Corbit 1974; allostasis):

- **receptors** move towards 1 / u, within [1 / (1 + k), 1 + k], where u is activation per
  receptor relative to the undrugged set point, the number that would restore the undrugged
  activation: chronic blockade up-regulates them (more reward and signal, supersensitivity, once
  the drug stops), chronic agonist down-regulates them (tolerance). Acute doses, lasting hours,
  barely move them, and adaptation never over-compensates.
- **despair** follows grief at the same pace: the grief a person has got used to damps the
  appetitive drive to seek contact (protest first, then despair: Bowlby 1969).
- the **reference**, the signal the person has got used to, follows the signal itself: distress
  is the signal's shortfall from it, so a lasting change in signal is felt at first and fades,
  and the reference left behind when a drug stops is felt as a rebound or as withdrawal.

Equations and sources: docs/model.md.
"""

from __future__ import annotations

import math

from ..mechanism import Parameter, rule

LEAST_REFERENCE = 1e-6  # the reference stays positive: distress and affect divide by it

PARAMETERS = (
    Parameter("receptor_plasticity", 0.8, "fraction", "most receptor number can rise under full chronic blockade",
              0.0, 2.0, source="mu binding +80% after 8 days of naltrexone pellets in mice (Lesscher et al. 2003)",
              status="fixed"),
    Parameter("receptor_adaptation_days", 3.0, "days", "time constant of receptor number's adaptation", 0.1,
              365.0, source="chronic (about a week), not acute, naltrexone raises receptor number "
                            "(Zukin et al. 1982; Unterwald et al. 1995)"),
    Parameter("reference_adaptation_days", 1.0, "days", "time constant of the adapted signal (opponent process)",
              0.1, 365.0, source="months of naltrexone bring no lasting dysphoria; a slight rise in anxiety "
                                 "at week 2 only (Krupitsky et al. 2016); with relief_seeking it sets the state "
                                 "dependence of seeking (state_dependence experiment)", status="calibrated"),
)  # fmt: skip


def constants(params) -> dict:
    """What is left of a deviation of receptors and reference from their targets after one step."""
    return {
        "receptor_keep": math.exp(-params.step_hours / (24.0 * params.receptor_adaptation_days)),
        "reference_keep": math.exp(-params.step_hours / (24.0 * params.reference_adaptation_days)),
    }


@rule("observe", writes=("receptors", "reference", "despair"))
def adapt(signal, grief, receptors, reference, despair, receptor_plasticity, receptor_keep, reference_keep):
    """Receptors towards 1 / (activation per receptor), within [1 / (1 + k), 1 + k]; the reference towards the signal.

    A receptor number of 1 / u would restore the undrugged activation exactly, so adaptation
    never over-compensates: under a partial blockade it can at most cancel the drug's effect.
    Despair follows grief at the pace of the reference: as the protest's distress fades, the
    grief left damps appetitive seeking (:mod:`bondsim.mechanisms.seeking`).
    """
    per_receptor = signal / receptors
    most, least = 1.0 + receptor_plasticity, 1.0 / (1.0 + receptor_plasticity)
    target = most if per_receptor * most <= 1.0 else max(1.0 / per_receptor, least)
    reference = signal + (reference - signal) * reference_keep
    despair = grief + (despair - grief) * reference_keep
    return target + (receptors - target) * receptor_keep, max(reference, LEAST_REFERENCE), despair
