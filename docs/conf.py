"""Sphinx configuration of bondsim's documentation (Markdown pages with MyST, notebooks with MyST-NB).

Build with ``make docs``: warnings are errors, internal links and anchors must resolve, notebooks
are executed. The reference tables are written from the code by ``_ext/bondsim_docs.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

from bondsim import __version__

matplotlib.use("Agg")  # autodoc imports modules that may import pyplot
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

project = "bondsim"
author = "bondsim developers"
copyright = "2026, bondsim developers"
version = release = __version__

extensions = [
    "myst_nb",  # Markdown pages (it brings myst_parser) and executed notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "bondsim_docs",
]

source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "**.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]

# --- MyST -------------------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist", "html_image"]
myst_heading_anchors = 3  # `[text](page.md#a-heading)` links resolve, and a missing anchor warns

# --- notebooks (MyST-NB) ----------------------------------------------------------------------
nb_execution_mode = "force"  # every build runs every notebook against the code as it is
nb_execution_timeout = 120  # seconds per cell; each tutorial runs in well under a minute
nb_execution_raise_on_error = True  # a failing cell fails the build
nb_execution_show_tb = True
nb_merge_streams = True
# A static page cannot run a live widget (the classroom app shown in Jupyter, tutorials/classroom_jupyter):
# load no widget manager from a CDN for it
nb_ipywidgets_js: dict[str, dict[str, str]] = {}

# --- API reference ----------------------------------------------------------------------------
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"  # no "Return type: None" noise
autodoc_typehints_format = "short"
autodoc_class_signature = "mixed"  # the class's own signature, not Mesa's inherited __init__ text
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

# Every reference inside the project must resolve. Third-party names (numpy, pandas, mesa, ...)
# cannot be checked without their inventories, which would need the network.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(np|numpy|pd|pandas|mesa|nx|networkx|scipy|matplotlib|dask|distributed|pyarrow|argparse)(\..*)?"),
    (r"py:.*", r"(Figure|Axes|Generator|DataFrame|Series|Graph|ndarray|ArrayLike|Path|Namespace)"),
    (r"py:.*", r"(collections\.abc|typing|types|pathlib|concurrent\.futures|os|datetime)\..*"),
    (r"py:.*", r"(Any|Callable|Iterable|Iterator|Mapping|Sequence|Self|Literal)"),
]

# --- HTML -------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"bondsim {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "light"}
html_show_sourcelink = False
smartquotes = False  # keep `--list` and "quotes" as written: pages show commands
