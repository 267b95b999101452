"""The array engine: the mechanisms' rules compiled by numba into one loop over everyone.

State lives in NumPy arrays, one entry per person, and tie state in arrays aligned with the
network's CSR edges (``bond[e]`` is ``row[e]``'s bond to ``indices[e]``). A step is two compiled
loops generated from the rules (:mod:`bondsim.codegen`): decide, approach (over the seekers),
then update and observe. The random numbers are drawn as arrays from the model's one Generator,
in the same order by both engines, so both compute the same step.

Mesa stays the public face: :class:`PersonView` agents read this engine's arrays, so
``model.agents``, the DataCollector and the app work as with the agents engine.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import mesa
import numba
import numpy as np
from numba.core.errors import NumbaError

from .codegen import array_kernel, compile_error, decode_fault
from .engine import EngineBase, RuleFault
from .mechanism import DTYPES, Argument, MechanismError, compilable

THREADS_STARTED = False  # whether this process has run a kernel on several threads


class ArrayEngine(EngineBase):
    """Runs the model on arrays, with the rules compiled by numba."""

    name = "array"

    def __init__(
        self, spec, constants, network, state, dt, *, model=None, create_agents=True, threads=1, start=True
    ) -> None:
        global THREADS_STARTED
        super().__init__(spec, constants, network, dt)
        self.threads = threads
        if threads > 1:  # its kernels run below; a process using OpenMP threads must not fork (batch.start_method)
            THREADS_STARTED = True
        self._views: dict[str, np.ndarray] = {}
        arrays: dict[str, np.ndarray] = {}
        for v in spec.variables.values():
            size = network.n_edges if v.per == "edge" else network.n
            values = state.get(v.name)
            arrays[v.name] = (
                np.full(size, v.initial, dtype=DTYPES[v.dtype])
                if values is None
                else np.ascontiguousarray(values, dtype=DTYPES[v.dtype])  # the initial state is ours to keep
            )
        # the kernels are given these arrays once: change their values (put, add), never the arrays
        self.arrays: MappingProxyType[str, np.ndarray] = MappingProxyType(arrays)
        compilable()  # numba learns every rule and helper imported so far
        self.module, self.source = array_kernel(spec, parallel=threads > 1)
        self.fault = np.zeros(network.n, dtype=np.int32)  # each person's first fault code (codegen.fault_code)
        self.fault_value = np.zeros(network.n, dtype=np.float64)  # and the value that was not finite
        self._bind_all()
        if start:  # not for a state saved whole (a settled one): its start rules have run
            self.start()
        self._compile()
        if create_agents and model is not None:
            for i in range(network.n):
                PersonView(model, self, i)

    @property
    def constants(self) -> dict[str, Any]:
        """The numbers derived once from the parameters (the kernels are given the new ones when they change)."""
        return self._constants

    @constants.setter
    def constants(self, value: dict[str, Any]) -> None:
        self._constants = MappingProxyType(dict(value))  # read-only: the kernels are given these once
        if hasattr(self, "source"):
            self._bind_all()

    def _bind_all(self) -> None:
        self._bound = {name: self._bind(kernel.arguments) for name, kernel in self.source.kernels.items()}

    def _bind(self, arguments: tuple[Argument, ...]) -> tuple[list[Any], list[tuple[int, str | None]]]:
        """A kernel's arguments: the arrays and constants, once; where this step's draws and clock go."""
        fixed: list[Any] = []
        varying: list[tuple[int, str | None]] = []
        for position, a in enumerate(arguments):
            if a.kind == "draw" or a.name == "hours":
                varying.append((position, a.key if a.kind == "draw" else None))
                fixed.append(None)
            elif a.kind == "clock":
                fixed.append(self.dt)
            elif a.kind in ("variable", "edge"):
                fixed.append(self.arrays[a.key])
            else:
                fixed.append(self.constants[a.key])
        return fixed, varying

    def _arguments(self, kernel: str, draws: dict[str, np.ndarray], hours: float) -> list[Any]:
        fixed, varying = self._bound[kernel]
        args = list(fixed)
        for position, key in varying:
            args[position] = hours if key is None else draws[key]
        return args

    def _call(self, kernel: str, *args: Any) -> Any:
        """Call a compiled kernel; a rule that numba cannot compile is one clear line naming it."""
        try:
            if self.threads > 1:  # per call: the count is the calling thread's own
                numba.set_num_threads(min(self.threads, numba.config.NUMBA_NUM_THREADS))
            return getattr(self.module, kernel)(*args)
        except NumbaError as exc:
            raise MechanismError(compile_error(self.spec, kernel, exc)) from None

    def _checked(self, kernel: str, n: int, draws: dict[str, np.ndarray], hours: float) -> None:
        """Run a per-person kernel; a value a rule returned that is not finite stops here (:class:`RuleFault`)."""
        net = self.network
        faults = self._call(kernel, n, net.indptr, self.fault, self.fault_value, *self._arguments(kernel, draws, hours))
        if faults and (faults > 0 or self.fault.any()):  # -1: a threaded loop, which does not count
            person = int(np.flatnonzero(self.fault)[0])
            rule, variable = decode_fault(self.spec, int(self.fault[person]))
            value = float(self.fault_value[person])
            self.fault[:] = 0
            raise RuleFault(rule, person, variable=variable, value=value)

    def _compile(self) -> None:
        """Compile (or load from the cache) every kernel now, by a step over nobody: errors show before a run."""
        draws = {name: np.zeros(0) for names in self._draw_names.values() for name in names}
        # the decide kernel starts by resetting the scratch variables: a state saved after a step keeps its own
        kept = {v.name: self.arrays[v.name].copy() for v in self.spec.variables.values() if v.scratch}
        self._decide(draws, 0.0, people=0)
        for name, values in kept.items():
            self.arrays[name][:] = values
        self._approach(np.zeros(0, dtype=np.int64), draws, 0.0)
        self._update(draws, 0.0, people=0)

    def _decide(self, draws: dict[str, np.ndarray], hours: float, people: int | None = None) -> None:
        self._checked("decide", self.network.n if people is None else people, draws, hours)

    def _approach(self, seekers: np.ndarray, draws: dict[str, np.ndarray], hours: float):
        net = self.network
        partners, accepted = np.empty(len(seekers), dtype=np.int64), np.zeros(len(seekers), dtype=np.bool_)
        args = self._arguments("approach", draws, hours)
        self._call("approach", seekers, net.indptr, net.indices, net.reverse, partners, accepted, *args)
        return partners, accepted

    def _update(self, draws: dict[str, np.ndarray], hours: float, people: int | None = None) -> None:
        self._checked("update_and_observe", self.network.n if people is None else people, draws, hours)

    def start(self) -> None:
        """Run the start rules and compute everyone's observables, without advancing."""
        self._checked("start", self.network.n, {}, 0.0)

    # ------------------------------------------------------------ reading and changing state
    def get(self, name: str) -> np.ndarray:
        """A copy of one variable for everyone (or every tie)."""
        return self.arrays[name].copy()

    def view(self, name: str) -> np.ndarray:
        """One variable for everyone, read-only and not copied (it follows the model as it runs)."""
        if name not in self._views:
            self._views[name] = self.arrays[name].view()
            self._views[name].flags.writeable = False
        return self._views[name]

    def add(self, name: str, where: np.ndarray, amount: float) -> None:
        """Add ``amount`` to a variable of the listed people (or ties)."""
        np.add.at(self.arrays[name], np.asarray(where, dtype=np.int64), amount)

    def put(self, name: str, where: np.ndarray, values: Any) -> None:
        """Set a variable of the listed people (or ties)."""
        self.arrays[name][np.asarray(where, dtype=np.int64)] = values


class PersonView(mesa.Agent):
    """A person of the array engine, as a Mesa agent whose attributes read the engine's arrays.

    ``person.tone``, ``person.distress`` and every other per-person variable of the model read
    the person's entry; ``person.bonds`` maps neighbour index to bond.
    """

    def __init__(self, model: mesa.Model, engine: ArrayEngine, index: int) -> None:
        super().__init__(model)
        self.engine = engine
        self.index = index
        self.unique_id = index  # one name for a person everywhere: the index 0..n-1

    def __getattr__(self, name: str) -> Any:
        arrays = self.__dict__.get("engine").arrays if "engine" in self.__dict__ else {}
        if name in arrays and arrays[name].shape[0] == self.engine.network.n:
            return arrays[name][self.index].item()
        raise AttributeError(f"{type(self).__name__} has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        engine = self.__dict__.get("engine")
        if engine is not None and name in engine.arrays and engine.arrays[name].shape[0] == engine.network.n:
            engine.arrays[name][self.index] = value
        else:
            super().__setattr__(name, value)

    @property
    def bonds(self) -> dict[int, float]:
        """Neighbour index -> bond in [0, 1] (a copy)."""
        return self.engine.bonds_of(self.index, include_closed=True)
