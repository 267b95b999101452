"""Which code made a result: bondsim's version, git commit and a hash of its sources, and the user's own modules.

``identity()`` is what a Dask worker reports so that a sweep refuses workers that run other code.
The environment variable ``BONDSIM_CODE_HASH_OVERRIDE`` replaces the code hash: it is a test hook
(the tests start a worker that claims other code), not a setting for users.

A model may run code of the user's own: mechanism modules, the helpers their rules call, output
functions. :func:`user_modules` finds these modules (the closure the array engine's kernel cache
hashes, :func:`bondsim.codegen.compiled_functions`, and the user's modules that they import) and
:func:`module_hash` hashes each file, so that a sweep can record them and refuse to mix two versions.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
import site
import subprocess
import sys
import sysconfig
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType

PACKAGE_DIR = Path(__file__).resolve().parent
OVERRIDE = "BONDSIM_CODE_HASH_OVERRIDE"


@functools.cache
def _source_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def code_hash() -> str:
    """SHA-256 (first 16 hex digits) of the package's ``.py`` sources, names included."""
    return os.environ.get(OVERRIDE) or _source_hash()


@functools.cache
def git_commit() -> str | None:
    """``git rev-parse HEAD`` of the checkout holding the package's sources, or None if it is not one."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PACKAGE_DIR, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) == 40 else None


def version() -> str:
    """The version of bondsim."""
    from . import __version__

    return __version__


def identity() -> tuple[str, str]:
    """``(version, code hash)``: what the driver of a sweep and its workers must share."""
    return version(), code_hash()


def describe() -> dict[str, str | None]:
    """The version, git commit (None outside a checkout) and code hash of bondsim, for manifests."""
    return {"version": version(), "git_commit": git_commit(), "code_hash": code_hash()}


# ----------------------------------------------------------------------- the user's own modules
@functools.cache
def _installed_roots() -> tuple[Path, ...]:
    """Folders of installed code: the standard library, site-packages (this environment's and the user's)."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots.update(p for p in sysconfig.get_paths().values() if p)
    try:
        roots.update(site.getsitepackages())
    except AttributeError:  # pragma: no cover - a virtualenv without it
        pass
    roots.add(site.getusersitepackages())
    return tuple(Path(r).resolve() for r in roots if r)


def is_users(module: ModuleType) -> bool:
    """Whether a module is the user's own: a ``.py`` file outside bondsim, the standard library and packages."""
    file = getattr(module, "__file__", None)
    if not file or not file.endswith(".py"):
        return False
    path = Path(file).resolve()
    if path.is_relative_to(PACKAGE_DIR):
        return False
    return not any(path.is_relative_to(root) for root in _installed_roots())


def module_hash(path: str | Path) -> str:
    """SHA-256 (first 16 hex digits) of a module's source file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def user_modules(mechanism_lists: Iterable[Sequence[str]] = (), modules: Iterable[str] = ()) -> dict[str, Path]:
    """The user's own modules a model needs, by name: its source file.

    These are the mechanisms of each list that are not bondsim's, the modules of the helpers their
    rules compile in (:func:`bondsim.codegen.compiled_functions`, the closure the kernel cache
    hashes), the ``modules`` named (e.g. those of output functions), and every module of the
    user's own that any of these imports (a module, or a function or class taken from one),
    transitively. Installed packages and bondsim are not the user's (bondsim's own code is hashed
    as a whole, :func:`code_hash`).
    """
    from .codegen import compiled_functions
    from .mechanism import model_spec

    todo: list[ModuleType] = []
    for names in mechanism_lists:
        spec = model_spec(tuple(names))
        todo += [m.module for m in spec.mechanisms]
        todo += [sys.modules[f.__module__] for f in compiled_functions(spec) if f.__module__ in sys.modules]
    todo += [importlib.import_module(name) for name in modules]
    found: dict[str, Path] = {}
    while todo:
        module = todo.pop()
        if module.__name__ in found or not is_users(module):
            continue
        found[module.__name__] = Path(module.__file__).resolve()
        for value in vars(module).values():
            if isinstance(value, ModuleType):
                todo.append(value)
            elif callable(value) and isinstance(getattr(value, "__module__", None), str):
                owner = sys.modules.get(value.__module__)
                if owner is not None:
                    todo.append(owner)
    return dict(sorted(found.items()))


def check_module(name: str, expected: str | None = None) -> str | None:
    """Import a module as a run would and compare its source's hash: None if all is well, else what is wrong.

    The working folder is on the import path, as :func:`bondsim.mechanism.load_mechanism` puts it.
    """
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())
    try:
        module = importlib.import_module(name)
    except Exception as exc:
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        return f"cannot import module {name} ({reason})"
    file = getattr(module, "__file__", None)
    if expected is None or not file:
        return None
    got = module_hash(file)
    if got != expected:
        return f"has another {name} than the driver (source {got} at {file}, the driver's {expected})"
    return None
