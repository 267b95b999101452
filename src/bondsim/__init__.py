"""bondsim: agent-based simulation of opioid-modulated social bonding.

The brain opioid theory of social attachment, runnable: people on a social
network whose endogenous mu-opioid tone rises with bonding and falls with
rejection and separation, and drugs that act on their receptors.

The public names below are imported on first use, so that ``import bondsim`` (and
``bondsim --help``) stays quick.
"""

from importlib import import_module as _import_module
from importlib import metadata as _metadata

try:  # the version is written in one place, pyproject.toml
    __version__ = _metadata.version("bondsim")
except _metadata.PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

_PUBLIC = {
    "BondingModel": "bondsim.model",
    "run": "bondsim.model",
    "Params": "bondsim.params",
    "load": "bondsim.params",
    "DrugProfile": "bondsim.drugs",
    "Parameter": "bondsim.mechanism",
    "Variable": "bondsim.mechanism",
    "rule": "bondsim.mechanism",
    "helper": "bondsim.mechanism",
    "UserError": "bondsim.errors",
}


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(_import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'bondsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


__all__ = [
    "BondingModel",
    "DrugProfile",
    "Parameter",
    "Params",
    "UserError",
    "Variable",
    "__version__",
    "helper",
    "load",
    "rule",
    "run",
]
