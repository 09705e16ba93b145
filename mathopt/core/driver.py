"""The library-owned iteration loop shared by every iterative solver.

A solver implements the small contract of :class:`IterativeSolver`
(``init`` / ``step`` / ``terminate`` / ``info`` / ``finalize``); :func:`run`
owns the loop and gives every solver, with no code of its own:

* ``max_iter`` and ``max_time`` limits (``Status.MAX_ITER``, ``Status.MAX_TIME``);
* non-finite detection: a NaN or inf in the iterate, objective or residuals
  stops the run with ``Status.NONFINITE`` (never a silent NaN answer);
* the callback ``callback(info) -> bool | None`` (True stops, ``Status.CALLBACK``);
* history recording (``history=True``) and the opt-in progress display.

Solvers whose whole loop is compiled (JAX ``lax.while_loop`` or Numba) use
:func:`mathopt.core.jax_utils.jax_while_loop` or :func:`run_chunked` (a
compiled kernel advanced by chunks of iterations) when no callback is given,
and build their result with :func:`make_result` so the non-finite check and
history conventions are the same.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from .options import CommonOptions
from .result import Result
from .status import Status


@dataclass(frozen=True)
class IterationInfo:
    """What the callback and the history see after each iteration."""

    nit: int
    x: np.ndarray
    fun: float
    residuals: Mapping[str, float] = field(default_factory=dict)
    elapsed: float = 0.0
    extra: Mapping[str, Any] = field(default_factory=dict)

    def is_finite(self) -> bool:
        return bool(np.all(np.isfinite(self.x)) and math.isfinite(self.fun)
                    and all(math.isfinite(v) for v in self.residuals.values()))


class IterativeSolver:
    """The solver contract (a jaxopt/optimistix-style split of one method).

    Subclasses implement:

    ``init(problem, options) -> state``
        Set up; evaluate what the first check needs.
    ``step(state) -> state``
        One iteration.
    ``terminate(state) -> Status | None``
        A status when the method's own stopping test fires (``CONVERGED``,
        ``INFEASIBLE``, ...), else None. Limits are the driver's job.
    ``info(state, nit, elapsed) -> IterationInfo``
        The current point, objective and residuals.
    ``finalize(state, status, info, history) -> Result``
        Build the result (``make_result`` does the common part).
    """

    def init(self, problem, options):
        raise NotImplementedError

    def step(self, state):
        raise NotImplementedError

    def terminate(self, state) -> Status | None:
        return None

    def info(self, state, nit: int, elapsed: float) -> IterationInfo:
        raise NotImplementedError

    def finalize(self, state, status: Status, info: IterationInfo, history) -> Result:
        return make_result(info, status, history)


class HistoryRecorder:
    """Per-iteration records of ``fun`` and every residual, as arrays at the end."""

    def __init__(self):
        self._rows: list[dict[str, float]] = []

    def append(self, info: IterationInfo) -> None:
        row = {"nit": float(info.nit), "fun": info.fun, "time": info.elapsed}
        row.update(info.residuals)
        self._rows.append(row)

    def arrays(self) -> dict[str, np.ndarray]:
        keys = list(dict.fromkeys(k for row in self._rows for k in row))
        return {k: np.array([row.get(k, np.nan) for row in self._rows]) for k in keys}


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


def _limit_status(options: CommonOptions, info: IterationInfo, nit: int, elapsed: float) -> Status | None:
    """The user-set stops, in the order every loop applies them: callback, max_iter, max_time."""
    if options.callback is not None and options.callback(info):
        return Status.CALLBACK
    if nit >= options.max_iter:
        return Status.MAX_ITER
    if elapsed >= options.max_time:
        return Status.MAX_TIME
    return None


def run(solver: IterativeSolver, problem, options: CommonOptions, name: str = "") -> Result:
    """Drive ``solver`` on ``problem`` with the common options."""
    start = time.perf_counter()
    recorder = HistoryRecorder() if options.history else None
    progress = Progress(name or type(solver).__name__, options.progress_every)
    state = solver.init(problem, options)
    nit = 0
    while True:
        elapsed = time.perf_counter() - start
        info = solver.info(state, nit, elapsed)
        if recorder is not None:
            recorder.append(info)
        if not info.is_finite():
            status = Status.NONFINITE
            break
        progress.update(info)
        status = solver.terminate(state)
        if status is not None:
            break
        status = _limit_status(options, info, nit, elapsed)
        if status is not None:
            break
        state = solver.step(state)
        nit += 1
    progress.update(info, force=True)
    history = recorder.arrays() if recorder is not None else None
    return solver.finalize(state, status, info, history)


CHUNK = 25  # iterations per kernel call in run_chunked when only max_time / verbose need checks


def run_chunked(advance: Callable, info: Callable, options: CommonOptions, name: str = ""):
    """The loop of :func:`run` for a compiled kernel that advances many iterations per call.

    ``advance(nit, k) -> (iterations_done, converged, records)`` runs up to
    ``k`` iterations inside compiled code (Numba or JAX); ``records`` is a dict
    of per-iteration arrays (length ``iterations_done``) concatenated into the
    history. ``info(nit, elapsed) -> IterationInfo`` describes the current point.
    Without callback, time limit or progress display the whole budget is one
    kernel call (the whole loop compiled); with a callback the kernel runs one
    iteration per call, so the callback sees every iteration; with
    ``verbose`` it runs chunks of ``verbose`` iterations; with only
    ``max_time`` it starts with ``CHUNK`` iterations, then sizes each call
    from the measured speed so that ``info`` (which may cost several passes
    over the data, e.g. rounding a transport plan) takes at most 5% of the
    time, never past the time left. Limits, callback, non-finite detection and progress behave as
    in :func:`run`. Returns ``(status, last info, history)``; ``history`` (with
    ``nit``) is None unless ``options.history``.
    """
    start = time.perf_counter()
    progress = Progress(name, options.progress_every)
    adaptive = False
    if options.callback is not None:
        chunk = 1
    elif options.progress_every:
        chunk = options.progress_every
    elif math.isfinite(options.max_time):
        chunk, adaptive = CHUNK, True
    else:
        chunk = max(options.max_iter, 1)
    records: dict[str, list] = {}
    nit = 0
    current = info(0, 0.0)
    while True:
        if not current.is_finite():
            status = Status.NONFINITE
            break
        if nit >= options.max_iter:
            status = Status.MAX_ITER
            break
        before = time.perf_counter()
        done, converged, rec = advance(nit, min(chunk, options.max_iter - nit))
        nit += done
        for key, values in rec.items():
            records.setdefault(key, []).append(np.asarray(values[:done], dtype=float))
        elapsed = time.perf_counter() - start
        current = info(nit, elapsed)
        if adaptive and done > 0:
            chunk = _next_chunk((start + elapsed - before) / done, time.perf_counter() - start - elapsed,
                                options.max_time - elapsed)
        progress.update(current)
        if not current.is_finite():
            status = Status.NONFINITE
            break
        if converged:
            status = Status.CONVERGED
            break
        status = _limit_status(options, current, nit, elapsed)
        if status is not None:
            break
    progress.update(current, force=True)
    history = None
    if options.history:
        history = {k: np.concatenate(v) if v else np.zeros(0) for k, v in records.items()}
        history["nit"] = np.arange(1, len(next(iter(history.values()), [])) + 1, dtype=float)
    return status, current, history


def _next_chunk(seconds_per_iteration: float, info_seconds: float, seconds_left: float) -> int:
    """Iterations for the next kernel call of :func:`run_chunked` under a time limit: enough that the
    ``info`` call costs at most 5% of the kernel's time (at least CHUNK), and no more than the time
    left allows at the measured speed (at least 1)."""
    seconds_per_iteration = max(seconds_per_iteration, 1e-9)
    wanted = max(CHUNK, math.ceil(info_seconds / (0.05 * seconds_per_iteration)))
    affordable = max(1, math.ceil(seconds_left / seconds_per_iteration))
    return min(wanted, affordable)


def make_result(info: IterationInfo, status: Status, history=None, *, result_cls=Result,
                counters: Mapping[str, int] | None = None, message: str = "", **fields) -> Result:
    """A Result from the last :class:`IterationInfo`, downgrading to NONFINITE if needed.

    Compiled loops call this too, so a NaN produced inside a compiled loop is
    reported the same way as one seen by :func:`run`.
    """
    if not info.is_finite() and status is not Status.NONFINITE:
        status, message = Status.NONFINITE, ""
    return result_cls(x=info.x, fun=info.fun, status=status, message=message, nit=info.nit,
                      residuals=dict(info.residuals), history=history, **(counters or {}), **fields)
