"""Errors a user can cause: reported as one line with exit status 2."""


class UserError(ValueError):
    """A problem with the user's input; its message is one clear line."""
