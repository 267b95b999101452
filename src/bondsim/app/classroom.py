"""A class as a whole (as NetLogo's HubNet): students join, predict, run a lesson; results meet on the teacher's page.

One :class:`Classroom` per server (:func:`classroom`). Students join with their name and the class
code the teacher shows (the address ``bondsim app --class`` prints carries it); each is given a
community number of their own, so that the class's runs differ by chance as real samples do. Before
a lesson a student records a prediction of the lesson's measure; when their run reaches the lesson's
end its result is sent here. The teacher's page (``/teacher?key=...``) shows the results as a dot
plot with their mean and 95% interval, the predictions beside them, and reveals them to the class.
Everything is held in memory, under one lock; listeners (the pages) are told of every change.
"""

from __future__ import annotations

import math
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

CODE_ENV = "BONDSIM_APP_CLASS_CODE"
KEY_ENV = "BONDSIM_APP_TEACHER_KEY"
ADDRESS_ENV = "BONDSIM_APP_STUDENT_ADDRESS"
MAX_STUDENTS = 200
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O: a code read from a projector


def new_code() -> str:
    """A class code: four capital letters."""
    return "".join(secrets.choice(_LETTERS) for _ in range(4))


def new_key() -> str:
    """A teacher key: hard to guess, short enough to type."""
    return secrets.token_urlsafe(6)


@dataclass
class Student:
    """A student of the class: their name, their community number, when they joined."""

    id: str
    name: str
    community: int
    joined: float = field(default_factory=time.time)


@dataclass
class Result:
    """A student's run of a lesson: the measure at its day, their prediction, what they changed."""

    value: float
    community: int
    changed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Summary:
    """The class's results of a lesson: each student's value and prediction, the mean and its 95% interval."""

    lesson: str
    rows: tuple[tuple[str, float | None, float | None, bool], ...]  # name, result, prediction, settings changed
    mean: float | None
    low: float | None
    high: float | None
    predicted_mean: float | None
    revealed: bool

    @property
    def values(self) -> list[float]:
        """The results counted in the mean (runs with the lesson's own settings)."""
        return [r for _, r, _, changed in self.rows if r is not None and not changed]


def _t975(df: int) -> float:
    """The 97.5% quantile of Student's t (a table to 30, then the normal's)."""
    table = (12.71, 4.30, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.20, 2.18, 2.16, 2.14, 2.13, 2.12,
             2.11, 2.10, 2.09, 2.09, 2.08, 2.07, 2.07, 2.06, 2.06, 2.06, 2.05, 2.05, 2.05, 2.04)  # fmt: skip
    return table[df - 1] if 1 <= df <= len(table) else 1.96


def mean_interval(values: list[float]) -> tuple[float | None, float | None, float | None]:
    """The mean and its 95% confidence interval (t); the interval needs two values."""
    if not values:
        return None, None, None
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, None, None
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = _t975(n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


class Classroom:
    """The class: its code, the teacher's key, the students, their predictions and results."""

    def __init__(self, code: str | None = None, teacher_key: str | None = None, address: str = "") -> None:
        self.code = (code or new_code()).upper()
        self.teacher_key = teacher_key or new_key()
        self.address = address  # what students type (set by bondsim app --class)
        self.lock = threading.Lock()
        self.students: dict[str, Student] = {}
        self.predictions: dict[str, dict[str, float]] = {}  # lesson -> student id -> prediction
        self.results: dict[str, dict[str, Result]] = {}  # lesson -> student id -> result
        self.revealed: set[str] = set()
        self.version = 0
        self._listeners: dict[int, Callable[[], None]] = {}
        self._next_listener = 0

    # ------------------------------------------------------------ listeners
    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after every change; returns the function that unsubscribes it."""
        with self.lock:
            key = self._next_listener
            self._next_listener += 1
            self._listeners[key] = listener

        def unsubscribe() -> None:
            with self.lock:
                self._listeners.pop(key, None)

        return unsubscribe

    def _changed(self) -> None:
        with self.lock:
            self.version += 1
            listeners = list(self._listeners.values())
        for listener in listeners:
            try:
                listener()
            except Exception:  # a page that has gone must not stop the others from hearing
                pass

    # ------------------------------------------------------------ students
    def join(self, student_id: str, name: str, code: str) -> Student:
        """Join the class (or change one's name); raises ValueError with a message for the student.

        A name that has joined already is the same student on another tab or computer: they take over
        their community, prediction and results there (the latest run counts), so that nobody is
        counted twice. Two students who share a name add an initial.
        """
        name = " ".join(str(name).split())[:40]
        if not name:
            raise ValueError("Write your name first.")
        if str(code).strip().upper() != self.code:
            raise ValueError("That is not this class's code: ask your teacher for the code on the projector.")
        with self.lock:
            same_name = next(
                (sid for sid, s in self.students.items() if s.name.casefold() == name.casefold() and sid != student_id),
                None,
            )
            if same_name is not None and student_id not in self.students:
                student = self.students.pop(same_name)
                student.id, student.name = student_id, name
                self.students[student_id] = student
                for by_student in (*self.predictions.values(), *self.results.values()):
                    if same_name in by_student:
                        by_student[student_id] = by_student.pop(same_name)
            elif student_id in self.students:
                self.students[student_id].name = name
                student = self.students[student_id]
            else:
                if len(self.students) >= MAX_STUDENTS:
                    raise ValueError(f"The class is full ({MAX_STUDENTS} students).")
                used = {s.community for s in self.students.values()}
                community = next(c for c in range(1, 100) if c not in used) if len(used) < 99 else 1
                student = Student(student_id, name, community)
                self.students[student_id] = student
        self._changed()
        return student

    def student(self, student_id: str) -> Student | None:
        """A student who joined, or None."""
        with self.lock:
            return self.students.get(student_id)

    def predict(self, student_id: str, lesson: str, value: float) -> None:
        """Record a student's prediction of a lesson's measure."""
        with self.lock:
            if student_id not in self.students:
                return
            self.predictions.setdefault(lesson, {})[student_id] = float(value)
        self._changed()

    def submit(self, student_id: str, lesson: str, value: float, community: int, changed: tuple[str, ...]) -> None:
        """Record a student's result of a lesson (the latest run counts)."""
        with self.lock:
            if student_id not in self.students or not math.isfinite(value):
                return
            self.results.setdefault(lesson, {})[student_id] = Result(float(value), int(community), tuple(changed))
        self._changed()

    def reveal(self, lesson: str, shown: bool = True) -> None:
        """Show (or hide) a lesson's class results on the students' pages."""
        with self.lock:
            (self.revealed.add if shown else self.revealed.discard)(lesson)
        self._changed()

    def clear(self, lesson: str) -> None:
        """Forget a lesson's predictions and results (to run it again)."""
        with self.lock:
            self.predictions.pop(lesson, None)
            self.results.pop(lesson, None)
            self.revealed.discard(lesson)
        self._changed()

    def summary(self, lesson: str) -> Summary:
        """The class's results of a lesson, for the plots."""
        with self.lock:
            results = dict(self.results.get(lesson, {}))
            predictions = dict(self.predictions.get(lesson, {}))
            students = dict(self.students)
            revealed = lesson in self.revealed
        rows = []
        for sid, student in sorted(students.items(), key=lambda kv: kv[1].name.lower()):
            result, prediction = results.get(sid), predictions.get(sid)
            if result is None and prediction is None:
                continue
            rows.append(
                (student.name, None if result is None else result.value, prediction, bool(result and result.changed))
            )
        values = [r for _, r, _, changed in rows if r is not None and not changed]
        mean, low, high = mean_interval(values)
        predicted = [p for _, _, p, _ in rows if p is not None]
        predicted_mean = sum(predicted) / len(predicted) if predicted else None
        return Summary(lesson, tuple(rows), mean, low, high, predicted_mean, revealed)


_CLASSROOM: Classroom | None = None
_CLASSROOM_LOCK = threading.Lock()


def classroom() -> Classroom:
    """The server's class (its code and teacher key from ``bondsim app``, else new ones)."""
    global _CLASSROOM
    with _CLASSROOM_LOCK:
        if _CLASSROOM is None:
            _CLASSROOM = Classroom(os.environ.get(CODE_ENV), os.environ.get(KEY_ENV), os.environ.get(ADDRESS_ENV, ""))
        return _CLASSROOM
