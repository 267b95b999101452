"""The model contract: the variables that bondsim reads and writes outside the rules, declared once.

A model is any ordered list of mechanisms (:mod:`bondsim.mechanism`), but the parts of bondsim
around the rules know some variables by name: the engines give each seeker one approach per
attempt and count accepted contacts and rejections; the model closes ties, gives doses and
finds the treated; every row of the timeseries averages tone, distress and the rest; virtual
trials read what a diary or a lab rating reports. Each is a :class:`Need` here, with the built-in
mechanism that provides it. :func:`check` refuses, in one line, a mechanism list that lacks one
or declares it in another shape; a mechanism of one's own may provide any of them instead of the
built-in one. docs/extending.md prints the table (:func:`table`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from .mechanism import MechanismError, ModelSpec

COUNT = ("int", "int32", "int16", "int8")  # the dtypes of a count
NUMBER = ("float",)
FLAG = ("bool",)

USERS = {
    "engines": "the engines",
    "model": "the model (doses, separations, bonds)",
    "metrics": "the timeseries",
    "trials": "virtual trials",
}
ALWAYS = ("engines", "model", "metrics")  # what every model needs; virtual trials check their own


@dataclass(frozen=True)
class Need:
    """A variable that a part of bondsim outside the rules reads or writes.

    Attributes:
        name: the variable's name.
        per: ``person`` or ``edge``.
        dtypes: the dtypes it may have.
        user: who needs it: a key of :data:`USERS`.
        meaning: what it holds, and what is done with it.
    """

    name: str
    per: str
    dtypes: tuple[str, ...]
    user: str
    meaning: str

    @property
    def provider(self) -> str:
        """The built-in mechanism that declares it."""
        return provider(self.name) or "no built-in mechanism"


NEEDS: tuple[Need, ...] = (
    Need("attempts", "person", COUNT, "engines", "contact attempts in the step: one approach each"),
    Need("contacts", "person", COUNT, "engines", "accepted contacts in the step, counted by the engines"),
    Need("rejections", "person", COUNT, "engines", "rejections in the step, counted by the engines"),
    Need("met", "edge", COUNT, "engines", "accepted contacts on a tie in the step, counted by the engines"),
    Need("closed", "edge", COUNT, "model", "how many reasons keep a tie closed (a loss, an isolation)"),
    Need("closed_ties", "person", COUNT, "model", "how many of a person's ties are closed"),
    Need("bond", "edge", NUMBER, "model", "the bond on each tie (model.bonds_of, model.edge_bonds)"),
    Need("treated", "person", FLAG, "model", "who receives the drug (doses, treated groups)"),
    Need("drug_depot", "person", NUMBER, "model", "a dose goes here, in mg (model.give_dose)"),
    # the timeseries' sums, in the order bondsim.metrics takes them
    Need("tone", "person", NUMBER, "metrics", "mean_tone"),
    Need("felt_connection", "person", NUMBER, "metrics", "felt_connection"),
    Need("positive_affect", "person", NUMBER, "metrics", "positive_affect"),
    Need("distress", "person", NUMBER, "metrics", "distress"),
    Need("seeking_rate", "person", NUMBER, "metrics", "seeking_rate"),
    Need("strong_bonds", "person", (*COUNT, *NUMBER), "metrics", "strong_bonds"),
    Need("has_tie", "person", FLAG, "metrics", "isolated_fraction"),
    Need("bond_sum", "person", NUMBER, "metrics", "mean_bond"),
    Need("reward", "person", NUMBER, "metrics", "reward_per_contact"),
    Need("contacts", "person", COUNT, "metrics", "reward_per_contact"),
    Need("occupancy", "person", NUMBER, "metrics", "mean_occupancy"),
    Need("treated", "person", FLAG, "metrics", "mean_occupancy (among the treated)"),
    # what virtual trials read (bondsim.trials.simulate)
    Need("strongest_bond", "person", NUMBER, "trials", "the close other of a lab task"),
    Need("close_ties", "person", NUMBER, "trials", "who is enrolled, and daily felt connection"),
    Need("reward_memory", "person", NUMBER, "trials", "wanting of contact"),
    Need("despair", "person", NUMBER, "trials", "wanting of contact"),
)


@cache
def _builtin_variables() -> dict[str, str]:
    from .mechanism import load_mechanism
    from .mechanisms import DEFAULT

    return {v.name: name for name in DEFAULT for v in load_mechanism(name).variables}


def provider(variable: str) -> str | None:
    """The built-in mechanism that declares ``variable`` (None if none does)."""
    return _builtin_variables().get(variable)


def needs(user: str) -> tuple[Need, ...]:
    """The needs of one user of :data:`USERS`, in order."""
    return tuple(n for n in NEEDS if n.user == user)


def names(user: str) -> tuple[str, ...]:
    """The names of the variables one user needs, in order (``names("metrics")``: what a row sums)."""
    return tuple(n.name for n in needs(user))


def check(spec: ModelSpec, users: tuple[str, ...] = ALWAYS) -> None:
    """Refuse, in one line, a model whose mechanisms do not provide what ``users`` need, as they need it."""
    variables = spec.variables
    owner = {v.name: m.name for m in spec.mechanisms for v in m.variables}
    for need in NEEDS:
        if need.user not in users:
            continue
        v = variables.get(need.name)
        if v is None:
            raise MechanismError(
                f"the model has no variable '{need.name}' ({need.meaning}), which {USERS[need.user]} need: "
                f"add {need.provider}, which provides it, or a mechanism of your own that declares it"
            )
        if v.per != need.per or v.dtype not in need.dtypes:
            raise MechanismError(
                f"variable '{need.name}' of {owner[need.name]} is declared per {v.per} with dtype '{v.dtype}'; "
                f"{USERS[need.user]} need it per {need.per} with dtype {' or '.join(map(repr, need.dtypes))}"
            )


def table() -> list[dict[str, str]]:
    """One row per need, for the documentation: variable, per, dtype, provided by, needed by, meaning."""
    return [
        {
            "variable": n.name,
            "per": n.per,
            "dtype": " or ".join(n.dtypes),
            "provided by": n.provider,
            "needed by": USERS[n.user],
            "for": n.meaning,
        }
        for n in NEEDS
    ]
