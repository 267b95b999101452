"""A virtual trial's design: the TOML file a theorist writes, read, checked and written back.

A design names the study (source, role in the calibration, what the model cannot represent),
the community the participants live in, how many take part and how they are drawn, the arms
(a drug and its daily doses, or placebo), the layout (parallel groups, or a crossover of
sequences with periods and washouts), the measures and when they are taken, the rating model
(scale, a person's response bias, occasion noise), the analysis the paper used and the results
it published. docs/trials.md shows a complete annotated example; ``experiments/trials/`` holds
the library of published studies.

Every problem in a file is one :class:`~bondsim.errors.ParameterError` naming the file, the
table and the key, raised by :func:`load` before anything runs.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ..drugs import names as drug_names
from ..errors import ParameterError, did_you_mean
from ..events import Event, to_tables
from ..events import parse as parse_events
from ..params import config_changes, read_toml
from ..params import load as load_params

LAYOUTS = ("crossover", "parallel")
DRAWS = ("random", "least_connected", "most_connected")
ANALYSES = ("paired", "between", "mixed")
PARTNERS = ("close", "stranger")
# measure kind -> (when it is taken: "daily" each chosen day of a period / "lab" once, what it reads)
MEASURE_KINDS: dict[str, tuple[str, str]] = {
    "diary_connection": ("daily", "felt connection in the evening diary, rated"),
    "diary_affect": ("daily", "positive affect in the evening diary, rated"),
    "seeking": ("daily", "contact attempts of the day, both drives, counted"),
    "lab_connection": ("lab", "connection felt in a lab task, rated"),
    "wanting": ("lab", "the reward a person expects of contact, damped by despair, rated"),
}
# the rating noise (scale points) of the one-parameter fit of model 2 (docs/calibration.md); a posterior of
# `bondsim calibrate` replaces it per virtual trial (bondsim trial --posterior)
PERSON_SD = 0.58  # a person's response bias
OCCASION_SD = 0.38  # noise of one rating occasion
MAX_COMMUNITY = 100_000  # people in a trial's community
MAX_DAYS = 3650.0  # any span of a design
MAX_DOSE_MG = 5000.0  # one daily dose
CONTROL_LEVELS = ("mean", "sd")  # what [[outcomes]] training_control may name
RATED = ("diary_connection", "diary_affect", "lab_connection", "wanting")
TABLES = ("study", "community", "participants", "arms", "layout", "measures", "ratings", "analysis", "outcomes",
          "run", "params", "drugs", "mechanisms", "events")  # fmt: skip
ROLES = ("training", "validation", "none")  # a study's role in the calibration (none: a design of one's own)
EVENT_GROUPS = ("everyone", "participants", "others", "separated", "isolated")  # who a design's [[events]] act on


@dataclass(frozen=True)
class Study:
    """Where the design comes from and what it is for."""

    name: str
    citation: str
    role: str = "none"  # "training": the calibration fitted one of its outcomes; "validation": held out; none: neither
    doi: str = ""
    sample: str = ""  # participants shared with other papers (e.g. a trial registration number)
    design_source: str = ""  # where the design facts were read
    not_represented: tuple[str, ...] = ()  # what the model cannot represent about this study
    notes: str = ""


@dataclass(frozen=True)
class Community:
    """The people the participants live among: they are agents too."""

    size: int = 160
    warmup_days: float = 42.0  # the community settles before enrolment (docs/model.md)


@dataclass(frozen=True)
class Participants:
    """Who takes part."""

    n: int | None  # None: not published, and the design cannot run (see ``TrialDesign.missing``)
    draw: str = "random"  # random, or the least/most connected by the strength of close ties


@dataclass(frozen=True)
class Arm:
    """One condition: a drug and one dose (mg) per day of a period, taken at the layout's dose hour.

    In a design file ``doses_mg`` is that list, or one dose with ``dose_days`` (default: every day
    of the period): ``doses_mg = 50, dose_days = 21`` is 50 mg on each of the first 21 days.
    """

    name: str
    drug: str  # a drug name, or "placebo": the same schedule with nothing in it
    doses_mg: tuple[float, ...] = ()

    @property
    def placebo(self) -> bool:
        """Whether the arm gives no drug."""
        return self.drug == "placebo" or not any(self.doses_mg)


@dataclass(frozen=True)
class Layout:
    """How arms follow each other: each sequence is a list of arms, one per period."""

    kind: str
    sequences: tuple[tuple[str, ...], ...]
    period_days: int
    sequence_sizes: tuple[int, ...] = ()  # empty: not published; the participants are split evenly
    washout_days: float = 0.0
    dose_hour: float = 8.0  # hour of the day of each dose
    baseline_days: float = 3.0  # before the first period, after the warm-up
    followup_days: float = 3.0  # after the last period
    study_days: float | None = None  # the study's length as published (checked against the layout)

    @property
    def periods(self) -> int:
        """Periods per participant."""
        return len(self.sequences[0])

    def period_start(self, period: int) -> float:
        """Hours from the start of the first period to the start of ``period`` (0-based)."""
        return 24.0 * period * (self.period_days + self.washout_days)

    @property
    def span_days(self) -> float:
        """Days from the first dose to the end of the last period."""
        return self.periods * self.period_days + (self.periods - 1) * self.washout_days


@dataclass(frozen=True)
class Measure:
    """What is measured, and when within each period."""

    name: str
    kind: str
    days: tuple[int, ...] = ()  # daily measures: days of the period (1-based; empty: every day)
    hour: float = 22.0  # daily measures: hour of the day
    day: int = 0  # lab measures: day of the period (0: the last)
    hours_after_dose: float = 1.0  # lab measures
    partner: str = "close"  # lab_connection: a close other or a stranger

    def to_table(self) -> dict[str, Any]:
        """The measure as TOML holds it: only the keys that apply to its kind."""
        table: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if MEASURE_KINDS[self.kind][0] == "daily":
            table.update({"days": list(self.days)} if self.days else {}, hour=self.hour)
        else:
            table.update(day=self.day, hours_after_dose=self.hours_after_dose)
            if self.kind == "lab_connection":
                table["partner"] = self.partner
        return table

    @property
    def rated(self) -> bool:
        """Whether participants rate it on the design's scale (else it is counted)."""
        return self.kind in RATED


@dataclass(frozen=True)
class Ratings:
    """The measurement model of a rating: scale points, a person's bias and occasion noise (scale units)."""

    scale: tuple[float, float] = (1.0, 7.0)
    person_sd: float = PERSON_SD
    occasion_sd: float = OCCASION_SD


@dataclass(frozen=True)
class Analysis:
    """The analysis the paper used."""

    method: str  # paired (crossover, d_av), between (groups, pooled SD) or mixed (MixedLM)
    treatment: str
    control: str
    direction: str = "lower"  # the effect the hypothesis predicts: "lower" or "higher" under treatment


@dataclass(frozen=True)
class Outcome:
    """A published result of the study for one of its measures."""

    measure: str
    hedges_g: float | None = None  # None: not published (say so in ``note``)
    ci: tuple[float, float] | None = None
    n: int | None = None  # participants in the published analysis
    statistic: str = ""  # the reported test, e.g. "t(30) = -2.10"
    conversion: str = ""  # how g was obtained from it
    source: str = ""  # where the number was read
    reported: str = ""  # "significant" or "not significant" in the predicted direction, as the paper said
    meta_analysis: bool = False  # part of bondsim's virtual meta-analysis (experiments/trials/README.md)
    training: bool = False  # the effect (hedges_g) is a training target of the calibration (docs/calibration.md)
    control_mean: float | None = None  # the control arm's published mean rating (scale points)
    control_sd: float | None = None  # and its between-person SD
    # levels of the control arm that are training targets ("mean", "sd"): a validation study can lend its
    # placebo group's levels to the calibration while its drug effect stays validation
    training_control: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class TrialDesign:
    """A whole virtual trial design (see the module docstring)."""

    study: Study
    community: Community
    participants: Participants
    arms: tuple[Arm, ...]
    layout: Layout
    measures: tuple[Measure, ...]
    ratings: Ratings
    analysis: Analysis
    outcomes: tuple[Outcome, ...] = ()
    replications: int = 200
    model: dict[str, Any] = field(
        default_factory=dict
    )  # the [params] and [drugs.NAME] tables and mechanisms, as written
    events: tuple[Event, ...] = ()  # [[events]]: days from the start of the first period (bondsim.events)

    @property
    def name(self) -> str:
        """The study's short name."""
        return self.study.name

    @property
    def runnable(self) -> bool:
        """Whether the design can run (its number of participants is known)."""
        return self.participants.n is not None

    @property
    def sizes(self) -> tuple[int, ...]:
        """People per sequence: as published, or an even split of the participants."""
        if self.layout.sequence_sizes:
            return self.layout.sequence_sizes
        return even_split(self.participants.n or 0, len(self.layout.sequences))

    def arm(self, name: str) -> Arm:
        """The arm called ``name``."""
        return next(a for a in self.arms if a.name == name)

    @property
    def drug(self) -> str:
        """The one drug of the active arms (``placebo`` if none)."""
        return next((a.drug for a in self.arms if not a.placebo), "placebo")

    def measure(self, name: str) -> Measure:
        """The measure called ``name``."""
        return next(m for m in self.measures if m.name == name)

    def with_participants(self, n: int) -> TrialDesign:
        """The same design with ``n`` participants: sequences keep their shares, the community grows with them.

        The community keeps at least its share of non-participants (size / participants of the
        original design), so that a larger trial does not enrol most of its community.
        """
        old = self.participants.n
        if n == old or old is None:
            return self
        shares = [s / old for s in self.sizes]
        sizes = [math.floor(n * s) for s in shares]
        by_remainder = sorted(range(len(sizes)), key=lambda i: n * shares[i] - sizes[i], reverse=True)
        for i in by_remainder[: n - sum(sizes)]:
            sizes[i] += 1
        size = max(self.community.size, math.ceil(n * self.community.size / old))
        return replace(
            self,
            participants=replace(self.participants, n=n),
            layout=replace(self.layout, sequence_sizes=tuple(sizes)),
            community=replace(self.community, size=size),
        )

    def to_dict(self) -> dict[str, Any]:
        """The design as TOML tables (what :func:`dump` writes and :func:`~bondsim.trials.design.from_dict` reads)."""
        out: dict[str, Any] = {
            "study": _plain(asdict(self.study)),
            "community": asdict(self.community),
            "participants": _plain(asdict(self.participants)),
            "arms": {a.name: {"drug": a.drug, "doses_mg": list(a.doses_mg)} for a in self.arms},
            "layout": _plain(asdict(self.layout)),
            "measures": [m.to_table() for m in self.measures],
            "ratings": _plain(asdict(self.ratings)),
            "analysis": asdict(self.analysis),
            "outcomes": [
                {k: v for k, v in _plain(asdict(o)).items() if k != "training_control" or v} for o in self.outcomes
            ],
            "run": {"replications": self.replications},
        }
        if self.events:
            out["events"] = to_tables(self.events)
        return {**out, **self.model}

    def model_changes(self) -> dict[str, Any]:
        """The model parameters the design changes, on top of the calibrated defaults."""
        return config_changes(self.model, self.study.name)


def even_split(n: int, k: int) -> tuple[int, ...]:
    """``n`` people in ``k`` groups as evenly as possible, the earlier groups larger."""
    return tuple(n // k + (i < n % k) for i in range(k))


def _plain(table: dict[str, Any]) -> dict[str, Any]:
    """A table as TOML holds it: tuples as lists, no None values."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in table.items() if v is not None}


class _Table:
    """Reads one TOML table, key by key, with one-line errors naming file, table and key."""

    def __init__(self, data: Any, where: str, table: str) -> None:
        if not isinstance(data, dict):
            raise ParameterError(f"{where}: [{table}] must be a table")
        self.data, self.where, self.table, self.used = data, where, table, set()

    def fail(self, key: str, message: str) -> ParameterError:
        """The error for ``key`` of this table."""
        return ParameterError(f"{self.where}: {self.table}.{key} {message}")

    def get(
        self,
        key: str,
        kind: type | tuple[type, ...],
        default: Any = ...,
        *,
        low: float | None = None,
        high: float | None = None,
    ) -> Any:
        """The value of ``key`` (``default`` if absent; required if no default), of ``kind``, in [low, high]."""
        self.used.add(key)
        if key not in self.data:
            if default is ...:
                raise ParameterError(f"{self.where}: [{self.table}] needs '{key}'")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise self.fail(key, f"= {value!r} must be {'an' if names[0] in 'aeiou' else 'a'} {names}")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(key, f"= {value!r} must be a finite number")
        if low is not None and isinstance(value, int | float) and not value >= low:
            raise self.fail(key, f"= {value!r} must be at least {low:g}")
        if high is not None and isinstance(value, int | float) and not value <= high:
            raise self.fail(key, f"= {value!r} must be at most {high:g}")
        return value

    def numbers(
        self, key: str, default: Any = ..., *, integer: bool = False, low: float = 0.0, high: float = math.inf
    ) -> tuple:
        """A list of finite numbers (integers with ``integer``), each in [low, high]."""
        values = self.get(key, list, default)
        kind = (int,) if integer else (int, float)
        if not all(
            isinstance(v, kind) and not isinstance(v, bool) and math.isfinite(v) and low <= v <= high for v in values
        ):
            bounds = f">= {low:g}" if high == math.inf else f"between {low:g} and {high:g}"
            raise self.fail(key, f"= {values!r} must be a list of finite {'whole ' if integer else ''}numbers {bounds}")
        return tuple(v if integer else float(v) for v in values)

    def choice(self, key: str, options: tuple[str, ...], default: Any = ...) -> str:
        """A string among ``options``."""
        value = self.get(key, str, default)
        if value not in options:
            raise self.fail(key, f"= '{value}' is not one of {', '.join(options)}{did_you_mean(value, options)}")
        return value

    def done(self) -> None:
        """Refuse keys nobody asked for."""
        for key in self.data:
            if key not in self.used:
                raise ParameterError(
                    f"{self.where}: unknown key '{key}' in [{self.table}]{did_you_mean(key, self.used)}"
                )


def from_dict(data: dict[str, Any], where: str = "design") -> TrialDesign:
    """A checked design from its TOML tables (see :func:`load`)."""
    for key in data:
        if key not in TABLES:
            raise ParameterError(f"{where}: unknown table [{key}]{did_you_mean(key, TABLES)}")

    t = _Table(data.get("study", {}), where, "study")
    name = t.get("name", str)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name) or ".." in name:
        raise t.fail("name", f"= {name!r} must be letters, digits, '_', '-' or '.' (it names the output folder)")
    study = Study(
        name=name,
        citation=t.get("citation", str),
        role=t.choice("role", ROLES, "none"),
        doi=t.get("doi", str, ""),
        sample=t.get("sample", str, ""),
        design_source=t.get("design_source", str, ""),
        not_represented=tuple(t.get("not_represented", list, [])),
        notes=t.get("notes", str, ""),
    )
    t.done()

    t = _Table(data.get("community", {}), where, "community")
    community = Community(
        size=t.get("size", int, 160, low=3, high=MAX_COMMUNITY),
        warmup_days=t.get("warmup_days", float, 42.0, low=0, high=MAX_DAYS),
    )
    t.done()

    t = _Table(data.get("participants", {}), where, "participants")
    participants = Participants(n=t.get("n", int, None, low=2), draw=t.choice("draw", DRAWS, "random"))
    t.done()
    if participants.n is not None and participants.n > community.size:
        raise ParameterError(
            f"{where}: participants.n = {participants.n} is larger than the community ({community.size} people): "
            "raise community.size"
        )

    custom = config_changes({k: data[k] for k in ("drugs",) if k in data}, where).get("drugs", ())
    known_drugs = drug_names(custom)
    arm_tables = data.get("arms", {})
    if not isinstance(arm_tables, dict) or not arm_tables:
        raise ParameterError(f'{where}: [arms] needs at least one arm, e.g. [arms.placebo] drug = "placebo"')
    arms = []
    daily_arms: dict[str, tuple[float, int]] = {}  # arms written as one daily dose: (mg, days; 0 = the period)
    for name, table in arm_tables.items():
        t = _Table(table, where, f"arms.{name}")
        drug = t.get("drug", str)
        if drug not in known_drugs or drug == "none":
            choices = [d for d in known_drugs if d != "none"]
            raise t.fail(
                "drug", f"= '{drug}' is not a drug: use one of {', '.join(choices)}{did_you_mean(drug, choices)}"
            )
        if isinstance(table.get("doses_mg"), int | float) and not isinstance(table.get("doses_mg"), bool):
            daily = t.get("doses_mg", float, low=0, high=MAX_DOSE_MG)
            days = t.get("dose_days", int, 0, low=1, high=MAX_DAYS)  # 0: every day of the period (below)
            arm = Arm(name=name, drug=drug, doses_mg=(daily,) * days)
            daily_arms[name] = (daily, days)
        else:
            arm = Arm(name=name, drug=drug, doses_mg=t.numbers("doses_mg", [], high=MAX_DOSE_MG))
            if "dose_days" in table:
                raise t.fail("dose_days", "goes with one dose (doses_mg = 50, dose_days = 21), not a list")
        t.done()
        if name in daily_arms and not daily_arms[name][1]:
            arm = replace(arm, doses_mg=(daily_arms[name][0],))  # checked as one dose, filled in below
        if drug == "placebo" and any(arm.doses_mg):
            raise t.fail("doses_mg", "is given for a placebo arm: placebo has no doses (drop doses_mg)")
        if drug != "placebo" and not any(arm.doses_mg):
            raise t.fail("drug", f"= '{drug}' but the arm gives no dose: add doses_mg, or use drug = \"placebo\"")
        arms.append(arm)
    active = {a.drug for a in arms if not a.placebo}
    if len(active) > 1:
        raise ParameterError(
            f"{where}: the arms give {' and '.join(sorted(active))}: a design has one drug (and placebo)"
        )
    arm_names = [a.name for a in arms]

    t = _Table(data.get("layout", {}), where, "layout")
    kind = t.choice("kind", LAYOUTS)
    sequences = t.get("sequences", list)
    if not sequences or not all(isinstance(s, list) and s and all(isinstance(a, str) for a in s) for s in sequences):
        raise t.fail("sequences", "must be a list of sequences, each a list of arm names, one per period")
    for seq in sequences:
        for a in seq:
            if a not in arm_names:
                raise t.fail(
                    "sequences",
                    f"names an unknown arm '{a}'{did_you_mean(a, arm_names)}: arms are {', '.join(arm_names)}",
                )
    if len({len(s) for s in sequences}) > 1:
        raise t.fail("sequences", "must all have the same number of periods")
    for seq in sequences:
        if len(set(seq)) != len(seq):
            raise t.fail("sequences", f"gives an arm twice in {seq}: each arm once per sequence")
    layout = Layout(
        kind=kind,
        sequences=tuple(tuple(s) for s in sequences),
        sequence_sizes=t.numbers("sequence_sizes", [], integer=True, low=1),
        period_days=t.get("period_days", int, low=1, high=MAX_DAYS),
        washout_days=t.get("washout_days", float, 0.0, low=0, high=MAX_DAYS),
        dose_hour=t.get("dose_hour", float, 8.0, low=0),
        baseline_days=t.get("baseline_days", float, 3.0, low=0, high=MAX_DAYS),
        followup_days=t.get("followup_days", float, 3.0, low=0, high=MAX_DAYS),
        study_days=t.get("study_days", float, None, low=0),
    )
    t.done()
    if layout.dose_hour >= 24:
        raise ParameterError(f"{where}: layout.dose_hour = {layout.dose_hour:g} must be below 24")
    arms = [
        replace(a, doses_mg=(daily_arms[a.name][0],) * layout.period_days)
        if a.name in daily_arms and not daily_arms[a.name][1]
        else a
        for a in arms
    ]
    if layout.sequence_sizes and participants.n is None:
        participants = replace(participants, n=sum(layout.sequence_sizes))
    if layout.sequence_sizes and len(layout.sequence_sizes) != len(layout.sequences):
        raise ParameterError(f"{where}: layout.sequence_sizes needs one size per sequence ({len(layout.sequences)})")
    if layout.sequence_sizes and sum(layout.sequence_sizes) != participants.n:
        raise ParameterError(
            f"{where}: layout.sequence_sizes add up to {sum(layout.sequence_sizes)}, "
            f"not participants.n = {participants.n}"
        )
    if (
        participants.n is not None
        and min(layout.sequence_sizes or even_split(participants.n, len(layout.sequences))) < 2
    ):
        raise ParameterError(f"{where}: every sequence needs at least 2 participants (raise participants.n)")
    if kind == "parallel" and layout.periods != 1:
        raise ParameterError(f"{where}: a parallel layout has one period per sequence (one arm each)")
    if kind == "parallel" and layout.washout_days:
        raise ParameterError(
            f"{where}: layout.washout_days = {layout.washout_days:g}: a parallel layout has no washout"
        )
    if kind == "crossover" and layout.periods < 2:
        raise ParameterError(f"{where}: a crossover layout needs at least two periods per sequence")
    if layout.study_days is not None and layout.span_days > layout.study_days:
        raise ParameterError(
            f"{where}: the layout takes {layout.span_days:g} days ({layout.periods} periods of {layout.period_days} "
            f"days, washouts of {layout.washout_days:g}), longer than layout.study_days = {layout.study_days:g}"
        )
    for a in arms:
        if len(a.doses_mg) > layout.period_days:
            raise ParameterError(
                f"{where}: arms.{a.name}.doses_mg has {len(a.doses_mg)} daily doses, more than the "
                f"{layout.period_days} days of a period"
            )

    measure_tables = data.get("measures", [])
    if not isinstance(measure_tables, list) or not measure_tables:
        raise ParameterError(f"{where}: [[measures]] needs at least one measure")
    measures = []
    for i, table in enumerate(measure_tables):
        t = _Table(table, where, f"measures[{i}]")
        name = t.get("name", str)
        mkind = t.choice("kind", tuple(MEASURE_KINDS))
        m = Measure(
            name=name,
            kind=mkind,
            days=t.numbers("days", [], integer=True, low=1),
            hour=t.get("hour", float, 22.0, low=0),
            day=t.get("day", int, 0, low=0),
            hours_after_dose=t.get("hours_after_dose", float, 1.0, low=0),
            partner=t.choice("partner", PARTNERS, "close"),
        )
        t.done()
        when = MEASURE_KINDS[mkind][0]
        foreign = ("partner", "day", "hours_after_dose") if when == "daily" else ("days", "hour")
        if mkind not in ("lab_connection",):
            foreign += ("partner",)
        for key in foreign:
            if key in table:
                raise t.fail(key, f"does not apply to a {mkind} measure ({MEASURE_KINDS[mkind][1]})")
        if when == "lab":
            day = m.day or layout.period_days
            for a in arms:
                if not a.placebo and (len(a.doses_mg) < day or not a.doses_mg[day - 1]):
                    raise ParameterError(
                        f"{where}: measure '{name}' is taken hours after the dose of day {day}, but arm "
                        f"'{a.name}' gives no dose that day"
                    )
        if any(d > layout.period_days for d in m.days) or m.day > layout.period_days:
            raise ParameterError(f"{where}: measure '{name}' is taken after the {layout.period_days}-day period")
        if m.hour >= 24:
            raise ParameterError(f"{where}: measure '{name}': hour = {m.hour:g} must be below 24")
        if layout.dose_hour + m.hours_after_dose >= 24 * (layout.period_days - (m.day or layout.period_days) + 1):
            raise ParameterError(f"{where}: measure '{name}' is taken after the period ends")
        measures.append(m)
    measure_names = [m.name for m in measures]
    if len(set(measure_names)) != len(measure_names):
        raise ParameterError(f"{where}: two measures share a name")

    t = _Table(data.get("ratings", {}), where, "ratings")
    scale = t.numbers("scale", [1.0, 7.0], low=-math.inf)
    ratings = Ratings(
        scale=scale,
        person_sd=t.get("person_sd", float, PERSON_SD, low=0),
        occasion_sd=t.get("occasion_sd", float, OCCASION_SD, low=0),
    )
    t.done()
    if len(scale) != 2 or not scale[0] < scale[1]:
        raise ParameterError(f"{where}: ratings.scale = {list(scale)} must be [lowest, highest]")

    t = _Table(data.get("analysis", {}), where, "analysis")
    analysis = Analysis(
        method=t.choice("method", ANALYSES),
        treatment=t.choice("treatment", tuple(arm_names)),
        control=t.choice("control", tuple(arm_names)),
        direction=t.choice("direction", ("lower", "higher"), "lower"),
    )
    t.done()
    if analysis.treatment == analysis.control:
        raise ParameterError(f"{where}: analysis.treatment and analysis.control are the same arm")
    if analysis.method == "paired" and kind != "crossover":
        raise ParameterError(f"{where}: analysis.method = 'paired' needs a crossover layout (use 'between')")
    if analysis.method == "between" and kind != "parallel":
        raise ParameterError(f"{where}: analysis.method = 'between' needs a parallel layout (use 'paired' or 'mixed')")
    for arm in (analysis.treatment, analysis.control):
        if kind == "crossover" and not all(arm in s for s in layout.sequences):
            raise ParameterError(f"{where}: in a crossover every sequence must include arm '{arm}'")
        if kind == "parallel" and not any(s == (arm,) for s in layout.sequences):
            raise ParameterError(f"{where}: no group takes arm '{arm}'")

    outcome_tables = data.get("outcomes", [])
    if not isinstance(outcome_tables, list):
        raise ParameterError(f"{where}: outcomes must be [[outcomes]] tables")
    outcomes = []
    for i, table in enumerate(outcome_tables):
        t = _Table(table, where, f"outcomes[{i}]")
        ci = t.numbers("ci", None, low=-math.inf) if "ci" in table else None
        o = Outcome(
            measure=t.choice("measure", tuple(measure_names)),
            hedges_g=t.get("hedges_g", float, None),
            ci=ci,
            n=t.get("n", int, None, low=1),
            statistic=t.get("statistic", str, ""),
            conversion=t.get("conversion", str, ""),
            source=t.get("source", str, ""),
            reported=t.choice("reported", ("", "significant", "not significant"), ""),
            meta_analysis=t.get("meta_analysis", bool, False),
            training=t.get("training", bool, False),
            control_mean=t.get("control_mean", float, None),
            control_sd=t.get("control_sd", float, None, low=0),
            training_control=tuple(t.get("training_control", list, [])),
            note=t.get("note", str, ""),
        )
        t.done()
        for level in o.training_control:
            if level not in CONTROL_LEVELS:
                raise t.fail("training_control", f"= {list(o.training_control)!r}: use {' and '.join(CONTROL_LEVELS)}")
        if ci is not None and (len(ci) != 2 or not ci[0] <= ci[1]):
            raise ParameterError(f"{where}: outcomes[{i}].ci must be [low, high]")
        if any(prior.measure == o.measure for prior in outcomes):
            raise ParameterError(f"{where}: outcomes[{i}]: measure '{o.measure}' has an outcome already")
        outcomes.append(o)

    if (study.role == "training") != any(o.training for o in outcomes):
        raise ParameterError(
            f"{where}: study.role = '{study.role}' but {'no' if study.role == 'training' else 'an'} outcome has "
            "training = true: a training study names the outcome the calibration fitted"
        )
    if study.role == "none" and any(o.meta_analysis for o in outcomes):
        raise ParameterError(
            f"{where}: an outcome has meta_analysis = true but the study has no role: set study.role = 'validation'"
        )

    t = _Table(data.get("run", {}), where, "run")
    replications = t.get("replications", int, 200, low=1)
    t.done()

    model = {k: data[k] for k in ("params", "drugs", "mechanisms") if k in data}
    changes = config_changes(model, where)
    for key in ("n_agents", "drug", "dose_mg", "treated_fraction"):
        if key in changes:
            raise ParameterError(f"{where}: params.{key} is set by the design (community, arms), not [params]")
    try:
        base = load_params(overrides=changes)  # a bad parameter is refused now, not in a worker
    except ParameterError as exc:
        raise ParameterError(f"{where}: [params]: {exc}") from None
    events = ()
    if "events" in data:
        events = parse_events(
            data["events"],
            f"{where}: [[events]]",
            base,
            groups=EVENT_GROUPS,
            actions=("set", "isolate_days", "reunite"),
            earliest_day=-layout.baseline_days,
        )
        last = layout.span_days + layout.followup_days
        late = [e for e in events if e.day > last]
        if late:
            raise ParameterError(f"{where}: [[events]]: day {late[0].day:g} is after the trial ends (day {last:g})")
    return TrialDesign(
        study=study,
        community=community,
        participants=participants,
        arms=tuple(arms),
        layout=layout,
        measures=tuple(measures),
        ratings=ratings,
        analysis=analysis,
        outcomes=tuple(outcomes),
        replications=replications,
        model=model,
        events=events,
    )


LIBRARY = Path(__file__).parent / "library"


def library() -> dict[str, Path]:
    """The design files of the published studies shipped with bondsim (``experiments/trials/``), by name."""
    return {p.stem: p for p in sorted(LIBRARY.glob("*.toml"))}


def load(path: str | Path) -> TrialDesign:
    """Read and check a design file (or the library design called ``path``, e.g. ``inagaki2016``).

    Raises:
        ParameterError: a missing or malformed file, or any bad value in it (one line).
    """
    path = Path(path)
    if not path.exists() and path.suffix == "" and str(path) in library():
        path = library()[str(path)]
    if not path.is_file():
        known = ", ".join(library())
        raise ParameterError(f"design file not found: {path} (the library has {known})")
    return from_dict(read_toml(path), str(path))


def dump(design: TrialDesign) -> str:
    """The design as TOML text; :func:`load` of it gives the same design."""
    import tomli_w

    return tomli_w.dumps(design.to_dict())
