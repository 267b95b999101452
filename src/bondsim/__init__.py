"""bondsim: agent-based simulation of opioid-modulated social bonding.

The brain opioid theory of social attachment, runnable: people on a social
network whose endogenous mu-opioid tone rises with bonding and falls with
rejection and separation, and drugs that act on their receptors.

The public names below are imported on first use, so that ``import bondsim`` (and
``bondsim --help``) stays quick.
"""

import sys as _sys
from importlib import import_module as _import_module
from importlib import metadata as _metadata
from importlib.machinery import PathFinder as _PathFinder

try:  # the version is written in one place, pyproject.toml
    __version__ = _metadata.version("bondsim")
except _metadata.PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"


class _FrameInspect:
    """What ``mesa.mesa_logging`` asks of ``inspect`` (frames, their modules and function names), without source.

    Mesa 3.5 names each module's logger from ``inspect.stack()`` and each logged class from
    ``inspect.getouterframes()``, which read the source context of every frame of the import:
    0.1-0.4 s of ``import mesa`` in every process that imports bondsim's model. The same names come
    from the frames themselves.
    """

    def __getattr__(self, name: str):
        import inspect

        return getattr(inspect, name)

    @staticmethod
    def currentframe():
        return _sys._getframe(1)

    @staticmethod
    def getouterframes(frame, context: int = 1) -> list[tuple]:
        frames = []
        while frame is not None:
            frames.append((frame, frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name, None, None))
            frame = frame.f_back
        return frames

    def stack(self, context: int = 1) -> list[tuple]:
        return self.getouterframes(_sys._getframe(1), context)

    @staticmethod
    def getmodule(obj, _filename=None):
        import inspect

        if hasattr(obj, "f_globals"):
            return _sys.modules.get(obj.f_globals.get("__name__"))
        return inspect.getmodule(obj, _filename)


class _QuickMesaLogger:
    """Loads ``mesa.mesa_logging`` as it is, then gives it :class:`_FrameInspect` as its ``inspect``."""

    @classmethod
    def find_spec(cls, name: str, path=None, target=None):
        if name != "mesa.mesa_logging":
            return None
        _sys.meta_path.remove(cls)
        spec = _PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        load = spec.loader.exec_module

        def exec_module(module) -> None:
            load(module)
            if hasattr(module, "inspect"):
                module.inspect = _FrameInspect()

        spec.loader.exec_module = exec_module
        return spec


if "mesa" not in _sys.modules:
    _sys.meta_path.insert(0, _QuickMesaLogger)  # type: ignore[arg-type]

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
