"""A calibration spec: the TOML file that says what is fitted to what, read and checked where it enters.

The spec is data (docs/calibration.md shows the shipped one, ``experiments/calibration/default.toml``)::

    [calibration]
    name = "default"
    engine = "array"

    [abc]                     # ABC-SMC settings
    population = 60           # particles per generation
    generations = 6           # at most
    min_epsilon = 1.0         # stop earlier once the tolerance is this small (tolerance units)
    initial_epsilon = 8.0     # generation 0 keeps prior draws within this distance
    max_simulations = 1200    # stop after the generation that passes this many particle evaluations
    seed = 2024
    trials = 3                # virtual trials of each target design per particle
    predictive = 100          # posterior predictive draws for targets.csv

    [ratings]
    retest = 0.7              # splits rating_noise into a person's bias and occasion noise

    [parameters.opioid_share]
    prior = "uniform"         # or "loguniform"
    low = 0.2
    high = 0.8

    [[targets]]
    name = "daily_connection_g"
    source = "Løseth, Trøstheim & Leknes 2024"
    design = "inagaki2016"    # a library design, or a design file (relative to the spec)
    measure = "daily_connection"
    statistic = "hedges_g"    # or control_mean, control_sd (the control arm's ratings)
    value = -0.20
    scale = 0.064             # the tolerance scale: distances are in units of it
    scale_source = "..."

    [[constraints]]
    name = "naloxone_raises_distress_calls"
    source = "Panksepp, Meeker & Bean 1980"
    experiment = "separation_distress"
    treatment = "naloxone"
    control = "saline"
    direction = "higher"
    replicates = 1

Every problem is one :class:`~bondsim.errors.ParameterError` line naming the file, the table and
the key, raised before anything runs. A target must be marked as training in its design's
``[[outcomes]]`` (``training = true`` for its effect, ``training_control`` for its control arm's
levels): no validation outcome is read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ParameterError, did_you_mean
from ..params import FIELDS, read_toml
from ..trials.design import TrialDesign, _Table
from ..trials.design import load as load_design
from .constraints import EXPERIMENTS

TABLES = ("calibration", "abc", "ratings", "parameters", "targets", "constraints")
PRIORS = ("uniform", "loguniform")
STATISTICS = ("hedges_g", "control_mean", "control_sd")
ENGINES = ("array", "agents")
# the rating model's total noise: not a model parameter but the measurement model's (scale points)
RATING_NOISE = "rating_noise"
RATING_NOISE_RANGE = (0.0, 3.0)


@dataclass(frozen=True)
class Prior:
    """A parameter's prior: uniform or log-uniform on [low, high], inside its declared range."""

    name: str
    kind: str
    low: float
    high: float

    @property
    def width(self) -> float:
        """High - low."""
        return self.high - self.low


@dataclass(frozen=True)
class Target:
    """A published number the calibration fits: a statistic of a design's measure, and its tolerance scale."""

    name: str
    source: str
    design: str  # as written: a library name or a path
    measure: str
    statistic: str
    value: float
    scale: float
    scale_source: str


@dataclass(frozen=True)
class Constraint:
    """A direction that must hold: ``treatment`` against ``control`` in a model experiment."""

    name: str
    source: str
    experiment: str
    treatment: str
    control: str
    direction: str
    state: str = ""
    replicates: int = 1


@dataclass(frozen=True)
class Settings:
    """ABC-SMC settings."""

    population: int = 60
    generations: int = 6
    min_epsilon: float = 0.0
    initial_epsilon: float = 8.0
    max_simulations: int = 0  # 0: no budget
    quantile: float = 0.5  # each generation's tolerance: this quantile of the last one's distances
    seed: int = 2024
    trials: int = 3
    predictive: int = 100


@dataclass(frozen=True)
class Spec:
    """A whole calibration spec (see the module docstring)."""

    name: str
    description: str
    engine: str
    abc: Settings
    retest: float
    priors: tuple[Prior, ...]
    targets: tuple[Target, ...]
    constraints: tuple[Constraint, ...]
    path: str = ""
    designs: dict[str, TrialDesign] = field(default_factory=dict, compare=False)  # design as written -> design
    raw: dict[str, Any] = field(default_factory=dict, compare=False)  # the file's tables, for the summary

    @property
    def names(self) -> list[str]:
        """The fitted parameters' names, in the spec's order."""
        return [p.name for p in self.priors]

    def prior(self, name: str) -> Prior:
        """The prior of ``name``."""
        return next(p for p in self.priors if p.name == name)

    def design_names(self) -> list[str]:
        """The target designs as written, each once, in the targets' order."""
        return list(dict.fromkeys(t.design for t in self.targets))


def declared_range(name: str) -> tuple[float, float]:
    """The range a fitted parameter is declared with (its declaration in the model, or the rating noise's)."""
    if name == RATING_NOISE:
        return RATING_NOISE_RANGE
    p = FIELDS[name]
    return (-math.inf if p.low is None else float(p.low), math.inf if p.high is None else float(p.high))


def _prior(name: str, table: Any, where: str) -> Prior:
    t = _Table(table, where, f"parameters.{name}")
    if name != RATING_NOISE:
        if name not in FIELDS:
            options = [*FIELDS, RATING_NOISE]
            raise ParameterError(
                f"{where}: [parameters.{name}]: '{name}' is not a parameter{did_you_mean(name, options)}"
            )
        p = FIELDS[name]
        if p.choices is not None or p.integer or isinstance(p.default, bool | str | tuple):
            raise ParameterError(
                f"{where}: [parameters.{name}]: '{name}' is not a continuous parameter: it cannot be fitted"
            )
        if p.status == "setting":
            raise ParameterError(f"{where}: [parameters.{name}]: '{name}' is a setting of the experiment, not fitted")
    kind = t.choice("prior", PRIORS)
    low, high = t.get("low", float), t.get("high", float)
    t.done()
    lo, hi = declared_range(name)
    if not low < high:
        raise t.fail("low", f"= {low:g} must be below high = {high:g}")
    if low < lo or high > hi:
        raise ParameterError(
            f"{where}: parameters.{name}: the prior [{low:g}, {high:g}] is outside the declared range [{lo:g}, {hi:g}]"
        )
    if kind == "loguniform" and low <= 0:
        raise t.fail("low", f"= {low:g}: a log-uniform prior needs low > 0")
    return Prior(name, kind, low, high)


def _design(name: str, base: Path, where: str, designs: dict[str, TrialDesign]) -> TrialDesign:
    if name not in designs:
        path = Path(name)
        if path.suffix == ".toml" and not path.is_absolute():
            path = base / path
        try:
            designs[name] = load_design(path)
        except ParameterError as exc:
            raise ParameterError(f"{where}: design '{name}': {exc}") from None
    return designs[name]


def _check_training(target: Target, design: TrialDesign, where: str) -> None:
    """Refuse a target that its design does not mark as training: no validation outcome is read."""
    outcome = next((o for o in design.outcomes if o.measure == target.measure), None)
    if target.statistic == "hedges_g":
        marked = outcome is not None and outcome.training
        how = "training = true"
    else:
        level = target.statistic.removeprefix("control_")
        marked = outcome is not None and level in outcome.training_control
        how = f'training_control = ["{level}"]'
    if not marked:
        raise ParameterError(
            f"{where}: target '{target.name}': {target.statistic} of {design.name}.{target.measure} is a validation "
            f"outcome (study role '{design.study.role}'; its [[outcomes]] does not say {how}): "
            "a calibration reads training targets only"
        )
    published = None
    if outcome is not None:
        published = {
            "hedges_g": outcome.hedges_g,
            "control_mean": outcome.control_mean,
            "control_sd": outcome.control_sd,
        }
        published = published[target.statistic]
    if published is not None and target.statistic != "hedges_g" and not math.isclose(published, target.value):
        raise ParameterError(
            f"{where}: target '{target.name}': value = {target.value:g} but {design.name} publishes {published:g}"
        )


def from_dict(data: dict[str, Any], where: str = "spec", base: Path | None = None) -> Spec:
    """A checked spec from its TOML tables; design files are found relative to ``base``."""
    base = base or Path()
    for key in data:
        if key not in TABLES:
            raise ParameterError(f"{where}: unknown table [{key}]{did_you_mean(key, TABLES)}")

    t = _Table(data.get("calibration", {}), where, "calibration")
    name = t.get("name", str, "calibration")
    description = t.get("description", str, "")
    engine = t.choice("engine", ENGINES, "array")
    t.done()

    t = _Table(data.get("abc", {}), where, "abc")
    settings = Settings(
        population=t.get("population", int, 60, low=2, high=100_000),
        generations=t.get("generations", int, 6, low=1, high=1000),
        min_epsilon=t.get("min_epsilon", float, 0.0, low=0),
        initial_epsilon=t.get("initial_epsilon", float, 8.0, low=0),
        max_simulations=t.get("max_simulations", int, 0, low=0),
        quantile=t.get("quantile", float, 0.5, low=0.01, high=1.0),
        seed=t.get("seed", int, 2024, low=0, high=2**63 - 1),
        trials=t.get("trials", int, 3, low=1, high=10_000),
        predictive=t.get("predictive", int, 100, low=0, high=100_000),
    )
    t.done()
    if not settings.initial_epsilon > 0:
        raise ParameterError(f"{where}: abc.initial_epsilon must be above 0")

    t = _Table(data.get("ratings", {}), where, "ratings")
    retest = t.get("retest", float, 0.7, low=0.0, high=1.0)
    t.done()

    tables = data.get("parameters", {})
    if not isinstance(tables, dict) or not tables:
        raise ParameterError(
            f"{where}: [parameters] needs at least one fitted parameter, e.g. [parameters.opioid_share]"
        )
    priors = tuple(_prior(n, table, where) for n, table in tables.items())

    designs: dict[str, TrialDesign] = {}
    target_tables = data.get("targets", [])
    if not isinstance(target_tables, list) or not target_tables:
        raise ParameterError(f"{where}: [[targets]] needs at least one training target")
    targets = []
    for i, table in enumerate(target_tables):
        t = _Table(table, where, f"targets[{i}]")
        target = Target(
            name=t.get("name", str),
            source=t.get("source", str),
            design=t.get("design", str),
            measure=t.get("measure", str),
            statistic=t.choice("statistic", STATISTICS),
            value=t.get("value", float),
            scale=t.get("scale", float),
            scale_source=t.get("scale_source", str, ""),
        )
        t.done()
        if not target.scale > 0:
            raise t.fail("scale", f"= {target.scale:g} must be above 0")
        if any(o.name == target.name for o in targets):
            raise t.fail("name", f"= '{target.name}': two targets share a name")
        design = _design(target.design, base, f"{where}: targets[{i}]", designs)
        measures = [m.name for m in design.measures]
        if target.measure not in measures:
            raise t.fail(
                "measure",
                f"= '{target.measure}' is not a measure of {design.name}{did_you_mean(target.measure, measures)}",
            )
        if target.statistic != "hedges_g" and not design.measure(target.measure).rated:
            raise t.fail("statistic", f"= '{target.statistic}': {target.measure} is counted, not rated")
        _check_training(target, design, where)
        targets.append(target)

    constraint_tables = data.get("constraints", [])
    if not isinstance(constraint_tables, list):
        raise ParameterError(f"{where}: constraints must be [[constraints]] tables")
    constraints = []
    for i, table in enumerate(constraint_tables):
        t = _Table(table, where, f"constraints[{i}]")
        experiment = t.choice("experiment", tuple(EXPERIMENTS))
        info = EXPERIMENTS[experiment]
        c = Constraint(
            name=t.get("name", str),
            source=t.get("source", str),
            experiment=experiment,
            treatment=t.choice("treatment", info.conditions),
            control=t.choice("control", info.conditions),
            direction=t.choice("direction", ("higher", "lower")),
            state=t.choice("state", info.states, info.states[0]) if info.states else t.get("state", str, ""),
            replicates=t.get("replicates", int, 1, low=1, high=1000),
        )
        t.done()
        if c.state and not info.states:
            raise t.fail("state", f"does not apply to {experiment}")
        if c.treatment == c.control:
            raise t.fail("control", "is the treatment: compare two conditions")
        if any(o.name == c.name for o in constraints):
            raise t.fail("name", f"= '{c.name}': two constraints share a name")
        constraints.append(c)

    return Spec(
        name=name,
        description=description,
        engine=engine,
        abc=settings,
        retest=retest,
        priors=priors,
        targets=tuple(targets),
        constraints=tuple(constraints),
        path=where,
        designs=designs,
        raw=data,
    )


def load(path: str | Path) -> Spec:
    """Read and check a calibration spec file.

    Raises:
        ParameterError: a missing or malformed file, or any bad value in it (one line).
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"calibration spec not found: {path}")
    return from_dict(read_toml(path), str(path), path.parent)


__all__ = [
    "PRIORS",
    "RATING_NOISE",
    "STATISTICS",
    "Constraint",
    "Prior",
    "Settings",
    "Spec",
    "Target",
    "declared_range",
    "from_dict",
    "load",
]
