"""SciPy's SLSQP and trust-constr as registered reference solvers on :class:`~mathopt.NLP`.

They run SciPy's own loops; mathopt adds what its driver gives every solver:
``max_iter``/``max_time``, non-finite detection, the common callback,
history, and a status decided from the same KKT residuals as every other NLP
solver (:mod:`mathopt.constrained.kkt`), with SciPy's exit codes translated
into :class:`~mathopt.Status`. Multipliers are least-squares estimates at the
returned point (``result.extra["multipliers"]``).

References
----------
.. [1] D. Kraft, "A software package for sequential quadratic programming",
   DFVLR-FB 88-28, 1988 (SLSQP).
.. [2] A. R. Conn, N. I. M. Gould, Ph. L. Toint, "Trust Region Methods", SIAM,
   2000; R. H. Byrd, M. E. Hribar, J. Nocedal, "An interior point algorithm for
   large-scale nonlinear programming", SIAM J. Optim. 9(4), 1999 (trust-constr).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ..core.driver import HistoryRecorder, IterationInfo, Progress
from ..core.nlp import NLP
from ..core.options import check_positive
from ..core.registry import register
from ..core.result import Result
from ..core.status import Status
from .kkt import evaluate_kkt
from .options import NLPOptions


@dataclass(frozen=True)
class SLSQPOptions(NLPOptions):
    """SciPy SLSQP (sequential least-squares quadratic programming).

    Parameters
    ----------
    ftol : float, default 1e-10
        SLSQP's own stopping tolerance on the change of the objective. SciPy's
        default is 1e-6; mathopt tightens it so that a successful SLSQP exit
        usually meets ``stationarity_tol``.
    """

    ftol: float = 1e-10

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "ftol")


@dataclass(frozen=True)
class TrustConstrOptions(NLPOptions):
    """SciPy trust-constr (Byrd-Omojokun SQP for equalities, interior point with inequalities).

    Parameters
    ----------
    gtol : float, default 1e-9
        SciPy's tolerance on the Lagrangian gradient norm (SciPy default 1e-8).
    xtol : float, default 1e-12
        SciPy's tolerance on the trust-region radius (SciPy default 1e-8);
        tightened so the solve is not stopped before ``feasibility_tol``.
    hessian : {"exact", "bfgs"}, default "exact"
        Use the problem's Lagrangian Hessian (user, JAX or finite differences)
        or SciPy's BFGS approximation.
    """

    gtol: float = 1e-9
    xtol: float = 1e-12
    hessian: str = "exact"

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "gtol")
        check_positive(self, "xtol")
        from ..core.options import check_choice

        check_choice(self, "hessian", ("exact", "bfgs"))


class _Monitor:
    """Counts iterations inside SciPy's loop and applies the common options."""

    def __init__(self, problem: NLP, options: NLPOptions, name: str):
        self.problem, self.options = problem, options
        self.start = time.perf_counter()
        self.nit = 0
        self.stop_status: Status | None = None
        self.nonfinite_seen = False
        self.recorder = HistoryRecorder() if options.history else None
        self.progress = Progress(name, options.progress_every)
        self._probe = problem.evaluator() if (options.history or options.callback or options.verbose) else None

    def watch(self, values):
        if not np.all(np.isfinite(values)):
            self.nonfinite_seen = True
        return values

    def __call__(self, intermediate_result):
        self.nit += 1
        x = np.array(intermediate_result.x, dtype=float)
        elapsed = time.perf_counter() - self.start
        if self._probe is not None:
            fun, residuals, _ = evaluate_kkt(self._probe, x)
            info = IterationInfo(nit=self.nit, x=x, fun=fun, residuals=residuals, elapsed=elapsed)
            if self.recorder is not None:
                self.recorder.append(info)
            self.progress.update(info)
            if self.options.callback is not None and self.options.callback(info):
                self.stop_status = Status.CALLBACK
                raise StopIteration
        if elapsed >= self.options.max_time:
            self.stop_status = Status.MAX_TIME
            raise StopIteration


def _scipy_constraints(ev, problem: NLP, monitor: _Monitor, style: str):
    from scipy.optimize import NonlinearConstraint

    cons = []
    if style == "dict":  # SLSQP: {"type": "ineq"} means fun(x) >= 0
        if problem.n_eq:
            cons.append({"type": "eq", "fun": lambda x: monitor.watch(ev.eq(x)), "jac": _dense_of(ev.eq_jacobian)})
        if problem.n_ineq:
            cons.append({"type": "ineq", "fun": lambda x: -monitor.watch(ev.ineq(x)),
                         "jac": lambda x: -_dense_of(ev.ineq_jacobian)(x)})
        return cons
    if problem.n_eq:
        cons.append(NonlinearConstraint(lambda x: monitor.watch(ev.eq(x)), 0.0, 0.0, jac=ev.eq_jacobian,
                                        hess=_constraint_hess(ev, "eq")))
    if problem.n_ineq:
        cons.append(NonlinearConstraint(lambda x: monitor.watch(ev.ineq(x)), -np.inf, 0.0, jac=ev.ineq_jacobian,
                                        hess=_constraint_hess(ev, "ineq")))
    return cons


def _constraint_hess(ev, kind):
    """Hessian of v . c(x) for trust-constr (objective part removed)."""
    def hess(x, v):
        p = ev.problem
        y_eq = v if kind == "eq" else np.zeros(p.n_eq)
        y_ineq = v if kind == "ineq" else np.zeros(p.n_ineq)
        full = ev.lagrangian_hessian(x, y_eq, y_ineq)
        obj = ev.lagrangian_hessian(x, np.zeros(p.n_eq), np.zeros(p.n_ineq))
        return _dense_of(lambda _: full)(x) - _dense_of(lambda _: obj)(x)
    return hess


def _dense_of(jac):
    def dense(x):
        value = jac(x)
        return value.toarray() if hasattr(value, "toarray") else np.asarray(value, dtype=float)
    return dense


def _bounds(problem: NLP):
    from scipy.optimize import Bounds

    return Bounds(problem.lb, problem.ub) if problem.has_bounds else None


def _finish(problem: NLP, options: NLPOptions, ev, monitor: _Monitor, raw, native_status: Status) -> Result:
    x = np.array(raw.x, dtype=float)
    fun, residuals, mult = evaluate_kkt(ev, x)
    finite = np.all(np.isfinite(x)) and math.isfinite(fun) and all(math.isfinite(v) for v in residuals.values())
    if monitor.stop_status is not None:
        status = monitor.stop_status
    elif not finite:
        status = Status.NONFINITE
    elif options.meets_tolerances(residuals):
        status = Status.CONVERGED
    elif monitor.nonfinite_seen:
        status = Status.NONFINITE
    else:
        status = native_status
    history = monitor.recorder.arrays() if monitor.recorder is not None else None
    message = f"{status.message} (scipy: {raw.message})"
    return Result(x=x, fun=fun, status=status, message=message, nit=int(getattr(raw, "nit", monitor.nit)),
                  nfev=ev.nfev, ngev=ev.ngev, nhev=ev.nhev, residuals=residuals, history=history,
                  extra={"multipliers": mult.as_dict(), "scipy_status": int(raw.status), "njev": ev.njev})


@register("scipy-slsqp", problem=NLP, options=SLSQPOptions, constraints=("eq", "ineq", "bounds"),
          requires=("scipy",), default=True)
def slsqp(problem: NLP, options: SLSQPOptions) -> Result:
    """SciPy's SLSQP (Kraft 1988): SQP with a least-squares QP subproblem and BFGS updates."""
    from scipy.optimize import minimize

    ev = problem.evaluator()
    monitor = _Monitor(problem, options, "scipy-slsqp")
    raw = minimize(lambda x: monitor.watch(ev.fun(x)), problem.x0.copy(), jac=ev.gradient, method="SLSQP",
                   bounds=_bounds(problem), constraints=_scipy_constraints(ev, problem, monitor, "dict"),
                   callback=monitor, options={"maxiter": options.max_iter, "ftol": options.ftol})
    native = {0: Status.CONVERGED_INACCURATE, 9: Status.MAX_ITER, 4: Status.INFEASIBLE,
              99: Status.CALLBACK}.get(int(raw.status), Status.NUMERICAL_ERROR)
    return _finish(problem, options, ev, monitor, raw, native)


@register("scipy-trust-constr", problem=NLP, options=TrustConstrOptions, constraints=("eq", "ineq", "bounds"),
          requires=("scipy",))
def trust_constr(problem: NLP, options: TrustConstrOptions) -> Result:
    """SciPy's trust-constr: Byrd-Omojokun trust-region SQP, with a barrier for inequalities."""
    import warnings

    from scipy.optimize import BFGS, minimize

    ev = problem.evaluator()
    monitor = _Monitor(problem, options, "scipy-trust-constr")
    if options.hessian == "exact":
        p = problem
        hess = lambda x: _dense_of(lambda z: ev.lagrangian_hessian(z, np.zeros(p.n_eq), np.zeros(p.n_ineq)))(x)  # noqa: E731
    else:
        hess = BFGS()
    cons = _scipy_constraints(ev, problem, monitor, "object")
    if options.hessian == "bfgs":
        for c in cons:
            c.hess = BFGS()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SciPy warns about singular Jacobians/delta_grad; the status reports it
        raw = minimize(lambda x: monitor.watch(ev.fun(x)), problem.x0.copy(), jac=ev.gradient, hess=hess,
                       method="trust-constr", bounds=_bounds(problem), constraints=cons, callback=monitor,
                       options={"maxiter": max(options.max_iter, 1), "gtol": options.gtol, "xtol": options.xtol})
    native = {0: Status.MAX_ITER, 1: Status.CONVERGED_INACCURATE, 2: Status.CONVERGED_INACCURATE,
              3: Status.CALLBACK}.get(int(raw.status), Status.NUMERICAL_ERROR)
    return _finish(problem, options, ev, monitor, raw, native)
