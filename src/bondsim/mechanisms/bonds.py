"""Bonds: ties to particular others that grow with rewarding contact and fade without it.

Each accepted contact closes a fraction eta * R of the gap to 1 (R the reward felt); every bond
fades with a half-life. A person's close ties are summarised as sum(b^2) / sum(b), the strength
of their closest ties. Equations and sources: docs/model.md.
"""

from __future__ import annotations

import math

from ..mechanism import Parameter, Variable, helper, rule

STRONG_BOND = 0.5  # a bond at least this strong counts as strong (metrics)
TIE_BOND = 0.1  # a person with no bond at least this strong counts as isolated (metrics)

PARAMETERS = (
    Parameter("bond_learning_rate", 0.1, "per contact", "bond growth per unit of felt reward", 0.0, 1.0,
              source="a bond forms over tens of rewarding contacts"),
    Parameter("bond_half_life_days", 60.0, "days", "half-life of a bond without contact", 0.1, 3650.0,
              source="ties fade over weeks to months without contact (calibration.md)", status="calibrated"),
    Parameter("initial_bond", 0.2, "", "mean initial bond to each neighbour (uniform on [0, 2x])", 0.0, 0.5,
              source="acquaintances, not strangers"),
)  # fmt: skip

VARIABLES = (
    Variable("bond", "what the person feels for this neighbour, 0-1", per="edge"),
    Variable("bond_sum", "sum of the person's bonds"),
    Variable("close_ties", "strength of close ties, sum(b^2) / sum(b), 0-1"),
    Variable("strong_bonds", "number of bonds >= 0.5", dtype="int32"),
    Variable("has_tie", "has a bond >= 0.1", dtype="bool"),
)


def constants(params) -> dict:
    """What is left of a bond after one step without contact."""
    return {"bond_keep": math.exp(-math.log(2.0) * params.step_hours / (24.0 * params.bond_half_life_days))}


def initialize(params, n, network, rng) -> dict:
    """Each directed bond uniform on [0, 2 * initial_bond]."""
    return {"bond": rng.uniform(0.0, 2.0 * params.initial_bond, network.n_edges)}


@helper
def summary(total, squares, strong, strongest):
    """A person's bond summaries: sum, strength of close ties sum(b^2)/sum(b), strong bonds, any tie left."""
    return total, squares / total if total > 0.0 else 0.0, strong, strongest >= TIE_BOND


@rule("update", writes=("bond_sum", "close_ties", "strong_bonds", "has_tie"))
def grow_and_fade(edge_bond, edge_met, reward, bond_learning_rate, bond_keep):
    """Each contact on a tie closes a fraction eta * R of the gap to 1; then every bond fades.

    The person's bond summaries are tallied in the same pass over the ties.
    """
    total = squares = strongest = 0.0
    strong = 0
    for k in range(len(edge_bond)):
        bond = edge_bond[k]
        if edge_met[k]:
            bond = 1.0 - (1.0 - bond) * (1.0 - bond_learning_rate * reward) ** edge_met[k]
        bond *= bond_keep
        edge_bond[k] = bond
        total += bond
        squares += bond * bond
        if bond >= STRONG_BOND:
            strong += 1
        if bond > strongest:
            strongest = bond
    return summary(total, squares, strong, strongest)


@rule("start", writes=("bond_sum", "close_ties", "strong_bonds", "has_tie"))
def summarize_bonds(edge_bond, edge_met):
    """The summaries of the initial bonds: the same pass, with no contact and no fading."""
    return grow_and_fade(edge_bond, edge_met, 0.0, 0.0, 1.0)
