"""bondsim: agent-based simulation of opioid-modulated social bonding.

The brain opioid theory of social attachment, runnable: people on a social
network whose endogenous mu-opioid tone rises with bonding and falls with
rejection and separation, and drugs that act on their receptors.
"""

from .model import BondingModel, run
from .params import Params, load

__version__ = "0.1.0"
__all__ = ["BondingModel", "Params", "__version__", "load", "run"]
