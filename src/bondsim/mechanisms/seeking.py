"""Contact seeking: a Poisson process of attempts whose rate rises with distress.

P(seek in a step) = 1 - exp(-dt (r0 + g D)), with D the distress observed at the end of the
previous step (Panksepp et al. 1980; Martel et al. 1995). Equations: docs/model.md.
"""

from __future__ import annotations

import math

from ..mechanism import Parameter, Variable, helper, rule

PARAMETERS = (
    Parameter("base_contact_rate", 0.15, "1/h", "contact attempts per hour when not distressed", 0.0, 10.0,
              source="a few contacts a day when content"),
    Parameter("seeking_gain", 1.0, "1/h", "extra attempts per hour per unit of distress", 0.0, 100.0,
              source="distress drives contact seeking (Panksepp et al. 1980; Martel et al. 1995)"),
)  # fmt: skip

VARIABLES = (Variable("seeking", "sought contact in the step", dtype="bool"),)


@helper
def seek_probability(distress, base_contact_rate, seeking_gain, dt):
    """Chance of seeking contact during one step: 1 - exp(-dt (r0 + g D))."""
    return 1.0 - math.exp(-dt * (base_contact_rate + seeking_gain * distress))


@rule("decide", writes=("seeking",))
def seek(distress, draw_seek, base_contact_rate, seeking_gain, dt):
    """Seek contact this step with the probability above."""
    return draw_seek < seek_probability(distress, base_contact_rate, seeking_gain, dt)
