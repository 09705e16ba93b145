"""The LP/QP suites of ``mathopt bench``: data, peers and the independent solved criteria.

Suites (files of the shared test-problem collections; see ``../shared/data/README.md``):

* ``maros-meszaros``: the 137 convex QPs of the Maros-Meszaros set (``.mat``, OSQP form),
  read by :func:`mathopt.problems.qp.maros_meszaros`;
* ``netlib-lp``: the 91 feasible Netlib LPs (``.mps.gz``), read by
  :func:`mathopt.problems.lp.read_mps` (column bounds as rows);
* ``netlib-infeas``: the 23 infeasible Netlib LPs, read the same way.

The data folder is ``$MATHOPT_DATA_DIR`` (``mathopt bench --data-dir`` sets it), else
``../shared/data`` from the current directory, else ``../shared/data`` next to the
repository that holds this package. Each suite's folder is ``<data>/<suite>``.

**What is measured, the same way for every solver** (:func:`evaluate`, from the problem data
and the returned primal ``x`` and multipliers ``y`` alone, with the convention
``Px + q + A'y = 0``; ``y`` is first projected on the polar of the recession cone of
``[l, u]``, i.e. its entries of the wrong sign on an infinite bound are set to 0):

* ``feasibility`` :math:`= \\|Ax - \\Pi_{[l,u]}(Ax)\\|_\\infty / (1 + \\max(\\|Ax\\|_\\infty, \\|\\Pi(Ax)\\|_\\infty))`,
* ``stationarity`` :math:`= \\|Px + q + A^Ty\\|_\\infty / (1 + \\max(\\|Px\\|_\\infty, \\|A^Ty\\|_\\infty, \\|q\\|_\\infty))`,
* ``gap`` :math:`= |x^TPx + q^Tx + u^Ty_+ + l^Ty_-| / (1 + \\max(|x^TPx|, |q^Tx|, |u^Ty_+ + l^Ty_-|))`,

relative residuals in the form of OSQP's termination test with ``eps_abs = eps_rel``; and for an
infeasibility verdict ``certified``: the returned certificate passes :func:`primal_certificate_ok`
(or :func:`dual_certificate_ok`), which use no solver code.

**Solved criteria** (:data:`SOLVED_CRITERIA`):

* ``maros-meszaros``: feasibility, stationarity and gap all ``<= 1e-6`` (the tolerance of
  qpbenchmark's "mid accuracy"; qpbenchmark tests the absolute residuals, these are relative
  to ``1 + scale``, which is the absolute test where the scales are below 1);
* ``netlib-lp``: ``|f - f*| <= 1e-6 max(1, |f*|)`` with ``f*`` HiGHS's optimal value
  (:data:`NETLIB_LP_REFERENCE`, made by ``benchmarks/netlib_lp_reference.py``), and feasibility ``<= 1e-6``;
* ``netlib-infeas``: status ``PRIMAL_INFEASIBLE`` with a certificate that passes
  :func:`primal_certificate_ok` at tolerance :data:`CERTIFICATE_TOL`.

**Peers** (:data:`PEERS`, run through their own Python packages with the same iteration and time
limits and tolerance 1e-6): ``osqp`` (eps_abs = eps_rel = 1e-6, no polishing), ``scs`` (cone form,
eps_abs = eps_rel = 1e-6), ``pdlp`` (OR-Tools' PDLP, eps_optimal_absolute = eps_optimal_relative =
1e-6) and ``highs`` (HiGHS's default method, the ground truth). Their multipliers and certificates
are mapped to the convention above.
"""
from __future__ import annotations

import json
import math
import os
import pathlib
import time

import numpy as np

DATA_ENV = "MATHOPT_DATA_DIR"
#: suite name -> (folder under the data directory, file suffix)
QP_SUITES = {"maros-meszaros": ("maros-meszaros", ".mat"), "netlib-lp": ("netlib-lp", ".mps.gz"),
             "netlib-infeas": ("netlib-infeas", ".mps.gz")}
RESIDUAL_TOL = 1e-6
OPTIMUM_RTOL = 1e-6
#: Tolerance of the certificate checks (after scaling the certificate to ||.||_inf = 1).
CERTIFICATE_TOL = 1e-4
NETLIB_LP_REFERENCE = pathlib.Path(__file__).resolve().parent / "reference" / "netlib_lp_optima.json"
SOLVED_CRITERIA = {
    "maros-meszaros": f"feasibility, stationarity and gap (relative, see mathopt.bench.qp) all <= {RESIDUAL_TOL:g} "
                      f"(qpbenchmark's mid-accuracy tolerance)",
    "netlib-lp": f"|f - f*| <= {OPTIMUM_RTOL:g} max(1, |f*|) with f* HiGHS's optimal value, and feasibility <= "
                 f"{RESIDUAL_TOL:g}",
    "netlib-infeas": f"PRIMAL_INFEASIBLE with a certificate y (scaled to ||y||_inf = 1) with ||A'y||_inf <= "
                     f"{CERTIFICATE_TOL:g} and u'y_+ + l'y_- <= -{CERTIFICATE_TOL:g}, checked from the data alone",
}


class DataUnavailable(OSError):
    """The folder of a suite is absent (the message says where it was looked for and how to set it)."""


def data_dir() -> pathlib.Path:
    """``$MATHOPT_DATA_DIR``, else ``./../shared/data``, else ``../shared/data`` beside this repository."""
    if os.environ.get(DATA_ENV):
        return pathlib.Path(os.environ[DATA_ENV]).expanduser().resolve()
    for candidate in (pathlib.Path.cwd().parent / "shared" / "data",
                      pathlib.Path(__file__).resolve().parents[3] / "shared" / "data"):
        if candidate.is_dir():
            return candidate
    return pathlib.Path.cwd().parent / "shared" / "data"


def suite_folder(suite: str) -> pathlib.Path:
    folder = data_dir() / QP_SUITES[suite][0]
    if not folder.is_dir():
        raise DataUnavailable(f"the {suite} problems are not at {folder}: set --data-dir or ${DATA_ENV} to the "
                              f"folder that holds {QP_SUITES[suite][0]}/ (see ../shared/data/README.md)")
    return folder


def problem_path(suite: str, name: str) -> pathlib.Path:
    return suite_folder(suite) / (name + QP_SUITES[suite][1])


def names(suite: str, classification: str | None = None) -> list[str]:
    """Problem names of a suite, sorted; ``classification`` ``"max-size=N"`` keeps those with n + m <= N
    (m counts the rows of the OSQP form: for the MPS suites, the column bounds too)."""
    suffix = QP_SUITES[suite][1]
    found = sorted(p.name[: -len(suffix)] for p in suite_folder(suite).glob("*" + suffix))
    if not classification:
        return found
    key, _, value = classification.partition("=")
    if key.strip() != "max-size" or not value.strip().isdigit():
        raise ValueError(f"--classification for suite {suite!r} must be 'max-size=N' (n + m <= N), got "
                         f"{classification!r}")
    limit = int(value)
    return [name for name in found if sum(size(suite, name)) <= limit]


def size(suite: str, name: str) -> tuple[int, int]:
    """(n, m) of a problem in OSQP form, without building it where the file allows."""
    path = problem_path(suite, name)
    if suite == "maros-meszaros":
        import scipy.io

        shapes = {key: shape for key, shape, _ in scipy.io.whosmat(str(path))}
        m, n = shapes["A"]
        return int(n), int(m)
    problem = load(suite, name)
    return problem.n, problem.m


def check_problems(suite: str, wanted) -> None:
    """DataUnavailable without the suite's folder; UnknownProblemError for names without a file."""
    from .suites import UnknownProblemError

    valid = names(suite)
    unknown = [n for n in wanted if n not in valid]
    if unknown:
        raise UnknownProblemError(f"unknown {suite} problem(s) {', '.join(unknown)}; valid names: {', '.join(valid)}")


def load(suite: str, name: str):
    """The :class:`mathopt.QP` of a problem of a suite."""
    if suite == "maros-meszaros":
        from ..problems.qp import maros_meszaros

        return maros_meszaros(problem_path(suite, name))
    from ..problems.lp import read_mps

    return read_mps(problem_path(suite, name))


def reference_optimum(suite: str, name: str) -> float | None:
    """HiGHS's optimal value of a netlib-lp problem (None for the other suites or an unknown name)."""
    if suite != "netlib-lp" or not NETLIB_LP_REFERENCE.exists():
        return None
    entry = json.loads(NETLIB_LP_REFERENCE.read_text()).get(name)
    return None if entry is None or entry["status"] != "Optimal" else float(entry["objective"])


# -- independent checks --------------------------------------------------------------------------
def _inf(a) -> float:
    return float(np.max(np.abs(a), initial=0.0))


def polar(l, u, y) -> np.ndarray:
    """y with its entries of the wrong sign on infinite bounds set to 0 (y_i > 0 needs u_i finite, y_i < 0 l_i)."""
    y = np.where(np.isinf(u) & (y > 0), 0.0, y)
    return np.where(np.isinf(l) & (y < 0), 0.0, y)


def support(l, u, y) -> float:
    """u'y_+ + l'y_- over the entries with a finite bound (the others are 0 after :func:`polar`)."""
    up, down = np.maximum(y, 0.0), np.minimum(y, 0.0)
    return float(np.sum(np.where(up > 0, u, 0.0) * up) + np.sum(np.where(down < 0, l, 0.0) * down))


def evaluate(problem, x, y) -> dict:
    """The relative residuals ``feasibility``, ``stationarity``, ``gap`` (module docstring) and the objective."""
    x = np.asarray(x, dtype=float)
    nan = {"feasibility": math.nan, "stationarity": math.nan, "gap": math.nan, "fun": math.nan}
    if x.shape != (problem.n,) or not np.all(np.isfinite(x)):
        return nan
    Ax, Px = problem.A @ x, problem.P @ x
    z = np.clip(Ax, problem.l, problem.u)
    xPx, qx = float(x @ Px), float(problem.q @ x)
    out = {"feasibility": _inf(Ax - z) / (1.0 + max(_inf(Ax), _inf(z))), "fun": problem.objective(x),
           "stationarity": math.nan, "gap": math.nan}
    y = None if y is None else np.asarray(y, dtype=float)
    if y is not None and y.shape == (problem.m,) and np.all(np.isfinite(y)):
        y = polar(problem.l, problem.u, y)
        ATy = problem.A.T @ y
        s = support(problem.l, problem.u, y)
        out["stationarity"] = _inf(Px + problem.q + ATy) / (1.0 + max(_inf(Px), _inf(ATy), _inf(problem.q)))
        out["gap"] = abs(xPx + qx + s) / (1.0 + max(abs(xPx), abs(qx), abs(s)))
    return out


def primal_certificate_ok(A, l, u, y, tol=CERTIFICATE_TOL) -> tuple[bool, str]:
    """(ok, why): y != 0 scaled to ||y||_inf = 1 has ||A'y||_inf <= tol and u'y_+ + l'y_- <= -tol
    (an entry of y above tol * 1e-3 on an infinite upper bound, or below on an infinite lower, fails)."""
    y = np.asarray(y, dtype=float)
    size = np.max(np.abs(y), initial=0.0)
    if not np.isfinite(size) or size == 0.0:
        return False, "zero or non-finite certificate"
    y = y / size
    positive, negative = y > tol * 1e-3, y < -tol * 1e-3
    if np.any(positive & np.isinf(u)) or np.any(negative & np.isinf(l)):
        return False, "positive entry on an infinite upper bound (or negative on an infinite lower)"
    value = float(np.sum(u[positive] * y[positive]) + np.sum(l[negative] * y[negative]))
    farkas = _inf(A.T @ y)
    if farkas > tol:
        return False, f"||A'y||_inf = {farkas:.3e} > {tol:g}"
    if value > -tol:
        return False, f"u'y_+ + l'y_- = {value:.3e} is not below -{tol:g}"
    return True, f"||A'y||_inf = {farkas:.2e}, u'y_+ + l'y_- = {value:.3e}"


def dual_certificate_ok(P, q, A, l, u, x, tol=CERTIFICATE_TOL) -> tuple[bool, str]:
    """(ok, why): x != 0 scaled to ||x||_inf = 1 has ||Px||_inf <= tol, q'x <= -tol and Ax in the
    recession cone of [l, u] within tol."""
    x = np.asarray(x, dtype=float)
    size = np.max(np.abs(x), initial=0.0)
    if not np.isfinite(size) or size == 0.0:
        return False, "zero or non-finite certificate"
    x = x / size
    curvature, slope, Ax = _inf(P @ x), float(q @ x), A @ x
    below = float(np.max(-Ax[np.isfinite(l)], initial=-np.inf))
    above = float(np.max(Ax[np.isfinite(u)], initial=-np.inf))
    if curvature > tol:
        return False, f"||Px||_inf = {curvature:.3e} > {tol:g}"
    if slope > -tol:
        return False, f"q'x = {slope:.3e} is not below -{tol:g}"
    if below > tol or above > tol:
        return False, f"Ax leaves the recession cone of [l, u] by {max(below, above):.3e}"
    return True, f"||Px||_inf = {curvature:.2e}, q'x = {slope:.3e}"


def certified(problem, status: str, certificate) -> bool:
    """True when an infeasibility verdict comes with a certificate that passes its check."""
    if certificate is None:
        return False
    if status == "PRIMAL_INFEASIBLE":
        return primal_certificate_ok(problem.A, problem.l, problem.u, certificate)[0]
    if status == "DUAL_INFEASIBLE":
        return dual_certificate_ok(problem.P, problem.q, problem.A, problem.l, problem.u, certificate)[0]
    return False


def is_solved(record: dict) -> bool:
    """The solved criterion of the record's suite (:data:`SOLVED_CRITERIA`)."""
    suite = record.get("suite")
    below = lambda key: (record.get(key) is not None and record[key] <= RESIDUAL_TOL)  # noqa: E731
    if suite == "netlib-infeas":
        return record.get("status") == "PRIMAL_INFEASIBLE" and bool(record.get("certified"))
    if suite == "netlib-lp":
        known, fun = record.get("known_optimum"), record.get("fun")
        if known is None or fun is None or not math.isfinite(fun):
            return False
        return abs(fun - known) <= OPTIMUM_RTOL * max(1.0, abs(known)) and below("feasibility")
    return below("feasibility") and below("stationarity") and below("gap")


# -- peers ---------------------------------------------------------------------------------------
def _osqp(problem, max_iter, time_limit):
    import osqp
    import scipy.sparse as sp

    solver = osqp.OSQP()
    solver.setup(sp.triu(problem.P, format="csc"), problem.q, problem.A, problem.l, problem.u, verbose=False,
                 max_iter=max_iter, eps_abs=RESIDUAL_TOL, eps_rel=RESIDUAL_TOL, eps_prim_inf=1e-5,
                 eps_dual_inf=1e-5, time_limit=float(time_limit), polishing=False)
    result = solver.solve(raise_error=False)
    status = result.info.status.lower()
    if "primal infeasible" in status:
        name, cert = "PRIMAL_INFEASIBLE", result.prim_inf_cert
    elif "dual infeasible" in status:
        name, cert = "DUAL_INFEASIBLE", result.dual_inf_cert
    else:
        name = {"solved": "CONVERGED", "solved inaccurate": "CONVERGED_INACCURATE",
                "maximum iterations reached": "MAX_ITER", "run time limit reached": "MAX_TIME"}.get(
                    status, status.upper().replace(" ", "_"))
        cert = None
    return name, result.x, result.y, None if cert is None else np.array(cert), int(result.info.iter)


def _scs(problem, max_iter, time_limit):
    """SCS on the cone form A_s x + s = b: equality rows in the zero cone, finite upper and lower
    bounds in the nonnegative cone; y per row = y_eq + y_upper - y_lower."""
    import scipy.sparse as sp
    import scs

    A, lower, upper = problem.A.tocsr(), problem.l, problem.u
    eq = np.flatnonzero(lower == upper)
    up = np.flatnonzero(np.isfinite(upper) & (lower != upper))
    lo = np.flatnonzero(np.isfinite(lower) & (lower != upper))
    data = {"A": sp.vstack([A[eq], A[up], -A[lo]], format="csc"), "b": np.concatenate([upper[eq], upper[up],
                                                                                     -lower[lo]]), "c": problem.q}
    if problem.P.nnz:
        data["P"] = sp.triu(problem.P, format="csc")
    solver = scs.SCS(data, {"z": eq.size, "l": up.size + lo.size}, verbose=False, max_iters=max_iter,
                     time_limit_secs=float(time_limit), eps_abs=RESIDUAL_TOL, eps_rel=RESIDUAL_TOL)
    sol = solver.solve()
    info = sol["info"]

    def per_row(ray):
        out = np.zeros(problem.m)
        np.add.at(out, eq, ray[:eq.size])
        np.add.at(out, up, ray[eq.size:eq.size + up.size])
        np.add.at(out, lo, -ray[eq.size + up.size:])
        return out

    status = info["status"].lower()
    y = per_row(np.asarray(sol["y"], dtype=float))
    if status.startswith("infeasible"):
        return "PRIMAL_INFEASIBLE", sol["x"], None, y, int(info["iter"])
    if status.startswith("unbounded"):
        return "DUAL_INFEASIBLE", sol["x"], None, np.asarray(sol["x"], dtype=float), int(info["iter"])
    name = {"solved": "CONVERGED", "solved_inaccurate": "CONVERGED_INACCURATE"}.get(status, status.upper())
    return name, sol["x"], y, None, int(info["iter"])


def _pdlp(problem, max_iter, time_limit):
    """OR-Tools' PDLP (LPs; diagonal-free QPs are not passed): free columns, rows l <= Ax <= u;
    PDLP's multipliers enter the Lagrangian with the other sign (y = -y_pdlp)."""
    from ortools.pdlp import solve_log_pb2, solvers_pb2
    from ortools.pdlp.python import pdlp

    qp = pdlp.QuadraticProgram()
    qp.objective_vector = problem.q
    qp.objective_offset = problem.r
    qp.constraint_matrix = problem.A.tocsr()
    qp.constraint_lower_bounds = problem.l
    qp.constraint_upper_bounds = problem.u
    qp.variable_lower_bounds = np.full(problem.n, -np.inf)
    qp.variable_upper_bounds = np.full(problem.n, np.inf)
    if problem.P.nnz:
        raise ValueError("pdlp (OR-Tools) is run on LPs only here")
    params = solvers_pb2.PrimalDualHybridGradientParams()
    criteria = params.termination_criteria
    criteria.simple_optimality_criteria.eps_optimal_absolute = RESIDUAL_TOL
    criteria.simple_optimality_criteria.eps_optimal_relative = RESIDUAL_TOL
    criteria.iteration_limit = int(max_iter)
    criteria.time_sec_limit = float(time_limit)
    params.num_threads = 1
    result = pdlp.primal_dual_hybrid_gradient(qp, params)
    reason = solve_log_pb2.TerminationReason.Name(result.solve_log.termination_reason)
    y = -np.asarray(result.dual_solution, dtype=float)
    name = {"TERMINATION_REASON_OPTIMAL": "CONVERGED", "TERMINATION_REASON_PRIMAL_INFEASIBLE": "PRIMAL_INFEASIBLE",
            "TERMINATION_REASON_DUAL_INFEASIBLE": "DUAL_INFEASIBLE", "TERMINATION_REASON_ITERATION_LIMIT": "MAX_ITER",
            "TERMINATION_REASON_TIME_LIMIT": "MAX_TIME"}.get(reason, reason.replace("TERMINATION_REASON_", ""))
    x = np.asarray(result.primal_solution, dtype=float)
    cert = y if name == "PRIMAL_INFEASIBLE" else (x if name == "DUAL_INFEASIBLE" else None)
    return name, x, None if cert is not None else y, cert, int(result.solve_log.iteration_count)


def _highs(problem, max_iter, time_limit):
    """HiGHS (default method) on free columns and rows l <= Ax <= u; y = -row_dual (HiGHS: c - A'row_dual = 0),
    and the certificate of an infeasible LP is minus HiGHS's dual ray, in the same convention."""
    import highspy

    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("time_limit", float(time_limit))
    highs.setOptionValue("threads", 1)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = problem.n, problem.m
    lp.col_cost_ = problem.q
    lp.offset_ = problem.r
    lp.col_lower_, lp.col_upper_ = np.full(problem.n, -highspy.kHighsInf), np.full(problem.n, highspy.kHighsInf)
    big = highspy.kHighsInf
    lp.row_lower_ = np.where(np.isinf(problem.l), -big, problem.l)
    lp.row_upper_ = np.where(np.isinf(problem.u), big, problem.u)
    A = problem.A.tocsc()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = A.indptr, A.indices, A.data
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = problem.n, problem.m
    highs.passModel(lp)
    if problem.P.nnz:
        import scipy.sparse as sp

        H = sp.tril(problem.P, format="csc")
        hessian = highspy.HighsHessian()
        hessian.dim_, hessian.format_ = problem.n, highspy.HessianFormat.kTriangular
        hessian.start_, hessian.index_, hessian.value_ = H.indptr, H.indices, H.data
        highs.passHessian(hessian)
    highs.run()
    status = highs.getModelStatus()
    solution = highs.getSolution()
    info = highs.getInfo()
    nit = int(max(info.simplex_iteration_count, info.ipm_iteration_count, info.qp_iteration_count, 0))
    M = highspy.HighsModelStatus
    if status == M.kInfeasible:
        _, has_ray, ray = highs.getDualRay()
        return "PRIMAL_INFEASIBLE", None, None, -np.asarray(ray, dtype=float) if has_ray else None, nit
    if status in (M.kUnbounded, M.kUnboundedOrInfeasible):
        return "DUAL_INFEASIBLE", None, None, None, nit
    name = {M.kOptimal: "CONVERGED", M.kTimeLimit: "MAX_TIME", M.kIterationLimit: "MAX_ITER"}.get(
        status, highs.modelStatusToString(status).upper().replace(" ", "_"))
    return name, np.asarray(solution.col_value), -np.asarray(solution.row_dual), None, nit


#: Peer solvers of the LP/QP suites: name -> (module that must be importable, runner, LP only).
PEERS = {"osqp": ("osqp", _osqp, False), "scs": ("scs", _scs, False), "pdlp": ("ortools", _pdlp, True),
         "highs": ("highspy", _highs, False)}


def peer_available(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(PEERS[name][0]) is not None


def solve_record(task, base, warm_up=None) -> dict:
    """Run ``task`` (a :class:`~mathopt.bench.runner.RunTask` of a QP suite) and return its record fields.

    ``warm_up(problem, task)``, when given, runs before a registry solver's timed solve (untimed, charged
    to ``setup_time``: compiled kernels loaded, as a long-lived process has them)."""
    from ..core import registry

    setup_start = time.perf_counter()
    problem = load(task.suite, task.problem)
    setup_time = time.perf_counter() - setup_start
    record = base(task, problem)
    record.update(n_eq=int(np.sum(problem.l == problem.u)), n_ineq=int(np.sum(problem.l != problem.u)),
                  known_optimum=reference_optimum(task.suite, task.problem))
    if task.solver in PEERS:
        _, runner, lp_only = PEERS[task.solver]
        if lp_only and not problem.is_lp:
            return dict(record, **_empty("UNSUPPORTED", f"{task.solver} runs on LPs only"))
        start = time.perf_counter()
        status, x, y, certificate, nit = runner(problem, task.max_iter, task.time_limit)
        wall = time.perf_counter() - start
    else:
        reason = registry.get_solver(task.solver).handles(problem)
        if reason:
            return dict(record, **_empty("UNSUPPORTED", reason))
        if warm_up is not None:
            warm_start = time.perf_counter()
            warm_up(problem, task)
            setup_time += time.perf_counter() - warm_start
        result = registry.solve(problem, method=task.solver, max_iter=task.max_iter, max_time=task.time_limit,
                                **task.options)
        status, x, y, certificate = result.status.name, result.x, getattr(result, "y", None), result.certificate
        nit, wall = int(result.nit), float(result.wall_time)
    infeasible = status in ("PRIMAL_INFEASIBLE", "DUAL_INFEASIBLE")
    values = evaluate(problem, x if x is not None else np.full(problem.n, np.nan), None if infeasible else y)
    record.update(status=status, success=status == "CONVERGED", fun=float(values["fun"]),
                  stationarity=float(values["stationarity"]), feasibility=float(values["feasibility"]),
                  gap=float(values["gap"]), certified=certified(problem, status, certificate), nit=nit, nfev=0,
                  ngev=0, nhev=0, wall_time=wall, setup_time=setup_time, error="")
    return record


def _empty(status: str, message: str) -> dict:
    return {"status": status, "success": False, "fun": math.nan, "stationarity": math.nan, "feasibility": math.nan,
            "gap": math.nan, "certified": False, "nit": 0, "nfev": 0, "ngev": 0, "nhev": 0, "wall_time": 0.0,
            "setup_time": math.nan, "error": message}
