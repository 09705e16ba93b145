"""Run solvers over problems: one isolated process per run, dispatched through any Executor.

Each (problem, solver) pair is a :class:`RunTask`, a small picklable record
(the problem travels by name, since NLPs hold closures; the solver's registry
entry travels with it, so solvers registered only in the calling process --
e.g. in a test -- are known to the worker). :func:`execute` runs one task: by
default in a fresh child process (``multiprocessing`` "forkserver" context on
POSIX, with NumPy, SciPy, JAX and mathopt preloaded in the server, else
"spawn") that is killed when it outlives ``time_limit + grace`` seconds, so a
solver that raises, hangs or kills its interpreter is recorded as a failure
and the benchmark goes on. The child leads its own process group (``os.setsid``), and the
whole group is killed when the run ends, so processes a solver started do not outlive it.

CUTEst problems are built once per problem in the calling process before any
run is dispatched (:func:`mathopt.problems.cutest.build`, under a file lock
per problem in pycutest's cache, so concurrent runs never import a half-built
module); the seconds spent are each record's ``build_time``, and a problem that
fails to build is reported once and its runs are recorded as ``BUILD_FAILED``.

:func:`run_benchmark` submits the tasks to a :class:`concurrent.futures.Executor`:
by default a thread pool whose threads each drive such child processes; any
other executor (a ``ProcessPoolExecutor``, a Dask cluster's
``Client.get_executor()``, see :func:`dask_executor`) works unchanged because
tasks and :func:`execute` are plain picklable objects. Inside a daemonic
process (Dask's worker processes, a ``multiprocessing.Pool``), which may not
start multiprocessing children, a run goes to a fresh interpreter
(``python -m mathopt.bench._run_one``) in its own session instead, with the same
time limit and process-group kill.
"""
from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Executor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from ..core.batch import pickle_by_value
from ..core.registry import SolverSpec
from .suites import QP_SUITES

#: Modules imported once by the forkserver, so child processes start warm.
_PRELOAD = ["numpy", "scipy.optimize", "mathopt", "mathopt.constrained.kkt", "mathopt.problems.hs", "jax.numpy"]

FAILURE_STATUSES = ("ERROR", "TIMEOUT", "CRASHED", "UNSUPPORTED")
#: Status of the runs of a problem that could not be built (not a solver failure).
BUILD_FAILED = "BUILD_FAILED"
#: Seconds between progress lines when standard error is not a terminal.
PROGRESS_INTERVAL = 5.0


@dataclass(frozen=True)
class RunTask:
    """One benchmark run: a problem (by suite and name) and a solver, with limits.

    ``time_limit`` is passed to the solver as ``max_time`` and, plus
    ``grace`` seconds (process start, imports, JAX compilation), is the hard
    limit after which the child process (and its process group) is killed.
    ``env`` is set in the worker's environment before the problem is loaded
    (the CUTEst variables of the calling process, for the cutest suite).
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
    env: dict = field(default_factory=dict)


def execute(task: RunTask) -> dict:
    """Run one task and return its record (a dict of plain values); never raises."""
    start = time.perf_counter()
    if not task.isolate:
        try:
            return _solve_record(task)
        except BaseException as exc:  # noqa: BLE001 - any solver failure becomes a record
            return _failure(task, "ERROR", _describe(exc), time.perf_counter() - start)
    if multiprocessing.current_process().daemon:
        # a daemonic process (a Dask worker, a multiprocessing.Pool worker) may not start
        # multiprocessing children: run the task in a fresh interpreter instead
        return _execute_in_subprocess(task, start)
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
                record = _failure(task, "CRASHED", f"worker process died (exit code {process.exitcode})"
                                  f"{_hint() if process.exitcode == 1 else ''}",
                                  time.perf_counter() - start)
        else:
            record = _timed_out(task, start)
    finally:
        receiver.close()
        _kill_group(process)
    return record


def _execute_in_subprocess(task: RunTask, start: float) -> dict:
    """:func:`execute` through ``python -m mathopt.bench._run_one TASK RECORD`` in its own session, killed
    (the whole process group) after ``time_limit + grace`` seconds: the same isolation, from any process."""
    deadline = task.time_limit + task.grace
    with tempfile.TemporaryDirectory(prefix="mathopt-run-") as folder:
        task_path, record_path = os.path.join(folder, "task.pkl"), os.path.join(folder, "record.pkl")
        with open(task_path, "wb") as handle:
            handle.write(pickle_by_value(task))  # solvers defined in scripts travel too
        process = subprocess.Popen([sys.executable, "-m", "mathopt.bench._run_one", task_path, record_path],
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            process.wait(timeout=deadline)
        except subprocess.TimeoutExpired:
            return _timed_out(task, start)
        finally:
            _kill_process_group(process.pid)
            process.wait()
        if not os.path.exists(record_path):
            return _failure(task, "CRASHED", f"worker process died (exit code {process.returncode})",
                            time.perf_counter() - start)
        with open(record_path, "rb") as handle:
            return pickle.load(handle)


def _timed_out(task: RunTask, start: float) -> dict:
    return _failure(task, "TIMEOUT", f"killed after {task.time_limit + task.grace:g} s (time limit "
                    f"{task.time_limit:g} s + grace {task.grace:g} s)", time.perf_counter() - start)


def _subprocess_main(task_path: str, record_path: str) -> None:
    with open(task_path, "rb") as handle:
        task = pickle.load(handle)
    record = _record_or_error(task)
    with open(record_path + ".part", "wb") as handle:
        pickle.dump(record, handle)
    os.replace(record_path + ".part", record_path)


def _kill_group(process) -> None:
    """Kill the child's process group (it called ``os.setsid``), then the child itself."""
    if process.pid is not None:
        _kill_process_group(process.pid)
    if process.is_alive():
        process.kill()
    process.join(5.0)


def _kill_process_group(pid: int) -> None:
    """SIGKILL the process group led by ``pid`` (a run's child started its own session)."""
    if hasattr(os, "killpg"):
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):  # not yet its own group, or already gone
            pass


def _hint() -> str:
    """For a child that exited with a Python error: the missing-``__main__``-guard case, when it may apply."""
    main = sys.modules.get("__main__")
    if getattr(main, "__file__", None) and not hasattr(sys, "ps1"):
        return (f"; if it printed a RuntimeError about `if __name__ == \"__main__\":`, add that guard to "
                f"{main.__file__}")
    return ""


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
        Registered method names (their registry entries travel with the tasks); for the LP/QP
        suites also the peers of :data:`mathopt.bench.qp.PEERS` (osqp, scs, pdlp, highs).
    executor : concurrent.futures.Executor, optional
        Where tasks run. Default: a thread pool of ``workers`` threads, each
        driving one child process per run.
    suite : {"builtin", "cutest", "maros-meszaros", "netlib-lp", "netlib-infeas"}
    max_iter, time_limit : per-run limits (``max_iter`` and ``max_time`` options
        of the solver; ``time_limit + grace`` is the hard kill limit).
    isolate : bool, default True
        Run each task in its own child process (crash and hang isolation).
    options : dict, optional
        ``{solver: {option: value}}`` extra options per solver.
    progress : bool, optional
        True: a progress bar on standard error (tqdm when installed, else a
        plain counter line); False: nothing. Default: the bar when standard
        error is a terminal, else a line every :data:`PROGRESS_INTERVAL`
        seconds (runs done/total, elapsed time, failures) for logs.

    Returns
    -------
    list of dict
        Records in (problem, solver) order; see :mod:`mathopt.bench.report`
        for the fields.

    Raises
    ------
    UnknownProblemError, UnknownMethodError, CUTEstUnavailable
        Before any run: a problem not in the suite, a solver that is unknown,
        not installed or not a solver of the suite's problem class, the cutest suite without
        pycutest/CUTEst.
    DataUnavailable
        Before any run: an LP/QP suite whose data folder is absent (see :mod:`mathopt.bench.qp`).
    RuntimeError
        When called while a worker process re-imports the calling script
        (a script without ``if __name__ == "__main__":``; see docs/benchmarks.md).
    """
    _check_not_in_worker_bootstrap()
    from .suites import check_problems

    problems, options = list(problems), options or {}
    specs = _check_solvers(solvers, suite)
    check_problems(suite, problems)
    workers = workers or os.cpu_count() or 1
    env, build_times, build_errors = {}, {}, {}
    if suite in QP_SUITES:
        from .qp import DATA_ENV, data_dir

        env = {DATA_ENV: str(data_dir())}  # the workers read the files where the caller found them
    if suite == "cutest":
        from ..problems import cutest

        env = cutest.environment()
        build_times, build_errors = _build_cutest(problems, workers)
    tasks = [RunTask(suite=suite, problem=p, solver=s, max_iter=max_iter, time_limit=time_limit, grace=grace,
                     options=dict(options.get(s, {})), solver_spec=specs[s], isolate=isolate, env=env)
             for p in problems for s in solvers]
    records: dict[int, dict] = {i: _failure(task, BUILD_FAILED, build_errors[task.problem], 0.0)
                                for i, task in enumerate(tasks) if task.problem in build_errors}
    own_executor = executor is None
    if own_executor:
        executor = ThreadPoolExecutor(max_workers=workers)
    bar = _ProgressBar(len(tasks), progress)
    try:
        for i in records:
            bar.update(records[i])
        futures = {executor.submit(execute, task): i for i, task in enumerate(tasks) if i not in records}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=PROGRESS_INTERVAL, return_when=FIRST_COMPLETED)
            for future in done:
                i = futures[future]
                try:
                    records[i] = future.result()
                except BaseException as exc:  # noqa: BLE001 - a lost remote worker is a failed run
                    records[i] = _failure(tasks[i], "CRASHED", f"executor error: {_describe(exc)}", math.nan)
                bar.update(records[i])
            bar.tick()
    finally:
        bar.close()
        if own_executor:
            executor.shutdown(wait=True)
    for i, task in enumerate(tasks):
        records[i]["build_time"] = build_times.get(task.problem, math.nan)
    return [records[i] for i in range(len(tasks))]


class _DaskSession:
    """The client (and the LocalCluster it started, if any) behind :func:`dask_executor`."""

    def __init__(self, client, cluster=None):
        self.client, self.cluster = client, cluster

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def dask_executor(address: str, workers: int | None = None):
    """``(executor, session)`` for a Dask cluster: ``address`` of a running scheduler
    (``tcp://host:8786``) or ``"local"`` for a ``LocalCluster`` of ``workers`` single-threaded
    processes on this machine. Each task still runs in its own process, killed (with its
    process group) at its time limit, also inside Dask's daemonic worker processes.
    Close the session with ``session.close()``.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ImportError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
    if address == "local":
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    else:
        cluster, client = None, Client(address)
    return client.get_executor(), _DaskSession(client, cluster)


def _check_solvers(solvers, suite: str = "builtin") -> dict:
    """Registry entries of ``solvers`` (None for the peers of the LP/QP suites, :data:`mathopt.bench.qp.PEERS`);
    UnknownMethodError for unknown or missing solvers, or solvers of another problem class than the suite's."""
    from ..core.nlp import NLP
    from ..core.registry import UnknownMethodError, get_solver, list_solvers

    if not list(solvers):
        raise UnknownMethodError("no solvers given")
    if suite in QP_SUITES:
        from ..feasibility.problem import QP
        from .qp import PEERS, peer_available

        kind, label = QP, "LP/QP"
        specs = {name: None if name in PEERS else get_solver(name) for name in solvers}
        valid = ", ".join([s.name for s in list_solvers(QP) if s.available()]
                          + [f"{p} (peer)" for p in PEERS if peer_available(p)])
        for name in solvers:
            if name in PEERS and not peer_available(name):
                raise UnknownMethodError(f"peer {name!r} needs the Python package {PEERS[name][0]!r}, which is not "
                                         f"installed; available LP/QP solvers: {valid}")
    else:
        kind, label = NLP, "NLP"
        specs = {name: get_solver(name) for name in solvers}
        valid = ", ".join(s.name for s in list_solvers(NLP) if s.available())
    for name, spec in specs.items():
        if spec is None:
            continue
        if not issubclass(kind, spec.problem):
            raise UnknownMethodError(f"method {name!r} solves {spec.problem.__name__} problems, not the "
                                     f"{label} problems of suite {suite!r}; {label} solvers: {valid}")
        if not spec.available():
            raise UnknownMethodError(f"method {name!r} needs {', '.join(spec.requires)}, which is not installed; "
                                     f"available {label} solvers: {valid}")
    return specs


def _build_cutest(problems, workers: int) -> tuple[dict, dict]:
    """Build every CUTEst problem once, ``workers`` at a time: ``({name: seconds}, {name: error})``."""
    from ..problems import cutest

    def build(name):
        try:
            return name, cutest.build(name), None
        except cutest.CUTEstBuildError as exc:
            return name, math.nan, str(exc)

    names = list(dict.fromkeys(problems))
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(names)))) as pool:
        results = list(pool.map(build, names))
    times = {name: seconds for name, seconds, _ in results}
    errors = {name: error for name, _, error in results if error is not None}
    for name, error in errors.items():
        print(f"mathopt bench: CUTEst problem {name} failed to build; its runs are recorded as {BUILD_FAILED}:\n"
              f"{error}", file=sys.stderr, flush=True)
    return times, errors


def _check_not_in_worker_bootstrap() -> None:
    """RuntimeError when a worker process is re-running the calling script's module level.

    The "forkserver" and "spawn" start methods import the parent's ``__main__``
    file again in every child (as ``__mp_main__``); a script that calls
    :func:`run_benchmark` at module level, without ``if __name__ == "__main__":``,
    would start a whole benchmark inside every worker.
    """
    if not (getattr(multiprocessing.current_process(), "_inheriting", False)
            or multiprocessing.parent_process() is not None):
        return
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "<module>" and frame.f_globals.get("__name__") == "__mp_main__":
            raise RuntimeError(
                f"mathopt.bench.run_benchmark was called while a worker process was importing the calling "
                f"script {frame.f_globals.get('__file__', '')!r} (multiprocessing's forkserver/spawn start "
                f"methods import the main script again in every worker). Put the benchmark under\n"
                f"    if __name__ == \"__main__\":\n"
                f"in that script.")
        frame = frame.f_back


# -- inside the worker -------------------------------------------------------------------------
def _child(sender, task: RunTask) -> None:
    if hasattr(os, "setsid"):
        os.setsid()  # a process group of our own: the parent kills it whole
    record = _record_or_error(task)
    try:
        sender.send(record)
    finally:
        sender.close()


def _record_or_error(task: RunTask) -> dict:
    """The run's record, or an ERROR record for any exception (a child reports every failure)."""
    try:
        return _solve_record(task)
    except BaseException as exc:  # noqa: BLE001 - report every failure to the parent
        return _failure(task, "ERROR", _describe(exc), math.nan)


def _solve_record(task: RunTask) -> dict:
    import numpy as np

    from ..constrained.kkt import evaluate_kkt
    from ..core import registry
    from .suites import load_problem

    os.environ.update(task.env)
    registry.list_solvers()  # load the registered families first
    if task.solver not in registry._REGISTRY and task.solver_spec is not None:
        registry._REGISTRY[task.solver] = task.solver_spec
    if task.suite in QP_SUITES:
        from . import qp

        return qp.solve_record(task, _base, _warm_up_solver)
    setup_start = time.perf_counter()
    problem = load_problem(task.suite, task.problem)
    _warm_up(problem)
    setup_time = time.perf_counter() - setup_start
    reason = registry.get_solver(task.solver).handles(problem)
    if reason:
        return _failure(task, "UNSUPPORTED", reason, 0.0, problem=problem)
    setup_start = time.perf_counter()
    _warm_up_solver(problem, task)
    setup_time += time.perf_counter() - setup_start
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


def _warm_up_solver(problem, task: RunTask) -> None:
    """One iteration of the solver on the run's problem, untimed: a Numba kernel is loaded from
    its disk cache (or compiled) and JAX traces the solver's functions on the first call in a
    process, about 0.5-1 s that a long-lived process pays once; it is charged to ``setup_time``,
    not to the solve's ``wall_time``. Errors are left to the timed solve, which reports them."""
    from ..core import registry

    try:
        registry.solve(problem, method=task.solver, max_iter=1, max_time=task.time_limit, **task.options)
    except Exception:  # noqa: BLE001 - the timed solve below meets and records the same error
        pass


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
    """tqdm when installed, else a one-line counter; log lines every few seconds; or nothing.

    ``mode``: True (a bar), False (nothing), None (a bar when standard error
    is a terminal, else :meth:`tick` prints a line every :data:`PROGRESS_INTERVAL` s).
    """

    def __init__(self, total: int, mode: bool | None):
        self.total, self.done, self.failures, self._bar = total, 0, 0, None
        self.lines = mode is None and not sys.stderr.isatty()
        self.enabled = bool(mode) or (mode is None and not self.lines)
        self.start = self.last = time.perf_counter()
        if self.enabled:
            try:
                from tqdm import tqdm

                self._bar = tqdm(total=total, file=sys.stderr, unit="run", desc="mathopt bench")
            except ImportError:
                pass

    def update(self, record: dict) -> None:
        self.done += 1
        self.failures += record["status"] in FAILURE_STATUSES + (BUILD_FAILED,)
        if not self.enabled:
            return
        label = f"{record['problem']}/{record['solver']}: {record['status']}"
        if self._bar is not None:
            self._bar.set_postfix_str(label, refresh=False)
            self._bar.update(1)
        else:
            print(f"\r[{self.done}/{self.total}] {label:<60}", end="", file=sys.stderr, flush=True)

    def tick(self) -> None:
        """In log-line mode, print "runs done/total, elapsed, failures" when the interval has passed."""
        now = time.perf_counter()
        if self.lines and now - self.last >= PROGRESS_INTERVAL:
            self.last = now
            print(f"mathopt bench: {self.done}/{self.total} runs done, {now - self.start:.0f} s elapsed, "
                  f"{self.failures} failed", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.enabled:
            print(file=sys.stderr)
        elif self.lines:
            self.last = -math.inf
            self.tick()

