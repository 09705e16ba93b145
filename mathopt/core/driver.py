"""The one iteration loop every mathopt solver runs on.

A solver implements the small contract of :class:`IterativeSolver`
(``init`` / ``step`` or ``advance`` / ``terminate`` / ``info`` / ``finalize``);
:func:`run` owns the loop. Whether a method steps in Python, advances a
compiled Numba kernel by chunks of iterations, or runs a JAX
``lax.while_loop``, the same rules hold (checked for every registered solver
by ``tests/test_contract.py``):

* **Iterates reported.** Iterate 0 (the starting point, after ``init``) and
  every iterate after it are reported: the callback is called, and a history
  row recorded, for ``nit = 0, 1, ..., result.nit``. ``nit`` counts
  iterations (calls of the method's update), so ``max_iter=k`` performs at
  most ``k`` iterations and a run stopped by the limit has ``nit == k``,
  ``k + 1`` callback calls and ``k + 1`` history rows.
* **Order of the checks at each reported iterate:** a non-finite iterate,
  objective or residual ends the run with ``NONFINITE`` (it is not reported;
  the result holds the last finite iterate); then the history row and the
  progress line; then the callback (called at every finite iterate, also the
  last); then the method's own test (``terminate``, or the status code of a
  compiled loop: ``CONVERGED``, ``INFEASIBLE``, ...), which wins over the
  callback; then a callback that returned True (``CALLBACK``); then
  ``max_iter`` (``MAX_ITER``) and ``max_time`` (``MAX_TIME``, checked at
  every reported iterate, iterate 0 included, against the time since the
  solve started).
* **Failures.** A numerical failure of mathopt's own linear algebra (see
  :mod:`mathopt.core.user`) ends the run with ``NUMERICAL_ERROR`` and the
  last good iterate. An exception raised by the user's functions or callback
  propagates unchanged.

Compiled methods implement ``advance(state, nit, k, record)``: up to ``k``
iterations inside compiled code, returning an :class:`Advance` with the
number done, a status code (``mathopt.core.status.CONTINUE`` while going on)
and, when ``record`` is true, one row per iteration done. A kernel never
commits a non-finite iterate: it returns ``CODE_NONFINITE`` with the state at
the last finite iterate. Without callback, the whole budget is one kernel
call; with a callback the kernel runs one iteration per call, so the callback
sees every iterate; with ``verbose`` it runs chunks of ``verbose``
iterations; with only ``max_time`` it sizes calls from the measured speed so
that ``info`` takes at most 5% of the time (see :class:`Chunks`).

Methods that run inside another library's loop (SciPy, Ipopt) use
:class:`Reporter` from that library's callback: the same rules, one object.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, NamedTuple

import numpy as np

from .options import CommonOptions
from .result import Result
from .status import CONTINUE, Status, from_code
from .user import failure_message, is_numerical_failure


@dataclass(frozen=True)
class IterationInfo:
    """What the callback and the history see at each reported iterate.

    ``x`` must not alias the solver's mutable state (the driver keeps the last
    finite info as the answer of a run that meets NaN).
    """

    nit: int
    x: np.ndarray
    fun: float
    residuals: Mapping[str, float] = field(default_factory=dict)
    elapsed: float = 0.0
    extra: Mapping[str, Any] = field(default_factory=dict)

    def is_finite(self) -> bool:
        return bool(np.all(np.isfinite(self.x)) and math.isfinite(self.fun)
                    and all(math.isfinite(v) for v in self.residuals.values()))


class Advance(NamedTuple):
    """What ``IterativeSolver.advance`` returns."""

    state: Any
    done: int                    # iterations performed (finite ones only)
    code: int = CONTINUE         # a Status value, or CONTINUE
    records: Mapping[str, np.ndarray] | None = None  # name -> array of length >= done


class IterativeSolver:
    """The solver contract (a jaxopt/optimistix-style split of one method).

    Subclasses implement:

    ``init(problem, options) -> state``
        Set up; evaluate what the first check needs.
    ``step(state) -> state``
        One iteration. It returns a new state and leaves its argument usable:
        when the new iterate is not finite, the driver finishes with the old one.
    ``advance(state, nit, k, record) -> Advance`` (optional)
        Up to ``k`` iterations in compiled code (see the module docstring). A
        solver that has it does not need ``step``.
    ``terminate(state) -> Status | None``
        A status when the method's own stopping test fires (``CONVERGED``,
        ``INFEASIBLE``, ...), else None. No side effects. Limits are the driver's job.
    ``info(state, nit, elapsed) -> IterationInfo``
        The current point, objective and residuals.
    ``finalize(state, status, info, history) -> Result``
        Build the result (``make_result`` does the common part).

    Run state lives in ``state``, never on ``self``: one solver object may serve
    concurrent solves.
    """

    #: names of the per-iteration records ``advance`` fills (history rows between reported iterates)
    records: tuple[str, ...] = ()

    def init(self, problem, options):
        raise NotImplementedError

    def step(self, state):
        raise NotImplementedError

    def advance(self, state, nit: int, k: int, record: bool) -> Advance:
        raise NotImplementedError

    def terminate(self, state) -> Status | None:
        return None

    def info(self, state, nit: int, elapsed: float) -> IterationInfo:
        raise NotImplementedError

    def finalize(self, state, status: Status, info: IterationInfo, history) -> Result:
        return make_result(info, status, history)


class HistoryRecorder:
    """Per-iteration records of ``fun`` and every residual, kept as columns, as arrays at the end."""

    def __init__(self):
        self._columns: dict[str, list[float]] = {}
        self._rows = 0

    def _extend(self, name: str, values) -> None:
        column = self._columns.get(name)
        if column is None:
            column = self._columns[name] = [math.nan] * self._rows  # a key first seen now: NaN before
        column.extend(values)

    def _close_rows(self, count: int) -> None:
        self._rows += count
        for column in self._columns.values():
            if len(column) < self._rows:  # a key missing from these rows: NaN there
                column.extend([math.nan] * (self._rows - len(column)))

    def append(self, info: IterationInfo) -> None:
        self._extend("nit", (float(info.nit),))
        self._extend("fun", (float(info.fun),))
        self._extend("time", (float(info.elapsed),))
        for name, value in info.residuals.items():
            self._extend(name, (float(value),))
        self._close_rows(1)

    def append_records(self, records: Mapping[str, np.ndarray], first_nit: int, count: int, elapsed: float) -> None:
        """Rows for iterates ``first_nit, ..., first_nit + count - 1`` from a compiled loop's records."""
        self._extend("nit", np.arange(first_nit, first_nit + count, dtype=float).tolist())
        self._extend("time", [elapsed] * count)
        for name, values in records.items():
            self._extend(name, np.asarray(values, dtype=float)[:count].tolist())
        self._close_rows(count)

    def __len__(self) -> int:
        return self._rows

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: np.array(column, dtype=float) for name, column in self._columns.items()}


class Progress:
    """Opt-in progress display: one line every ``every`` iterations, to stderr."""

    def __init__(self, name: str, every: int, stream=None):
        self.name, self.every, self.stream = name, every, stream or sys.stderr
        self._header_done = False
        self._last = -1

    def update(self, info: IterationInfo, force: bool = False) -> None:
        if not self.every or (info.nit % self.every and not force) or info.nit == self._last:
            return
        self._last = info.nit
        names = list(info.residuals)
        if not self._header_done:
            cols = "".join(f"{n[:12]:>14}" for n in names)
            print(f"[{self.name}] {'iter':>6}{'objective':>16}{cols}{'time (s)':>10}", file=self.stream)
            self._header_done = True
        cols = "".join(f"{info.residuals[n]:>14.3e}" for n in names)
        print(f"[{self.name}] {info.nit:>6}{info.fun:>16.8e}{cols}{info.elapsed:>10.2f}", file=self.stream)


class Reporter:
    """The rules of the loop for one run (see the module docstring), usable from any loop.

    ``report(info, method_status)`` is called once per iterate, in order,
    starting with iterate 0; it returns the status that ends the run, or None.
    ``last`` is the last finite iterate reported; ``history()`` the recorded rows.
    """

    def __init__(self, options: CommonOptions, name: str = "", start: float | None = None):
        self.options = options
        self.start = time.perf_counter() if start is None else start
        self.recorder = HistoryRecorder() if options.history else None
        self.progress = Progress(name, options.progress_every)
        self.last: IterationInfo | None = None
        self.message = ""

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def report(self, info: IterationInfo, method_status: Status | None = None, *,
               record: bool = True) -> Status | None:
        if not info.is_finite():
            return Status.NONFINITE
        self.last = info
        if record and self.recorder is not None:
            self.recorder.append(info)
        self.progress.update(info)
        options = self.options
        stop = options.callback is not None and bool(options.callback(info))
        if method_status is not None:
            return method_status
        if stop:
            return Status.CALLBACK
        if info.nit >= options.max_iter:
            return Status.MAX_ITER
        if info.elapsed >= options.max_time:
            return Status.MAX_TIME
        return None

    def records(self, records: Mapping[str, np.ndarray] | None, first_nit: int, count: int) -> None:
        """History rows for iterates a compiled loop ran between two reports."""
        if self.recorder is not None and records and count > 0:
            self.recorder.append_records(records, first_nit, count, self.elapsed())

    def history(self):
        return self.recorder.arrays() if self.recorder is not None else None

    def close(self, info: IterationInfo | None = None) -> None:
        last = info if info is not None else self.last
        if last is not None:
            self.progress.update(last, force=True)


CHUNK = 25  # first kernel call's iterations under a time limit


class Chunks:
    """Iterations per ``advance`` call (see the module docstring)."""

    def __init__(self, options: CommonOptions, has_records: bool):
        self.adaptive = False
        if options.callback is not None or (options.history and not has_records):
            self.size = 1
        elif options.progress_every:
            self.size = options.progress_every
        elif math.isfinite(options.max_time):
            self.size, self.adaptive = CHUNK, True
        else:
            self.size = max(options.max_iter, 1)
        self.max_time = options.max_time
        self._calls = 0

    def update(self, seconds_per_iteration: float, info_seconds: float, elapsed: float) -> None:
        self._calls += 1
        if self.adaptive and self._calls > 1:  # the first call includes JIT compilation: not a speed
            self.size = _next_chunk(seconds_per_iteration, info_seconds, self.max_time - elapsed)


def _next_chunk(seconds_per_iteration: float, info_seconds: float, seconds_left: float) -> int:
    """Iterations for the next kernel call under a time limit: enough that the ``info`` call costs at
    most 5% of the kernel's time (at least CHUNK), and no more than the time left allows at the
    measured speed (at least 1)."""
    seconds_per_iteration = max(seconds_per_iteration, 1e-9)
    wanted = max(CHUNK, math.ceil(info_seconds / (0.05 * seconds_per_iteration)))
    affordable = max(1, math.ceil(seconds_left / seconds_per_iteration))
    return min(wanted, affordable)


def _compiled(solver: IterativeSolver) -> bool:
    return type(solver).advance is not IterativeSolver.advance


def run(solver: IterativeSolver, problem, options: CommonOptions, name: str = "") -> Result:
    """Drive ``solver`` on ``problem`` with the common options (the one loop of mathopt)."""
    reporter = Reporter(options, name or type(solver).__name__)
    state = solver.init(problem, options)
    nit = 0
    info = solver.info(state, 0, reporter.elapsed())
    status = reporter.report(info, solver.terminate(state))
    compiled = _compiled(solver)
    chunks = Chunks(options, bool(solver.records)) if compiled else None
    while status is None:
        before = time.perf_counter()
        try:
            if compiled:
                out = solver.advance(state, nit, min(chunks.size, options.max_iter - nit),
                                     reporter.recorder is not None)
                new_state, done, code, records = out.state, int(out.done), out.code, out.records
            else:
                new_state, done, code, records = solver.step(state), 1, CONTINUE, None
        except Exception as exc:  # noqa: BLE001 - only mathopt's own numerical failures become a status
            if not is_numerical_failure(exc):
                raise
            status, reporter.message = Status.NUMERICAL_ERROR, failure_message(exc)
            break
        after = time.perf_counter()
        new_info = solver.info(new_state, nit + done, after - reporter.start)
        if compiled:
            chunks.update((after - before) / max(done, 1), time.perf_counter() - after, after - reporter.start)
            reporter.records(records, nit + 1, done - 1)
        method_status = from_code(code)
        if method_status is Status.NONFINITE:  # the kernel kept its last finite iterate
            if done > 0 and new_info.is_finite():
                state, info, nit = new_state, new_info, nit + done
                reporter.report(info, Status.NONFINITE)
            status = Status.NONFINITE
            break
        if compiled and done == 0 and method_status is None:
            raise RuntimeError(f"{type(solver).__name__}.advance did no iteration and gave no status")
        if method_status is None and new_info.is_finite():
            method_status = solver.terminate(new_state)
        status = reporter.report(new_info, method_status)
        if status is Status.NONFINITE:
            if compiled:  # the kernel's state has moved on: only the last finite info is left
                state = new_state
            break
        state, info, nit = new_state, new_info, nit + done
    last = reporter.last if reporter.last is not None else info
    reporter.close(last)
    result = solver.finalize(state, status, last, reporter.history())
    if reporter.message:
        result = result.replace(message=reporter.message)
    return result


def make_result(info: IterationInfo, status: Status, history=None, *, result_cls=Result,
                counters: Mapping[str, int] | None = None, message: str = "", **fields) -> Result:
    """A Result from the last :class:`IterationInfo`, downgrading to NONFINITE if needed.

    Every loop (and every solver outside the driver) builds its result here,
    so a NaN is reported the same way whatever path produced it.
    """
    if not info.is_finite() and status is not Status.NONFINITE:
        status, message = Status.NONFINITE, ""
    return result_cls(x=info.x, fun=info.fun, status=status, message=message, nit=info.nit,
                      residuals=dict(info.residuals), history=history, **(counters or {}), **fields)
