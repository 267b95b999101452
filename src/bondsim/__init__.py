"""bondsim: agent-based simulation of opioid-modulated social bonding.

The brain opioid theory of social attachment, runnable: people on a social
network whose endogenous mu-opioid tone rises with bonding and falls with
rejection and separation, and drugs that act on their receptors.
"""

from importlib import metadata as _metadata

from .model import BondingModel, run
from .params import Params, load

try:  # the version is written in one place, pyproject.toml
    __version__ = _metadata.version("bondsim")
except _metadata.PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["BondingModel", "Params", "__version__", "load", "run"]
