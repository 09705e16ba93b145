"""Iterations per second of ``admm-qp`` and ``admm-qp-aa`` against OSQP, side by side in one process.

For each Maros-Meszaros QP, each method runs with its default options (tolerances 1e-6) up to
``--iterations`` iterations or ``--time-limit`` seconds; the rate is the iterations done divided by
the solve time without the setup (ours: the time of ``ADMMSolver.init``, scaling and the first
factorization, measured alone and subtracted; OSQP: ``info.solve_time``, which excludes its setup).
Both rates include what each solver does between iterations: termination tests, penalty updates
with their refactorizations, and for ours the certificate and solution polishing tries. OSQP runs
through its own Python package with eps_abs = eps_rel = 1e-6, ``check_termination`` at its default,
no polishing (as the ``osqp`` peer of ``mathopt bench``). A run that converges before the limit
is marked ``*`` (its rate covers fewer iterations). "kernel alone" is ``admm-qp``'s compiled loop
with a fixed penalty and no tests (``advance`` only, 10 % of ``--iterations`` at most 2 s): the
cost of the iteration itself. Each solver is warmed up once (JIT compilation) before timing.

Run from the repository root (data: ``$MATHOPT_DATA_DIR`` or ``../shared/data``)::

    python benchmarks/bench_admm_rate.py [--problems QSCFXM2,Q25FV47,...] [--iterations 20000] [--time-limit 10]

Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mathopt  # noqa: E402
from mathopt.bench import qp as bq  # noqa: E402
from mathopt.feasibility.admm import ADMMSolver, AdmmQPOptions, AndersonADMMOptions  # noqa: E402

PROBLEMS = "QSCFXM2,QSTAIR,Q25FV47,STADAT1,LISWET1,AUG2DQP"
METHODS = {"admm-qp": AdmmQPOptions, "admm-qp-aa": AndersonADMMOptions}


def ours(problem, method: str, iterations: int, time_limit: float) -> tuple[float, int, bool]:
    """(iterations per second without the setup, iterations, converged) of one run of ``method``."""
    mathopt.solve(problem, method=method, max_iter=30)  # warm-up: loads the compiled kernels
    start = time.perf_counter()
    ADMMSolver(halpern=False).init(problem, METHODS[method](max_iter=iterations))
    setup = time.perf_counter() - start
    start = time.perf_counter()
    result = mathopt.solve(problem, method=method, max_iter=iterations, max_time=time_limit)
    elapsed = time.perf_counter() - start - setup
    return result.nit / max(elapsed, 1e-9), result.nit, result.status.name == "CONVERGED"


def osqp_rate(problem, iterations: int, time_limit: float) -> tuple[float, int, bool]:
    """(iterations per second of OSQP's solve phase, iterations, solved)."""
    import osqp
    import scipy.sparse as sp

    for limit in (30, iterations):  # the first run warms up
        solver = osqp.OSQP()
        solver.setup(sp.triu(problem.P, format="csc"), problem.q, problem.A, problem.l, problem.u, verbose=False,
                     max_iter=limit, eps_abs=1e-6, eps_rel=1e-6, polishing=False, time_limit=float(time_limit))
        result = solver.solve(raise_error=False)
    info = result.info
    return info.iter / max(info.solve_time, 1e-9), int(info.iter), info.status.lower() == "solved"


def kernel_rate(problem, iterations: int) -> float:
    """Iterations per second of ``admm-qp``'s kernel alone: fixed penalty, no tests (at most about 2 s)."""
    options = AdmmQPOptions(max_iter=10**9, penalty_interval=0, check_interval=10**9, polish_interval=0)
    solver = ADMMSolver(halpern=False)
    state = solver.init(problem, options)
    start = time.perf_counter()
    solver.advance(state, 0, 20, False)  # also a warm-up
    per_iteration = (time.perf_counter() - start) / 20
    count = max(20, min(iterations // 10, int(2.0 / max(per_iteration, 1e-9))))
    start = time.perf_counter()
    out = solver.advance(state, 0, count, False)
    return out.done / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default=PROBLEMS)
    parser.add_argument("--iterations", type=int, default=20000)
    parser.add_argument("--time-limit", type=float, default=10.0)
    args = parser.parse_args(argv)
    print("| problem | n + m | admm-qp [it/s] | admm-qp-aa [it/s] | OSQP [it/s] | OSQP / admm-qp | "
          "OSQP / admm-qp-aa | kernel alone [it/s] | iterations (admm-qp / aa / OSQP) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.problems.split(","):
        problem = bq.load("maros-meszaros", name)
        rates = {method: ours(problem, method, args.iterations, args.time_limit) for method in METHODS}
        rates["osqp"] = osqp_rate(problem, args.iterations, args.time_limit)
        kernel = kernel_rate(problem, args.iterations)
        done = " / ".join(f"{nit}{'*' if converged else ''}" for _, nit, converged in rates.values())
        a, b, o = (rates[key][0] for key in ("admm-qp", "admm-qp-aa", "osqp"))
        print(f"| {name} | {problem.n + problem.m} | {a:.0f} | {b:.0f} | {o:.0f} | {o / a:.2f} | {o / b:.2f} | "
              f"{kernel:.0f} | {done} |", flush=True)


if __name__ == "__main__":
    main()
