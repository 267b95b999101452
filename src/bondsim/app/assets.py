"""The page's style sheets and HTML texts: files in ``static/`` beside this module, shipped with the package."""

from __future__ import annotations

from importlib import resources


def static_text(name: str) -> str:
    """The text of ``static/NAME`` (read from the installed package, wherever it is)."""
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")
