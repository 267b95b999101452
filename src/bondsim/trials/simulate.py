"""One virtual trial of a design: a community settles, participants are drawn and dosed, measures are taken.

The community's friends and family are agents too. After the warm-up (at least the design's
``warmup_days``, longer until the community has settled: :meth:`bondsim.model.BondingModel.settle`),
the participants are drawn and split into the layout's sequences; each takes its arm of every period (the arm's
daily doses at the dose hour; placebo: nothing), with washouts between periods in which a
drug keeps its hold on the receptors. At every measurement the model's value behind the
rating (in [0, 1]) or the count is read for each participant; :mod:`bondsim.trials.analysis`
turns them into ratings and effects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..mechanisms.ratings import connection
from ..mechanisms.receptor import contact_reward, contact_value
from ..model import BondingModel
from ..params import Params
from .design import MEASURE_KINDS, Measure, TrialDesign


@dataclass
class TrialRecord:
    """What one virtual trial measured.

    Attributes:
        person: the participants' indices in the community.
        sequence: each participant's sequence (index into ``layout.sequences``).
        values: measure name -> array (periods, occasions, participants) of model values.
        occupancy: receptor occupancy by the drug, mean of each sequence group, one row per step
            from the start of the baseline days to the end of the follow-up.
        residual: each participant's occupancy at the start of every period after the first
            (periods - 1, participants): what the washout left (NaN for those not yet dosed).
    """

    person: np.ndarray
    sequence: np.ndarray
    values: dict[str, np.ndarray]
    occupancy: np.ndarray
    residual: np.ndarray


def noise_rng(seed: int, stream: int) -> np.random.Generator:
    """A generator of a trial's own draws (stream 0: enrolment), independent of the model's."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(stream + 1)[stream])


def lab_connection(model: BondingModel, partner: str = "close") -> np.ndarray:
    """Connection felt towards one person in a lab task, in [0, 1], for everyone.

    The felt-connection rule applied to that one person: the bond to them (the person's
    strongest bond for a close other, 0 for a stranger) in place of the strength of close ties,
    and the value of this moment's contact with them in place of the remembered value.
    """
    bond = model.engine.get("strongest_bond") if partner == "close" else np.zeros(model.n)
    reward = model.evaluate(contact_reward, bond=bond)
    return model.evaluate(connection, close_ties=bond, value=model.evaluate(contact_value, reward=reward))


def read_measure(model: BondingModel, measure: Measure) -> np.ndarray:
    """The model's value behind ``measure`` for everyone now (a 0-1 quantity, or attempts per day)."""
    engine = model.engine
    if measure.kind == "diary_connection":
        return engine.get("felt_connection")
    if measure.kind == "diary_affect":
        return engine.get("positive_affect")
    if measure.kind == "seeking":
        return engine.get("seeking_rate")  # expected attempts per day; the trial counts them (analysis.scores)
    if measure.kind == "lab_connection":
        return lab_connection(model, measure.partner)
    if measure.kind == "wanting":
        return np.minimum(engine.get("reward_memory"), 1.0) / (1.0 + engine.get("despair"))
    raise ValueError(f"unknown measure kind {measure.kind}")  # pragma: no cover - the design refuses it


def model_params(design: TrialDesign, params: Params) -> Params:
    """The model's parameters for a design: its changes, its community, and its drug for everyone."""
    changes = design.model_changes()
    base = params.replace(**changes) if changes else params
    # everyone may be dosed: participants are drawn after the warm-up, and only they get doses
    return base.replace(n_agents=design.community.size, drug=design.drug, dose_mg=0.0, treated_fraction=1.0)


def occasions(design: TrialDesign, measure: Measure) -> list[float]:
    """Hours after the start of a period at which ``measure`` is taken."""
    layout = design.layout
    if MEASURE_KINDS[measure.kind][0] == "daily":
        days = measure.days or tuple(range(1, layout.period_days + 1))
        return [24.0 * (d - 1) + measure.hour for d in days]
    day = measure.day or layout.period_days
    return [24.0 * (day - 1) + layout.dose_hour + measure.hours_after_dose]


def draw_participants(model: BondingModel, design: TrialDesign, rng: np.random.Generator) -> np.ndarray:
    """The participants' indices, drawn as the design says (random, or by the strength of close ties)."""
    n = design.participants.n
    if design.participants.draw == "random":
        return np.sort(rng.choice(model.n, size=n, replace=False))
    ties = model.engine.get("close_ties") + 1e-9 * rng.random(model.n)  # random among equals
    order = np.argsort(ties)
    return np.sort(order[:n] if design.participants.draw == "least_connected" else order[-n:])


def simulate(design: TrialDesign, params: Params, seed: int) -> TrialRecord:
    """Run one virtual trial of ``design`` with model ``params`` and ``seed``."""
    layout = design.layout
    model = BondingModel(model_params(design, params), seed=seed, create_agents=params.engine == "agents")
    warmup_days = model.settle(min_days=design.community.warmup_days)  # longer where bonds form slowly
    start = 24.0 * (warmup_days + layout.baseline_days)
    end = start + 24.0 * (layout.span_days + layout.followup_days)

    rng = noise_rng(seed, 0)
    person = draw_participants(model, design, rng)
    sequence = np.repeat(np.arange(len(layout.sequences)), design.sizes)[rng.permutation(person.size)]
    for s, arms in enumerate(layout.sequences):
        who = person[sequence == s]
        for p, arm_name in enumerate(arms):
            arm = design.arm(arm_name)
            if arm.placebo:
                continue
            t0 = start + layout.period_start(p)
            model.schedule_doses(
                [(t0 + 24.0 * k + layout.dose_hour, mg) for k, mg in enumerate(arm.doses_mg) if mg], who
            )

    # checkpoints: (hour, period, measure index or -1 for the residual occupancy)
    checkpoints = [(start + layout.period_start(p), p, -1) for p in range(1, layout.periods)]
    for p in range(layout.periods):
        for i, m in enumerate(design.measures):
            checkpoints += [(start + layout.period_start(p) + h, p, i) for h in occasions(design, m)]
    checkpoints.sort()
    values = {m.name: np.zeros((layout.periods, len(occasions(design, m)), person.size)) for m in design.measures}
    taken = {(p, m.name): 0 for p in range(layout.periods) for m in design.measures}
    residual = np.zeros((layout.periods - 1, person.size))
    groups = [sequence == s for s in range(len(layout.sequences))]
    active = np.array([[not design.arm(a).placebo for a in seq] for seq in layout.sequences])
    dosed_before = {p: active[sequence, :p].any(axis=1) for p in range(1, layout.periods)}
    occupancy = []  # from the end of the warm-up: the baseline days, the periods, the follow-up
    position = 0
    while model.hours < end - 1e-9 or position < len(checkpoints):
        while position < len(checkpoints) and checkpoints[position][0] <= model.hours + 1e-9:
            _, p, i = checkpoints[position]
            position += 1
            if i < 0:
                residual[p - 1] = np.where(dosed_before[p], model.engine.get("occupancy")[person], np.nan)
                continue
            m = design.measures[i]
            values[m.name][p, taken[p, m.name]] = read_measure(model, m)[person]
            taken[p, m.name] += 1
        if model.hours >= end - 1e-9:
            break
        occ = model.engine.get("occupancy")[person]
        occupancy.append([occ[g].mean() for g in groups])
        model.step()
    return TrialRecord(person, sequence, values, np.asarray(occupancy), residual)
