"""The loop shared by the compiled (Numba) transport solvers.

A kernel advances the method by up to ``k`` iterations inside compiled code.
Without callback, time limit or progress display the whole budget is one
kernel call (the whole loop compiled); otherwise the Python loop below calls
the kernel for one iteration (callback) or for short chunks (time limit,
progress), so the common options behave as in :func:`mathopt.core.driver.run`.
"""
from __future__ import annotations

import math
import time
from typing import Callable

import numpy as np

from ..core.driver import IterationInfo, Progress
from ..core.status import Status

_CHUNK = 25  # iterations per kernel call when only max_time / verbose need checks


def chunked_loop(advance: Callable, info: Callable, options, name: str):
    """Drive ``advance(nit, k) -> (iterations_done, converged, records)``.

    ``info(nit, elapsed) -> IterationInfo`` describes the current point;
    ``records`` is a dict of per-iteration arrays (length iterations_done)
    concatenated into the history. Returns (status, last info, history).
    """
    start = time.perf_counter()
    progress = Progress(name, options.progress_every)
    if options.callback is not None:
        chunk = 1
    elif math.isfinite(options.max_time) or options.progress_every:
        chunk = options.progress_every or _CHUNK
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
        done, converged, rec = advance(nit, min(chunk, options.max_iter - nit))
        nit += done
        for key, values in rec.items():
            records.setdefault(key, []).append(np.asarray(values[:done], dtype=float))
        elapsed = time.perf_counter() - start
        current = info(nit, elapsed)
        progress.update(current)
        if not current.is_finite():
            status = Status.NONFINITE
            break
        if converged:
            status = Status.CONVERGED
            break
        if options.callback is not None and options.callback(current):
            status = Status.CALLBACK
            break
        if elapsed >= options.max_time:
            status = Status.MAX_TIME
            break
    progress.update(current, force=True)
    history = None
    if options.history:
        history = {k: np.concatenate(v) if v else np.zeros(0) for k, v in records.items()}
        history["nit"] = np.arange(1, len(next(iter(history.values()), [])) + 1, dtype=float)
    return status, current, history


def plan_info(problem, plan, nit, elapsed, **extra_residuals) -> IterationInfo:
    """IterationInfo of a dense plan: x = plan.ravel(), fun = F(plan), marginal error."""
    residuals = {"marginal": problem.marginal_error(plan), **extra_residuals}
    return IterationInfo(nit=nit, x=plan.ravel(), fun=problem.value(plan), residuals=residuals, elapsed=elapsed)
