"""Designs of a sweep: one function per design, each returning its points in order.

A point is a mapping of varied parameter names to values. ``grid`` and ``list`` take the
values from the spec; ``lhs``, ``sobol`` and ``morris`` sample ranges with SALib (seeded from
the sweep's master seed), and :func:`to_points` clips the samples to their ranges and rounds
integer parameters.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..params import FIELDS

DESIGNS = ("grid", "lhs", "sobol", "list", "morris")
SAMPLED = ("lhs", "sobol", "morris")

Point = dict[str, Any]
Bounds = Mapping[str, tuple[float, float]]


def grid(levels: Mapping[str, Sequence[Any]]) -> tuple[Point, ...]:
    """Every combination of the levels (full factorial), in spec order, the last name varying fastest."""
    names = tuple(levels)
    return tuple(dict(zip(names, combo, strict=True)) for combo in itertools.product(*levels.values()))


def listed(columns: Mapping[str, Sequence[Any]]) -> tuple[Point, ...]:
    """Point ``i`` takes the ``i``-th value of each (equal-length) column."""
    n = len(next(iter(columns.values())))
    return tuple({name: values[i] for name, values in columns.items()} for i in range(n))


def problem(names: Sequence[str], bounds: Bounds) -> dict[str, Any]:
    """The SALib problem dict of a sampled design."""
    return {"num_vars": len(names), "names": list(names), "bounds": [list(bounds[n]) for n in names]}


def lhs_matrix(names: Sequence[str], bounds: Bounds, samples: int, seed: int) -> np.ndarray:
    """A Latin hypercube of ``samples`` points (SALib ``latin``)."""
    from SALib.sample import latin

    return latin.sample(problem(names, bounds), samples, seed=seed)


def sobol_matrix(names: Sequence[str], bounds: Bounds, samples: int, second_order: bool, seed: int) -> np.ndarray:
    """Saltelli's scheme on a scrambled Sobol' sequence (SALib ``sobol``): N (D + 2) or N (2D + 2) points."""
    from SALib.sample import sobol

    return sobol.sample(problem(names, bounds), samples, calc_second_order=second_order, scramble=True, seed=seed)


def morris_matrix(names: Sequence[str], bounds: Bounds, samples: int, levels: int, seed: int) -> np.ndarray:
    """``samples`` Morris trajectories on a ``levels``-level grid (SALib ``morris``): N (D + 1) points."""
    from SALib.sample import morris

    return morris.sample(problem(names, bounds), samples, num_levels=levels, seed=seed)


def to_points(names: Sequence[str], bounds: Bounds, x: np.ndarray, integers: Sequence[str] = ()) -> tuple[Point, ...]:
    """Rows of a sample matrix as points: clipped to the bounds, integer parameters rounded.

    ``integers`` names integer parameters beyond bondsim's own (those of a user's mechanisms).
    """
    points = []
    for row in x:
        point = {}
        for name, v in zip(names, row, strict=True):
            low, high = bounds[name]
            v = min(max(float(v), low), high)
            integer = name in integers or (name in FIELDS and FIELDS[name].integer)
            point[name] = round(v) if integer else v
        points.append(point)
    return tuple(points)


def lhs(
    names: Sequence[str], bounds: Bounds, samples: int, seed: int, integers: Sequence[str] = ()
) -> tuple[Point, ...]:
    """Points of a Latin hypercube design."""
    return to_points(names, bounds, lhs_matrix(names, bounds, samples, seed), integers)


def sobol(
    names: Sequence[str], bounds: Bounds, samples: int, second_order: bool, seed: int, integers: Sequence[str] = ()
) -> tuple[Point, ...]:
    """Points of a Sobol' (Saltelli) design."""
    return to_points(names, bounds, sobol_matrix(names, bounds, samples, second_order, seed), integers)


def morris(
    names: Sequence[str], bounds: Bounds, samples: int, levels: int, seed: int, integers: Sequence[str] = ()
) -> tuple[Point, ...]:
    """Points of a Morris (elementary effects) design."""
    return to_points(names, bounds, morris_matrix(names, bounds, samples, levels, seed), integers)


__all__ = [
    "DESIGNS",
    "SAMPLED",
    "grid",
    "lhs",
    "lhs_matrix",
    "listed",
    "morris",
    "morris_matrix",
    "problem",
    "sobol",
    "sobol_matrix",
    "to_points",
]
