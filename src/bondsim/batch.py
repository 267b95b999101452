"""Many seeded tasks, one runner: in this process, on local processes or on Dask.

Sweeps and the named experiments both run here. A task is ``fn(*args)``, a pure function of its
arguments, whose seed comes from :func:`seed_for`; so results do not depend on where the tasks
ran, how many workers there were, or the order in which they finished.

- :func:`seed_for` is the one seed rule: ``SeedSequence(master, spawn_key=key)``.
- :func:`run_many` runs a list of tasks and returns their results in task order.
- :class:`Runner` is the machinery under it, for callers that stream results as they finish
  (sweeps write each run's file at once): serial when ``workers == 1``, a
  ``ProcessPoolExecutor`` whose workers are started once (forked, so that they start with
  bondsim already imported; see :func:`start_method`) or a Dask ``LocalCluster`` for more
  workers, or an existing Dask scheduler. Dask workers whose bondsim version or code differs
  from this process's are refused before any task runs, and so are workers (local or Dask) that
  cannot import a module of the user's that the tasks need, or hold another version of it.

Local workers end with the process that started them, also when it is killed outright
(``kill -9``): each watches its parent (:func:`watch_parent`: ``PR_SET_PDEATHSIG`` on Linux, and
a thread that waits on the parent's end of a pipe everywhere). A Dask ``LocalCluster``'s worker
processes do the same by Dask's own design.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import UserError
from .provenance import check_module, identity

BACKENDS = ("processes", "dask")
RETRIES = 3  # times a batch is sent again after its worker process died


def seed_for(master: int, *key: int, bits: int = 63) -> int:
    """The seed of the task named ``key`` under the master seed ``master``.

    It is the first ``bits`` bits of the state of ``SeedSequence(master, spawn_key=key)``, so
    ``seed_for(m, i)`` belongs to the ``i``-th child of ``SeedSequence(m).spawn(...)``. With
    ``bits <= 32`` it reads one 32-bit word, with more one 64-bit word; then it drops low bits.

    Args:
        master: the recorded master seed (a non-negative integer).
        *key: non-negative integers naming the task, e.g. ``(point, replicate)`` of a sweep run
            or ``(trial,)`` of an experiment.
        bits: width of the seed (63 by default: a non-negative int64).
    """
    if not 1 <= bits <= 64:
        raise ValueError(f"bits = {bits} must be between 1 and 64")
    seq = np.random.SeedSequence(int(master), spawn_key=tuple(int(k) for k in key))
    if bits <= 32:
        return int(seq.generate_state(1, dtype=np.uint32)[0]) >> (32 - bits)
    return int(seq.generate_state(1, dtype=np.uint64)[0]) >> (64 - bits)


@dataclass(frozen=True)
class Lost:
    """The outcome of a task that did not return: its batch raised, or its workers kept dying."""

    error: str


class WorkerMismatch(UserError):
    """A Dask worker runs another bondsim version or other code than the driver."""


def default_workers() -> int:
    """Worker processes by default: the usable cores."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def batch_size(tasks: int, threads: int, largest: int = 16) -> int:
    """Tasks per Dask task: enough to keep scheduling cheap, few enough to keep every worker busy."""
    return max(1, min(largest, tasks // (8 * max(threads, 1))))


def call_batch(fn: Callable[..., Any], batch: list[tuple], expected: tuple[str, str] | None = None) -> list[Any]:
    """Worker entry point: ``[fn(*args) for args in batch]``, after checking the worker's code."""
    if expected is not None:
        _check_identity(identity(), expected, "this worker")
    return [fn(*args) for args in batch]


def _check_identity(got: Any, expected: tuple[str, str], who: str) -> None:
    got = tuple(got) if isinstance(got, (list, tuple)) else got
    if got != tuple(expected):
        version, code = got if isinstance(got, tuple) and len(got) == 2 else ("?", str(got))
        raise WorkerMismatch(
            f"{who} runs bondsim {version} (code {code}) but the driver runs bondsim {expected[0]} "
            f"(code {expected[1]}): install the same bondsim on every worker"
        )


def worker_modules(expected: dict[str, str]) -> dict[str, str]:
    """In a worker: what is wrong with each module it must import (see ``provenance.check_module``); {} if none."""
    problems = {}
    for name, digest in expected.items():
        problem = check_module(name, digest)
        if problem is not None:
            problems[name] = problem
    return problems


def _refuse_modules(who: str, problems: dict[str, str]) -> None:
    if problems:
        problem = problems[min(problems)]
        advice = (
            "put its folder on every worker's PYTHONPATH (or start the workers there)"
            if problem.startswith("cannot import")
            else "give every worker the driver's copy"
        )
        raise WorkerMismatch(f"{who} {problem}: {advice}")


def _message(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())


class Runner:
    """Where tasks run; a context manager that starts (and stops) the workers.

    Args:
        workers: worker processes; 1 runs every task in this process.
        scheduler: address of a running Dask scheduler (``tcp://host:port``) instead.
        backend: for ``workers > 1`` without a scheduler: ``processes`` (a ``ProcessPoolExecutor``)
            or ``dask`` (a ``LocalCluster`` of single-threaded worker processes).
        connect_timeout: seconds to wait for the scheduler to answer.
        worker_timeout: seconds to wait for the scheduler's first worker.
        modules: the user's modules the tasks import, by name: the hash of the driver's source
            (:func:`bondsim.provenance.module_hash`); every worker must import each with that source.
    """

    def __init__(
        self,
        workers: int | None = 1,
        scheduler: str | None = None,
        backend: str = "processes",
        connect_timeout: float = 10,
        worker_timeout: float = 120,
        modules: dict[str, str] | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend = {backend!r}: use one of {', '.join(BACKENDS)}")
        if workers is not None and scheduler is not None:
            raise UserError("give either workers or scheduler, not both")
        if workers is not None and workers < 1:
            raise UserError(f"workers = {workers} must be at least 1")
        self.workers = workers or default_workers()
        self.scheduler = scheduler
        self.backend = backend
        self.connect_timeout = connect_timeout
        self.worker_timeout = worker_timeout
        self.modules = dict(modules or {})
        self.kind = "dask" if scheduler else "serial" if self.workers == 1 else backend
        self.client: Any = None
        self._cluster: Any = None
        self._pool: Any = None

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Runner:
        if self.kind == "dask":
            self._start_dask()
        elif self.kind == "processes":
            self._start_pool()
        return self

    def __exit__(self, kind: type | None, *exc: object) -> None:
        self.close(interrupted=kind is not None)

    def close(self, interrupted: bool = False) -> None:
        """Stop the workers this runner started (an external cluster keeps running).

        After an interrupt or an error the local workers are ended at once, not waited for.
        """
        if self._pool is not None:
            if interrupted:
                _stop(self._pool)
            else:
                self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self.client is not None:
            self.client.close()
            self.client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def _start_dask(self) -> None:
        from distributed import Client, LocalCluster

        if self.scheduler:
            self._probe()
            try:
                self.client = Client(self.scheduler, timeout=f"{self.connect_timeout}s")
            except Exception as exc:  # refused, timed out, or an address Dask cannot parse
                reason = " ".join(str(exc).split()) or type(exc).__name__
                raise UserError(f"cannot connect to the Dask scheduler at {self.scheduler}: {reason}") from None
            try:
                self.client.wait_for_workers(1, timeout=self.worker_timeout)
            except TimeoutError:
                self.close()
                raise UserError(
                    f"the Dask scheduler at {self.scheduler} has no workers (waited {self.worker_timeout:g} s)"
                ) from None
        else:
            # worker processes ignore Ctrl-C (they inherit an ignored SIGINT): the driver alone stops
            # on it, then closes the cluster, so that an interrupted sweep prints one line
            main = threading.current_thread() is threading.main_thread()
            previous = signal.getsignal(signal.SIGINT) if main else None
            if previous is not None:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                self._cluster = LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                    silence_logs=logging.ERROR,
                )
            finally:
                if previous is not None:
                    signal.signal(signal.SIGINT, previous)
            self.client = Client(self._cluster)
        try:
            self.check_workers()
        except BaseException:
            self.close()
            raise

    def _start_pool(self) -> None:
        """Start every worker process now, once, for all the tasks of this runner.

        On Linux a single-threaded process forks its workers: they start in milliseconds with
        everything this process has imported (bondsim, its compiled kernels). Otherwise a fork
        server that has imported bondsim once forks them, or (where there is none) they are spawned.
        """
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        _stop_tqdm_monitors()
        context = multiprocessing.get_context(start_method())
        if context.get_start_method() == "forkserver":
            context.set_forkserver_preload(["bondsim.model"])
        with _sigint_ignored():  # the workers inherit an ignored Ctrl-C: this process stops them
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context, initializer=_start_worker)
            # the first task starts the workers (all of them, when forking), which share this process's
            # environment: one of them tells whether they import the user's modules with the same source
            problems = self._pool.submit(worker_modules, self.modules).result()
        try:
            _refuse_modules("a worker process", problems)
        except WorkerMismatch:
            self.close(interrupted=True)
            raise

    def _probe(self) -> None:
        """Fail at once, not after Dask's retries, when nothing listens at a ``tcp://`` address."""
        import socket
        from urllib.parse import urlsplit

        parts = urlsplit(self.scheduler if "://" in self.scheduler else f"tcp://{self.scheduler}")
        if parts.scheme != "tcp":
            return
        try:
            host, port = parts.hostname, parts.port
        except ValueError:
            raise UserError(f"{self.scheduler} is not a scheduler address: use tcp://HOST:PORT") from None
        if not host or port is None:
            raise UserError(f"{self.scheduler} is not a scheduler address: use tcp://HOST:PORT")
        try:
            socket.create_connection((host, port), timeout=self.connect_timeout).close()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise UserError(f"cannot connect to the Dask scheduler at {self.scheduler}: {reason}") from None

    def check_workers(self) -> None:
        """Refuse (one line) if a Dask worker runs another bondsim version or other code, or lacks a user module."""
        try:
            reported = self.client.run(identity)
        except Exception as exc:
            raise WorkerMismatch(f"a Dask worker cannot run bondsim: {_message(exc)}") from None
        mine = identity()
        for address, got in sorted(reported.items()):
            _check_identity(got, mine, f"the Dask worker at {address}")
        if self.modules:
            try:
                problems = self.client.run(worker_modules, self.modules)
            except Exception as exc:
                raise WorkerMismatch(f"a Dask worker cannot check its modules: {_message(exc)}") from None
            for address, found in sorted(problems.items()):
                _refuse_modules(f"the Dask worker at {address}", found)

    @property
    def info(self) -> dict[str, Any]:
        """Where the tasks ran, for provenance: kind, scheduler and worker count."""
        if self.kind == "dask" and self.client is not None:
            workers = len(self.client.scheduler_info().get("workers", {}))
            return {"kind": "dask", "scheduler": self.scheduler or "LocalCluster", "workers": workers}
        return {"kind": self.kind, "scheduler": None, "workers": self.workers}

    @property
    def threads(self) -> int:
        """Tasks that can run at once."""
        if self.kind == "dask" and self.client is not None:
            return sum(self.client.nthreads().values()) or 1
        return self.workers

    # --------------------------------------------------------------------- running
    def imap(
        self,
        fn: Callable[..., Any],
        tasks: Sequence[tuple],
        *,
        progress: bool = False,
        desc: str | None = None,
        unit: str = "task",
        initial: int = 0,
        total: int | None = None,
        postfix: Callable[[], dict[str, Any]] | None = None,
        batch: int | None = None,
        max_in_flight: int | None = None,
        errors: str = "raise",
    ) -> Iterator[tuple[int, Any]]:
        """``(i, fn(*tasks[i]))`` for every task, in the order they finish.

        Args:
            fn: a module-level function (workers import it).
            tasks: the argument tuples.
            progress: show a progress bar on stderr.
            desc: the bar's label.
            unit: what a task is called on the bar.
            initial: tasks already done before these (the bar starts there).
            total: tasks in all (default ``initial + len(tasks)``).
            postfix: called after each task; its dict is shown after the bar.
            batch: tasks sent to a worker at once (default :func:`batch_size`).
            max_in_flight: batches submitted at once (default: 2 per worker process; on Dask 4 per
                worker thread, at least 8).
            errors: ``raise`` re-raises a task's exception; ``return`` yields :class:`Lost` instead.
        """
        from tqdm.auto import tqdm

        if errors not in ("raise", "return"):
            raise ValueError(f"errors = {errors!r}: use raise or return")
        bar = tqdm(
            total=initial + len(tasks) if total is None else total,
            initial=initial,
            unit=unit,
            desc=desc,
            disable=not progress,
            file=sys.stderr,
            mininterval=0.5,
            dynamic_ncols=True,
        )
        if postfix is not None:
            bar.set_postfix(postfix())
        try:
            if self.kind == "serial":
                stream = self._serial(fn, tasks, errors)
            elif self.kind == "processes":
                stream = self._processes(fn, tasks, errors, batch, max_in_flight)
            else:
                stream = self._dask(fn, tasks, errors, batch, max_in_flight)
            for item in stream:
                yield item
                bar.update(1)
                if postfix is not None:
                    bar.set_postfix(postfix(), refresh=False)
        finally:
            bar.close()

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple], **options: Any) -> list[Any]:
        """``[fn(*t) for t in tasks]`` in task order, wherever they ran (see :meth:`imap`)."""
        results: list[Any] = [None] * len(tasks)
        for i, value in self.imap(fn, tasks, **options):
            results[i] = value
        return results

    @staticmethod
    def _serial(fn: Callable[..., Any], tasks: Sequence[tuple], errors: str) -> Iterator[tuple[int, Any]]:
        for i, args in enumerate(tasks):
            try:
                value = fn(*args)
            except Exception as exc:
                if errors == "raise":
                    raise
                value = Lost(_message(exc))
            yield i, value

    def _processes(
        self, fn: Callable[..., Any], tasks: Sequence[tuple], errors: str, batch: int | None, max_in_flight: int | None
    ) -> Iterator[tuple[int, Any]]:
        """Batches on the process pool; when a worker dies, the pool starts again and the batches are resent.

        A dead worker fails every batch in flight, so these are resent one at a time: a batch whose
        worker dies while it runs alone ``RETRIES`` times is given up (:class:`Lost`).
        """
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        size = batch or batch_size(len(tasks), self.workers)
        limit = max_in_flight or 2 * self.workers  # enough to keep every worker busy, few results held at once
        todo = [range(start, min(start + size, len(tasks))) for start in range(0, len(tasks), size)]
        todo.reverse()  # taken from the end: in task order
        suspects: set[int] = set()  # batches in flight when a worker died, resent alone
        deaths: dict[int, int] = {}  # batch start -> workers that died running it alone
        pending: dict[Any, tuple[range, bool]] = {}
        try:
            while todo or pending:
                while todo and len(pending) < (1 if suspects else limit):
                    indices = todo.pop()
                    future = self._pool.submit(call_batch, fn, [tasks[i] for i in indices])
                    pending[future] = (indices, bool(suspects))
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    indices, alone = pending.pop(future)
                    exc = future.exception()
                    if isinstance(exc, BrokenProcessPool):
                        suspects.add(indices.start)
                        deaths[indices.start] = deaths.get(indices.start, 0) + alone
                        if deaths[indices.start] < RETRIES:
                            todo.append(indices)
                            continue
                        exc = BrokenProcessPool(f"its worker process died {RETRIES} times while running it")
                    suspects.discard(indices.start)
                    if exc is not None and errors == "raise":
                        raise exc
                    values = [Lost(_message(exc))] * len(indices) if exc is not None else future.result()
                    yield from zip(indices, values, strict=True)
                    del values
                if self._pool._broken:  # every batch in flight has failed: new workers for the rest
                    self._pool.shutdown(wait=True, cancel_futures=True)
                    self._start_pool()
        finally:
            for future in pending:
                future.cancel()

    def _dask(
        self,
        fn: Callable[..., Any],
        tasks: Sequence[tuple],
        errors: str,
        batch: int | None,
        max_in_flight: int | None,
    ) -> Iterator[tuple[int, Any]]:
        from distributed import as_completed

        threads = self.threads
        size = batch or batch_size(len(tasks), threads)
        limit = max_in_flight or max(8, 4 * threads)
        starts = iter(range(0, len(tasks), size))
        token = f"{os.getpid()}-{time.time_ns():x}"
        expected = identity()
        pending = as_completed()
        index_of: dict[str, range] = {}

        def submit_next() -> None:
            start = next(starts, None)
            if start is not None:
                indices = range(start, min(start + size, len(tasks)))
                key = f"bondsim-batch-{token}-{start}"
                index_of[key] = indices
                items = [tasks[i] for i in indices]
                pending.add(self.client.submit(call_batch, fn, items, expected, key=key, pure=False, retries=0))

        for _ in range(limit):
            submit_next()
        try:
            for future in pending:
                indices = index_of.pop(future.key)
                if future.status == "error":  # the batch raised, or its workers kept dying
                    exc = future.exception()
                    if isinstance(exc, WorkerMismatch):
                        raise WorkerMismatch(str(exc)) from None
                    if errors == "raise":
                        raise exc
                    values = [Lost(_message(exc))] * len(indices)
                else:
                    values = future.result()
                future.release()
                yield from zip(indices, values, strict=True)
                del values
                submit_next()
        finally:
            for future in list(pending.futures):
                future.cancel()


def start_method() -> str:
    """How worker processes start: ``fork`` from a single-threaded process on Linux, else a fork server or spawn.

    Forking copies only the calling thread, so it is used only while this process runs no other
    Python thread (a notebook kernel does; the ``bondsim`` command does not), and has not run the
    array engine on several threads (GNU OpenMP kills a child forked from a process that used it).
    """
    import multiprocessing

    kernel = sys.modules.get("bondsim.kernel")
    threaded = kernel is not None and kernel.THREADS_STARTED
    methods = multiprocessing.get_all_start_methods()
    if sys.platform == "linux" and "fork" in methods and threading.active_count() == 1 and not threaded:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def _stop_tqdm_monitors() -> None:
    """End tqdm's monitor threads, which any bar starts (even a disabled one) and the next bar starts again.

    Without them a process that has shown a bar or run a model is single-threaded again, so that it
    can fork its workers (see :func:`start_method`).
    """
    monitor = sys.modules.get("tqdm._monitor")
    if monitor is None:
        return
    for thread in threading.enumerate():
        if isinstance(thread, monitor.TMonitor):
            owner = thread.tqdm_cls
            thread.exit()  # wakes it and waits for it to end
            with owner.get_lock():
                if getattr(owner, "monitor", None) is thread:
                    owner.monitor = None


PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h): a signal for this process when its parent ends


def watch_parent() -> None:
    """End this worker process when the process that started it ends, however it ended (SIGKILL included).

    On Linux the kernel sends this process SIGKILL when its parent dies (``PR_SET_PDEATHSIG``;
    with a fork server the parent is the server, which itself ends with the driver). Everywhere, a
    daemon thread waits on the parent's end of the pipe that multiprocessing gives every child and
    ends the process when it closes. Either way a worker never outlives its driver.
    """
    import multiprocessing

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):  # pragma: no cover - a libc without prctl: the thread below
            pass
    parent = multiprocessing.parent_process()
    if parent is None:  # not a multiprocessing child
        return

    def wait() -> None:
        parent.join()  # returns when the parent's end of the pipe closes: the parent has ended
        os._exit(1)

    threading.Thread(target=wait, name="bondsim-watch-parent", daemon=True).start()


def _start_worker() -> None:
    """A worker process: it ends with its parent, Ctrl-C ignored (the driver stops it), and one BLAS thread.

    An OpenBLAS call (a matrix exponential, a product) leaves the library's threads spinning for
    a while on the other cores, where the other workers run: two workers ran no faster than one.
    """
    watch_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the driver stops its workers with SIGTERM
    try:
        from threadpoolctl import threadpool_limits  # the 'sweep' extra; without it BLAS keeps its threads
    except ModuleNotFoundError:
        return
    threadpool_limits(limits=1, user_api="blas")


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl-C in this process for a moment, so that worker processes started now inherit that.

    Ctrl-C reaches the whole process group: the workers ignore it and this process stops them
    (:func:`_stop`), so an interrupt prints one line, not one traceback per worker.
    """
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        yield
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)


def _stop(pool: Any) -> None:
    """Stop a process pool now: cancel what has not started and end the running workers."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=5)


def run_many(
    fn: Callable[..., Any],
    tasks: Sequence[tuple],
    *,
    workers: int | None = 1,
    scheduler: str | None = None,
    backend: str = "processes",
    progress: bool = False,
    desc: str | None = None,
    unit: str = "task",
) -> list[Any]:
    """``[fn(*t) for t in tasks]``, in task order, serially or on ``workers`` processes or on Dask.

    A single task (or ``workers == 1``) runs in this process. The results do not depend on
    ``workers``, ``scheduler`` or ``backend`` as long as each task carries its own seed.
    """
    if scheduler is None and len(tasks) <= 1:
        workers = 1
    with Runner(workers, scheduler, backend) as runner:
        return runner.map(fn, tasks, progress=progress, desc=desc, unit=unit)


__all__ = [
    "Lost",
    "Runner",
    "WorkerMismatch",
    "batch_size",
    "default_workers",
    "run_many",
    "seed_for",
    "start_method",
    "watch_parent",
    "worker_modules",
]
