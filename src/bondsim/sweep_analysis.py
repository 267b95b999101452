"""``bondsim analyze``: kept for old imports; the analysis lives in :mod:`bondsim.sweep.analysis`."""

import warnings

from .sweep.analysis import *  # noqa: F403
from .sweep.analysis import __all__, add_arguments, command  # noqa: F401

warnings.warn(
    "bondsim.sweep_analysis is deprecated: use bondsim.sweep.analysis (or bondsim.sweep)",
    DeprecationWarning,
    stacklevel=2,
)
