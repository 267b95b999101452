"""A fitted posterior: the particles of a calibration's last generation, and parameter sets drawn from it.

A posterior file is the ``posterior.csv`` that ``bondsim calibrate`` writes: one row per particle,
a column per fitted parameter, ``weight`` (summing to 1) and, where the rating noise was fitted,
``rating_person_sd`` and ``rating_occasion_sd`` (its split). bondsim ships the posterior of the
shipped spec as ``default`` (``bondsim/calibration/posteriors/default.csv`` with the run's
``summary.json``); ``bondsim trial DESIGN --posterior default`` draws one particle per virtual trial.

Needs no optional package: reading a posterior and drawing from it is NumPy and pandas.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..params import FIELDS, Params
from ..trials.design import TrialDesign
from .particle import model_values, with_ratings

POSTERIORS = Path(__file__).parent / "posteriors"
RATING_COLUMNS = ("rating_person_sd", "rating_occasion_sd")
DERIVED = ("rating_noise", *RATING_COLUMNS)


@dataclass(frozen=True)
class Posterior:
    """Weighted particles of a posterior.

    Attributes:
        name: the shipped posterior's name, or the file's path as given.
        path: the file read.
        particles: one row per particle, the parameters' columns (and the rating SDs).
        weights: normalised weights, one per particle.
        sha256: the file's content hash.
    """

    name: str
    path: Path
    particles: pd.DataFrame
    weights: np.ndarray
    sha256: str

    @property
    def size(self) -> int:
        """Particles."""
        return len(self.particles)

    @property
    def parameters(self) -> list[str]:
        """The fitted parameters it holds (the rating noise, not its split)."""
        return [c for c in self.particles.columns if c not in RATING_COLUMNS]

    def info(self) -> dict[str, Any]:
        """What a run's summary records of it."""
        return {"name": self.name, "sha256": self.sha256, "particles": self.size, "parameters": self.parameters}

    def draw(self, seed: int) -> int:
        """The index of one particle, drawn with probability its weight, from ``seed``."""
        rng = np.random.default_rng([int(seed), 0x9E57])  # a stream of its own: the trial's other draws are unchanged
        return int(rng.choice(self.size, p=self.weights))

    def values(self, index: int) -> dict[str, float]:
        """Particle ``index``'s values by column."""
        return {k: float(v) for k, v in self.particles.iloc[index].items()}

    def apply(self, index: int, design: TrialDesign, params: Params) -> tuple[TrialDesign, Params]:
        """``design`` and ``params`` with particle ``index``'s values (the rating SDs go to the design's ratings)."""
        values = self.values(index)
        ratings = {k.removeprefix("rating_"): values[k] for k in RATING_COLUMNS if k in values}
        return with_ratings(design, ratings), params.replace(**model_values(values))


def shipped() -> dict[str, Path]:
    """The posteriors shipped with bondsim, by name."""
    return {p.stem: p for p in sorted(POSTERIORS.glob("*.csv"))}


def load(name_or_path: str | Path) -> Posterior:
    """Read a posterior: a shipped one by name (``default``) or a ``posterior.csv``.

    Raises:
        InputError: a missing file, or one that is not a posterior (one line).
    """
    text = str(name_or_path)
    path = shipped().get(text) or Path(text)
    if not path.is_file():
        known = ", ".join(shipped()) or "none"
        raise InputError(f"posterior not found: {text} (shipped posteriors: {known}; or give a posterior.csv)")
    raw = path.read_bytes()
    try:
        frame = pd.read_csv(path)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{text} is not a posterior file: {' '.join(str(exc).split())}") from None
    if "weight" not in frame.columns or len(frame) == 0:
        raise InputError(f"{text} is not a posterior file: it needs a 'weight' column and at least one particle")
    unknown = [c for c in frame.columns if c != "weight" and c not in FIELDS and c not in DERIVED]
    if unknown:
        raise InputError(f"{text}: column '{unknown[0]}' is not a parameter")
    weights = frame.pop("weight").to_numpy(dtype=float)
    if not (np.all(np.isfinite(weights)) and np.all(weights >= 0) and weights.sum() > 0):
        raise InputError(f"{text}: the weights must be finite, non-negative and not all 0")
    if not np.all(np.isfinite(frame.to_numpy(dtype=float))):
        raise InputError(f"{text}: every parameter value must be a finite number")
    return Posterior(
        name=text if text in shipped() else str(path),
        path=path,
        particles=frame.reset_index(drop=True),
        weights=weights / weights.sum(),
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float | list[float]) -> np.ndarray:
    """Quantiles of weighted values (the weighted empirical distribution, interpolated at mid-masses)."""
    values, weights = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cum = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(q, cum, v)


__all__ = ["POSTERIORS", "Posterior", "load", "shipped", "weighted_quantile"]
