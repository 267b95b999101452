"""Errors a user can cause: reported as one line with exit status 2."""

import difflib
from collections.abc import Iterable


class UserError(ValueError):
    """A problem with the user's input; its message is one clear line."""


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``options`` to a misspelt ``word``, or ''."""
    close = difflib.get_close_matches(str(word), list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
