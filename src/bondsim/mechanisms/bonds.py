"""Bonds: ties to particular others that grow with rewarding contact, compete for a person's capacity, and fade.

Each accepted contact closes a fraction eta V (1 - B / K) of the gap to 1, with V the contact's
value (the contact itself, and its opioid reward), B the person's sum of bonds and K their bond
capacity: social time is finite, so ties compete and the sum settles below K. Every bond fades
with a half-life. The strength of a person's close ties is sum(b^2) / K, which any stronger tie
raises. Equations: docs/model.md.
"""

from __future__ import annotations

import math

import numpy as np

from ..mechanism import Parameter, Variable, helper, power_of, rule
from .receptor import contact_value

STRONG_BOND = 0.5  # a bond at least this strong counts as strong (metrics)
TIE_BOND = 0.1  # a person with no bond at least this strong counts as isolated (metrics)

PARAMETERS = (
    Parameter("bond_learning_rate", 0.5, "per contact", "bond growth per unit of felt reward, before competition",
              0.0, 1.0, source="a bond forms over tens of rewarding contacts once ties fill the capacity"),
    Parameter("bond_half_life_days", 60.0, "days", "half-life of a bond without contact", 0.1, 3650.0,
              source="ties fade over weeks to months without contact (calibration.md)"),
    Parameter("bond_capacity", 3.0, "bond units", "the most bond a person's ties can hold together", 0.5, 50.0,
              source="social time is finite: a few close ties"),
    Parameter("initial_bond", 0.2, "", "mean initial bond to each neighbour (uniform on [0, 2x])", 0.0, 0.5,
              source="acquaintances, not strangers"),
)  # fmt: skip

VARIABLES = (
    Variable("bond", "what the person feels for this neighbour, 0-1", per="edge"),
    Variable("bond_sum", "sum of the person's bonds", "bond units"),
    Variable("close_ties", "strength of close ties, sum(b^2) / capacity over open ties, 0-1"),
    Variable("strongest_bond", "the person's strongest bond over open ties, 0-1"),
    Variable("strong_bonds", "number of bonds >= 0.5 over open ties", dtype="int32"),
    Variable("has_tie", "has a bond >= 0.1 over open ties", dtype="bool"),
)


def constants(params) -> dict:
    """What is left of a bond after one step without contact."""
    return {"bond_keep": math.exp(-math.log(2.0) * params.step_hours / (24.0 * params.bond_half_life_days))}


INITIAL_FILL = 0.5  # the most of the capacity a person's initial bonds may take together


def initialize(params, n, network, rng) -> dict:
    """Each directed bond uniform on [0, 2 * initial_bond], a person's row scaled down to half the capacity at most.

    Bonds start inside the capacity, so that they can grow into it during the warm-up whatever the
    capacity and the number of ties (a sum above the capacity would leave no room to grow).
    """
    bond = rng.uniform(0.0, 2.0 * params.initial_bond, network.n_edges)
    total = np.add.reduceat(bond, network.indptr[:-1]) if network.n_edges else np.zeros(n)
    total[np.diff(network.indptr) == 0] = 0.0  # reduceat gives the next row's first bond for an empty row
    scale = np.minimum(1.0, INITIAL_FILL * params.bond_capacity / np.maximum(total, 1e-300))
    return {"bond": bond * np.repeat(scale, np.diff(network.indptr))}


@helper
def summary(total, squares, strong, strongest, bond_capacity):
    """A person's bond summaries: sum, close ties sum(b^2)/K (at most 1), strongest, strong bonds, any tie left."""
    return total, min(squares / bond_capacity, 1.0), strongest, strong, strongest >= TIE_BOND


@rule("update", writes=("bond_sum", "close_ties", "strongest_bond", "strong_bonds", "has_tie"))
def grow_and_fade(
    edge_bond, edge_met, edge_closed, reward, bond_sum, opioid_share, bond_learning_rate, bond_capacity, bond_keep
):
    """Each contact closes eta V (1 - B / K) of the gap to 1, V the contact's value; then every bond fades.

    The person's bond summaries are tallied in the same pass over the ties: the sum over every
    tie (an absent partner's bond still takes its share of the capacity), the others over the
    open ties only (an absent partner is not there to feel close to).
    """
    room = max(1.0 - bond_sum / bond_capacity, 0.0)
    growth = min(bond_learning_rate * contact_value(reward, opioid_share) * room, 1.0)
    total = squares = strongest = 0.0
    strong = 0
    for k in range(len(edge_bond)):
        bond = edge_bond[k]
        if edge_met[k]:
            bond = 1.0 - (1.0 - bond) * power_of(1.0 - growth, edge_met[k])
        bond *= bond_keep
        edge_bond[k] = bond
        total += bond
        there = 0.0 if edge_closed[k] else bond  # (written without branches: compiled, it runs twice as fast)
        squares += there * there
        strong += there >= STRONG_BOND
        strongest = there if there > strongest else strongest
    return summary(total, squares, strong, strongest, bond_capacity)


@rule("start", writes=("bond_sum", "close_ties", "strongest_bond", "strong_bonds", "has_tie"))
def summarize_bonds(edge_bond, edge_met, edge_closed, bond_capacity):
    """The summaries of the initial bonds: the same pass, with no contact and no fading."""
    return grow_and_fade(edge_bond, edge_met, edge_closed, 0.0, 0.0, 0.0, 0.0, bond_capacity, 1.0)
