"""Partner choice and acceptance: a seeker turns to a neighbour, preferring strong bonds; the partner may refuse.

A seeker picks one reachable neighbour j with probability proportional to f + b^gamma (bond
floor f, selectivity gamma); a tie is unreachable while it is closed (the partner left, or one
of the two is isolated). The partner accepts with probability 1 - rho. An accepted contact
counts for both people and for the tie in both directions; a rejection counts for the seeker.
Equations: docs/model.md.
"""

from __future__ import annotations

from ..mechanism import Parameter, Variable, helper, rule

PARAMETERS = (
    Parameter("bond_floor", 0.05, "", "choice weight of an unbonded neighbour, added to bond^selectivity", 0.0, 1.0,
              source="new ties can still form"),
    Parameter("partner_selectivity", 3.0, "", "exponent of the bond in partner choice (0 = uniform)", 0.0, 10.0,
              source="people turn to their closest partners (partner-specific bookkeeping, Evers et al. 2014)"),
    Parameter("rejection_rate", 0.2, "probability", "chance that an approached partner rejects", 0.0, 1.0,
              source="most bids for contact are accepted"),
)  # fmt: skip

VARIABLES = (
    Variable("contacts", "accepted contacts in the step, as seeker or partner", dtype="int32", scratch=True),
    Variable("rejections", "rejections suffered in the step", dtype="int32", scratch=True),
    Variable("closed", "how many reasons keep the tie closed (a partner who left, an isolation)", dtype="int16",
             per="edge"),
    Variable("closed_ties", "how many of the person's ties are closed", dtype="int32"),
    Variable("met", "accepted contacts on the tie in the step", dtype="int16", per="edge", scratch=True),
)  # fmt: skip


def constants(params) -> dict:
    """The acceptance probability."""
    return {"accept_probability": 1.0 - params.rejection_rate}


@helper
def power(x, exponent):
    """``x ** exponent``, by multiplication for small whole exponents (the common case, and faster)."""
    if exponent == 3.0:
        return x * x * x
    if exponent == 2.0:
        return x * x
    if exponent == 1.0:
        return x
    if exponent == 0.0:
        return 1.0
    return x**exponent


@rule("choose")
def choose_partner(edge_bond, edge_closed, draw_partner, bond_floor, partner_selectivity):
    """Index of the chosen tie among the seeker's ties, weights f + b^gamma over open ties; -1 if none is open."""
    total = 0.0
    for k in range(len(edge_bond)):
        if edge_closed[k] == 0:
            total += bond_floor + power(edge_bond[k], partner_selectivity)
    if total <= 0.0:
        return -1
    target = draw_partner * total
    chosen = -1
    for k in range(len(edge_bond)):
        if edge_closed[k] == 0:
            chosen = k
            target -= bond_floor + power(edge_bond[k], partner_selectivity)
            if target < 0.0:
                return k
    return chosen


@rule("accept")
def accepts(draw_accept, accept_probability):
    """The approached partner accepts with probability 1 - rejection_rate."""
    return draw_accept < accept_probability
