"""Sphinx directives that write bondsim's reference tables from the code at build time.

Each directive reads one of bondsim's registries and renders Markdown, which MyST parses in place,
so the tables cannot drift from the code:

- ``{bondsim-params}``: ``bondsim.params.describe()``, one row per parameter.
- ``{bondsim-drugs}``: the drug profiles of ``bondsim.pharmacology``.
- ``{bondsim-naltrexone-fit}``: naltrexone's calibration targets against the shipped constants
  (``bondsim.calibration.occupancy.naltrexone_fit_table``), computed afresh at each build.
- ``{bondsim-naloxone-fit}``: naloxone's, likewise (``naloxone_fit_table``).
- ``{bondsim-experiments}``: the named experiments of ``bondsim.experiments``.
- ``{bondsim-mechanisms}``: the model's mechanisms, from ``bondsim.mechanisms`` (on no page until
  the model has that registry; then one line on a page shows it).
- ``{bondsim-commands}``: every ``bondsim`` subcommand with its ``--help``.
- ``{bondsim-api}``: the names in ``bondsim.__all__``, linked to their reference.

What each table shows is one list of ``(key, heading)`` pairs below: a new field of the code
(e.g. a parameter's ``source``) is one more pair. Keys that a row does not have are left blank,
so the tables keep building while the code gains or renames fields.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

HERE = Path(__file__).resolve().parent

# (key, heading): the columns of each table, in order.
PARAM_COLUMNS = [
    ("name", "name"),
    ("default", "default"),
    ("unit", "unit"),
    ("allowed", "allowed"),
    ("meaning", "meaning"),
    ("status", "status"),
    ("source", "source or reasoning"),
]
DRUG_COLUMNS = [
    ("name", "drug"),
    ("action", "action"),
    ("reference_dose_mg", "reference dose (mg)"),
    ("half_life_h", "plasma half-life (h)"),
    ("cmax_ng_ml", "C<sub>max</sub> (ng/mL)"),
    ("kd_ng_ml", "K<sub>d</sub> (ng/mL)"),
    ("dissociation_half_life_h", "receptor dissociation half-life (h)"),
    ("tightening_half_life_h", "tightening half-life (h)"),
    ("loosening_half_life_h", "loosening half-life (h)"),
    ("efficacy", "efficacy"),
]
FIT_COLUMNS = [
    ("target", "target"),
    ("source", "source"),
    ("basis", "read or derived"),
    ("published", "published"),
    ("range", "range"),
    ("model", "model"),
    ("residual", "residual"),
    ("weighted", "residual / σ"),
    ("within", "in range"),
]
EXPERIMENT_COLUMNS = [
    ("name", "experiment"),
    ("summary", "what it reproduces"),
    ("trials_key", "`--trials` sets"),
    ("command", "command"),
]
MECHANISM_COLUMNS = [
    ("name", "mechanism"),
    ("summary", "what it does"),
    ("parameters", "parameters"),
]


VARIABLE_COLUMNS = [
    ("name", "variable"),
    ("per", "per"),
    ("dtype", "type"),
    ("unit", "unit"),
    ("initial", "initial"),
    ("meaning", "meaning"),
    ("mechanism", "declared by"),
]


class BuildError(Exception):
    """A registry could not be read: the build stops with this message."""


# --- reading the registries ------------------------------------------------------------------


def entries(registry: Any) -> list[tuple[str, Any]]:
    """``(name, item)`` pairs of a registry: a mapping, an object with ``items()``, or items with ``.name``.

    Drug profiles, experiments and (later) mechanisms all go through here, so a registry that
    changes shape is handled in one place.
    """
    if isinstance(registry, Mapping) or hasattr(registry, "items"):
        return [(str(name), item) for name, item in registry.items()]
    if isinstance(registry, Iterable) and not isinstance(registry, str | bytes):
        items = list(registry)
        if all(isinstance(item, str) for item in items) and hasattr(registry, "__getitem__"):
            return [(name, registry[name]) for name in items]  # iterates over names, looked up by name
        return [(str(getattr(item, "name", item)), item) for item in items]
    raise BuildError(f"cannot list the entries of {registry!r}")


def field_of(item: Any, key: str, name: str) -> Any:
    """The value of ``key`` for a registry item: a mapping key, an attribute, or the entry's name."""
    if isinstance(item, Mapping):
        return item.get(key, name if key == "name" else None)
    if key == "name":
        return getattr(item, "name", name)
    return getattr(item, key, None)


def find(module: str, *names: str) -> Any:
    """The first of ``names`` that ``module`` defines (registries may be renamed)."""
    mod = importlib.import_module(module)
    for name in names:
        if hasattr(mod, name):
            return getattr(mod, name)
    raise BuildError(f"{module} defines none of {', '.join(names)}")


def param_rows() -> list[dict[str, Any]]:
    """``bondsim.params.describe()``: each parameter as its mechanism declares it, source and status included."""
    from bondsim.params import describe

    return [dict(row) for row in describe()]


def variable_rows() -> list[dict[str, Any]]:
    """One row per state variable of the default model, mechanism by mechanism (their ``VARIABLES``)."""
    import numpy as np

    from bondsim.mechanism import load_mechanism
    from bondsim.network import build
    from bondsim.params import Params

    mechanisms = [load_mechanism(name) for name in find("bondsim.mechanisms", "DEFAULT")]
    params, rng = Params(drug="placebo"), np.random.default_rng(0)
    network = build(params.network, 10, 2, rng, params.rewiring)
    drawn = {k for m in mechanisms for k in m.initialize(params, 10, network, rng)}  # what initialize() draws
    rows = []
    for m in mechanisms:
        name = m.name
        for v in m.variables:
            rows.append(
                {
                    "name": v.name,
                    "per": "tie" if v.per == "edge" else "person",
                    "dtype": v.dtype,
                    "unit": v.unit,
                    "initial": "drawn" if v.name in drawn else f"{v.initial:g}",
                    "meaning": v.doc + (" (reset every step)" if v.scratch else ""),
                    "mechanism": name.rsplit(".", 1)[-1],
                }
            )
    return rows


def drug_rows() -> list[dict[str, Any]]:
    """One row per drug profile."""
    registry = find("bondsim.drugs", "BUILTIN", "PROFILES", "REGISTRY")
    rows = []
    for name, item in entries(registry):
        if field_of(item, "active", name) is False:  # placebo and none: no constants to show
            rows.append({"name": name, "action": "none (no pharmacology)"})
        else:
            rows.append({key: field_of(item, key, name) for key, _ in DRUG_COLUMNS})
    return rows


def fit_rows(table_function: str) -> list[dict[str, Any]]:
    """One row per calibration target of a drug, numbers to three significant digits.

    ``table_function`` names the table's function in ``bondsim.calibration.occupancy``.
    """
    from bondsim.calibration import occupancy

    rows = []
    for row in getattr(occupancy, table_function)().to_dict("records"):
        for key in ("model", "residual", "weighted"):
            row[key] = float(f"{row[key]:.3g}")
        row["within"] = "yes" if row["within"] else "no"
        rows.append(row)
    return rows


def naltrexone_fit_rows() -> list[dict[str, Any]]:
    """One row per calibration target of naltrexone."""
    return fit_rows("naltrexone_fit_table")


def experiment_rows() -> list[dict[str, Any]]:
    """One row per named experiment."""
    registry = find("bondsim.experiments", "REGISTRY", "EXPERIMENTS")
    rows = []
    for name, item in entries(registry):
        row = {key: field_of(item, key, name) for key, _ in EXPERIMENT_COLUMNS}
        row["command"] = f"`bondsim experiment {name}`"
        rows.append(row)
    return rows


def mechanism_rows() -> list[dict[str, Any]]:
    """One row per mechanism of the default model, in order (``bondsim.mechanisms.DEFAULT``)."""
    from bondsim.mechanism import load_mechanism

    rows = []
    for name in find("bondsim.mechanisms", "DEFAULT"):
        m = load_mechanism(name)
        parameters = ", ".join(f"`{p.name}`" for p in m.parameters) or "none"
        rows.append({"name": name, "summary": m.doc, "parameters": parameters})
    return rows


def command_helps(width: int = 76) -> list[tuple[str, str, str]]:
    """``(name, one-line help, full --help text)`` of every ``bondsim`` subcommand."""
    from bondsim.cli import COMMANDS, build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    result = []
    for name, spec in COMMANDS.items():
        help_line = spec[1] if isinstance(spec, tuple | list) and len(spec) > 1 else ""
        command = sub.choices[name]
        command.formatter_class = _formatter(width)
        result.append((name, help_line, command.format_help()))
    return result


def _formatter(width: int) -> Callable[[str], argparse.HelpFormatter]:
    return lambda prog: argparse.HelpFormatter(prog, width=width)


# --- rendering ---------------------------------------------------------------------------------


def cell(value: Any, code: bool = False) -> str:
    """A Markdown table cell: ``None`` blank, numbers as ``%g``, pipes escaped."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, float):
        text = f"{value:g}"
    elif isinstance(value, tuple | list):
        text = "[" + ", ".join(cell(v) for v in value) + "]"
    else:
        text = str(value)
    text = text.replace("|", "\\|").replace("\n", " ")
    return f"`{text}`" if code else text


def markdown_table(rows: list[Mapping[str, Any]], columns: list[tuple[str, str]], code: tuple[str, ...] = ()) -> str:
    """A Markdown table of ``rows``; columns that are blank in every row are left out."""
    shown = [(k, h) for k, h in columns if any(cell(r.get(k)) for r in rows)]
    lines = ["| " + " | ".join(h for _, h in shown) + " |", "|" + "---|" * len(shown)]
    lines += ["| " + " | ".join(cell(r.get(k), k in code) for k, _ in shown) + " |" for r in rows]
    return "\n".join(lines)


class _MarkdownDirective(SphinxDirective):
    """Renders the Markdown returned by :meth:`markdown` in place of the directive."""

    has_content = False
    titles = False

    def markdown(self) -> str:
        raise NotImplementedError

    def run(self) -> list[nodes.Node]:
        try:
            text = self.markdown()
        except Exception as exc:  # a broken registry must stop the build with a clear message
            raise self.error(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        container = nodes.container()
        self.state.nested_parse(
            StringList(text.splitlines(), source=self.get_source_info()[0]), 0, container, match_titles=self.titles
        )
        return container.children


class ParamsDirective(_MarkdownDirective):
    """The parameter table; an argument (``model``, or a mechanism's short name) keeps one group's parameters."""

    optional_arguments = 1

    def markdown(self) -> str:
        rows = param_rows()
        if self.arguments:
            from bondsim.params import DECLARED_BY

            group = self.arguments[0]
            rows = [r for r in rows if DECLARED_BY.get(r["name"], "bondsim.mechanisms.model").endswith(f".{group}")]
            if not rows:
                raise BuildError(f"no parameters declared by {group!r}")
        return markdown_table(rows, PARAM_COLUMNS, code=("name",))


class VariablesDirective(_MarkdownDirective):
    """The state variables of the default model."""

    def markdown(self) -> str:
        return markdown_table(variable_rows(), VARIABLE_COLUMNS, code=("name",))


class DrugsDirective(_MarkdownDirective):
    """The drug profiles."""

    def markdown(self) -> str:
        return markdown_table(drug_rows(), DRUG_COLUMNS, code=("name",))


class NaltrexoneFitDirective(_MarkdownDirective):
    """Naltrexone's calibration targets: published value, model, residual."""

    def markdown(self) -> str:
        return markdown_table(naltrexone_fit_rows(), FIT_COLUMNS)


class NaloxoneFitDirective(_MarkdownDirective):
    """Naloxone's calibration targets: published value, model, residual."""

    def markdown(self) -> str:
        return markdown_table(fit_rows("naloxone_fit_table"), FIT_COLUMNS)


class ExperimentsDirective(_MarkdownDirective):
    """The named experiments."""

    def markdown(self) -> str:
        return markdown_table(experiment_rows(), EXPERIMENT_COLUMNS, code=("name", "trials_key"))


class MechanismsDirective(_MarkdownDirective):
    """The model's mechanisms (for a page once ``bondsim.mechanisms`` exists)."""

    def markdown(self) -> str:
        return markdown_table(mechanism_rows(), MECHANISM_COLUMNS, code=("name",))


class ContractDirective(_MarkdownDirective):
    """The model contract: the variables bondsim needs beyond the rules, and who provides them."""

    def markdown(self) -> str:
        from bondsim.contract import table

        columns = [(k, k) for k in ("variable", "per", "dtype", "provided by", "needed by", "for")]
        return markdown_table(table(), columns, code=("variable", "provided by"))


class CommandsDirective(_MarkdownDirective):
    """A section per subcommand with its one-line help and its ``--help``."""

    titles = True

    def markdown(self) -> str:
        parts = []
        for name, help_line, text in command_helps():
            sentence = f"{help_line[:1].upper()}{help_line[1:]}." if help_line else ""
            parts += [f"## bondsim {name}", "", sentence, "", "```text", text, "```", ""]
        return "\n".join(parts)


class ApiDirective(_MarkdownDirective):
    """The names in ``bondsim.__all__``, each linked to where the reference documents it."""

    def markdown(self) -> str:
        import bondsim

        rows = []
        for name in bondsim.__all__:
            obj = getattr(bondsim, name)
            module = getattr(obj, "__module__", None)
            qualname = getattr(obj, "__qualname__", None)
            if module and qualname and not isinstance(obj, str | int | float):
                target = f"{module}.{qualname}"
                doc = (getattr(obj, "__doc__", None) or "").strip().splitlines()
                rows.append({"name": f"{{py:obj}}`bondsim.{name} <{target}>`", "summary": doc[0] if doc else ""})
            else:
                rows.append({"name": f"`bondsim.{name}`", "summary": f"`{obj!r}`"})
        return markdown_table(rows, [("name", "name"), ("summary", "summary")])


DIRECTIVES = {
    "bondsim-params": ParamsDirective,
    "bondsim-drugs": DrugsDirective,
    "bondsim-naltrexone-fit": NaltrexoneFitDirective,
    "bondsim-naloxone-fit": NaloxoneFitDirective,
    "bondsim-experiments": ExperimentsDirective,
    "bondsim-mechanisms": MechanismsDirective,
    "bondsim-contract": ContractDirective,
    "bondsim-variables": VariablesDirective,
    "bondsim-commands": CommandsDirective,
    "bondsim-api": ApiDirective,
}


# --- docstrings --------------------------------------------------------------------------------


def literal_diagrams(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """Show the indented diagrams of module docstrings as code, as a reader of the source sees them.

    In a module docstring, an indented block after a paragraph ending in ``:`` is a diagram or an
    equation in plain text (e.g. the drug's compartments in ``bondsim.pharmacology``); reST would
    read it as a quotation or a definition list. The paragraph's ``:`` becomes ``::``.
    """
    if what != "module":
        return
    for i in range(len(lines) - 2):
        line = lines[i].rstrip()
        if (
            line.endswith(":")
            and not line.endswith("::")
            and not lines[i + 1].strip()
            and lines[i + 2].startswith((" ", "\t"))
            and lines[i + 2].strip()
            and not lines[i].startswith((" ", "\t"))
        ):
            lines[i] = line + ":"


def prose_property_docstrings(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """Undo napoleon's reading of ``Simulated time (h): the start ...`` as ``type: description``.

    A property's type comes from its annotation, so a colon in the first line of its docstring is
    prose: napoleon's ``:type:`` line goes back in front of the text (runs after napoleon).
    """
    if what != "property" or not lines or not lines[-1].startswith(":type: "):
        return
    prefix = lines.pop()[len(":type: ") :]
    while lines and not lines[-1].strip():
        lines.pop()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        lines.append(prefix)
    else:
        lines[first] = f"{prefix}: {lines[first]}"


def resolve_short_names(app: Sphinx, env: Any, node: Any, contnode: nodes.Node) -> nodes.Node | None:
    """Resolve a Python reference by its bare name (``:class:`ParameterError```) when exactly one object has it."""
    if node.get("refdomain") != "py" or "." in node.get("reftarget", ""):
        return None
    domain = env.get_domain("py")
    target = node["reftarget"]
    matches = [name for name in domain.objects if name.rsplit(".", 1)[-1] == target]
    if len(matches) != 1:
        return None
    return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], matches[0], node, contnode)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directives and the docstring helpers."""
    for name, directive in DIRECTIVES.items():
        app.add_directive(name, directive)
    app.connect("autodoc-process-docstring", literal_diagrams)
    app.connect("autodoc-process-docstring", prose_property_docstrings, priority=600)
    app.connect("missing-reference", resolve_short_names)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}


__all__ = ["DIRECTIVES", "entries", "field_of", "markdown_table", "setup"]
