"""SciPy's SLSQP and trust-constr as registered reference solvers on :class:`~mathopt.NLP`.

They run SciPy's own loops; :class:`LibraryRun` applies the rules of
:mod:`mathopt.core.driver` from SciPy's callback through
:class:`~mathopt.core.driver.Reporter`: iterate 0 (``x0``) and every SciPy
iterate are reported (callback and history at ``nit = 0..result.nit``),
``max_iter=k`` gives ``k`` iterations, and the run stops with ``CONVERGED``
as soon as the KKT residuals of :mod:`mathopt.constrained.kkt` meet the
tolerances (the same test as every other NLP solver) or with ``UNBOUNDED``
on the unbounded test of :class:`~mathopt.constrained.options.UnboundedTestOptions`.
A NaN or inf from a function ends SciPy's loop at once with ``NONFINITE`` and
the last finite iterate (SciPy would go on with NaN iterates); SciPy's own
numerical failures (e.g. trust-constr's ``ValueError`` on negative curvature)
end it with ``NUMERICAL_ERROR``; SciPy's other exit codes are translated into
:class:`~mathopt.Status`. Multipliers are least-squares estimates at the
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
from dataclasses import dataclass

import numpy as np

from ..core.driver import IterationInfo, Reporter, make_result
from ..core.nlp import NLP
from ..core.options import check_positive
from ..core.problem import is_sparse
from ..core.registry import register
from ..core.result import Result
from ..core.status import Status
from ..core.user import failure_message, is_user_error
from .kkt import evaluate_kkt, feasibility
from .options import UnboundedTestOptions


@dataclass(frozen=True)
class SLSQPOptions(UnboundedTestOptions):
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
class TrustConstrOptions(UnboundedTestOptions):
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


class _Abort(Exception):
    """Raised inside SciPy's loop (by a non-finite function value) to end it."""


class LibraryRun:
    """One solve inside another library's loop (SciPy, Ipopt), under the rules of the driver.

    Iterate 0 (``problem.x0``) is reported before the library starts;
    :meth:`iterate` is called from the library's callback at every later
    iterate and returns True when the run must stop. At each iterate the
    method's own test comes first (the KKT residuals of
    :mod:`mathopt.constrained.kkt` within the tolerances: ``CONVERGED``; the
    unbounded test: ``UNBOUNDED``), then :class:`mathopt.core.driver.Reporter`
    applies the callback, ``max_iter`` and ``max_time``. :meth:`finish` builds
    the result from the last finite iterate reported. The residuals are
    evaluated by a probe evaluator, so those evaluations stay out of the
    solver's counters.
    """

    def __init__(self, problem: NLP, options: UnboundedTestOptions, name: str, abort_on_nonfinite: bool = True):
        self.problem, self.options, self.name = problem, options, name
        self.ev = problem.evaluator()
        self.probe = problem.evaluator()
        self.reporter = Reporter(options, name)
        self.abort_on_nonfinite = abort_on_nonfinite
        self.nit = 0
        self.nonfinite = False
        self.escaped: BaseException | None = None  # an exception of the user's callback, to re-raise as is
        self.note = ""  # why the method stopped, when mathopt decided it (e.g. the unbounded test)
        self.status: Status | None = self._report(problem.x0)

    # -- inside the library's loop -------------------------------------------
    def checked(self, func):
        """``func`` that stops the library's loop on a non-finite value (when aborting is on)."""
        def wrapped(*args):
            value = func(*args)
            data = value.data if is_sparse(value) else value
            if not np.all(np.isfinite(data)):
                self.nonfinite = True
                if self.abort_on_nonfinite:
                    raise _Abort
            return value
        return wrapped

    def iterate(self, x) -> bool:
        """Report the library's next iterate; True when the run must stop."""
        if self.status is not None:
            return True
        self.nit += 1
        try:
            self.status = self._report(x)
        except BaseException as exc:  # the user's callback: re-raised unchanged after the library's loop
            self.escaped = exc
            raise
        return self.status is not None

    def _report(self, x, native: Status | None = None) -> Status | None:
        """Report iterate ``self.nit`` at ``x``; ``native`` is the library's status when it stopped there."""
        x = np.array(x, dtype=float)
        fun, residuals, _ = evaluate_kkt(self.probe, x) if np.all(np.isfinite(x)) else (np.nan, {}, None)
        info = IterationInfo(nit=self.nit, x=x, fun=float(fun), residuals=residuals, elapsed=self.reporter.elapsed())
        method_status = native
        if info.is_finite():
            if self.options.meets_tolerances(residuals):
                method_status = Status.CONVERGED
            else:
                reason = self.options.unbounded_reason(info.fun, x, residuals["feasibility"])
                if reason:
                    self.note, method_status = reason, Status.UNBOUNDED
        return self.reporter.report(info, method_status)

    def run(self, solve):
        """Call ``solve()`` (the library's solve) unless iterate 0 ended the run; its raw result or None."""
        if self.status is not None:
            return None
        try:
            return solve()
        except _Abort:
            self.status = Status.NONFINITE
        except StopIteration:  # our callback's stop, raised through SciPy < 1.17's SLSQP
            if self.status is None:
                raise
        except Exception as exc:  # noqa: BLE001 - only the library's own numerical failures become a status
            if exc is self.escaped or is_user_error(exc) or not isinstance(exc, _LIBRARY_FAILURES):
                raise
            self.status = Status.NUMERICAL_ERROR
            self.reporter.message = failure_message(exc)
        return None

    # -- after the library's loop --------------------------------------------
    def finish(self, x, native: Status, native_message: str, extra=None) -> Result:
        """The result, from the last finite iterate; ``x`` is the library's final point and ``native``
        its status (used when the KKT residuals there do not decide)."""
        if native is Status.CONVERGED:  # the library's own test (e.g. Ipopt's scaled one); ours decides success
            native = Status.CONVERGED_INACCURATE
        if self.status is not None:  # mathopt stopped the library: its exit message says nothing more
            native_message = ""
        else:  # the library stopped on its own
            x = np.array(x, dtype=float)
            if self.nonfinite or not np.all(np.isfinite(x)):
                self.status = Status.NONFINITE
            elif np.array_equal(x, self.reporter.last.x):  # reported already: the library's verdict there
                self.status = native
            else:  # a final point the library did not pass to its callback: one more iterate
                self.nit += 1
                self.status = self._report(x, native) or native
        last = self.reporter.last
        self.reporter.close(last)
        fun, residuals, mult = evaluate_kkt(self.ev, last.x)
        info = IterationInfo(nit=last.nit, x=last.x, fun=fun, residuals=residuals)
        note = "; ".join(filter(None, [self.note, f"{self.name}: {native_message}" if native_message else ""]))
        if self.status is Status.NONFINITE:
            note = "; ".join(filter(None, ["a NaN or inf met (iterates diverging on an unbounded problem "
                                           "also end this way)", note]))
        message = self.reporter.message or (f"{self.status.message} ({note})" if note else self.status.message)
        extra = {"multipliers": mult.as_dict(), "njev": self.ev.njev, **(extra or {})}
        return make_result(info, self.status, self.reporter.history(), counters=self.ev.counters(),
                           message=message, extra=extra)


#: Exceptions of SciPy's or Ipopt's own numerics (never the user's: those are marked) that end a run
#: with NUMERICAL_ERROR instead of escaping (e.g. trust-constr's ValueError on an indefinite system).
_LIBRARY_FAILURES = (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError)


def _scipy_constraints(ev, problem: NLP, checked, style: str):
    from scipy.optimize import NonlinearConstraint

    cons = []
    if style == "dict":  # SLSQP: {"type": "ineq"} means fun(x) >= 0
        if problem.n_eq:
            cons.append({"type": "eq", "fun": checked(ev.eq), "jac": checked(_dense_of(ev.eq_jacobian))})
        if problem.n_ineq:
            ineq, jac = checked(ev.ineq), checked(_dense_of(ev.ineq_jacobian))
            cons.append({"type": "ineq", "fun": lambda x: -ineq(x), "jac": lambda x: -jac(x)})
        return cons
    if problem.n_eq:
        cons.append(NonlinearConstraint(checked(ev.eq), 0.0, 0.0, jac=checked(ev.eq_jacobian),
                                        hess=checked(_constraint_hess(ev, "eq"))))
    if problem.n_ineq:
        cons.append(NonlinearConstraint(checked(ev.ineq), -np.inf, 0.0, jac=checked(ev.ineq_jacobian),
                                        hess=checked(_constraint_hess(ev, "ineq"))))
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


@register("scipy-slsqp", problem=NLP, options=SLSQPOptions, constraints=("eq", "ineq", "bounds"),
          requires=("scipy",), default=True)
def slsqp(problem: NLP, options: SLSQPOptions) -> Result:
    """SciPy's SLSQP (Kraft 1988): SQP with a least-squares QP subproblem and BFGS updates."""
    from scipy.optimize import minimize

    run = LibraryRun(problem, options, "scipy-slsqp")
    ev, checked = run.ev, run.checked

    def callback(intermediate_result):
        # SciPy >= 1.17 passes an OptimizeResult to SLSQP's callback, older versions the iterate itself
        if run.iterate(getattr(intermediate_result, "x", intermediate_result)):
            raise StopIteration

    # SciPy counts iterations that end without a callback call: its own limit is only a backstop.
    constraints = _scipy_constraints(ev, problem, checked, "dict")
    raw = run.run(lambda: minimize(checked(ev.fun), problem.x0.copy(), jac=checked(ev.gradient), method="SLSQP",
                                   bounds=_bounds(problem), constraints=constraints, callback=callback,
                                   options={"maxiter": 2 * options.max_iter + 10, "ftol": options.ftol}))
    if raw is None:
        return run.finish(None, Status.NUMERICAL_ERROR, "")  # stopped by mathopt: the status is set
    # SLSQP exit modes: 0 success, 4 inequality constraints incompatible (the linearized constraints have
    # no solution), 8 positive directional derivative in the line search, 9 iteration limit.
    native = {0: Status.CONVERGED_INACCURATE, 9: Status.MAX_ITER, 4: Status.INFEASIBLE,
              99: Status.CALLBACK}.get(int(raw.status), Status.NUMERICAL_ERROR)
    return run.finish(raw.x, native, str(raw.message), {"scipy_status": int(raw.status)})


@register("scipy-trust-constr", problem=NLP, options=TrustConstrOptions, constraints=("eq", "ineq", "bounds"),
          requires=("scipy",))
def trust_constr(problem: NLP, options: TrustConstrOptions) -> Result:
    """SciPy's trust-constr: Byrd-Omojokun trust-region SQP, with a barrier for inequalities."""
    import warnings

    from scipy.optimize import BFGS, minimize

    run = LibraryRun(problem, options, "scipy-trust-constr")
    ev, checked = run.ev, run.checked
    if options.hessian == "exact":
        p = problem
        hess = checked(lambda x: _dense_of(lambda z: ev.lagrangian_hessian(z, np.zeros(p.n_eq), np.zeros(p.n_ineq)))(x))
    else:
        hess = BFGS()
    cons = _scipy_constraints(ev, problem, checked, "object")
    if options.hessian == "bfgs":
        for c in cons:
            c.hess = BFGS()

    def callback(intermediate_result):
        # trust-constr calls its callback at the starting point of each (barrier) subproblem too, counted
        # as an iteration (``nit``); the first call is iterate 0, reported already.
        if intermediate_result.nit > 1 and run.iterate(intermediate_result.x):
            raise StopIteration

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SciPy warns about singular Jacobians/delta_grad; the status reports it
        raw = run.run(lambda: minimize(checked(ev.fun), problem.x0.copy(), jac=checked(ev.gradient), hess=hess,
                                       method="trust-constr", bounds=_bounds(problem), constraints=cons,
                                       callback=callback, options={"maxiter": options.max_iter + 1,
                                                                   "gtol": options.gtol, "xtol": options.xtol}))
    if raw is None:
        return run.finish(None, Status.NUMERICAL_ERROR, "")  # stopped by mathopt: the status is set
    native = {0: Status.MAX_ITER, 1: Status.CONVERGED_INACCURATE, 2: Status.CONVERGED_INACCURATE,
              3: Status.CALLBACK}.get(int(raw.status), Status.NUMERICAL_ERROR)
    return run.finish(raw.x, native, str(raw.message), {"scipy_status": int(raw.status)})
