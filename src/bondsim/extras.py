"""The optional parts of bondsim, and the one line that names the install a missing part needs.

``pip install bondsim`` is the core: the model, the mechanism API, the agents engine and the
``run``, ``params`` and ``pk`` commands, on Mesa, NumPy, pandas, NetworkX, SciPy, matplotlib and
tqdm. Each extra adds one capability and the packages it needs:

- ``array``: the array engine, the rules compiled by numba (sweeps, trials, millions of people);
- ``sweep``: parameter sweeps on local processes or Dask, their Parquet datasets and analysis;
- ``trials``: virtual trials and the experiments' statistics (statsmodels);
- ``app``: the classroom app (Solara; the page's scripts are bundled with bondsim, for offline use);
- ``calibrate``: likelihood-free Bayesian calibration (pyabc);
- ``all``: every one of them.

A command that needs a missing extra stops with one line naming it (:class:`MissingExtra`,
exit status 2); :func:`extra_of` finds the extra of a module that failed to import.
"""

from __future__ import annotations

import importlib.util
from functools import cache

from .errors import UserError

EXTRAS: dict[str, tuple[str, ...]] = {  # extra -> the modules it brings (import names)
    "array": ("numba",),
    "sweep": ("distributed", "dask", "pyarrow", "SALib", "threadpoolctl"),
    "trials": ("statsmodels", "tomli_w"),
    "app": ("solara", "ipyvuetify", "ipyvue", "segno"),
    "calibrate": ("pyabc",),
}


class MissingExtra(UserError):
    """A part of bondsim whose optional packages are not installed: one line naming the install."""


def install(extra: str) -> str:
    """The command that installs an extra."""
    return f'pip install "bondsim[{extra}]"'


@cache
def has(extra: str) -> bool:
    """Whether every module of ``extra`` can be imported here (checked without importing them)."""
    return not missing(extra)


def missing(extra: str) -> tuple[str, ...]:
    """The modules of ``extra`` that are not installed."""
    return tuple(name for name in EXTRAS[extra] if not _installed(name))


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: a module set to None in sys.modules, i.e. blocked
        return False


def require(extra: str, purpose: str) -> None:
    """Refuse (one line, :class:`MissingExtra`) unless ``extra`` is installed; ``purpose`` says what needs it.

    Example: ``require("sweep", "bondsim sweep")`` -> ``bondsim sweep needs the 'sweep' extra
    (distributed, pyarrow are not installed): pip install "bondsim[sweep]"``.
    """
    absent = missing(extra)
    if absent:
        raise MissingExtra(
            f"{purpose} needs the '{extra}' extra ({', '.join(absent)} {'is' if len(absent) == 1 else 'are'} "
            f"not installed): {install(extra)}"
        )


def extra_of(module: str | None) -> str | None:
    """The extra that brings ``module`` (a dotted import name), or None if no extra does."""
    top = (module or "").partition(".")[0]
    return next((extra for extra, modules in EXTRAS.items() if top in modules), None)
