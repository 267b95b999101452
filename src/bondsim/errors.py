"""Errors a user can cause: reported as one line with exit status 2.

Every error bondsim raises on purpose is a :class:`UserError`; its message is the one line that
``bondsim`` prints after ``bondsim COMMAND: error:``. The Python API raises the same types with the
same messages, so a script can catch them by kind:

- :class:`ParameterError`: an unknown parameter, a value out of range, a malformed config file.
- :class:`InputError`: a file, directory or name given to a command that cannot be used.
- :class:`OutputError`: an output that exists (and ``overwrite`` was not given), cannot be
  written, or a disk that filled up while writing. Nothing is left half-written.
- :class:`ResourceError`: a run too large for this machine's memory, refused before it starts.

A Ctrl-C stays :class:`KeyboardInterrupt` (the command prints one line and exits with 130); a
``SIGTERM`` (``kill``, a batch scheduler's time limit) becomes :class:`Terminated`, a kind of
``KeyboardInterrupt``, so it too stops the workers and leaves nothing half-written (exit 143).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(ValueError):
    """A problem with the user's input; its message is one clear line."""


class InputError(UserError):
    """A file, directory or name given to a command that cannot be used."""


class OutputError(UserError):
    """An output that exists, cannot be written, or a disk that filled up while writing."""


class ResourceError(UserError):
    """A run too large for this machine, refused before it starts."""


class ParameterError(UserError):
    """An unknown parameter, a value out of range, a malformed config file or drug table."""


class Terminated(KeyboardInterrupt):
    """The process was asked to stop (SIGTERM): handled like Ctrl-C."""


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``options`` to a misspelt ``word``, or ''."""
    close = difflib.get_close_matches(str(word), list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


__all__ = [
    "InputError",
    "OutputError",
    "ParameterError",
    "ResourceError",
    "Terminated",
    "UserError",
    "did_you_mean",
]
