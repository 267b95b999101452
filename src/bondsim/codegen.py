"""Turn the mechanisms' rules into the step of each engine: one source, two executions.

The rules are plain Python functions whose argument names say what they read
(:mod:`bondsim.mechanism`). From the model's ordered list of mechanisms this module writes:

- for the **array engine**, two numba-compiled loops over everyone (decide, then approach;
  update and observe fused), saved as a module in a cache folder so that the compiled code is
  cached on disk (numba ``cache=True``) and reused by every later run and worker;
- for the **agents engine**, the methods of the Mesa agent class ``Person``, which call the
  very same rule functions on the agent's attributes, one person at a time.

The only engine-specific lines are where each keeps its state (``x[i]`` in an array, or
``self.x`` on an agent) and the bookkeeping of an accepted contact, which counts for both people
and for the tie in both directions.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from .mechanism import CLOCK, ModelSpec, Rule

KERNEL_VERSION = "2"  # bump when the shape of the generated code changes


# ---------------------------------------------------------------- argument spelling
def _array_argument(name: str, spec: ModelSpec) -> str:
    """How the array kernel spells a rule argument for person ``i`` (tie row ``lo:hi``)."""
    if name in CLOCK:
        return name
    if name.startswith("draw_"):
        return f"d_{name[5:]}[{'r' if name in spec.draws('approach') else 'i'}]"
    if name.startswith("edge_"):
        return f"e_{name[5:]}[lo:hi]"
    if name in spec.variables:
        return f"v_{name}[i]"
    return f"c_{name}"


def _agent_argument(name: str, spec: ModelSpec) -> str:
    """How a Person method spells a rule argument."""
    if name == "dt":
        return "DT"
    if name == "hours":
        return "HOURS"
    if name.startswith("draw_"):
        return f"DRAWS[{name[5:]!r}][self.{'rank' if name in spec.draws('approach') else 'index'}]"
    if name.startswith("edge_"):
        return f"self.edge_{name[5:]}"
    if name in spec.variables:
        return f"self.{name}"
    return f"C_{name}"


def _call(r: Rule, spell) -> str:
    return f"R_{r.mechanism.replace('.', '_')}_{r.name}(" + ", ".join(spell(a) for a in r.arguments) + ")"


def _assign(r: Rule, target, casts: dict[str, str] | None = None) -> list[str]:
    """Lines that call a rule (if its ``when`` conditions hold) and store what it returns.

    ``casts`` maps a variable to the Python type its value is stored as (the agents engine stores
    integers and booleans as the array engine does, whatever a rule returns).
    """
    call = _call(r, target[1])
    casts = {w: casts[w] for w in r.writes if casts and w in casts}
    if not r.writes:
        lines = [call]
    elif not casts:
        lines = [f"{', '.join(target[0](w) for w in r.writes)} = {call}"]
    else:
        names = [f"_{w}" for w in r.writes]
        lines = [f"{', '.join(names)} = {call}"]
        lines += [f"{target[0](w)} = {casts[w]}(_{w})" if w in casts else f"{target[0](w)} = _{w}" for w in r.writes]
    if r.when:
        return [f"if {' and '.join(target[1](w) for w in r.when)}:", *("    " + line for line in lines)]
    return lines


def _imports(spec: ModelSpec) -> list[str]:
    lines = []
    for m in spec.mechanisms:
        for r in m.rules:
            lines.append(f"from {m.name} import {r.name} as R_{m.name.replace('.', '_')}_{r.name}")
    return lines


def _used(spec: ModelSpec, phases: tuple[str, ...]) -> list[str]:
    """Every argument name the rules of these phases read or write, in a fixed order."""
    names: list[str] = []
    for phase in phases:
        for r in spec.rules(phase):
            for a in (*r.when, *r.arguments, *r.writes):
                if a not in names:
                    names.append(a)
    return names


# ---------------------------------------------------------------- array engine
def array_source(spec: ModelSpec, parallel: bool = False) -> str:
    """The numba kernel module of the array engine, as source text.

    ``parallel``: the per-person loops of decide and of update and observe run on several threads
    (``numba.prange``). Each person writes only their own state there, so the result is the same
    for any number of threads. So do the seekers' choices, with bondsim's own rules; the counting
    of accepted contacts, which writes to both people, stays on one thread, in seeker order.
    """
    jit, people = (PARALLEL_JIT, "numba.prange(n)") if parallel else (JIT, "range(n)")
    scratch = [v for v in spec.variables.values() if v.scratch]
    choose, accept = spec.rules("choose")[0], spec.rules("accept")[0]
    first = _used(spec, ("decide",))
    first += [f"edge_{v.name}" if v.per == "edge" else v.name for v in scratch]
    second = [*_used(spec, ("choose", "accept")), "contacts", "rejections", "edge_met"]
    third = _used(spec, ("update", "observe"))

    def signature(names: list[str]) -> str:
        return ", ".join(_parameter(n, spec) for n in dict.fromkeys(names))

    array = (lambda w: _array_argument(w, spec), lambda a: _array_argument(a, spec))
    lines = [
        '"""Generated by bondsim.codegen from the mechanisms listed below: do not edit."""',
        "# mechanisms: " + ", ".join(m.name for m in spec.mechanisms),
        "import numba",
        *_imports(spec),
        "",
        "",
        jit,
        f"def decide(n, indptr, {signature(first)}):",
    ]
    for v in scratch:  # a fresh start for this step's scratch variables
        lines.append(f"    {'e' if v.per == 'edge' else 'v'}_{v.name}[:] = {_literal(v)}")
    lines += [f"    for i in {people}:", "        lo = indptr[i]", "        hi = indptr[i + 1]"]
    for r in spec.rules("decide"):
        lines += ["        " + line for line in _assign(r, array)]
    threaded_choices = parallel and _choices_independent(spec)
    seeker = [  # the body of a loop over r, the seeker's rank
        "        i = seekers[r]",
        "        lo = indptr[i]",
        "        hi = indptr[i + 1]",
        f"        k = {_call(choose, array[1])}",
    ]
    bookkeeping = [
        "        if ok:",
        "            v_contacts[i] += 1",
        "            v_contacts[j] += 1",
        "            e_met[e] += 1",
        "            e_met[reverse[e]] += 1",
        "        else:",
        "            v_rejections[i] += 1",
    ]
    lines += [
        "",
        "",
        jit if threaded_choices else JIT,
        f"def approach(seekers, indptr, neighbours, reverse, partners, accepted, {signature(second)}):",
    ]
    if threaded_choices:  # choices on threads, then the contacts counted in seeker order
        lines += [
            "    for r in numba.prange(len(seekers)):  # r: the seeker's rank, which indexes this stage's draws",
            *seeker,
            "        partners[r] = -1 if k < 0 else lo + k  # the tie, for now",
            "        if k >= 0:",
            f"            accepted[r] = {_call(accept, array[1])}",
            "    for r in range(len(seekers)):",
            "        e = partners[r]",
            "        if e < 0:",
            "            continue",
            "        i = seekers[r]",
            "        j = neighbours[e]",
            "        partners[r] = j",
            "        ok = accepted[r]",
            *bookkeeping,
        ]
    else:
        lines += [
            "    for r in range(len(seekers)):  # r: the seeker's rank, which indexes this stage's draws",
            *seeker,
            "        if k < 0:",
            "            partners[r] = -1",
            "            continue",
            "        e = lo + k",
            "        j = neighbours[e]",
            f"        ok = {_call(accept, array[1])}",
            "        partners[r] = j",
            "        accepted[r] = ok",
            *bookkeeping,
        ]
    lines += [
        "",
        "",
        jit,
        f"def update_and_observe(n, indptr, {signature(third)}):",
        f"    for i in {people}:",
        "        lo = indptr[i]",
        "        hi = indptr[i + 1]",
    ]
    for phase in ("update", "observe"):
        for r in spec.rules(phase):
            lines += ["        " + line for line in _assign(r, array)]
    lines += ["", "", JIT, f"def start(n, indptr, {signature(_used(spec, ('start', 'observe')))}):"]
    lines += ["    for i in range(n):", "        lo = indptr[i]", "        hi = indptr[i + 1]"]
    for r in spec.rules("start") + spec.rules("observe"):
        lines += ["        " + line for line in _assign(r, array)]
    lines.append("")
    return "\n".join(lines)


def _choices_independent(spec: ModelSpec) -> bool:
    """Whether seekers can choose and be answered on several threads at once.

    Only for bondsim's own rules, which read nothing that earlier contacts of the step change and
    write nothing: a user's rule may change the seeker's rows in place, in order, attempt by attempt.
    """
    rules = (*spec.rules("choose"), *spec.rules("accept"))
    return all(r.function.__module__.startswith("bondsim.mechanisms.") for r in rules)


JIT = '@numba.njit(cache=True, nogil=True, error_model="numpy", _nrt=False)'  # no reference counting of row views
PARALLEL_JIT = JIT.replace("njit(", "njit(parallel=True, ")


def _parameter(name: str, spec: ModelSpec) -> str:
    spelled = _array_argument(name, spec)
    return spelled.split("[")[0]


def _literal(v) -> str:
    if v.dtype == "bool":
        return repr(bool(v.initial))
    if v.dtype.startswith("int"):
        return repr(int(v.initial))
    return repr(float(v.initial))


def kernel_arguments(spec: ModelSpec, source: str, function: str) -> list[str]:
    """The argument names of a generated kernel function, read back from its source."""
    head = next(line for line in source.splitlines() if line.startswith(f"def {function}("))
    return [a.strip() for a in head[len(f"def {function}(") : -2].split(",")]


def _cache_folder() -> Path:
    root = os.environ.get("BONDSIM_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "bondsim"
    )
    folder = Path(root) / "kernels"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError:
        folder = Path(tempfile.gettempdir()) / f"bondsim-kernels-{os.getuid() if hasattr(os, 'getuid') else 0}"
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def _fingerprint(spec: ModelSpec, source: str) -> str:
    """A hash of the generated source and of every module whose code the kernel compiles in."""
    from . import mechanism, pharmacology

    digest = hashlib.sha256((KERNEL_VERSION + source).encode())
    modules = {m.module for m in spec.mechanisms} | {mechanism, pharmacology}
    for module in sorted(modules, key=lambda m: m.__name__):
        try:
            digest.update(inspect.getsource(module).encode())
        except (OSError, TypeError):
            digest.update(module.__name__.encode())
    import numba

    digest.update(numba.__version__.encode())
    return digest.hexdigest()[:20]


_LOADED: dict[str, ModuleType] = {}


_BUILT: dict[tuple, tuple[ModuleType, str]] = {}  # (mechanisms and their rules, parallel) -> kernel and source


def array_kernel(spec: ModelSpec, parallel: bool = False) -> tuple[ModuleType, str]:
    """The compiled kernel module of a model (written once to the cache folder, compiled lazily).

    The source follows from the mechanisms' rules alone: a later model with the same rule functions
    gets the same kernel without generating it again (a reloaded module has new ones).
    """
    built = (tuple((m.module, *(r.function for r in m.rules)) for m in spec.mechanisms), parallel)  # new after a reload
    if built in _BUILT:
        return _BUILT[built]
    source = array_source(spec, parallel)
    key = _fingerprint(spec, source)
    if key in _LOADED:
        _BUILT[built] = _LOADED[key], source
        return _LOADED[key], source
    folder = _cache_folder()
    path = folder / f"kernel_{key}.py"
    if not path.exists():
        tmp = folder / f".kernel_{key}.{os.getpid()}.tmp"
        tmp.write_text(source)
        os.replace(tmp, path)
    name = f"bondsim_kernel_{key}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    _LOADED[key] = module
    _BUILT[built] = module, source
    return module, source


# ---------------------------------------------------------------- agents engine
def agent_source(spec: ModelSpec) -> str:
    """The phase methods of the Mesa agent ``Person``, as source text."""
    agent = (lambda w: _agent_argument(w, spec), lambda a: _agent_argument(a, spec))
    casts = {v.name: "bool" if v.dtype == "bool" else "int" for v in spec.variables.values() if v.dtype != "float"}
    choose, accept = spec.rules("choose")[0], spec.rules("accept")[0]
    lines = [*_imports(spec), "", "", "def decide(self):"]
    lines.append('    """Phase 1: a fresh start for the step, and whether to seek contact."""')
    for v in spec.variables.values():
        if v.scratch:
            if v.per == "edge":
                lines.append(f"    self.edge_{v.name} = [{_literal(v)}] * len(self.edge_{v.name})")
            else:
                lines.append(f"    self.{v.name} = {_literal(v)}")
    for r in spec.rules("decide"):
        lines += ["    " + line for line in _assign(r, agent, casts)]
    lines += [
        "",
        "",
        "def approach(self):",
        '    """Phase 2: choose a partner among the open ties; the partner accepts or rejects."""',
        f"    k = {_call(choose, agent[1])}",
        "    if k < 0:",
        "        CONTACTS[self.rank] = (-1, False)",
        "        return",
        "    partner = self.partners[k]",
        f"    ok = {_call(accept, agent[1])}",
        "    CONTACTS[self.rank] = (partner.index, ok)",
        "    if ok:",
        "        self.contacts += 1",
        "        partner.contacts += 1",
        "        self.edge_met[k] += 1",
        "        partner.edge_met[self.back[k]] += 1",
        "    else:",
        "        self.rejections += 1",
        "",
        "",
        "def update(self):",
        '    """Phase 3: reward, tone, bonds, drug and memory; then what the person observes and reports."""',
    ]
    for phase in ("update", "observe"):
        for r in spec.rules(phase):
            lines += ["    " + line for line in _assign(r, agent, casts)]
    lines += ["", "", "def start(self):", '    """What is derived once from the initial state, then observed."""']
    for r in spec.rules("start") + spec.rules("observe"):
        lines += ["    " + line for line in _assign(r, agent, casts)]
    lines.append("")
    return "\n".join(lines)


def agent_methods(spec: ModelSpec, constants: dict[str, Any], dt: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``decide``, ``approach``, ``update`` and ``start`` methods, and the namespace they run in.

    The namespace holds the constants (``C_name``), the step length ``DT``, the clock ``HOURS``,
    this stage's draws (``DRAWS``) and this step's approaches (``CONTACTS``), set by the engine.
    """
    namespace: dict[str, Any] = {f"C_{k}": v for k, v in constants.items()}
    namespace.update(DT=dt, HOURS=0.0, DRAWS={}, CONTACTS=[], __name__="bondsim_person")
    exec(compile(agent_source(spec), "<bondsim.codegen: Person>", "exec"), namespace)
    return {k: namespace[k] for k in ("decide", "approach", "update", "start")}, namespace
