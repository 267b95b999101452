"""Which code made a result: bondsim's version, git commit and a hash of its sources.

``identity()`` is what a Dask worker reports so that a sweep refuses workers that run other code.
The environment variable ``BONDSIM_CODE_HASH_OVERRIDE`` replaces the code hash: it is a test hook
(the tests start a worker that claims other code), not a setting for users.
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
from pathlib import Path

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
