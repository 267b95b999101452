"""What a diary or a lab rating reports: a memory of how rewarding contact felt, felt connection, positive affect.

The reward memory M is a running mean of the reward per contact, each contact weighing dt / W.
Felt connection is (1 - s) C + s min(M, 1): mostly the strength of close ties, with a share s
carried by the opioid reward. Positive affect is 0.5 at the set point, moved by the opioid
signal, averaged over the diary window. Equations and sources: docs/model.md.
"""

from __future__ import annotations

import math

from ..mechanism import Parameter, Variable, helper, rule

PARAMETERS = (
    Parameter("opioid_share", 0.025, "fraction", "share of felt connection and affect carried by opioid reward",
              0.0, 1.0, status="calibrated",
              source="calibrated so that a virtual Inagaki et al. 2016 trial gives an effect near g = -0.20 "
                     "(Løseth, Trøstheim & Leknes 2024; calibration.md)"),
    Parameter("diary_window_hours", 24.0, "h", "time constant of the felt-connection and affect averages", 1.0,
              720.0, source="a daily diary (Inagaki et al. 2016)", status="fixed"),
)  # fmt: skip

VARIABLES = (
    Variable("reward_memory", "running mean reward per contact", initial=1.0),
    Variable("felt_connection", "felt connection, 0-1"),
    Variable("positive_affect", "positive affect, 0-1 (0.5 at the set point)", initial=0.5),
)


def constants(params) -> dict:
    """Weight of one contact in the reward memory, and what is left of the affect average after a step."""
    return {
        "contact_memory": params.step_hours / params.diary_window_hours,
        "diary_keep": math.exp(-params.step_hours / params.diary_window_hours),
    }


@rule("update", writes=("reward_memory",), when="contacts")
def remember_reward(reward_memory, reward, contacts, contact_memory):
    """Running mean of the reward per contact, each contact weighing dt / W."""
    return reward + (reward_memory - reward) * (1.0 - contact_memory) ** contacts


@helper
def connection(close_ties, reward, opioid_share):
    """Felt connection (1 - s) C + s min(R, 1): close ties, and how rewarding contact feels."""
    return (1.0 - opioid_share) * close_ties + opioid_share * min(reward, 1.0)


@rule("observe", writes=("felt_connection", "positive_affect"))
def rate_feelings(close_ties, reward_memory, signal, positive_affect, opioid_share, diary_keep):
    """Felt connection from close ties and the remembered reward; positive affect moved by the signal."""
    felt = connection(close_ties, reward_memory, opioid_share)
    now = (1.0 - opioid_share) * 0.5 + opioid_share * 0.5 * min(signal, 2.0)
    return felt, now + (positive_affect - now) * diary_keep
