"""Effect sizes of trials: Hedges' g with its CI and test, for paired and for independent groups; pooling.

The effect size of a crossover trial is the standardised mean difference of the
two conditions, scaled by the average of the two conditions' standard deviations
(d_av), with the small-sample correction J and the variance of the matched-groups
design (Borenstein et al. 2009, ch. 4), as a meta-analysis of such trials uses it
(Løseth et al. 2024). Between groups, g is scaled by the pooled standard deviation,
with the independent-groups variance (Borenstein et al. 2009, eqs. 4.18-4.24).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as sps

Z95 = 1.959963984540054


@dataclass(frozen=True)
class PairedEffect:
    """Effect of a within-subject comparison ``treatment - control``."""

    n: int
    mean_treatment: float
    mean_control: float
    mean_difference: float
    hedges_g: float
    variance: float  # sampling variance of g
    ci_low: float
    ci_high: float
    t: float
    p: float
    correlation: float

    def to_dict(self) -> dict[str, float]:
        """Plain dict (for tables and JSON)."""
        return asdict(self)


def correction(df: float) -> float:
    """Hedges' small-sample correction J for ``df`` degrees of freedom."""
    return 1.0 - 3.0 / (4.0 * df - 1.0)


def paired_effect(treatment, control) -> PairedEffect:
    """Hedges' g (d_av corrected), its 95% CI and a paired t-test of ``treatment - control``.

    Args:
        treatment: one value per person under the treatment.
        control: the same people's values under the control, in the same order.

    Returns:
        The effect: g = J * mean(diff) / sqrt((sd_t^2 + sd_c^2) / 2), with
        Var(d) = (1/n + d^2 / (2n)) * 2 (1 - r) and Var(g) = J^2 Var(d).
    """
    x = np.asarray(treatment, dtype=np.float64)
    y = np.asarray(control, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("treatment and control must be 1-d arrays of the same length")
    n = x.size
    if n < 3:
        raise ValueError("a paired effect needs at least 3 people")
    diff = x - y
    sd_x, sd_y = x.std(ddof=1), y.std(ddof=1)
    s_av = math.sqrt(0.5 * (sd_x**2 + sd_y**2))
    r = float(np.corrcoef(x, y)[0, 1]) if sd_x > 0 and sd_y > 0 else 0.0
    j = correction(n - 1)
    d = float(diff.mean() / s_av) if s_av > 0 else 0.0
    var_d = (1.0 / n + d * d / (2.0 * n)) * 2.0 * (1.0 - r)
    g = j * d
    var_g = j * j * var_d
    half = Z95 * math.sqrt(max(var_g, 0.0))
    sd_diff = diff.std(ddof=1)
    if sd_diff > 0:
        t = float(diff.mean() / (sd_diff / math.sqrt(n)))
        p = float(2.0 * sps.t.sf(abs(t), n - 1))
    else:
        t, p = (0.0, 1.0) if diff.mean() == 0 else (math.copysign(math.inf, diff.mean()), 0.0)
    return PairedEffect(
        n=n,
        mean_treatment=float(x.mean()),
        mean_control=float(y.mean()),
        mean_difference=float(diff.mean()),
        hedges_g=g,
        variance=var_g,
        ci_low=g - half,
        ci_high=g + half,
        t=t,
        p=p,
        correlation=r,
    )


def between_effect(treatment, control) -> PairedEffect:
    """Hedges' g of two independent groups ``treatment - control``, its 95% CI and Student's t-test.

    Returns:
        The effect: g = J * (mean_t - mean_c) / s_pooled, J for n_t + n_c - 2 degrees of freedom,
        Var(d) = (n_t + n_c) / (n_t n_c) + d^2 / (2 (n_t + n_c)), Var(g) = J^2 Var(d);
        ``correlation`` is 0 (the groups are different people).
    """
    x = np.asarray(treatment, dtype=np.float64)
    y = np.asarray(control, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1 or x.size < 2 or y.size < 2:
        raise ValueError("each group needs at least 2 people")
    n1, n2 = x.size, y.size
    s_pooled = math.sqrt(((n1 - 1) * x.var(ddof=1) + (n2 - 1) * y.var(ddof=1)) / (n1 + n2 - 2))
    j = correction(n1 + n2 - 2)
    diff = float(x.mean() - y.mean())
    d = diff / s_pooled if s_pooled > 0 else 0.0
    var_g = j * j * ((n1 + n2) / (n1 * n2) + d * d / (2.0 * (n1 + n2)))
    half = Z95 * math.sqrt(var_g)
    if s_pooled > 0:
        res = sps.ttest_ind(x, y, equal_var=True)
        t, p = float(res.statistic), float(res.pvalue)
    else:
        t, p = (0.0, 1.0) if diff == 0 else (math.copysign(math.inf, diff), 0.0)
    return PairedEffect(
        n=n1 + n2,
        mean_treatment=float(x.mean()),
        mean_control=float(y.mean()),
        mean_difference=diff,
        hedges_g=j * d,
        variance=var_g,
        ci_low=j * d - half,
        ci_high=j * d + half,
        t=t,
        p=p,
        correlation=0.0,
    )


def pooled(effects, variances) -> dict[str, float]:
    """Fixed-effect (inverse-variance) pooled effect with its 95% CI.

    Args:
        effects: effect sizes of independent studies (or virtual trials).
        variances: their sampling variances.

    Returns:
        ``estimate``, ``se``, ``ci_low``, ``ci_high`` and Higgins' ``i2`` (%).
    """
    g = np.asarray(effects, dtype=np.float64)
    v = np.asarray(variances, dtype=np.float64)
    w = 1.0 / v
    est = float(np.sum(w * g) / np.sum(w))
    se = float(math.sqrt(1.0 / np.sum(w)))
    q = float(np.sum(w * (g - est) ** 2))
    i2 = max(0.0, (q - (g.size - 1)) / q) * 100.0 if q > 0 else 0.0
    return {"estimate": est, "se": se, "ci_low": est - Z95 * se, "ci_high": est + Z95 * se, "i2": i2}


def two_sample_t(a, b) -> tuple[float, float]:
    """Welch's two-sample t-test of ``mean(a) - mean(b)``: (t, two-sided p)."""
    res = sps.ttest_ind(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), equal_var=False)
    return float(res.statistic), float(res.pvalue)
