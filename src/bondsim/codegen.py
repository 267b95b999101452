"""Turn the mechanisms' rules into the step of each engine: one source, two executions.

The rules are plain Python functions whose argument names say what they read
(:mod:`bondsim.mechanism`; :func:`bondsim.mechanism.resolve` says what each name refers to, for
both engines). From the model's ordered list of mechanisms this module writes:

- for the **array engine**, numba-compiled loops over everyone (decide; the approaches; update
  and observe fused; the start), described by :class:`KernelSource`: the source text, and for
  each loop the arguments it takes, so that the engine binds its arrays and constants without
  reading the text back. The module is saved in a cache folder, so that the compiled code is
  cached on disk (numba ``cache=True``) and reused by every later run and worker;
- for the **agents engine**, the methods of the Mesa agent class ``Person``, which call the
  very same rule functions on the agent's attributes, one person at a time. Its source is
  registered with ``linecache``, so tracebacks through it show its lines.

The only engine-specific lines are where each keeps its state (``x[i]`` in an array, or
``self.x`` on an agent) and the bookkeeping of an accepted contact, which counts for both people
and for the tie in both directions.

Both engines check what each rule returns: a number that is not finite (NaN or an infinity)
stops the run, naming the rule, the variable, the person and the step
(:class:`bondsim.engine.RuleFault`); on the agents engine a rule that raises does the same.
The array engine records the first bad value of each person in a ``fault`` array and each loop
returns how many it found, so a correct run pays one comparison per value.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import linecache
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Any

from .mechanism import _COMPILABLE, Argument, ModelSpec, Rule, helper, resolve

KERNEL_VERSION = "3"  # bump when the shape of the generated code changes
CHECK_VALUES = True  # check every value a rule returns (benchmarks/engines.py measures the cost with False)
CHECKED_DTYPES = ("float", "int", "int32", "int16", "int8")  # values that can be not finite before they are stored
FAULT_CODES = 256  # a fault code is 1 + rule number * FAULT_CODES + the place of the variable in the rule's writes


# ---------------------------------------------------------------- what a kernel takes
@dataclass(frozen=True)
class Kernel:
    """One compiled loop: the arguments the engine passes first (``leading``), then the rules' ``arguments``."""

    name: str
    leading: tuple[str, ...]
    arguments: tuple[Argument, ...]


@dataclass(frozen=True)
class KernelSource:
    """The array engine's kernel module: its source text and a description of each loop in it."""

    text: str
    kernels: dict[str, Kernel]


def all_rules(spec: ModelSpec) -> list[Rule]:
    """Every rule of the model, mechanism by mechanism: a rule's place here is its number in fault codes."""
    return [r for m in spec.mechanisms for r in m.rules]


def fault_code(rule_number: int, place: int) -> int:
    """The code recorded when the value at ``place`` of a rule's writes is not finite (0 means no fault)."""
    return 1 + rule_number * FAULT_CODES + place


def decode_fault(spec: ModelSpec, code: int) -> tuple[Rule, str]:
    """The rule and the variable of a fault code."""
    rule = all_rules(spec)[(code - 1) // FAULT_CODES]
    return rule, rule.writes[(code - 1) % FAULT_CODES]


# ---------------------------------------------------------------- argument spelling
def _array_spelling(a: Argument) -> str:
    """How the array kernel spells an argument for person ``i`` (tie row ``lo:hi``, attempt ``r``)."""
    if a.kind == "clock":
        return a.name
    if a.kind == "draw":
        return f"d_{a.key}[{'r' if a.stage == 'approach' else 'i'}]"
    if a.kind == "edge":
        return f"e_{a.key}[lo:hi]"
    if a.kind == "variable":
        return f"v_{a.key}[i]"
    return f"c_{a.key}"


def _parameter(a: Argument) -> str:
    """The name of a kernel function's parameter that carries an argument."""
    return _array_spelling(a).split("[")[0]


def _agent_spelling(a: Argument) -> str:
    """How a Person method spells an argument."""
    if a.kind == "clock":
        return "DT" if a.name == "dt" else "HOURS"
    if a.kind == "draw":
        return f"DRAWS[{a.key!r}][self.{'rank' if a.stage == 'approach' else 'index'}]"
    if a.kind == "edge":
        return f"self.edge_{a.key}"
    if a.kind == "variable":
        return f"self.{a.key}"
    return f"C_{a.key}"


def _function_name(r: Rule) -> str:
    return f"R_{r.mechanism.replace('.', '_')}_{r.name}"


def _call(r: Rule, spec: ModelSpec, spell) -> str:
    return f"{_function_name(r)}(" + ", ".join(spell(resolve(a, spec)) for a in r.arguments) + ")"


def _checked(r: Rule, spec: ModelSpec) -> list[int]:
    """The places of a rule's writes whose values are checked: numbers, not flags."""
    return [k for k, w in enumerate(r.writes) if spec.variables[w].dtype in CHECKED_DTYPES]


def _array_rule(r: Rule, number: int, spec: ModelSpec, threaded: bool = False) -> list[str]:
    """Lines of the array kernel that apply a rule to person ``i`` and store what it returns, checked.

    ``threaded``: the loop runs on threads, where a count shared by the people would need a
    reduction (and memory the kernels do not allocate): the fault is only recorded.
    """
    spell = _array_spelling
    call = _call(r, spec, spell)
    if not r.writes:
        lines = [call]
    else:
        lines = [f"{', '.join(f'_{w}' for w in r.writes)} = {call}"]
        for k in _checked(r, spec) if CHECK_VALUES else ():
            w = r.writes[k]
            record = f"flag(fault, fault_value, i, {fault_code(number, k)}, _{w})"
            lines += [f"if _{w} - _{w} != 0:  # not finite", f"    {record}" if threaded else f"    faults += {record}"]
            lines.append("    continue  # the rest of this person's step is not needed: the run stops")
        lines += [f"{spell(resolve(w, spec))} = _{w}" for w in r.writes]
    return _when(r, spec, spell, lines)


def _when(r: Rule, spec: ModelSpec, spell, lines: list[str]) -> list[str]:
    if r.when:
        return [f"if {' and '.join(spell(resolve(w, spec)) for w in r.when)}:", *("    " + line for line in lines)]
    return lines


def _imports(spec: ModelSpec) -> list[str]:
    return [f"from {m.name} import {r.name} as {_function_name(r)}" for m in spec.mechanisms for r in m.rules]


def _used(spec: ModelSpec, phases: tuple[str, ...]) -> list[str]:
    """Every name the rules of these phases read, test or write, in a fixed order."""
    names: list[str] = []
    for phase in phases:
        for r in spec.rules(phase):
            for a in (*r.when, *r.arguments, *r.writes):
                if a not in names:
                    names.append(a)
    return names


def _arguments(spec: ModelSpec, names: list[str]) -> tuple[Argument, ...]:
    """The distinct kernel parameters these names need, in order."""
    out: dict[str, Argument] = {}
    for name in names:
        a = resolve(name, spec)
        out.setdefault(_parameter(a), a)
    return tuple(out.values())


# ---------------------------------------------------------------- array engine
def array_kernels(spec: ModelSpec, parallel: bool = False) -> KernelSource:
    """The numba kernel module of the array engine: its source and a description of each loop.

    ``parallel``: the per-person loops of decide and of update and observe run on several threads
    (``numba.prange``). Each person writes only their own state there, so the result is the same
    for any number of threads. So do the seekers' choices, with bondsim's own rules; the counting
    of accepted contacts, which writes to both people, stays on one thread, in seeker order.
    Every loop but the approaches records in ``fault`` each person's first value that a rule
    returned and that was not finite, and returns how many it found (-1 on threads, where they
    are not counted: the engine looks at ``fault``).
    """
    jit, people = (PARALLEL_JIT, "numba.prange(n)") if parallel else (JIT, "range(n)")
    numbers = {id(r): k for k, r in enumerate(all_rules(spec))}
    scratch = [v for v in spec.variables.values() if v.scratch]
    choose, accept = spec.rules("choose")[0], spec.rules("accept")[0]
    first = _used(spec, ("decide",)) + [f"edge_{v.name}" if v.per == "edge" else v.name for v in scratch]
    kernels = {
        "decide": Kernel("decide", ("n", "indptr", "fault", "fault_value"), _arguments(spec, first)),
        "approach": Kernel(
            "approach",
            ("seekers", "indptr", "neighbours", "reverse", "partners", "accepted"),
            _arguments(spec, [*_used(spec, ("choose", "accept")), "contacts", "rejections", "edge_met"]),
        ),
        "update_and_observe": Kernel(
            "update_and_observe",
            ("n", "indptr", "fault", "fault_value"),
            _arguments(spec, _used(spec, ("update", "observe"))),
        ),
        "start": Kernel(
            "start", ("n", "indptr", "fault", "fault_value"), _arguments(spec, _used(spec, ("start", "observe")))
        ),
    }

    def head(kernel: str) -> str:
        k = kernels[kernel]
        return f"def {kernel}({', '.join((*k.leading, *map(_parameter, k.arguments)))}):"

    def per_person(rules: list[Rule], loop: str) -> list[str]:
        threaded = loop.startswith("numba.prange")
        lines = [] if threaded else ["    faults = 0"]
        lines += [f"    for i in {loop}:", "        lo = indptr[i]", "        hi = indptr[i + 1]"]
        for r in rules:
            lines += ["        " + line for line in _array_rule(r, numbers[id(r)], spec, threaded)]
        return [*lines, "    return -1" if threaded else "    return faults"]

    lines = [
        '"""Generated by bondsim.codegen from the mechanisms listed below: do not edit."""',
        "# mechanisms: " + ", ".join(m.name for m in spec.mechanisms),
        "import numba",
        "",
        "from bondsim.codegen import flag",
        *_imports(spec),
        "",
        "",
        jit,
        head("decide"),
    ]
    for v in scratch:  # a fresh start for this step's scratch variables
        lines.append(f"    {'e' if v.per == 'edge' else 'v'}_{v.name}[:] = {_literal(v)}")
    lines += per_person(spec.rules("decide"), people)
    threaded_choices = parallel and _choices_independent(spec)
    seeker = [  # the body of a loop over r, the seeker's rank
        "        i = seekers[r]",
        "        lo = indptr[i]",
        "        hi = indptr[i + 1]",
        f"        k = {_call(choose, spec, _array_spelling)}",
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
    lines += ["", "", jit if threaded_choices else JIT, head("approach")]
    if threaded_choices:  # choices on threads, then the contacts counted in seeker order
        lines += [
            "    for r in numba.prange(len(seekers)):  # r: the seeker's rank, which indexes this stage's draws",
            *seeker,
            "        partners[r] = -1 if k < 0 else lo + k  # the tie, for now",
            "        if k >= 0:",
            f"            accepted[r] = {_call(accept, spec, _array_spelling)}",
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
            f"        ok = {_call(accept, spec, _array_spelling)}",
            "        partners[r] = j",
            "        accepted[r] = ok",
            *bookkeeping,
        ]
    lines += ["", "", jit, head("update_and_observe")]
    lines += per_person(spec.rules("update") + spec.rules("observe"), people)
    lines += ["", "", JIT, head("start")]
    lines += per_person(spec.rules("start") + spec.rules("observe"), "range(n)")
    lines.append("")
    return KernelSource("\n".join(lines), kernels)


def array_source(spec: ModelSpec, parallel: bool = False) -> str:
    """The numba kernel module of the array engine, as source text (see :func:`array_kernels`)."""
    return array_kernels(spec, parallel).text


@helper
def flag(fault, fault_value, i, code, value):
    """Record ``code`` and ``value`` as person ``i``'s fault unless one is recorded already; 1, to count it."""
    if fault[i] == 0:
        fault[i] = code
        fault_value[i] = value
    return 1


USEFUL = (
    "No implementation",
    "Unknown attribute",
    "Untyped global",
    "Cannot",
    "Invalid use",
    "not supported",
    "NameError",
)


def compile_error(spec: ModelSpec, kernel: str, error: Exception) -> str:
    """One line for a kernel numba cannot compile: the rule (its file and line) and the useful part of numba's message.

    numba's message lists the places it was typing, innermost last (``File "x.py", line 12``);
    the last one inside a rule or a helper it calls names the culprit.
    """
    import re

    text = str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # the innermost message that is about the code, not about a rule or helper as a whole
    useful = next(
        (k for k, line in enumerate(lines) if any(u in line for u in USEFUL) and " at 0x" not in line),
        next((k for k, line in enumerate(lines) if any(u in line for u in USEFUL)), 0),
    )
    detail = lines[useful] if lines else ""
    if detail.endswith("found for signature:") and useful + 1 < len(lines) and lines[useful + 1].startswith(">>>"):
        detail = f"{detail} {lines[useful + 1][3:].strip()}"
    functions = compiled_functions(spec)
    rules = {r.function: r for r in all_rules(spec)}
    culprit = None
    for file, number in re.findall(r'File "([^"]+)", line (\d+)', text):
        for f in functions:
            code = f.__code__
            last = max((line for _, _, line in code.co_lines() if line is not None), default=code.co_firstlineno)
            same = Path(code.co_filename).resolve() == Path(file).resolve() or Path(code.co_filename).name == file
            if same and code.co_firstlineno <= int(number) <= last:
                culprit = (f, Path(file).name, int(number))
    if culprit is None:
        where = f"the rules ({kernel} phase)"
    else:
        f, file, number = culprit
        rule = rules.get(f)
        what = f"rule {rule.mechanism}.{rule.name}" if rule else f"helper {f.__module__}.{f.__name__}"
        where = f"{what} ({file}, line {number})"
    return (
        f"the array engine cannot compile {where}: {detail[:300]}; rules must compute numbers without creating "
        "arrays, and return what their 'writes' declare (the agents engine runs them as plain Python)"
    )


def _choices_independent(spec: ModelSpec) -> bool:
    """Whether seekers can choose and be answered on several threads at once.

    Only for bondsim's own rules, which read nothing that earlier contacts of the step change and
    write nothing: a user's rule may change the seeker's rows in place, in order, attempt by attempt.
    """
    rules = (*spec.rules("choose"), *spec.rules("accept"))
    return all(r.function.__module__.startswith("bondsim.mechanisms.") for r in rules)


JIT = '@numba.njit(cache=True, nogil=True, error_model="numpy", _nrt=False)'  # no reference counting of row views
PARALLEL_JIT = JIT.replace("njit(", "njit(parallel=True, ")


def _literal(v) -> str:
    if v.dtype == "bool":
        return repr(bool(v.initial))
    if v.dtype.startswith("int"):
        return repr(int(v.initial))
    return repr(float(v.initial))


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


def compiled_functions(spec: ModelSpec) -> list[FunctionType]:
    """Every rule and helper a model's kernels compile in: its rules, and the helpers they call, transitively.

    A helper is found where a function names it: a global of its module, or an attribute of a
    module it names (``mymath.curve``).
    """
    found: dict[FunctionType, None] = {}
    todo = [r.function for m in spec.mechanisms for r in m.rules]
    while todo:
        function = todo.pop()
        if function in found or not isinstance(function, FunctionType):
            continue
        found[function] = None
        names = function.__code__.co_names + tuple(
            name for const in function.__code__.co_consts if inspect.iscode(const) for name in const.co_names
        )
        for name in names:
            value = function.__globals__.get(name)
            candidates = [getattr(value, n, None) for n in names] if isinstance(value, ModuleType) else [value]
            todo += [c for c in candidates if isinstance(c, FunctionType) and c in _COMPILABLE]
    return list(found)


def _fingerprint(spec: ModelSpec, source: str) -> str:
    """A hash of the generated source and of every module whose code the kernel compiles in.

    These are the mechanisms' modules and the modules of every helper their rules call, a user's
    own included (numba's cache would not notice a change there), and bondsim's own.
    """
    from . import codegen, mechanism, pharmacology

    digest = hashlib.sha256((KERNEL_VERSION + source).encode())
    modules = {m.module for m in spec.mechanisms} | {mechanism, pharmacology, codegen}
    modules |= {sys.modules[f.__module__] for f in compiled_functions(spec) if f.__module__ in sys.modules}
    for module in sorted(modules, key=lambda m: m.__name__):
        try:
            digest.update(inspect.getsource(module).encode())
        except (OSError, TypeError):
            digest.update(module.__name__.encode())
    import numba

    digest.update(numba.__version__.encode())
    return digest.hexdigest()[:20]


_LOADED: dict[str, ModuleType] = {}


_BUILT: dict[tuple, tuple[ModuleType, KernelSource]] = {}  # (mechanisms and their rules, parallel) -> kernel


def array_kernel(spec: ModelSpec, parallel: bool = False) -> tuple[ModuleType, KernelSource]:
    """The compiled kernel module of a model (written once to the cache folder, compiled lazily), and its description.

    The source follows from the mechanisms' rules alone: a later model with the same rule functions
    gets the same kernel without generating it again (a reloaded module has new ones).
    """
    built = (tuple((m.module, *(r.function for r in m.rules)) for m in spec.mechanisms), parallel)  # new after a reload
    if built in _BUILT:
        return _BUILT[built]
    source = array_kernels(spec, parallel)
    key = _fingerprint(spec, source.text)
    if key in _LOADED:
        _BUILT[built] = _LOADED[key], source
        return _BUILT[built]
    folder = _cache_folder()
    path = folder / f"kernel_{key}.py"
    if not path.exists():
        tmp = folder / f".kernel_{key}.{os.getpid()}.tmp"
        tmp.write_text(source.text)
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
def _agent_rule(r: Rule, number: int, spec: ModelSpec, casts: dict[str, str]) -> list[str]:
    """Lines of a Person method that apply a rule and store what it returns, checked.

    ``casts`` maps a variable to the Python type it is stored as (the agents engine stores integers
    and booleans as the array engine does, whatever a rule returns).
    """
    call = _call(r, spec, _agent_spelling)
    if not r.writes:
        body = [call]
    else:
        body = [f"{', '.join(f'_{w}' for w in r.writes)} = {call}"]
    lines = ["try:", *("    " + line for line in body), "except Exception as exc:"]
    lines.append(f"    raise RULE_FAILED(self, {number}, exc) from exc")
    checked = [r.writes[k] for k in _checked(r, spec)] if CHECK_VALUES else []
    if checked:
        lines.append(f"if {' or '.join(f'_{w} - _{w} != 0' for w in checked)}:  # not finite")
        lines.append(f"    raise NOT_FINITE(self, {number}, ({', '.join(f'_{w}' for w in r.writes)},))")
    for w in r.writes:
        value = f"{casts[w]}(_{w})" if w in casts else f"_{w}"
        lines.append(f"{_agent_spelling(resolve(w, spec))} = {value}")
    return _when(r, spec, _agent_spelling, lines)


def agent_source(spec: ModelSpec) -> str:
    """The phase methods of the Mesa agent ``Person``, as source text."""
    numbers = {id(r): k for k, r in enumerate(all_rules(spec))}
    casts = {v.name: "bool" if v.dtype == "bool" else "int" for v in spec.variables.values() if v.dtype != "float"}

    def body(rules: list[Rule]) -> list[str]:
        return ["    " + line for r in rules for line in _agent_rule(r, numbers[id(r)], spec, casts)]

    choose, accept = spec.rules("choose")[0], spec.rules("accept")[0]
    lines = [*_imports(spec), "", "", "def decide(self):"]
    lines.append('    """Phase 1: a fresh start for the step, and whether to seek contact."""')
    for v in spec.variables.values():
        if v.scratch:
            if v.per == "edge":
                lines.append(f"    self.edge_{v.name} = [{_literal(v)}] * len(self.edge_{v.name})")
            else:
                lines.append(f"    self.{v.name} = {_literal(v)}")
    lines += body(spec.rules("decide"))
    lines += [
        "",
        "",
        "def approach(self):",
        '    """Phase 2: choose a partner among the open ties; the partner accepts or rejects."""',
        "    try:",
        f"        k = {_call(choose, spec, _agent_spelling)}",
        "    except Exception as exc:",
        f"        raise RULE_FAILED(self, {numbers[id(choose)]}, exc) from exc",
        "    if k < 0:",
        "        CONTACTS[self.rank] = (-1, False)",
        "        return",
        "    partner = self.partners[k]",
        "    try:",
        f"        ok = {_call(accept, spec, _agent_spelling)}",
        "    except Exception as exc:",
        f"        raise RULE_FAILED(self, {numbers[id(accept)]}, exc) from exc",
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
    lines += body(spec.rules("update") + spec.rules("observe"))
    lines += ["", "", "def start(self):", '    """What is derived once from the initial state, then observed."""']
    lines += body(spec.rules("start") + spec.rules("observe"))
    lines.append("")
    return "\n".join(lines)


def agent_methods(spec: ModelSpec, constants: dict[str, Any], dt: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``decide``, ``approach``, ``update`` and ``start`` methods, and the namespace they run in.

    The namespace holds the constants (``C_name``), the step length ``DT``, the clock ``HOURS``,
    this stage's draws (``DRAWS``) and this step's approaches (``CONTACTS``), set by the engine, and
    the two errors a rule can cause (``RULE_FAILED``, ``NOT_FINITE``). The source is registered
    with ``linecache`` under its own name, so a traceback through a method shows its line.
    """
    from .engine import RuleFault

    rules = all_rules(spec)
    source = agent_source(spec)
    filename = f"<bondsim Person {hashlib.sha256(source.encode()).hexdigest()[:12]}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)

    def rule_failed(person: Any, number: int, error: BaseException) -> RuleFault:
        return RuleFault(rules[number], person.index, error=error)

    def not_finite(person: Any, number: int, values: tuple) -> RuleFault:
        rule = rules[number]
        place = next(k for k, v in enumerate(values) if not isinstance(v, bool) and v - v != 0)
        return RuleFault(rule, person.index, variable=rule.writes[place], value=values[place])

    namespace: dict[str, Any] = {f"C_{k}": v for k, v in constants.items()}
    namespace.update(DT=dt, HOURS=0.0, DRAWS={}, CONTACTS=[], __name__="bondsim_person")
    namespace.update(RULE_FAILED=rule_failed, NOT_FINITE=not_finite)
    exec(compile(source, filename, "exec"), namespace)
    return {k: namespace[k] for k in ("decide", "approach", "update", "start")}, namespace
