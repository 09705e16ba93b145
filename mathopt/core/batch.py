"""``solve_many``: many problems, one method, through any ``concurrent.futures`` executor.

The batch counterpart of :func:`mathopt.solve` for scientific code: a thread
pool on this machine by default, or a ``ProcessPoolExecutor`` or a Dask
cluster's executor (``mathopt.bench.runner.dask_executor``), the machinery the
benchmark runner uses. Problems hold the user's functions (closures, lambdas),
so outside a thread pool they travel pickled by value with ``cloudpickle``.
"""
from __future__ import annotations

import os
import pickle
from concurrent.futures import Executor, ThreadPoolExecutor


def solve_many(problems, method: str | None = None, *, executor: Executor | None = None,
               workers: int | None = None, return_exceptions: bool = False, **options) -> list:
    """Solve each problem with ``method`` and the same options; results in the order given.

    Parameters
    ----------
    problems : iterable of mathopt problems
    method : str, optional
        As in :func:`mathopt.solve` (None: each problem's default method).
    executor : concurrent.futures.Executor, optional
        Where the solves run. Default: a thread pool of ``workers`` threads
        (compiled kernels and linear algebra release the GIL). With any other
        executor the problems and options are sent with ``cloudpickle``.
    workers : int, optional
        Threads of the default pool (default: the CPU count).
    return_exceptions : bool, default False
        False: the first exception raised by a solve (e.g. by the user's own
        function) is raised here, as ``Executor.map`` does. True: it takes
        that problem's place in the returned list.
    **options
        Options of the method, the same for every problem (see :func:`mathopt.show_options`).

    Returns
    -------
    list of Result (or exceptions, with ``return_exceptions=True``)

    Example
    -------
    >>> import numpy as np, mathopt
    >>> problems = [mathopt.NLP(lambda x, c=c: float((x[0] - c) ** 2), x0=[0.0]) for c in (1.0, 2.0, 3.0)]
    >>> [round(float(r.x[0]), 4) for r in mathopt.solve_many(problems, "scipy-slsqp")]
    [1.0, 2.0, 3.0]
    """
    problems = list(problems)
    own = executor is None
    if own:
        executor = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1)
    local = isinstance(executor, ThreadPoolExecutor)
    try:
        futures = [executor.submit(_solve, (problem, method, options) if local
                                   else pickle_by_value((problem, method, options)))
                   for problem in problems]
        results = []
        for future in futures:
            try:
                results.append(future.result())
            except Exception as exc:  # noqa: BLE001 - the caller chose how to receive it
                if not return_exceptions:
                    for pending in futures:
                        pending.cancel()
                    raise
                results.append(exc)
        return results
    finally:
        if own:
            executor.shutdown(wait=True)


def pickle_by_value(obj) -> bytes:
    """``obj`` pickled with cloudpickle when installed (functions and lambdas defined in scripts travel
    by value), else with the standard pickle; ``pickle.loads`` reads either."""
    try:
        import cloudpickle
    except ImportError:
        return pickle.dumps(obj)
    return cloudpickle.dumps(obj)


def _solve(payload):
    from .registry import solve

    problem, method, options = pickle.loads(payload) if isinstance(payload, bytes) else payload
    return solve(problem, method, **options)
