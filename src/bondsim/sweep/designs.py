"""Designs of a sweep: one function per design, each returning its points in order.

A point is a mapping of varied parameter names to values. ``grid`` and ``list`` take the
values from the spec; ``lhs``, ``sobol`` and ``morris`` sample ranges with SALib (seeded from
the sweep's master seed), and :func:`to_points` clips the samples to their ranges and rounds
integer parameters.

A categorical factor of a sampled design (``name = { choices = [...] }``: a network kind, a drug,
a mechanism list, any parameter's levels) is sampled as SALib and EMA Workbench sample one: a
uniform factor on ``[0, k)`` for ``k`` levels, of which a sample ``u`` takes the level
``floor(u)`` (``k - 1`` at ``u = k``). Its Sobol and Morris indices are those of this factor.
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


def level(u: float, levels: Sequence[Any]) -> Any:
    """The level of a categorical factor at ``u`` on ``[0, k]`` (``k`` levels): ``levels[min(floor(u), k - 1)]``."""
    k = len(levels)
    return levels[min(max(int(np.floor(u)), 0), k - 1)]


def to_points(
    names: Sequence[str],
    bounds: Bounds,
    x: np.ndarray,
    integers: Sequence[str] = (),
    choices: Mapping[str, Sequence[Any]] | None = None,
) -> tuple[Point, ...]:
    """Rows of a sample matrix as points: clipped to the bounds, integer parameters rounded, levels chosen.

    ``integers`` names integer parameters beyond bondsim's own (those of a user's mechanisms);
    ``choices`` gives the levels of each categorical factor (sampled on ``[0, k]``, see :func:`level`).
    """
    choices = choices or {}
    points = []
    for row in x:
        point = {}
        for name, v in zip(names, row, strict=True):
            if name in choices:
                point[name] = level(float(v), choices[name])
                continue
            low, high = bounds[name]
            v = min(max(float(v), low), high)
            integer = name in integers or (name in FIELDS and FIELDS[name].integer)
            point[name] = round(v) if integer else v
        points.append(point)
    return tuple(points)


Choices = Mapping[str, Sequence[Any]] | None


def lhs(
    names: Sequence[str],
    bounds: Bounds,
    samples: int,
    seed: int,
    integers: Sequence[str] = (),
    choices: Choices = None,
) -> tuple[Point, ...]:
    """Points of a Latin hypercube design (a categorical factor takes each level in ``samples / k`` points)."""
    return to_points(names, bounds, lhs_matrix(names, bounds, samples, seed), integers, choices)


def sobol(
    names: Sequence[str],
    bounds: Bounds,
    samples: int,
    second_order: bool,
    seed: int,
    integers: Sequence[str] = (),
    choices: Choices = None,
) -> tuple[Point, ...]:
    """Points of a Sobol' (Saltelli) design."""
    return to_points(names, bounds, sobol_matrix(names, bounds, samples, second_order, seed), integers, choices)


def morris(
    names: Sequence[str],
    bounds: Bounds,
    samples: int,
    levels: int,
    seed: int,
    integers: Sequence[str] = (),
    choices: Choices = None,
) -> tuple[Point, ...]:
    """Points of a Morris (elementary effects) design."""
    return to_points(names, bounds, morris_matrix(names, bounds, samples, levels, seed), integers, choices)


__all__ = [
    "DESIGNS",
    "SAMPLED",
    "grid",
    "level",
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
