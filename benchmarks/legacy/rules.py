"""The per-person rules of the model, as formulas shared by both engines.

Every function takes numbers or NumPy arrays alike, so the per-agent engine
(one person at a time) and the array engine (everyone at once) compute the same
thing. The equations and their sources are in docs/model.md.
"""

from __future__ import annotations

import math

import numpy as np

from .params import Params
from .pharmacology import DrugProfile, profile, receptor_activation

STRONG_BOND = 0.5  # a bond at least this strong counts as strong (metrics)
TIE_BOND = 0.1  # a person with no bond at least this strong counts as isolated (metrics)


def _exp(x):
    return math.exp(x) if isinstance(x, float) else np.exp(x)


def _at_most(x, cap: float):
    return min(x, cap) if isinstance(x, float) else np.minimum(x, cap)


class Rules:
    """Constants derived once from the parameters, and the rules that use them."""

    def __init__(self, params: Params) -> None:
        self.params = params
        p = params
        self.drug: DrugProfile = profile(p.drug)
        self.dt = p.step_hours
        # endogenous opioid in units of its receptor dissociation constant, per tone unit
        self.endogenous_per_tone = p.endogenous_occupancy / (1.0 - p.endogenous_occupancy) / p.set_point
        self.release = p.contact_release
        self.tone_keep = math.exp(-self.dt / p.tone_relaxation_hours)
        self.bond_keep = math.exp(-math.log(2.0) * self.dt / (24.0 * p.bond_half_life_days))
        self.diary_keep = math.exp(-self.dt / p.diary_window_hours)
        self.contact_memory = self.dt / p.diary_window_hours  # weight of one contact in the reward memory
        self.accept_probability = 1.0 - p.rejection_rate
        self.rejection_keep = 1.0 - p.rejection_tone_drop

    # ------------------------------------------------------------- receptor
    def activation(self, tone, occupancy):
        """Fraction of mu receptors activated by endogenous opioid and drug."""
        endogenous = self.endogenous_per_tone * tone
        if self.drug.action == "agonist":
            return receptor_activation(endogenous, 0.0 * occupancy, occupancy, self.drug.efficacy)
        return receptor_activation(endogenous, occupancy, 0.0 * occupancy)

    def baseline_activation(self, set_point):
        """Activation at a person's set point with no drug: the reference for distress."""
        e = self.endogenous_per_tone * set_point
        return e / (1.0 + e)

    def baseline_reward(self, set_point):
        """Activation gained from one contact at the set point with no drug (normalises reward)."""
        e0 = self.endogenous_per_tone * set_point
        e1 = self.endogenous_per_tone * (set_point + self.release)
        return e1 / (1.0 + e1) - e0 / (1.0 + e0)

    # ----------------------------------------------------------------- rules
    def opioid_signal(self, tone, occupancy, set_point):
        """Receptor activation relative to the undrugged set point (1 = as usual)."""
        return self.activation(tone, occupancy) / self.baseline_activation(set_point)

    @staticmethod
    def distress(signal):
        """Separation distress: the shortfall of the opioid signal below its set point, in [0, 1]."""
        return np.clip(1.0 - signal, 0.0, 1.0) if isinstance(signal, np.ndarray) else min(max(1.0 - signal, 0.0), 1.0)

    def seek_probability(self, distress):
        """Chance of seeking contact during one step: a Poisson rate raised by distress."""
        rate = self.params.base_contact_rate + self.params.seeking_gain * distress
        return 1.0 - _exp(-self.dt * rate)

    def reward(self, tone, occupancy, set_point):
        """Reward of one accepted contact: the release acting through free receptors.

        Relative to an undrugged person at the set point (1 = full reward); an
        antagonist leaves fewer free receptors, so the same release rewards less.
        """
        gained = self.activation(tone + self.release, occupancy) - self.activation(tone, occupancy)
        return gained / self.baseline_reward(set_point)

    def grow_bond(self, bond, reward, contacts=1):
        """Bond after ``contacts`` accepted contacts each felt with ``reward``."""
        return 1.0 - (1.0 - bond) * (1.0 - self.params.bond_learning_rate * reward) ** contacts

    def new_tone(self, tone, set_point, contacts, rejections, absent_bond):
        """Tone after a step: release from contacts, loss from rejection and from absent partners, relaxation."""
        tone = tone + self.release * contacts
        tone = tone * self.rejection_keep**rejections
        tone = tone * _exp(-self.dt * self.params.separation_grief * absent_bond)
        return set_point + (tone - set_point) * self.tone_keep

    def remember_reward(self, memory, reward, contacts):
        """Running average of the reward per contact, each contact weighted dt / diary window."""
        keep = (1.0 - self.contact_memory) ** contacts
        return reward + (memory - reward) * keep

    def felt_connection(self, close_ties, reward_memory):
        """Felt connection in [0, 1]: strength of close ties, and how rewarding contact feels."""
        share = self.params.opioid_share
        return (1.0 - share) * close_ties + share * _at_most(reward_memory, 1.0)

    def positive_affect(self, previous, signal):
        """Positive affect in [0, 1]: 0.5 at the set point, moved by the opioid signal, averaged over a diary window."""
        share = self.params.opioid_share
        now = (1.0 - share) * 0.5 + share * 0.5 * _at_most(signal, 2.0)
        return now + (previous - now) * self.diary_keep


def close_ties(bond_sum, bond_square_sum):
    """Strength of a person's close ties: the bond-weighted mean bond, sum(w^2) / sum(w)."""
    if isinstance(bond_sum, np.ndarray):
        out = np.zeros_like(bond_sum)
        np.divide(bond_square_sum, bond_sum, out=out, where=bond_sum > 0)
        return out
    return bond_square_sum / bond_sum if bond_sum > 0 else 0.0
