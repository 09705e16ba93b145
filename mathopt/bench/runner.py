"""Run solvers over problems: one isolated process per run, dispatched through any Executor.

Each (problem, solver) pair is a :class:`RunTask`, a small picklable record
(the problem travels by name, since NLPs hold closures; the solver's registry
entry travels with it, so solvers registered only in the calling process --
e.g. in a test -- are known to the worker). :func:`execute` runs one task: by
default in a fresh child process (``multiprocessing`` "forkserver" context on
POSIX, with NumPy, SciPy, JAX and mathopt preloaded in the server, else
"spawn") that is killed when it outlives ``time_limit + grace`` seconds, so a
solver that raises, hangs or kills its interpreter is recorded as a failure
and the benchmark goes on.

:func:`run_benchmark` submits the tasks to a :class:`concurrent.futures.Executor`:
by default a thread pool whose threads each drive such child processes; any
other executor (a ``ProcessPoolExecutor``, ``dask.distributed.Client.get_executor()``,
``ray.util.ActorPool``-backed executors) works unchanged because tasks and
:func:`execute` are plain picklable objects.
"""
from __future__ import annotations

import math
import multiprocessing
import os
import sys
import threading
import time
import traceback
from concurrent.futures import Executor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from ..core.registry import SolverSpec

#: Modules imported once by the forkserver, so child processes start warm.
_PRELOAD = ["numpy", "scipy.optimize", "mathopt", "mathopt.constrained.kkt", "mathopt.problems.hs", "jax.numpy"]

FAILURE_STATUSES = ("ERROR", "TIMEOUT", "CRASHED", "UNSUPPORTED")


@dataclass(frozen=True)
class RunTask:
    """One benchmark run: a problem (by suite and name) and a solver, with limits.

    ``time_limit`` is passed to the solver as ``max_time`` and, plus
    ``grace`` seconds (process start, imports, JAX compilation), is the hard
    limit after which the child process is killed.
    """

    suite: str
    problem: str
    solver: str
    max_iter: int = 1000
    time_limit: float = 60.0
    grace: float = 30.0
    options: dict = field(default_factory=dict)
    solver_spec: SolverSpec | None = None
    isolate: bool = True


def execute(task: RunTask) -> dict:
    """Run one task and return its record (a dict of plain values); never raises."""
    start = time.perf_counter()
    if not task.isolate:
        try:
            return _solve_record(task)
        except BaseException as exc:  # noqa: BLE001 - any solver failure becomes a record
            return _failure(task, "ERROR", _describe(exc), time.perf_counter() - start)
    ctx = _context()
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(sender, task), daemon=True)
    process.start()
    sender.close()  # the parent keeps only the reading end, so a dead child reads as EOF
    deadline = task.time_limit + task.grace
    try:
        if receiver.poll(deadline):
            try:
                record = receiver.recv()
            except (EOFError, OSError):
                process.join(5.0)
                record = _failure(task, "CRASHED", f"worker process died (exit code {process.exitcode})",
                                  time.perf_counter() - start)
        else:
            record = _failure(task, "TIMEOUT", f"killed after {deadline:g} s (time limit {task.time_limit:g} s "
                              f"+ grace {task.grace:g} s)", time.perf_counter() - start)
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join(5.0)
    return record


def run_benchmark(problems, solvers, executor: Executor | None = None, *, suite: str = "builtin",
                  max_iter: int = 1000, time_limit: float = 60.0, grace: float = 30.0,
                  workers: int | None = None, isolate: bool = True, options: dict | None = None,
                  progress: bool | None = None) -> list[dict]:
    """Run every solver on every problem and return one record per run.

    Parameters
    ----------
    problems : list of str
        Problem names in ``suite`` (loaded by name in the worker).
    solvers : list of str
        Registered method names (their registry entries travel with the tasks).
    executor : concurrent.futures.Executor, optional
        Where tasks run. Default: a thread pool of ``workers`` threads, each
        driving one child process per run.
    suite : {"builtin", "cutest"}
    max_iter, time_limit : per-run limits (``max_iter`` and ``max_time`` options
        of the solver; ``time_limit + grace`` is the hard kill limit).
    isolate : bool, default True
        Run each task in its own child process (crash and hang isolation).
    options : dict, optional
        ``{solver: {option: value}}`` extra options per solver.
    progress : bool, optional
        Progress bar on standard error (tqdm when installed, else a plain
        counter line); default: on when standard error is a terminal.

    Returns
    -------
    list of dict
        Records in (problem, solver) order; see :mod:`mathopt.bench.report`
        for the fields.
    """
    from ..core.registry import get_solver

    options = options or {}
    specs = {name: get_solver(name) for name in solvers}
    tasks = [RunTask(suite=suite, problem=p, solver=s, max_iter=max_iter, time_limit=time_limit, grace=grace,
                     options=dict(options.get(s, {})), solver_spec=specs[s], isolate=isolate)
             for p in problems for s in solvers]
    own_executor = executor is None
    if own_executor:
        executor = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1)
    bar = _ProgressBar(len(tasks), sys.stderr.isatty() if progress is None else progress)
    records: dict[int, dict] = {}
    try:
        futures = {executor.submit(execute, task): i for i, task in enumerate(tasks)}
        for future in as_completed(futures):
            i = futures[future]
            try:
                records[i] = future.result()
            except BaseException as exc:  # noqa: BLE001 - a lost remote worker is a failed run
                records[i] = _failure(tasks[i], "CRASHED", f"executor error: {_describe(exc)}", math.nan)
            bar.update(records[i])
    finally:
        bar.close()
        if own_executor:
            executor.shutdown(wait=True)
    return [records[i] for i in range(len(tasks))]


# -- inside the worker -------------------------------------------------------------------------
def _child(sender, task: RunTask) -> None:
    try:
        record = _solve_record(task)
    except BaseException as exc:  # noqa: BLE001 - report every failure to the parent
        record = _failure(task, "ERROR", _describe(exc), math.nan)
    try:
        sender.send(record)
    finally:
        sender.close()


def _solve_record(task: RunTask) -> dict:
    import numpy as np

    from ..constrained.kkt import evaluate_kkt
    from ..core import registry
    from .suites import load_problem

    registry.list_solvers()  # load the registered families first
    if task.solver not in registry._REGISTRY and task.solver_spec is not None:
        registry._REGISTRY[task.solver] = task.solver_spec
    setup_start = time.perf_counter()
    problem = load_problem(task.suite, task.problem)
    _warm_up(problem)
    setup_time = time.perf_counter() - setup_start
    reason = registry.get_solver(task.solver).handles(problem)
    if reason:
        return _failure(task, "UNSUPPORTED", reason, 0.0, problem=problem)
    result = registry.solve(problem, method=task.solver, max_iter=task.max_iter, max_time=task.time_limit,
                            **task.options)
    x = np.asarray(result.x, dtype=float)
    fun, residuals = result.fun, {"stationarity": math.nan, "feasibility": math.nan}
    if x.shape == problem.x0.shape and np.all(np.isfinite(x)):
        with np.errstate(all="ignore"):
            fun, residuals, _ = evaluate_kkt(problem.evaluator(), x)
    record = _base(task, problem)
    record.update(status=result.status.name, success=bool(result.success), fun=float(fun),
                  stationarity=float(residuals["stationarity"]), feasibility=float(residuals["feasibility"]),
                  nit=int(result.nit), nfev=int(result.nfev), ngev=int(result.ngev), nhev=int(result.nhev),
                  wall_time=float(result.wall_time), setup_time=setup_time, error="")
    return record


def _warm_up(problem) -> None:
    """Evaluate every derivative oracle once, so JAX compilation is not charged to the solver."""
    import numpy as np

    ev = problem.evaluator()
    x = problem.x0
    ev.gradient(x)
    ev.eq_jacobian(x)
    ev.ineq_jacobian(x)
    ev.lagrangian_hessian(x, np.zeros(problem.n_eq), np.zeros(problem.n_ineq))


def _base(task: RunTask, problem=None) -> dict:
    known = getattr(problem, "known_optimum", None)
    return {"suite": task.suite, "problem": task.problem, "solver": task.solver,
            "n": getattr(problem, "n", None), "n_eq": getattr(problem, "n_eq", None),
            "n_ineq": getattr(problem, "n_ineq", None), "known_optimum": known}


def _failure(task: RunTask, status: str, message: str, elapsed: float, problem=None) -> dict:
    record = _base(task, problem)
    record.update(status=status, success=False, fun=math.nan, stationarity=math.nan, feasibility=math.nan,
                  nit=0, nfev=0, ngev=0, nhev=0, wall_time=float(elapsed), setup_time=math.nan, error=message)
    return record


def _describe(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


_CONTEXT = None
_CONTEXT_LOCK = threading.Lock()


def _context():
    global _CONTEXT
    with _CONTEXT_LOCK:  # the executor's threads may start their first runs together
        if _CONTEXT is not None:
            return _CONTEXT
        if "forkserver" in multiprocessing.get_all_start_methods():
            _CONTEXT = multiprocessing.get_context("forkserver")
            _CONTEXT.set_forkserver_preload(_PRELOAD)
        else:
            _CONTEXT = multiprocessing.get_context("spawn")
        return _CONTEXT


class _ProgressBar:
    """tqdm when installed, else a one-line counter; nothing when disabled."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled, self.done, self._bar = total, enabled, 0, None
        if enabled:
            try:
                from tqdm import tqdm

                self._bar = tqdm(total=total, file=sys.stderr, unit="run", desc="mathopt bench")
            except ImportError:
                pass

    def update(self, record: dict) -> None:
        self.done += 1
        if not self.enabled:
            return
        label = f"{record['problem']}/{record['solver']}: {record['status']}"
        if self._bar is not None:
            self._bar.set_postfix_str(label, refresh=False)
            self._bar.update(1)
        else:
            print(f"\r[{self.done}/{self.total}] {label:<60}", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.enabled:
            print(file=sys.stderr)
