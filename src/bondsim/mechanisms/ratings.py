"""What a diary or a lab rating reports: the reward a person expects of contact, felt connection, positive affect.

The reward memory M is what contact has been worth lately: each contact moves it a fixed share
of the way to the contact's value (:func:`bondsim.mechanisms.receptor.contact_value`), whatever
the step length. Felt connection is (1 - w) C + w min(M, 1): mostly the strength of close ties
C, with a weight w carried by what contact has been worth. Positive affect is
0.5 ((1 - w) + w (1 + s - r)), s - r the opioid signal above the one the person is used to (0.5
when it is that one), averaged over the diary window: a lasting change fades from mood as the
reference adapts. Equations and sources: docs/model.md.
"""

from __future__ import annotations

import math

from ..mechanism import Parameter, Variable, helper, power_of, rule
from .receptor import contact_value

PARAMETERS = (
    Parameter("opioid_rating_weight", 0.095, "fraction", "weight of the opioid reward and signal in what people "
              "rate: felt connection and positive affect", 0.0, 1.0, status="calibrated",
              source="model 2's fit to the pooled effect of naltrexone on felt connection, g = -0.20 "
                     "(Løseth, Trøstheim & Leknes 2024); model 3's joint posterior: 0.17 [0.13, 0.26] "
                     "(calibration.md)"),
    Parameter("reward_learning_rate", 0.2, "per contact", "share of the way to a contact's reward the memory moves",
              0.01, 1.0, source="the reward expected of contact follows the last few contacts"),
    Parameter("diary_window_hours", 24.0, "h", "time constant of the positive-affect average", 1.0,
              720.0, source="a daily diary (Inagaki et al. 2016)", status="fixed"),
)  # fmt: skip

VARIABLES = (
    Variable("reward_memory", "value expected of a contact, learned from the last few (1 = a closest partner)",
             initial=0.75),
    Variable("felt_connection", "felt connection, 0-1"),
    Variable("positive_affect", "positive affect, 0-1 (0.5 when the signal is the one the person is used to)",
             initial=0.5),
)  # fmt: skip


def constants(params) -> dict:
    """What is left of the affect average after a step."""
    return {"diary_keep": math.exp(-params.step_hours / params.diary_window_hours)}


@rule("update", writes=("reward_memory",), when="contacts")
def remember_reward(reward_memory, reward, contacts, opioid_share, reward_learning_rate):
    """Each of the step's contacts moves the memory a share of the way to its value."""
    value = contact_value(reward, opioid_share)
    return value + (reward_memory - value) * power_of(1.0 - reward_learning_rate, contacts)


@helper
def connection(close_ties, value, opioid_rating_weight):
    """Felt connection (1 - w) C + w min(V, 1): close ties, and what contact is worth."""
    return (1.0 - opioid_rating_weight) * close_ties + opioid_rating_weight * min(value, 1.0)


@rule("observe", writes=("felt_connection", "positive_affect"))
def rate_feelings(close_ties, reward_memory, signal, reference, positive_affect, opioid_rating_weight, diary_keep):
    """Felt connection from close ties and the remembered value; affect from the signal against the reference."""
    felt = connection(close_ties, reward_memory, opioid_rating_weight)
    now = 0.5 * (1.0 - opioid_rating_weight + opioid_rating_weight * min(max(1.0 + signal - reference, 0.0), 2.0))
    return felt, now + (positive_affect - now) * diary_keep
