"""Mechanisms: the model as a list of modules, each with its parameters, state, rules and outputs.

A mechanism is a Python module (bondsim's own live in :mod:`bondsim.mechanisms`; a user's
can live anywhere importable) that declares:

- ``PARAMETERS``: a tuple of :class:`Parameter` (unit, default, range, source, status);
- ``VARIABLES``: a tuple of :class:`Variable`, the per-person (or per-tie) state it owns;
- ``initialize(params, n, network, rng) -> dict``: optional, initial values drawn once;
- ``constants(params) -> dict``: optional, numbers derived once from the parameters;
- rules: plain Python functions over numbers, marked with :func:`rule` and a phase.

A rule's argument names say what it reads: a person's variable (``tone``), a tie variable
of the person's ties (``edge_bond``: the person's row of ties, a sequence to loop over and
to change in place), a constant or parameter (``bond_keep``), a uniform random number drawn
for the person this step (``draw_seek``), or the clock (``dt``, ``hours``). What it returns
is written to the variables named in ``writes``. Both engines execute these same functions:
the agents engine calls them from each Mesa agent, and the array engine compiles them with
numba into one loop over everyone (see :mod:`bondsim.codegen`).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from .errors import ParameterError, did_you_mean

PHASES = ("start", "decide", "choose", "accept", "update", "observe")
STAGES = {"decide": ("decide",), "approach": ("choose", "accept"), "update": ("update", "observe")}
STATUSES = ("fixed", "calibrated", "assumed", "setting")
CLOCK = ("dt", "hours")
DTYPES = {  # a Variable's dtype -> the NumPy type both engines keep it in
    "float": np.float64,
    "int": np.int64,
    "int32": np.int32,
    "int16": np.int16,
    "int8": np.int8,
    "bool": np.bool_,
}
DRUG_CHOICES = ("<drugs>",)  # the choices of a parameter that names a drug: the built-in and config-defined ones


class MechanismError(ParameterError):
    """A mechanism module that cannot be loaded or is malformed: one clear line."""


@dataclass(frozen=True)
class Parameter:
    """One model parameter: its default, unit, allowed values, meaning and where its value comes from.

    ``status`` is ``fixed`` (taken from a source), ``calibrated`` (fitted; ``source`` names the
    targets), ``assumed`` (a modelling choice) or ``setting`` (a choice of the experiment: the
    population, the drug and its schedule, an event).
    """

    name: str
    default: Any
    unit: str
    doc: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    integer: bool = False
    source: str = ""
    status: str = "assumed"

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"parameter {self.name}: status {self.status!r} is not one of {', '.join(STATUSES)}")

    def allowed_choices(self, drugs: Sequence[Any] = ()) -> tuple[str, ...] | None:
        """The allowed values of a parameter with choices; ``("<drugs>",)`` means the drug registry."""
        if self.choices == DRUG_CHOICES:
            from .drugs import names

            return names(drugs)
        return self.choices

    @property
    def metadata(self) -> dict[str, Any]:
        """The descriptive fields as a dict (unit, doc, low, high, choices, integer, source, status)."""
        return {
            "unit": self.unit,
            "doc": self.doc,
            "low": self.low,
            "high": self.high,
            "choices": self.allowed_choices(),
            "integer": self.integer,
            "source": self.source,
            "status": self.status,
        }


@dataclass(frozen=True)
class Variable:
    """A piece of state: per person (``per="person"``) or per directed tie (``per="edge"``).

    ``initial`` is the starting value for everyone unless the mechanism's ``initialize``
    draws it. ``dtype`` is ``float``, ``int`` (or a narrower ``int32``, ``int16``, ``int8``, to save
    memory) or ``bool``. ``scratch`` variables are reset
    to ``initial`` at the start of every step (this step's contacts, for instance).
    """

    name: str
    doc: str
    unit: str = ""
    initial: float = 0.0
    dtype: str = "float"
    per: str = "person"
    scratch: bool = False

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise MechanismError(f"variable {self.name}: dtype {self.dtype!r} is not one of {', '.join(DTYPES)}")
        if self.per not in ("person", "edge"):
            raise MechanismError(f"variable {self.name}: per = {self.per!r} must be 'person' or 'edge'")
        if self.name in CLOCK or self.name.startswith(("draw_", "edge_")) or not self.name.isidentifier():
            raise MechanismError(
                f"variable name {self.name!r} is reserved or not a name: dt, hours, draw_* and edge_* have their own "
                "meaning in rules"
            )


@functools.cache
def argument_names(function: Callable[..., Any]) -> tuple[str, ...]:
    """The names a function takes, in order (read once per function: every model build asks)."""
    return tuple(inspect.signature(function).parameters)


@dataclass(frozen=True)
class Rule:
    """A rule function, the phase it belongs to, and the variables it writes."""

    function: Callable[..., Any]
    phase: str
    writes: tuple[str, ...]
    mechanism: str = ""
    when: tuple[str, ...] = ()
    arguments: tuple[str, ...] = ()  # the names the rule reads, in order (from its signature)

    def __post_init__(self) -> None:
        if not self.arguments:
            object.__setattr__(self, "arguments", argument_names(self.function))

    @property
    def name(self) -> str:
        """The function's name."""
        return self.function.__name__


def rule(
    phase: str, writes: Sequence[str] = (), when: Sequence[str] | str = ()
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a function as a rule of ``phase`` that writes the variables named in ``writes``.

    ``when`` names variables or constants that must all be true (non-zero) for the rule to apply
    to a person, e.g. ``when="treated"`` for a drug's kinetics or ``when="contacts"`` for what
    only contact changes; otherwise the person's variables stay as they are.

    ``start`` rules run once, on the initial state (values derived from it, such as a person's
    undrugged activation at their set point), followed by the ``observe`` rules. Then every step
    runs, in order: ``decide`` (per person: whether to seek contact), ``choose`` (per
    seeker: which of its ties to approach, as an index into its row of ties, or -1),
    ``accept`` (per approach: whether the partner accepts), ``update`` (per person, after all
    contacts are known) and ``observe`` (per person, what a diary or a lab rating reports).
    """
    if phase not in PHASES:
        raise ValueError(f"unknown phase '{phase}': use one of {', '.join(PHASES)}")

    def mark(function: Callable[..., Any]) -> Callable[..., Any]:
        function = helper(function, inline=True)  # the kernels become one function each: a third faster
        function.__bondsim_rule__ = (phase, tuple(writes), (when,) if isinstance(when, str) else tuple(when))
        return function

    return mark


_COMPILABLE: dict[Callable[..., Any], bool] = {}  # every rule and helper -> inlined; numba learns them on demand


def helper(function: Callable[..., Any], inline: bool = False) -> Callable[..., Any]:
    """Mark a plain function that rules call, so that the array engine can compile it too.

    The function itself is returned unchanged: the agents engine calls it as it is, and nothing
    is compiled or imported here (the core runs without numba). When an array engine is built,
    :func:`compilable` hands every marked function to numba. ``inline``: numba copies its body
    into each caller (rules, into the kernels).
    """
    _COMPILABLE[function] = inline
    function.__bondsim_helper__ = inline
    if _REGISTERED:  # numba is in use already: tell it now
        _register(function, inline)
    return function


_REGISTERED: set[Callable[..., Any]] = set()


def _register(function: Callable[..., Any], inline: bool) -> None:
    from numba.extending import register_jitable

    if function not in _REGISTERED:
        register_jitable(inline="always")(function) if inline else register_jitable(function)
        _REGISTERED.add(function)


def compilable() -> None:
    """Make every rule and helper marked so far known to numba (the array engine calls this before compiling)."""
    for function, inline in list(_COMPILABLE.items()):
        _register(function, inline)


def _power_of(x: float, n: int) -> float:
    """``x ** n`` for a whole ``n >= 0`` by repeated multiplication: the very same bits on both engines.

    (Python's ``**`` calls the C library's pow, numba multiplies; the last bit can differ.)
    """
    out = 1.0
    for _ in range(n):
        out *= x
    return out


power_of = helper(_power_of)


@dataclass(frozen=True)
class Mechanism:
    """A loaded mechanism module."""

    name: str
    doc: str
    parameters: tuple[Parameter, ...]
    variables: tuple[Variable, ...]
    rules: tuple[Rule, ...]
    module: ModuleType = field(repr=False)

    def constants(self, params: Any) -> dict[str, Any]:
        """Numbers derived once from the parameters."""
        fn = getattr(self.module, "constants", None)
        if fn is None:
            return {}
        try:
            return dict(fn(params))
        except Exception as exc:
            raise MechanismError(f"{self.name}.constants() failed: {type(exc).__name__}: {exc}") from None

    def initialize(self, params: Any, n: int, network: Any, rng: Any) -> dict[str, Any]:
        """Initial values drawn once for this mechanism's variables."""
        fn = getattr(self.module, "initialize", None)
        return dict(fn(params, n, network, rng)) if fn else {}

    def metrics(self) -> dict[str, tuple[str, Callable[..., float]]]:
        """Extra per-step outputs: name -> (meaning with unit, function of the state dict)."""
        return dict(getattr(self.module, "METRICS", {}))

    def events(self) -> dict[str, Callable[..., Any]]:
        """Event kinds this mechanism handles: kind -> function(model, payload)."""
        return dict(getattr(self.module, "EVENTS", {}))

    def schedule(self, model: Any) -> None:
        """Schedule the events that the parameters ask for (e.g. doses)."""
        fn = getattr(self.module, "schedule", None)
        if fn:
            fn(model)


def load_mechanism(name: str) -> Mechanism:
    """Import a mechanism module by dotted name and check what it declares.

    A module in the working folder is found too (as ``python -m`` would find it).
    """
    if not name.replace(".", "").replace("_", "").isalnum() or name.startswith(".") or name.endswith(".py"):
        raise MechanismError(f"mechanism {name!r} must be a module name such as 'mymodule' or 'mypackage.mymodule'")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        raise MechanismError(f"mechanism '{name}' cannot be imported: {exc}") from None
    except Exception as exc:  # a user's module that fails while importing
        raise MechanismError(f"mechanism '{name}' failed to import: {type(exc).__name__}: {exc}") from None
    parameters = tuple(getattr(module, "PARAMETERS", ()))
    variables = tuple(getattr(module, "VARIABLES", ()))
    for item, kind in [(p, Parameter) for p in parameters] + [(v, Variable) for v in variables]:
        if not isinstance(item, kind):
            raise MechanismError(f"mechanism '{name}': {item!r} is not a bondsim.mechanism.{kind.__name__}")
    rules = []
    for value in vars(module).values():
        mark = getattr(value, "__bondsim_rule__", None)
        if mark and getattr(value, "__module__", None) == module.__name__:
            rules.append(Rule(value, mark[0], mark[1], name, mark[2]))
    rules.sort(key=lambda r: r.function.__code__.co_firstlineno)  # in the order they are written
    for metric, entry in dict(getattr(module, "METRICS", {})).items():
        if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str) and callable(entry[1])):
            raise MechanismError(f"mechanism '{name}': METRICS['{metric}'] must be (meaning, function of the state)")
    doc = (module.__doc__ or name).strip().splitlines()[0]
    return Mechanism(name, doc, parameters, variables, tuple(rules), module)


@dataclass(frozen=True)
class ModelSpec:
    """The mechanisms of a model, in order, with everything they declare gathered and checked."""

    mechanisms: tuple[Mechanism, ...]

    @property
    def parameters(self) -> dict[str, Parameter]:
        """Every parameter of every mechanism, by name."""
        return {p.name: p for m in self.mechanisms for p in m.parameters}

    @property
    def variables(self) -> dict[str, Variable]:
        """Every variable of every mechanism, by name."""
        return {v.name: v for m in self.mechanisms for v in m.variables}

    def rules(self, phase: str) -> list[Rule]:
        """The rules of one phase, mechanism by mechanism in order."""
        return [r for m in self.mechanisms for r in m.rules if r.phase == phase]

    def draws(self, stage: str) -> list[str]:
        """Names of the uniform draws the rules of a stage ask for, in the order they are drawn.

        Stages: ``decide`` (one number per person), ``approach`` (one per seeker, in index order)
        and ``update`` (one per person, for the update and observe phases).
        """
        names: list[str] = []
        for phase in STAGES[stage]:
            for r in self.rules(phase):
                names += [a for a in r.arguments if a.startswith("draw_") and a not in names]
        return names


def model_spec(names: Sequence[str]) -> ModelSpec:
    """Load the named mechanisms and check that names are unique and every rule's arguments resolve."""
    for i, name in enumerate(names):
        if name in names[:i]:
            raise MechanismError(f"mechanism '{name}' is listed twice")
    mechanisms = tuple(load_mechanism(n) for n in names)
    seen: dict[str, str] = {}
    for m in mechanisms:
        for name in [p.name for p in m.parameters] + [v.name for v in m.variables]:
            if name in seen:
                raise MechanismError(f"'{name}' is declared by both {seen[name]} and {m.name}")
            seen[name] = m.name
    spec = ModelSpec(mechanisms)
    from .contract import check  # the variables bondsim needs beyond the rules, checked first

    check(spec)
    _check_phases(spec)
    return spec


def _check_phases(spec: ModelSpec) -> None:
    stages = {}
    for stage in STAGES:
        for name in spec.draws(stage):
            if name in stages:
                raise MechanismError(f"'{name}' is drawn in both the {stages[name]} and the {stage} stage: rename one")
            stages[name] = stage
    for phase in ("choose", "accept"):
        found = spec.rules(phase)
        if len(found) != 1:
            where = ", ".join(r.mechanism for r in found) or "no mechanism"
            raise MechanismError(f"a model needs exactly one '{phase}' rule (found in: {where})")
    variables = spec.variables
    for m in spec.mechanisms:
        for r in m.rules:
            for w in r.writes:
                if w not in variables:
                    raise MechanismError(f"rule {m.name}.{r.name} writes '{w}', which no mechanism declares{_hint(w)}")


ARGUMENT_KINDS = ("clock", "draw", "edge", "variable", "constant")


@dataclass(frozen=True)
class Argument:
    """What a name a rule reads (or writes, or tests in ``when``) refers to.

    ``kind`` is ``clock`` (``dt`` or ``hours``), ``draw`` (a uniform number drawn for the person, or
    for the attempt in the approach stage: ``stage``), ``edge`` (the person's row of a tie
    variable), ``variable`` (one of the person's variables) or ``constant`` (a parameter or a
    mechanism's derived constant); ``key`` is the variable, draw or constant named, without its
    ``edge_`` or ``draw_`` prefix.
    """

    name: str
    kind: str
    key: str
    stage: str = ""


def resolve(name: str, spec: ModelSpec, constants: Any = None) -> Argument:
    """What ``name`` refers to in a rule of ``spec``: the one rule every engine spells its arguments by.

    ``constants``: the model's constants, to check a constant's name against (None: any other name
    is taken for a constant, checked when the model is built). Raises :class:`MechanismError` for
    a name that is none of these, or a tie variable read without ``edge_``.
    """
    variables = spec.variables

    def unknown(what: str) -> MechanismError:
        error = MechanismError(f"'{name}' is {what}")
        error.what = what  # type: ignore[attr-defined]
        return error

    if name in CLOCK:
        return Argument(name, "clock", name)
    if name.startswith("draw_"):
        stage = next((s for s in STAGES if name in spec.draws(s)), "")
        return Argument(name, "draw", name[5:], stage)
    if name.startswith("edge_"):
        v = variables.get(name[5:])
        if v is None or v.per != "edge":
            raise unknown(f"no tie variable ('{name[5:]}' is not declared per edge)")
        return Argument(name, "edge", name[5:])
    if name in variables:
        if variables[name].per == "edge":
            raise unknown(f"a tie variable: a rule reads the person's row of it as 'edge_{name}'")
        return Argument(name, "variable", name)
    if constants is None or name in constants:
        return Argument(name, "constant", name)
    options = [*variables, *constants, *CLOCK]
    raise unknown(f"no variable, constant or parameter{_hint(name) or did_you_mean(name, options)}")


def _hint(variable: str) -> str:
    """`` (bondsim.mechanisms.x declares it: add it to the list)`` for a built-in variable, else ''."""
    from .contract import provider

    found = provider(variable)
    return f" ({found} declares it: add it to the mechanism list)" if found else ""


def check_arguments(spec: ModelSpec, constants: dict[str, Any]) -> None:
    """Refuse a rule that reads a name which is no variable, constant, draw or clock (:func:`resolve`)."""
    for m in spec.mechanisms:
        for r in m.rules:
            for a in (*r.arguments, *r.when):
                try:
                    resolve(a, spec, constants)
                except MechanismError as exc:
                    raise MechanismError(f"rule {m.name}.{r.name} reads '{a}', which is {exc.what}") from None
