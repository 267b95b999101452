"""Drugs as data: one registry of drug profiles, extendable from a TOML config.

A drug is a :class:`DrugProfile`: its kinetics (absorption, elimination, an optional active
metabolite, plasma-to-brain equilibration) and its action at the mu receptor (affinity,
dissociation rate and efficacy: 0 for an antagonist, 1 for a full agonist, in between for a
partial agonist such as buprenorphine). The allowed values of the ``drug`` parameter, the CLI
help, the plots and the app all read ``BUILTIN`` and the run's own ``[drugs.NAME]`` tables.
Every constant and its source is in docs/pharmacology.md.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ParameterError, did_you_mean

ACTIONS = ("antagonist", "agonist", "partial agonist", "none")


class DrugError(ParameterError):
    """A drug that is unknown or whose definition is malformed: one clear line."""


@dataclass(frozen=True)
class DrugProfile:
    """Pharmacological constants of one drug (times in hours, concentrations in ng/mL).

    Binding at the mu receptor (docs/pharmacology.md): the drug at the effect site binds with
    ``kd_ng_ml`` = koff / kon and ``dissociation_half_life_h`` = ln 2 / koff. A drug may then
    tighten its hold, RD <-> RD* (two-step or induced-fit binding), with
    ``tightening_half_life_h`` = ln 2 / k_tight and ``loosening_half_life_h`` = ln 2 / k_loose,
    both in hours; both 0 (the default) is binding in one step. Occupancy counts both states.
    """

    name: str
    action: str  # "antagonist", "agonist", "partial agonist" or "none"
    absorption_half_life_h: float = 1.0
    half_life_h: float = 1.0
    metabolite_half_life_h: float = 1.0
    reference_dose_mg: float = 1.0
    cmax_ng_ml: float = 0.0  # peak plasma parent after the reference dose
    metabolite_cmax_ng_ml: float = 0.0  # peak plasma metabolite after the reference dose
    metabolite_potency: float = 0.0  # receptor potency of the metabolite relative to the parent
    effect_half_life_h: float = 0.1  # plasma -> effect-site equilibration (ln2 / ke0)
    kd_ng_ml: float = 1.0  # effect-site concentration at 50% occupancy at equilibrium
    dissociation_half_life_h: float = 0.1  # ln2 / koff
    # two-step (induced-fit) binding, RD <-> RD*: ln2 / k_tight and ln2 / k_loose; 0 and 0 = one step
    tightening_half_life_h: float = 0.0
    loosening_half_life_h: float = 0.0
    efficacy: float = 0.0  # receptor activation per occupied receptor, relative to the endogenous opioid
    source: str = ""  # where the numbers come from (docs/pharmacology.md has the details)

    @property
    def active(self) -> bool:
        """Whether the drug has any pharmacological action (placebo and none have not)."""
        return self.action != "none"


NALTREXONE = DrugProfile(
    name="naltrexone",
    action="antagonist",
    absorption_half_life_h=0.28,  # gives t_max ~1 h (Meyer et al. 1984)
    half_life_h=4.0,
    metabolite_half_life_h=13.0,  # prescribing information; Meyer 1984
    reference_dose_mg=50.0,
    cmax_ng_ml=13.0,
    metabolite_cmax_ng_ml=108.0,
    effect_half_life_h=0.1,  # lipophilic, enters the brain within minutes (assumption, as naloxone)
    dissociation_half_life_h=0.1,  # the fast first binding step (assumption: the data cannot tell it from instant)
    # two-step binding fitted to Rabiner 2011, Lee 1988 (1-168 h), the prescribing information and a
    # referee's bands, with a prior on the metabolite's potency (Ko et al. 2006):
    # experiments/calibration/fit_naltrexone_pk.py
    metabolite_potency=0.0140,
    kd_ng_ml=1.55,
    tightening_half_life_h=5.94,
    loosening_half_life_h=83.4,
    source="Meyer et al. 1984; Lee et al. 1988; Rabiner et al. 2011; prescribing information",
)
NALOXONE = DrugProfile(
    name="naloxone",
    action="antagonist",
    absorption_half_life_h=0.01,  # an intravenous bolus: near-instant (the occupancy data are after IV doses)
    half_life_h=1.1,
    reference_dose_mg=0.4,
    cmax_ng_ml=2.0,  # ~200 L (assumed; K_d is fitted relative to this scale)
    effect_half_life_h=0.1,  # fast entry into the brain (assumption)
    dissociation_half_life_h=0.1,  # fast, reversible (assumption: the data cannot tell it from instant)
    # fitted to intravenous PET and dual-detector occupancy 45-65 min after the dose (Mayberg & Frost 1990;
    # Kim et al. 1997; Villemagne et al. 1994; Trøstheim et al. 2022, Table 1) and Kim et al. 1997's
    # clearance half-time: experiments/calibration/fit_naloxone_pk.py
    kd_ng_ml=0.656,
    source="Mayberg & Frost 1990; Villemagne et al. 1994; Kim et al. 1997 (Trøstheim et al. 2022, Table 1)",
)
MORPHINE = DrugProfile(
    name="morphine",
    action="agonist",
    absorption_half_life_h=0.25,  # subcutaneous/intramuscular injection
    half_life_h=2.2,  # Stuart-Harris et al. 2000
    reference_dose_mg=10.0,
    cmax_ng_ml=30.0,  # 10 mg into ~276 L, less distribution
    effect_half_life_h=2.8,
    kd_ng_ml=20.0,
    dissociation_half_life_h=0.1,
    efficacy=1.0,
    source="Stuart-Harris et al. 2000; dose-effect scale assumed",
)
BUPRENORPHINE = DrugProfile(
    name="buprenorphine",
    action="partial agonist",
    absorption_half_life_h=0.3,  # sublingual: t_max about 1 h (0.5-3 h; Chiang & Hawks 2003)
    # fitted to mu occupancy under daily dosing (Greenwald et al. 2003, 2007), see
    # experiments/calibration/fit_buprenorphine_pk.py: an effective half-life inside the published
    # 9-69 h (McAleer et al. 2003), a peak after one 16 mg dose, and the plasma level at half occupancy
    half_life_h=14.9,
    reference_dose_mg=16.0,
    cmax_ng_ml=2.66,
    kd_ng_ml=1.0,  # about half the receptors held at a trough of 1 ng/mL (Greenwald, Comer & Fiellin 2014)
    effect_half_life_h=0.5,  # assumption: the slow part of the lag is the receptor itself
    dissociation_half_life_h=2.77,  # 166 min (Boas & Villiger 1985, in vitro)
    efficacy=0.3,  # a weak partial agonist (Virk et al. 2009; respiratory ceiling, Dahan et al. 2006)
    source="McAleer et al. 2003; Greenwald et al. 2003, 2007, 2014; Boas & Villiger 1985; Dahan et al. 2006",
)
PLACEBO = DrugProfile(name="placebo", action="none", source="no pharmacology; marks people as treated")
NONE = DrugProfile(name="none", action="none", source="no drug")

BUILTIN: dict[str, DrugProfile] = {p.name: p for p in (NONE, PLACEBO, NALTREXONE, NALOXONE, MORPHINE, BUPRENORPHINE)}
FIELDS = {f.name: f for f in dataclasses.fields(DrugProfile)}
TWO_STEP = ("tightening_half_life_h", "loosening_half_life_h")
"""The constants of the second binding step; both 0 (the default) for a drug that binds in one step."""


def names(custom: Iterable[DrugProfile] = ()) -> tuple[str, ...]:
    """Names of the built-in drugs and of ``custom`` ones."""
    return (*BUILTIN, *(d.name for d in custom if d.name not in BUILTIN))


def profile(name: str, custom: Iterable[DrugProfile] = ()) -> DrugProfile:
    """The profile of a drug by name, among ``custom`` ones first, then the built-in ones."""
    for drug in custom:
        if drug.name == name:
            return drug
    try:
        return BUILTIN[name]
    except KeyError:
        known = names(custom)
        raise DrugError(f"unknown drug '{name}': use one of {', '.join(known)}{did_you_mean(name, known)}") from None


def from_table(name: str, table: Mapping[str, Any], where: str = "config") -> DrugProfile:
    """A drug defined by a ``[drugs.NAME]`` table: constants by field name, checked where they enter.

    A table may start from a built-in drug with ``like = "naltrexone"`` and change some constants.
    """
    if not isinstance(table, Mapping):
        raise DrugError(f"[drugs.{name}] in {where} must be a table of constants")
    values = dict(table)
    base = values.pop("like", None)
    defaults = {f.name: f.default for f in FIELDS.values() if f.default is not dataclasses.MISSING}
    try:
        start = dataclasses.asdict(profile(str(base))) if base is not None else {**defaults, "action": None}
    except DrugError as exc:
        raise DrugError(f"[drugs.{name}] in {where}: like = {base!r}: {exc}") from None
    start["name"] = name
    for key, value in values.items():
        if key not in FIELDS or key == "name":
            raise DrugError(f"[drugs.{name}] in {where}: unknown constant '{key}'{did_you_mean(key, FIELDS)}")
        start[key] = value
    if start.get("action") not in ACTIONS:
        raise DrugError(f"[drugs.{name}] in {where}: action = {start.get('action')!r}: use one of {', '.join(ACTIONS)}")
    for key, value in start.items():
        if key in ("name", "action", "source"):
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise DrugError(f"[drugs.{name}] in {where}: {key} = {value!r} must be a number")
        positive = (key.endswith("_h") and key not in TWO_STEP) or key in ("reference_dose_mg", "kd_ng_ml")
        if value < 0 or (positive and value <= 0):
            raise DrugError(f"[drugs.{name}] in {where}: {key} = {value!r} must be {'> 0' if positive else '>= 0'}")
    if (start["tightening_half_life_h"] > 0) != (start["loosening_half_life_h"] > 0):
        raise DrugError(
            f"[drugs.{name}] in {where}: tightening_half_life_h = {start['tightening_half_life_h']!r} and "
            f"loosening_half_life_h = {start['loosening_half_life_h']!r}: set both (two-step binding) or neither"
        )
    if not 0.0 <= start["efficacy"] <= 1.0:
        raise DrugError(f"[drugs.{name}] in {where}: efficacy = {start['efficacy']!r} must be in [0, 1]")
    if start["action"] == "antagonist" and start["efficacy"] != 0:
        raise DrugError(f"[drugs.{name}] in {where}: an antagonist has efficacy 0")
    if start["action"] in ("agonist", "partial agonist") and start["efficacy"] <= 0:
        raise DrugError(f"[drugs.{name}] in {where}: an {start['action']} has an efficacy above 0 (1 = full agonist)")
    return DrugProfile(**{k: (float(v) if k in FIELDS and FIELDS[k].type == "float" else v) for k, v in start.items()})


def from_tables(tables: Mapping[str, Any], where: str = "config") -> tuple[DrugProfile, ...]:
    """Drugs of a ``[drugs]`` table of tables; a name may not shadow a built-in drug."""
    if not isinstance(tables, Mapping):
        raise DrugError(f"[drugs] in {where} must hold one table per drug, e.g. [drugs.mydrug]")
    out = []
    for name, table in tables.items():
        if name in BUILTIN:
            raise DrugError(f"[drugs.{name}] in {where}: '{name}' is a built-in drug; give yours another name")
        out.append(from_table(name, table, where))
    return tuple(out)
