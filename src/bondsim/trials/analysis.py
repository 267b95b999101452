"""From what a virtual trial measured to what its paper reported: ratings, then the paper's analysis.

Ratings pass through the design's measurement model: a value x in [0, 1] becomes
lo + (hi - lo) x + b + e on the scale [lo, hi], clipped, with b a person's response bias (shared
by the periods of a measure) and e the noise of one occasion; a person's score in a period is
the mean of its occasions. Counted measures (contact seeking) are a Poisson count of the day's
attempts at the rate the model expects at the diary hour, averaged over the occasions.

The effect of treatment against control is Hedges' g, computed as the paper did:

- ``paired`` (crossover): d_av with the matched-groups variance (:func:`bondsim.stats.paired_effect`);
- ``between`` (parallel groups): pooled SD and the independent-groups variance
  (:func:`bondsim.stats.between_effect`);
- ``mixed`` (crossover): a linear mixed model, score ~ arm + period + sequence with a random
  intercept per person (statsmodels MixedLM, REML); g is the arm coefficient over the total SD
  (person and residual variance), times J for n - 1 degrees of freedom, and its variance is
  J^2 (SE / SD)^2; p is the model's Wald test.
"""

from __future__ import annotations

import math
import warnings
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..stats import Z95, PairedEffect, between_effect, correction, paired_effect, two_sample_t
from .design import TrialDesign
from .simulate import TrialRecord


@dataclass(frozen=True)
class Scores:
    """Each participant's score per measure and period: measure name -> array (participants, periods)."""

    by_measure: dict[str, np.ndarray]


def scores(record: TrialRecord, design: TrialDesign, seed: int) -> Scores:
    """Each participant's score per measure and period (rated measures through the rating model)."""
    # the rating noise of each study of its own: papers on one sample share people, not their tasks' noise
    rng = np.random.default_rng([seed, 1, zlib.crc32(design.name.encode())])
    lo, hi = design.ratings.scale
    out = {}
    for m in design.measures:
        raw = record.values[m.name]  # (periods, occasions, participants)
        if not m.rated:  # a day's contact attempts, counted: Poisson at the day's expected rate
            out[m.name] = rng.poisson(np.maximum(raw, 0.0)).mean(axis=1).T
            continue
        bias = design.ratings.person_sd * rng.standard_normal(raw.shape[2])
        noise = design.ratings.occasion_sd * rng.standard_normal(raw.shape)
        rated = np.clip(lo + (hi - lo) * raw + bias + noise, lo, hi)
        out[m.name] = rated.mean(axis=1).T
    return Scores(out)


def arm_periods(design: TrialDesign, sequence: np.ndarray, arm: str) -> np.ndarray:
    """The period in which each participant took ``arm`` (-1 if never)."""
    index = np.array([seq.index(arm) if arm in seq else -1 for seq in design.layout.sequences])
    return index[sequence]


def effect(design: TrialDesign, record: TrialRecord, values: np.ndarray) -> PairedEffect:
    """The effect of the design's treatment against its control on one measure's scores (participants, periods)."""
    a = design.analysis
    t_period = arm_periods(design, record.sequence, a.treatment)
    c_period = arm_periods(design, record.sequence, a.control)
    people = np.arange(values.shape[0])
    if a.method == "paired":
        return paired_effect(values[people, t_period], values[people, c_period])
    if a.method == "between":
        return between_effect(values[t_period >= 0, 0], values[c_period >= 0, 0])
    return mixed_effect(design, record, values)


def mixed_effect(design: TrialDesign, record: TrialRecord, values: np.ndarray) -> PairedEffect:
    """Treatment against control in a linear mixed model with period and sequence (see the module docstring)."""
    import statsmodels.formula.api as smf
    from scipy import stats as sps

    a = design.analysis
    n, periods = values.shape
    rows = []
    for i in range(n):
        seq = design.layout.sequences[record.sequence[i]]
        for p in range(periods):
            if seq[p] in (a.treatment, a.control):
                rows.append((i, p, record.sequence[i], int(seq[p] == a.treatment), values[i, p]))
    frame = pd.DataFrame(rows, columns=["person", "period", "sequence", "treated", "score"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on near-singular person variance
        fit = smf.mixedlm("score ~ treated + C(period) + C(sequence)", frame, groups=frame["person"]).fit(reml=True)
    beta, se = float(fit.params["treated"]), float(fit.bse["treated"])
    sd = math.sqrt(float(fit.cov_re.iloc[0, 0]) + float(fit.scale))
    j = correction(n - 1)
    g = j * beta / sd if sd > 0 else 0.0
    var_g = (j * se / sd) ** 2 if sd > 0 else math.inf
    z = beta / se if se > 0 else 0.0
    treated, control = frame[frame["treated"] == 1]["score"], frame[frame["treated"] == 0]["score"]
    return PairedEffect(
        n=n,
        mean_treatment=float(treated.mean()),
        mean_control=float(control.mean()),
        mean_difference=float(treated.mean() - control.mean()),
        hedges_g=g,
        variance=var_g,
        ci_low=g - Z95 * math.sqrt(var_g),
        ci_high=g + Z95 * math.sqrt(var_g),
        t=z,
        p=float(2.0 * sps.norm.sf(abs(z))),
        correlation=float("nan"),
    )


def significant(e: PairedEffect, direction: str) -> bool:
    """Whether the effect reached p < .05 (two-sided) in the direction the hypothesis predicts."""
    return bool(e.p < 0.05 and (e.mean_difference < 0 if direction == "lower" else e.mean_difference > 0))


def carryover_p(design: TrialDesign, record: TrialRecord, values: np.ndarray) -> float:
    """Grizzle's carry-over test of a two-sequence crossover: do the period sums differ by sequence? (NaN otherwise)."""
    if design.layout.kind != "crossover" or len(design.layout.sequences) != 2:
        return float("nan")
    total = values.sum(axis=1)
    return two_sample_t(total[record.sequence == 0], total[record.sequence == 1])[1]


def analyse(design: TrialDesign, record: TrialRecord, seed: int) -> tuple[list[dict], Scores]:
    """One row per measure: the effect as the paper computed it, its test, and the carry-over check."""
    s = scores(record, design, seed)
    rows = []
    for m in design.measures:
        with warnings.catch_warnings():
            # ratings of a group can all sit at the scale's floor (e.g. strangers): scipy warns, p is still right
            warnings.filterwarnings("ignore", "Precision loss occurred", RuntimeWarning)
            e = effect(design, record, s.by_measure[m.name])
            carryover = carryover_p(design, record, s.by_measure[m.name])
        rows.append(
            {
                "measure": m.name,
                "n": e.n,
                "mean_treatment": e.mean_treatment,
                "mean_control": e.mean_control,
                "hedges_g": e.hedges_g,
                "variance": e.variance,
                "ci_low": e.ci_low,
                "ci_high": e.ci_high,
                "statistic": e.t,
                "p": e.p,
                "significant": significant(e, design.analysis.direction),
                "carryover_p": carryover,
            }
        )
    return rows, s
