"""Contact seeking, with two drives: the reward a person expects, and relief from distress.

Attempts come as a Poisson process of rate r = a M / (1 + E) + g D per hour: appetitive
seeking, in proportion to the value of contact the person has learned to expect (M, the reward
memory) and damped by despair E (grief the person has adapted to: after a separation, protest
first, then despair; Bowlby 1969), and relief seeking, in proportion to distress D (Løseth,
Ellingsen & Leknes 2014). An antagonist
lowers the first (comfortable humans want less closeness: Tchalova & MacDonald 2020) and raises
the second (isolated animals call and solicit more: Panksepp et al. 1980; Martel et al. 1995),
so its net effect depends on the state. A step holds a Poisson number of attempts, several if
the rate is high, so the step length changes no rate. Equations: docs/model.md.
"""

from __future__ import annotations

import math

from ..mechanism import Parameter, Variable, helper, rule

LARGE_MEAN = 50.0  # above this mean a count comes from the normal approximation (the Poisson's mean and variance)

PARAMETERS = (
    Parameter("appetitive_seeking", 0.3, "1/h", "contact attempts per hour per unit of expected reward", 0.0, 2.0,
              source="a few contacts a day when content; at most 2 an hour (48 a day): people make a few dozen "
                     "bids for contact a day at most (the range, model.md)"),
    Parameter("relief_seeking", 0.15, "1/h", "contact attempts per hour per unit of distress", 0.0, 2.0,
              source="distress drives contact seeking (Panksepp et al. 1980; Martel et al. 1995); set so that "
                     "naltrexone lowers seeking of the comfortable and raises that of the isolated "
                     "(Løseth, Ellingsen & Leknes 2014; state_dependence experiment)", status="calibrated"),
)  # fmt: skip

VARIABLES = (
    Variable("attempts", "contact attempts in the step", dtype="int16", scratch=True),
    Variable("seeking_rate", "contact attempts per day, both drives", "1/day"),
    Variable(
        "despair",
        "grief the person has adapted to, after the protest: it damps appetitive seeking "
        "(bondsim.mechanisms.adaptation)",
        "bond units",
    ),
)


@helper
def normal_quantile(u):
    """The standard normal quantile of ``u`` (Abramowitz & Stegun 26.2.23; absolute error below 4.5e-4)."""
    p = min(max(u if u < 0.5 else 1.0 - u, 1e-300), 0.5)
    t = math.sqrt(-2.0 * math.log(p))
    z = t - (2.515517 + t * (0.802853 + t * 0.010328)) / (1.0 + t * (1.432788 + t * (0.189269 + t * 0.001308)))
    return -z if u < 0.5 else z


@helper
def poisson_count(u, mean):
    """The Poisson(mean) count at cumulative probability ``u`` (one uniform, one count).

    Exact inversion of the distribution function up to a mean of 50; above, the normal
    approximation mean + sqrt(mean) z(u), whose relative error in the count is below 1%.
    """
    if mean > LARGE_MEAN:
        return max(int(mean + math.sqrt(mean) * normal_quantile(u) + 0.5), 0)
    if u <= 1.0 - mean - 1e-15:  # then u <= exp(-mean) too, the chance of none: no need to compute it
        return 0
    term = math.exp(-mean)
    cumulative = term
    k = 0
    while u > cumulative and term > 0.0:
        k += 1
        term *= mean / k
        cumulative += term
    return k


@rule("decide", writes=("attempts", "seeking_rate"))
def seek(reward_memory, distress, despair, draw_seek, appetitive_seeking, relief_seeking, dt):
    """How many contacts to seek this step: Poisson with rate a M / (1 + despair) + g D per hour."""
    rate = appetitive_seeking * reward_memory / (1.0 + despair) + relief_seeking * distress
    return poisson_count(draw_seek, rate * dt), 24.0 * rate
