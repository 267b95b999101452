"""Writing results safely: whole files and whole directories, or nothing."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from .errors import OutputError

# Errors of the file system that mean "this output cannot be written here": reported as one
# OutputError line. Anything else is a bug and keeps its traceback.
_WRITE_ERRNOS = frozenset(
    getattr(errno, name)
    for name in ("ENOSPC", "EDQUOT", "EFBIG", "EROFS", "EACCES", "EPERM", "ENOTDIR", "EISDIR", "ENAMETOOLONG", "EEXIST")
    if hasattr(errno, name)
)


def _is_empty_dir(path: Path) -> bool:
    with os.scandir(path) as entries:
        return next(entries, None) is None


def _blocking_ancestor(path: Path) -> Path | None:
    """The nearest existing ancestor of ``path`` if it is not a directory (so nothing can go below it)."""
    for parent in path.parents:
        if parent.exists() or parent.is_symlink():
            return None if parent.is_dir() else parent
    return None


def cannot_write(path: str | Path, exc: OSError) -> OutputError:
    """The one-line OutputError for an OSError met while writing ``path``."""
    path = Path(path)
    blocking = _blocking_ancestor(path)
    reason = f"{blocking} is not a directory" if blocking is not None else (exc.strerror or str(exc))
    return OutputError(f"cannot write to {path}: {reason}")


def check_output(path: str | Path, *, overwrite: bool = False, directory: bool = True) -> Path:
    """Refuse an output that already holds something, unless ``overwrite``; the rule of every command.

    An output directory may exist if it is empty; an output file may exist if it is empty. With
    ``overwrite`` the files a command writes replace those of the same name (others are kept).

    Args:
        path: the output directory (``directory=True``) or file.
        overwrite: allow replacing what is there.
        directory: whether ``path`` names a directory or a file.

    Raises:
        OutputError: with one line naming the path and the way out.
    """
    path = Path(path)
    blocking = _blocking_ancestor(path)
    if blocking is not None:
        raise OutputError(f"cannot write to {path}: {blocking} is not a directory")
    if not (path.exists() or path.is_symlink()):
        return path
    if directory:
        if not path.is_dir():
            raise OutputError(f"{path} exists and is not a directory")
        try:
            empty = _is_empty_dir(path)
        except OSError as exc:
            raise cannot_write(path, exc) from None
        if not empty and not overwrite:
            raise OutputError(
                f"{path} is not empty: use --overwrite (overwrite=True in Python) to replace its files, "
                "or another output directory"
            )
    else:
        if path.is_dir():
            raise OutputError(f"{path} is a directory: name a file")
        if path.stat().st_size > 0 and not overwrite:
            raise OutputError(
                f"{path} exists: use --overwrite (overwrite=True in Python) to replace it, or another file"
            )
    return path


def _make_parents(directory: Path) -> list[Path]:
    """Create ``directory`` and its missing parents; returns those created, deepest first."""
    missing = []
    for d in (directory, *directory.parents):
        if d.is_dir():
            break
        missing.append(d)
    made = []
    try:
        for d in reversed(missing):
            d.mkdir()
            made.insert(0, d)
    except OSError:
        _remove_empty(made)
        raise
    return made


def _remove_empty(dirs: list[Path]) -> None:
    for d in dirs:  # deepest first
        try:
            d.rmdir()
        except OSError:
            break


@contextlib.contextmanager
def _staging(target: Path, shown: Path) -> Iterator[tuple[Path, list[Path]]]:
    """A hidden temporary directory next to ``target``, removed (with any parents made for it) on error.

    ``shown`` is how errors name the target (the path as the user gave it).
    """
    parent = target.parent
    try:
        made = _make_parents(parent)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the output gets a directory's usual mode
    except OSError as exc:
        raise cannot_write(shown, exc) from None
    try:
        yield tmp, made
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_empty(made)
        if exc.errno in _WRITE_ERRNOS:
            raise cannot_write(shown, exc) from None
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_empty(made)
        raise


@contextlib.contextmanager
def output_directory(out: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary directory whose files land in ``out`` only on success.

    ``out`` must not exist, or be empty, or ``overwrite`` must be given (:func:`check_output`).
    On any error, Ctrl-C included, nothing is left behind: the temporary directory (and any parent
    directory made for it) is removed and ``out`` keeps whatever it had before. A file system
    error while writing (full disk, no permission) becomes one :class:`OutputError` line.
    """
    out = Path(out)
    check_output(out, overwrite=overwrite)
    target = out.absolute()
    with _staging(target, out) as (tmp, _made):
        yield tmp
        check_output(out, overwrite=overwrite)  # again: something may have appeared meanwhile
        if not out.exists():
            os.replace(tmp, out)
            return
        for item in tmp.iterdir():
            dest = out / item.name
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            os.replace(item, dest)
        tmp.rmdir()


@contextlib.contextmanager
def output_file(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path whose file replaces ``path`` only on success (same rules as directories)."""
    path = Path(path)
    check_output(path, overwrite=overwrite, directory=False)
    target = path.absolute()
    with _staging(target, path) as (tmp, _made):
        yield tmp / path.name
        check_output(path, overwrite=overwrite, directory=False)
        os.replace(tmp / path.name, path)
        shutil.rmtree(tmp, ignore_errors=True)


def _default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, np.ndarray):
        return _finite(obj.tolist())
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def write_json(path: str | Path, data: Any) -> None:
    """Write JSON (NaN as null) atomically: a temporary dot-file, renamed; removed if interrupted."""
    path = Path(path)
    text = json.dumps(_finite(data), indent=2, default=_default, allow_nan=False) + "\n"
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Versions of Python and the packages a result depends on (plus ``extra`` packages)."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for pkg in ("bondsim", "mesa", "numpy", "pandas", "scipy", "networkx", *extra):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def now() -> str:
    """The current time in ISO 8601, UTC."""
    return datetime.now(UTC).isoformat(timespec="seconds")
