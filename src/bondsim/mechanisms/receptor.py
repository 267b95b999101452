"""The mu-opioid receptor: the drug a person takes, what it occupies, and what contact feels like through it.

A fraction ``occupancy`` of the person's receptors holds the drug; the rest respond to
endogenous opioid. Activation is receptor number (``receptors``, 1 before any adaptation) times
what the receptors do: free ones activated by endogenous opioid at tone T as T e / (1 + T e),
occupied ones at the drug's efficacy (0 antagonist, 1 full agonist). The opioid signal is
activation relative to the person's own undrugged set point; how it is felt, as distress or as affect, against what the
person has got used to, is :mod:`bondsim.mechanisms.adaptation`. The reward of a contact is
what its opioid release adds through the free receptors, so a drug that occupies receptors can
only lower it. The drug's concentrations and occupancy follow :mod:`bondsim.pharmacology`.
Equations: docs/model.md.
"""

from __future__ import annotations

import numpy as np

from ..drugs import profile
from ..mechanism import DRUG_CHOICES, Parameter, Variable, helper, rule
from ..pharmacology import (
    BLOCKADE_VARIABILITY,
    PK_VARIABILITY,
    advance_drug_state,
    dose_times,
    draw_person_kinetics,
    kinetic_constants,
)
from .tone import released

PARAMETERS = (
    Parameter(
        "opioid_share", 0.5, "fraction", "share of a contact's value carried by its opioid reward (the rest by "
        "contact itself)", 0.0, 1.0,
        source="robust connectedness remains under full blockade (Løseth, Trøstheim & Leknes 2024)",
    ),
    Parameter(
        "endogenous_occupancy", 0.2, "fraction", "mu receptors bound by endogenous opioid at set point", 0.01, 0.5,
        source="tonic occupancy is low, leaving room for phasic release (at most half: the range, model.md)",
    ),
    Parameter(
        "drug", "none", "", "drug given to treated people", choices=DRUG_CHOICES,
        source="bondsim.drugs; placebo: treated, no pharmacology", status="setting",
    ),
    Parameter(
        "dose_mg", 0.0, "mg", "dose per administration", 0.0, 1000.0,
        source="50 mg is the clinical naltrexone dose; 25-100 mg in the studies", status="setting",
    ),
    Parameter("schedule", "daily", "", "dosing schedule", choices=("once", "daily", "explicit"), status="setting"),
    Parameter("dose_hours", (), "h", "explicit schedule: dose times", 0.0, 1e6, status="setting"),
    Parameter(
        "dose_amounts_mg", (), "mg", "explicit schedule: dose per time (default dose_mg)", 0.0, 1000.0,
        source="e.g. [25, 25, 50, 50] (Inagaki et al. 2016)", status="setting",
    ),
    Parameter("dosing_start_day", 0.0, "days", "time of the first dose", 0.0, 10_000.0, status="setting"),
    Parameter(
        "dosing_days", 0, "days", "days of daily dosing (0 = until the end)", 0, 10_000, integer=True,
        source="4 in Inagaki et al. 2016", status="setting",
    ),
    Parameter(
        "treated_fraction", 1.0, "fraction", "fraction of people who receive the drug", 0.0, 1.0, status="setting",
    ),
    Parameter(
        "pk_variability", PK_VARIABILITY, "log SD", "between-person spread of exposure to a dose (0 = none)", 0.0, 2.0,
        source="6-beta-naltrexol levels in a 4-fold range across 23 people on one dose (McCaul et al. 2000)",
        status="fixed",
    ),
    Parameter(
        "blockade_variability", BLOCKADE_VARIABILITY, "log SD",
        "between-person spread of the drug's binding and dissociation rates (0 = none)", 0.0, 2.0,
        source="blockade half-times 72-108 h across 5 people after 50 mg naltrexone (Lee et al. 1988)",
        status="calibrated",
    ),
)  # fmt: skip

VARIABLES = (
    Variable("treated", "receives the drug", dtype="bool"),
    Variable("drug_depot", "drug not yet absorbed", "mg"),
    Variable("drug_plasma", "plasma concentration of the drug", "ng/mL"),
    Variable("drug_metabolite", "plasma concentration of its active metabolite", "ng/mL"),
    Variable("drug_effect", "effect-site (brain) concentration", "ng/mL"),
    Variable("occupancy", "fraction of mu receptors held by the drug (both states of two-step binding)"),
    Variable("tight_occupancy", "fraction of mu receptors the drug holds in its tight state (two-step binding)"),
    Variable("step_occupancy", "mean occupancy over the last step: what its contacts met at the receptor"),
    Variable("drug_exposure", "the person's exposure to a dose, relative to the typical person", initial=1.0),
    Variable("drug_binding_rate", "the person's drug binding rates (all alike), relative to typical", initial=1.0),
    Variable("baseline_activation", "receptor activation at the person's set point without drug"),
    Variable("baseline_reward", "activation gained from a contact with a closest partner, at the set point"),
    Variable(
        "reward", "mean reward of the step's accepted contacts, 1 = closest partner, undrugged (0 if none)",
        scratch=True,
    ),
    Variable("receptors", "mu receptor number (function) relative to the undrugged person, adapts", initial=1.0),
    Variable("reference", "the opioid signal the person has got used to (1 = undrugged set point)", initial=1.0),
    Variable("signal", "opioid signal: receptor activation relative to the undrugged set point", initial=1.0),
    Variable("distress", "distress, 0-1: signal and tone shortfalls and withdrawal (bondsim.mechanisms.adaptation)"),
)  # fmt: skip


def constants(params) -> dict:
    """Receptor and drug constants: endogenous opioid per tone unit, kinetics of the drug."""
    p = params
    drug = profile(p.drug, p.drugs)
    return {
        # endogenous opioid in units of its receptor dissociation constant, per tone unit
        "endogenous_per_tone": p.endogenous_occupancy / (1.0 - p.endogenous_occupancy) / p.set_point,
        **kinetic_constants(drug, p.step_hours),
    }


def initialize(params, n, network, rng) -> dict:
    """Who is treated, and everyone's own drug kinetics (if any drug, placebo included).

    round(treated_fraction * n) people drawn without replacement, then each person's exposure and
    binding rate (log-normal, median 1; pk_variability and blockade_variability; pharmacology.md).
    """
    treated = np.zeros(n, dtype=bool)
    if params.drug == "none":
        return {"treated": treated}
    treated[rng.choice(n, size=round(params.treated_fraction * n), replace=False)] = True
    return {"treated": treated, **draw_person_kinetics(rng, n, params.pk_variability, params.blockade_variability)}


@helper
def free_activation(tone, endogenous_per_tone):
    """Fraction of drug-free receptors that endogenous opioid at ``tone`` activates: E / (1 + E)."""
    bound = endogenous_per_tone * tone
    return bound / (1.0 + bound)


@helper
def activation(tone, occupancy, receptors, endogenous_per_tone, drug_efficacy):
    """Receptor activation: receptor number x (free receptors by endogenous opioid + occupied ones by the drug)."""
    return receptors * ((1.0 - occupancy) * free_activation(tone, endogenous_per_tone) + occupancy * drug_efficacy)


@rule("start", writes=("baseline_activation", "baseline_reward"))
def baselines(tone_set_point, contact_release, tone_ceiling, stranger_weight, endogenous_per_tone):
    """The undrugged activation at the set point, and what a contact with a closest partner adds: the references."""
    at_rest = free_activation(tone_set_point, endogenous_per_tone)
    raised = released(tone_set_point, tone_set_point, 1.0, 1, contact_release, tone_ceiling, stranger_weight)
    return at_rest, free_activation(raised, endogenous_per_tone) - at_rest


@helper
def contact_reward(
    tone, tone_set_point, bond, occupancy, receptors, baseline_reward,
    contact_release, tone_ceiling, stranger_weight, endogenous_per_tone,
):  # fmt: skip
    """Reward of one contact with a partner the person has this bond to.

    The contact's opioid release acts through the receptors the drug leaves free, so occupancy
    can only lower it; 1 = a closest partner (bond 1) at the set point, undrugged, unadapted.
    """
    raised = released(tone, tone_set_point, bond, 1, contact_release, tone_ceiling, stranger_weight)
    gained = free_activation(raised, endogenous_per_tone) - free_activation(tone, endogenous_per_tone)
    return receptors * (1.0 - occupancy) * gained / baseline_reward


@rule(
    "update",
    writes=(
        "drug_depot",
        "drug_plasma",
        "drug_metabolite",
        "drug_effect",
        "occupancy",
        "tight_occupancy",
        "step_occupancy",
    ),
    when=("treated", "drug_active"),
)
def advance_drug(
    drug_depot, drug_plasma, drug_metabolite, drug_effect, occupancy, tight_occupancy,
    drug_matrix, drug_substeps, drug_substep_hours, drug_kon, drug_koff, drug_k_tight, drug_k_loose,
    drug_exposure, drug_binding_rate,
):  # fmt: skip
    """The drug moves on by one step in treated people, with their own kinetics (pharmacology.md).

    It runs first in the update phase: the step's contacts meet the step's mean occupancy.
    """
    return advance_drug_state(
        drug_depot, drug_plasma, drug_metabolite, drug_effect, occupancy, tight_occupancy,
        drug_matrix, drug_substeps, drug_substep_hours, drug_kon, drug_koff, drug_k_tight, drug_k_loose,
        drug_exposure, drug_binding_rate,
    )  # fmt: skip


@rule("update", writes=("reward",), when="contacts")
def step_reward(
    tone, tone_set_point, edge_bond, edge_met, contacts, step_occupancy, receptors, baseline_reward,
    contact_release, tone_ceiling, stranger_weight, endogenous_per_tone,
):  # fmt: skip
    """Mean reward of the step's accepted contacts, each felt by the bond to that partner, at the step's occupancy."""
    total = 0.0
    for k in range(len(edge_met)):
        if edge_met[k]:
            total += edge_met[k] * contact_reward(
                tone, tone_set_point, edge_bond[k], step_occupancy, receptors, baseline_reward,
                contact_release, tone_ceiling, stranger_weight, endogenous_per_tone,
            )  # fmt: skip
    return total / contacts


@helper
def contact_value(reward, opioid_share):
    """What a contact is worth to the person: (1 - s) for the contact itself, s for its opioid reward."""
    return 1.0 - opioid_share + opioid_share * reward


@rule("observe", writes=("signal",))
def opioid_signal(tone, occupancy, receptors, baseline_activation, endogenous_per_tone, drug_efficacy):
    """Opioid signal: receptor activation relative to the person's undrugged set point (1 there)."""
    return activation(tone, occupancy, receptors, endogenous_per_tone, drug_efficacy) / baseline_activation


def give_dose(model, payload) -> None:
    """A ``dose`` event: (people, mg) into the depot of each listed treated person."""
    people, mg = payload
    model.give_dose(people, mg)


def give_daily_dose(model, payload) -> None:
    """A ``daily dose`` event: a dose now, and the same again in 24 h."""
    give_dose(model, payload)
    model.schedule(model.event_hour + 24.0, "daily dose", payload)


EVENTS = {"dose": give_dose, "daily dose": give_daily_dose}


def schedule(model) -> None:
    """Schedule the doses the parameters ask for."""
    p = model.params
    if p.drug == "none" or not model.drug.active or (p.dose_mg <= 0 and p.schedule != "explicit"):
        return
    start = 24.0 * p.dosing_start_day
    if p.schedule == "daily" and p.dosing_days == 0:  # until the end: each dose schedules the next
        model.schedule(start, "daily dose", (model.treated_index, float(p.dose_mg)))
        return
    for hour, mg in dose_times(
        p.schedule, p.dose_mg, start_hours=start, days=p.dosing_days, hours=p.dose_hours, amounts_mg=p.dose_amounts_mg
    ):
        model.schedule(hour, "dose", (model.treated_index, float(mg)))
