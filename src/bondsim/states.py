"""Saved states: a model's settled community in a file, and the cache of settled states.

A state file (``.npz``, NumPy arrays without pickles) holds everything a model needs to go on
from time zero exactly as the model that wrote it: the network, every person's and every tie's
variables, the last step's contacts, the random generator's state, the parameters and seed it
was made with and how long it warmed up. :meth:`bondsim.model.BondingModel.save_state` writes one,
:meth:`~bondsim.model.BondingModel.from_state` starts a model from it.

The cache of settled states (``BondingModel(..., cache=True)``) keeps one file per warm-up, in
``settled/`` of bondsim's cache folder (``BONDSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/bondsim``,
else ``~/.cache/bondsim``; the compiled kernels live beside it). A file's name is the key of
everything that affects the warm-up (:func:`cache_key`): every parameter but the engine and its
threads (both engines give the very same warm-up), the seed, a network given instead of drawn,
and the code the warm-up runs (bondsim's version, the model's and engines' modules, every
mechanism's module and the modules of the helpers its rules call). A second model with the same
key starts from the stored state, with the same bits as one that warmed up. :func:`clear`
empties the cache.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .engine import Contacts
from .errors import InputError
from .network import SocialNetwork

FORMAT = 1  # the layout of a state file; a file of another layout is refused
CORE_MODULES = (  # bondsim's modules whose code a warm-up runs
    "model", "engine", "agents", "kernel", "codegen", "mechanism", "contract", "pharmacology", "drugs", "network",
    "metrics", "params", "states",
)  # fmt: skip


@dataclass
class SavedState:
    """A model's state at time zero, as a state file holds it.

    Attributes:
        params: the parameters it was made with (``Params.to_dict()``).
        seed: the model's master seed.
        rng: the state of the model's generator at time zero (``bit_generator.state``).
        network: the social network.
        variables: every variable of the model's mechanisms, per person or per tie.
        contacts: the approaches of the last step before time zero.
        warmed_up_days: how long the community warmed up.
        fixed: parameters its mechanisms read to build it (name -> why), which cannot change later.
        code: the fingerprint of the code that made it (:func:`fingerprint`).
    """

    params: dict[str, Any]
    seed: int
    rng: dict[str, Any]
    network: SocialNetwork
    variables: dict[str, np.ndarray]
    contacts: Contacts
    warmed_up_days: float
    fixed: dict[str, str] = field(default_factory=dict)
    code: str = ""


def write(path: str | Path, state: SavedState) -> Path:
    """Write ``state`` to ``path`` (whole, or not at all); returns the path written."""
    path = Path(path)
    meta = {
        "format": FORMAT,
        "params": state.params,
        "seed": state.seed,
        "rng": state.rng,
        "warmed_up_days": state.warmed_up_days,
        "fixed": state.fixed,
        "code": state.code,
        "variables": list(state.variables),
    }
    arrays = {"meta": np.array(json.dumps(meta))}
    net = state.network
    arrays.update({f"network.{k}": getattr(net, k) for k in ("indptr", "indices", "row", "reverse")})
    arrays.update({f"variable.{k}": v for k, v in state.variables.items()})
    arrays.update({f"contacts.{k}": getattr(state.contacts, k) for k in ("seeker", "partner", "accepted")})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read(path: str | Path) -> SavedState:
    """Read a state file (one line if it is missing or not a bondsim state)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"state file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("format") != FORMAT:
                raise InputError(
                    f"{path} is a state of another format ({meta.get('format')}, this bondsim reads {FORMAT})"
                )
            network = SocialNetwork(*(data[f"network.{k}"] for k in ("indptr", "indices", "row", "reverse")))
            variables = {name: data[f"variable.{name}"] for name in meta["variables"]}
            contacts = Contacts(*(data[f"contacts.{k}"] for k in ("seeker", "partner", "accepted")))
    except InputError:
        raise
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        raise InputError(f"{path} is not a bondsim state file: {type(exc).__name__}: {exc}") from None
    return SavedState(
        params=meta["params"],
        seed=int(meta["seed"]),
        rng=meta["rng"],
        network=network,
        variables=variables,
        contacts=contacts,
        warmed_up_days=float(meta["warmed_up_days"]),
        fixed=dict(meta.get("fixed", {})),
        code=meta.get("code", ""),
    )


def fingerprint(spec: Any) -> str:
    """A hash of the code a warm-up of ``spec``'s model runs: bondsim's version and modules, mechanisms, helpers."""
    from . import __version__
    from .codegen import compiled_functions

    digest = hashlib.sha256(f"{__version__} {FORMAT}".encode())
    package = Path(__file__).parent
    for name in CORE_MODULES:
        digest.update((package / f"{name}.py").read_bytes())
    modules = {m.module for m in spec.mechanisms}
    modules |= {sys.modules[f.__module__] for f in compiled_functions(spec) if f.__module__ in sys.modules}
    for module in sorted(modules, key=lambda m: m.__name__):
        try:
            digest.update(inspect.getsource(module).encode())
        except (OSError, TypeError):
            digest.update(module.__name__.encode())
    return digest.hexdigest()[:24]


def cache_key(params: Any, seed: int, spec: Any, network: SocialNetwork | None = None) -> str:
    """The key of a warm-up: every parameter but engine and threads, the seed, a given network, the code."""
    values = {k: v for k, v in params.to_dict().items() if k not in ("engine", "threads")}
    content = {"params": values, "seed": int(seed), "code": fingerprint(spec), "network": None}
    if network is not None:
        digest = hashlib.sha256()
        for k in ("indptr", "indices", "row", "reverse"):
            digest.update(np.ascontiguousarray(getattr(network, k)).tobytes())
        content["network"] = digest.hexdigest()
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:32]


def cache_folder(folder: str | Path | None = None) -> Path:
    """Where settled states are kept: ``folder``, else ``settled/`` in bondsim's cache folder."""
    if folder is not None:
        return Path(folder)
    root = os.environ.get("BONDSIM_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "bondsim"
    )
    return Path(root) / "settled"


def lookup(key: str, folder: str | Path | None = None) -> SavedState | None:
    """The stored settled state of ``key`` (None if there is none, or it cannot be read)."""
    path = cache_folder(folder) / f"{key}.npz"
    if not path.is_file():
        return None
    try:
        return read(path)
    except InputError:
        return None  # a damaged file: warmed up again, and replaced


def store(key: str, state: SavedState, folder: str | Path | None = None) -> Path | None:
    """Keep ``state`` under ``key``; a cache that cannot be written is a warning, not an error."""
    try:
        return write(cache_folder(folder) / f"{key}.npz", state)
    except OSError as exc:
        warnings.warn(f"cannot keep the settled state in {cache_folder(folder)}: {exc}", stacklevel=3)
        return None


def clear(folder: str | Path | None = None) -> int:
    """Remove every stored settled state; returns how many were removed."""
    removed = 0
    for path in cache_folder(folder).glob("*.npz"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


__all__ = ["SavedState", "cache_folder", "cache_key", "clear", "fingerprint", "lookup", "read", "store", "write"]
