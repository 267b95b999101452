"""The directions a calibrated parameter set must reproduce, measured on the model experiments.

Each experiment of :mod:`bondsim.experiments` that carries an animal or human direction is run
here in its default design, one group or community per replicate, with the expected rate of
contact seeking as its measure (free of the counts' Poisson noise):

- ``separation_distress`` (Panksepp, Meeker & Bean 1980): isolated young animals' distress call
  rate an hour after saline, morphine or naloxone (the experiment's middle doses);
- ``grooming`` (Keverne et al. 1989; Martel et al. 1995): the injected animals' grooming
  solicitation rate after saline, morphine or naloxone;
- ``state_dependence`` (Løseth, Ellingsen & Leknes 2014): treated people's contact seeking over four
  days of naltrexone or placebo, ``comfortable`` (usual contact) or ``isolated``.

A constraint compares two conditions on the same seeds (common random numbers) and holds when the
mean difference over its replicates has the stated sign.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..params import Params


@dataclass(frozen=True)
class ConstraintExperiment:
    """A model experiment a constraint can compare conditions in."""

    conditions: tuple[str, ...]
    states: tuple[str, ...]
    measure: str  # what is compared, for the report
    run: Callable[[Params, str, str, int], float]


def _separation_distress(params: Params, condition: str, state: str, seed: int) -> float:
    from ..experiments import separation_distress as sd

    design = sd.DESIGN
    mg = {
        "saline": 0.0,
        "morphine": design["morphine_mg"][len(design["morphine_mg"]) // 2],
        "naloxone": design["naloxone_mg"][len(design["naloxone_mg"]) // 2],
    }[condition]
    return sd.run_group(params.replace(**sd.PARAMS), design, condition, mg, seed)["call_rate"]


def _grooming(params: Params, condition: str, state: str, seed: int) -> float:
    from ..experiments import grooming

    return grooming.run_group(params.replace(**grooming.PARAMS), grooming.DESIGN, condition, seed)["solicitation_rate"]


def _state_dependence(params: Params, condition: str, state: str, seed: int) -> float:
    from ..experiments import state_dependence as sd

    rows = sd.run_state(params.replace(**sd.PARAMS), sd.DESIGN, state, condition, seed)
    return float(np.mean([r["seeking_rate"] for r in rows]))


EXPERIMENTS: dict[str, ConstraintExperiment] = {
    "separation_distress": ConstraintExperiment(
        ("saline", "morphine", "naloxone"), (), "distress calls per hour of isolation (expected)", _separation_distress
    ),
    "grooming": ConstraintExperiment(
        ("saline", "morphine", "naloxone"), (), "grooming solicitations per hour (expected)", _grooming
    ),
    "state_dependence": ConstraintExperiment(
        ("naltrexone", "placebo"),
        ("comfortable", "isolated"),
        "contact attempts per day while dosed",
        _state_dependence,
    ),
}

__all__ = ["EXPERIMENTS", "ConstraintExperiment"]
