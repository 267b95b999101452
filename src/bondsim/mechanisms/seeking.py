"""Contact seeking, with two drives: the reward a person expects, and relief from distress.

Attempts come as a Poisson process of rate r = a M + g D per hour: appetitive seeking, in
proportion to the reward of contact the person has learned to expect (M, the reward memory),
and relief seeking, in proportion to distress D (Løseth, Ellingsen & Leknes 2014). An antagonist
lowers the first (comfortable humans want less closeness: Tchalova & MacDonald 2020) and raises
the second (isolated animals call and solicit more: Panksepp et al. 1980; Martel et al. 1995),
so its net effect depends on the state. A step holds a Poisson number of attempts, several if
the rate is high, so the step length changes no rate. Equations: docs/model.md.
"""

from __future__ import annotations

import math

from ..mechanism import Parameter, Variable, helper, rule

MOST_ATTEMPTS = 1000  # per person and step: a bound on the count, far above any sensible rate

PARAMETERS = (
    Parameter("appetitive_seeking", 0.3, "1/h", "contact attempts per hour per unit of expected reward", 0.0, 10.0,
              source="a few contacts a day when content"),
    Parameter("relief_seeking", 0.15, "1/h", "contact attempts per hour per unit of distress", 0.0, 100.0,
              source="distress drives contact seeking (Panksepp et al. 1980; Martel et al. 1995); set so that "
                     "naltrexone lowers seeking of the comfortable and raises that of the isolated "
                     "(Løseth, Ellingsen & Leknes 2014; state_dependence experiment)", status="calibrated"),
)  # fmt: skip

VARIABLES = (
    Variable("attempts", "contact attempts in the step", dtype="int16", scratch=True),
    Variable("seeking_rate", "contact attempts per day, both drives", "1/day"),
)


@helper
def poisson_count(u, mean):
    """The Poisson(mean) count whose cumulative probability first reaches ``u`` (one uniform, one count)."""
    term = math.exp(-mean)
    cumulative = term
    k = 0
    while u > cumulative and k < MOST_ATTEMPTS and term > 0.0:
        k += 1
        term *= mean / k
        cumulative += term
    return k


@rule("decide", writes=("attempts", "seeking_rate"))
def seek(reward_memory, distress, draw_seek, appetitive_seeking, relief_seeking, dt):
    """How many contacts to seek this step: Poisson with rate a M + g D per hour."""
    rate = appetitive_seeking * reward_memory + relief_seeking * distress
    return poisson_count(draw_seek, rate * dt), 24.0 * rate
