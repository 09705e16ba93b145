"""Shared pieces of the sequential unconstrained methods (``auglag``, ``penalty``).

Each outer iteration minimizes a smooth merit function over the bounds with
SciPy's L-BFGS-B; this module holds that inner solve, the outer-state
bookkeeping and the KKT residuals (conventions of :mod:`mathopt.constrained.kkt`,
with the method's own multipliers and bound multipliers estimated from the
gradient of the Lagrangian at active bounds).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from ..core.driver import IterationInfo, IterativeSolver, make_result
from ..core.options import check_positive
from ..core.status import Status
from .kkt import InfeasibilityCheck, Multipliers, infeasibility_check, kkt_residuals, minimize_infeasibility
from .options import UnboundedTestOptions


@dataclass(frozen=True)
class SequentialOptions(UnboundedTestOptions):
    """Options shared by the sequential (inner L-BFGS-B) methods.

    Parameters
    ----------
    penalty : float, default 10.0
        Initial penalty parameter ``rho``.
    penalty_max : float, default 1e12
        When ``rho`` exceeds it the solve stops: ``Status.CONVERGED_INACCURATE``
        if the constraints are met; else ``Status.INFEASIBLE`` at a certified local
        minimizer of the infeasibility (reached from the iterate), or
        ``Status.NUMERICAL_ERROR`` (no claim) when the certificate fails.
    inner_max_iter : int, default 1000
        Iteration limit of each L-BFGS-B solve (which also stops, with
        ``Status.UNBOUNDED``, when the merit function falls below
        ``unbounded_threshold``).
    """

    penalty: float = 10.0
    penalty_max: float = 1e12
    inner_max_iter: int = 1000

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "penalty", allow_inf=False)
        check_positive(self, "penalty_max")
        from ..core.options import check_int

        check_int(self, "inner_max_iter", minimum=1)


@dataclass(frozen=True)
class _Run:
    """What one solve works on (kept in the state: the solver object holds no run state)."""

    problem: object
    options: SequentialOptions
    ev: object  # the counting evaluator


@dataclass
class OuterState:
    run: _Run
    x: np.ndarray
    y_eq: np.ndarray
    y_ineq: np.ndarray
    rho: float
    fun: float = float("nan")
    residuals: dict = field(default_factory=dict)
    bounds_mult: np.ndarray | None = None
    status: Status | None = None
    message: str = ""
    inner_iters: int = 0
    stalls: int = 0  # inner solves in a row that did not move the iterate
    eta: float = 0.0
    omega: float = 0.0
    smoothing: float = 0.0
    certificate: InfeasibilityCheck | None = None  # set once rho > penalty_max with violated constraints
    escapes: int = 0  # steps along negative curvature of the infeasibility (away from a saddle of it)
    extra: dict = field(default_factory=dict)


class SequentialMethod(IterativeSolver):
    """Base class: subclasses define ``merit(x, state) -> (value, grad)`` and ``update(state)``."""

    name = ""
    #: L-BFGS-B's relative-reduction stop (``ftol``). Near a solution with a large penalty the
    #: merit's decrease per step falls below rounding of its value, so this test can stop the
    #: inner solve before its gradient tolerance is met; subclasses that need the gradient
    #: tolerance honoured set it to 0.
    inner_ftol = 1e-15

    def init(self, problem, options: SequentialOptions):
        state = OuterState(run=_Run(problem, options, problem.evaluator()), x=problem.x0.copy(),
                           y_eq=np.zeros(problem.n_eq), y_ineq=np.zeros(problem.n_ineq), rho=options.penalty)
        self.setup(state)
        self.measure(state)
        self._certify(state)
        return state

    def setup(self, state: OuterState) -> None:
        """Method-specific initial parameters."""

    # -- pieces used by subclasses -----------------------------------------
    @staticmethod
    def values(ev, x):
        """f, grad f, c_E, J_E, c_I, J_I at x (Jacobians dense or sparse)."""
        return (ev.fun(x), ev.gradient(x), ev.eq(x), ev.eq_jacobian(x), ev.ineq(x), ev.ineq_jacobian(x))

    def minimize(self, state: OuterState, tol: float) -> None:
        """One inner L-BFGS-B solve of the merit function from ``state.x``."""
        from scipy.optimize import minimize

        p, opts = state.run.problem, state.run.options

        def fun(x):
            value, grad = self.merit(x, state)
            if not (math.isfinite(value) and np.all(np.isfinite(grad))):
                raise _NonFinite
            if value < opts.unbounded_threshold:
                raise _Unbounded
            return value, grad

        bounds = list(zip(np.where(np.isfinite(p.lb), p.lb, None), np.where(np.isfinite(p.ub), p.ub, None)))
        x0 = np.clip(state.x, p.lb, p.ub)
        try:
            raw = minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=bounds if p.has_bounds else None,
                           options={"maxiter": opts.inner_max_iter, "gtol": tol, "ftol": self.inner_ftol})
            state.x = np.asarray(raw.x, dtype=float)
            state.inner_iters += int(raw.nit)
        except _NonFinite:
            state.status = Status.NONFINITE
        except _Unbounded:
            state.status, state.message = Status.UNBOUNDED, "the merit function fell below unbounded_threshold"

    def measure(self, state: OuterState) -> None:
        """Objective, multipliers and KKT residuals at ``state.x``."""
        p = state.run.problem
        f, g, c_eq, j_eq, c_ineq, j_ineq = self.values(state.run.ev, state.x)
        state.fun = f
        if not all(np.all(np.isfinite(v)) for v in (f, g, c_eq, c_ineq)):
            state.residuals = {"stationarity": float("nan"), "feasibility": float("nan")}
            return
        grad_lag = g + (np.asarray(j_eq.T @ state.y_eq).ravel() if p.n_eq else 0.0) \
            + (np.asarray(j_ineq.T @ state.y_ineq).ravel() if p.n_ineq else 0.0)
        tol = 1e-8 * np.maximum(1.0, np.abs(state.x))
        z = np.zeros(p.n)
        at_upper = np.isfinite(p.ub) & (state.x >= p.ub - tol)
        at_lower = np.isfinite(p.lb) & (state.x <= p.lb + tol)
        z[at_upper] = np.maximum(-grad_lag[at_upper], 0.0)
        z[at_lower] = np.minimum(-grad_lag[at_lower], 0.0)
        state.bounds_mult = z
        mult = Multipliers(eq=state.y_eq, ineq=state.y_ineq, bounds=z)
        state.residuals = kkt_residuals(p, state.x, g, j_eq, j_ineq, c_eq, c_ineq, mult)
        state.extra = {"c_eq": c_eq, "c_ineq": c_ineq}

    # -- IterativeSolver contract ---------------------------------------------
    def step(self, state: OuterState) -> OuterState:
        state = dataclasses.replace(state)  # a new state: the driver may fall back on the old one
        previous = state.x.copy()
        self.minimize(state, self.inner_tolerance(state))
        if (state.status is None and self._did_not_move(state.x, previous)
                and state.residuals.get("feasibility", 0.0) > state.run.options.feasibility_tol):
            self._escape(state)  # a stationary point of the merit function that is a saddle of ||c||^2
        if state.status is None:
            self.update(state)
            self.measure(state)
            self._check_stall(state, previous)
            self._certify(state)
        return state

    @staticmethod
    def _did_not_move(x, previous) -> bool:
        return bool(np.all(np.abs(x - previous) <= 1e-14 * (1.0 + np.abs(previous))))

    def _check(self, state: OuterState, x) -> InfeasibilityCheck | None:
        """The :class:`~mathopt.constrained.kkt.InfeasibilityCheck` at ``x`` (None: non-finite values)."""
        p, ev = state.run.problem, state.run.ev
        _, _, c_eq, j_eq, c_ineq, j_ineq = self.values(ev, x)
        if not (np.all(np.isfinite(c_eq)) and np.all(np.isfinite(c_ineq))):
            return None
        check = infeasibility_check(p, ev, x, c_eq, j_eq, c_ineq, j_ineq)
        return check if np.isfinite(check.stationarity) else None

    def _infeasibility(self, state: OuterState, x) -> float:
        """``phi(x) = ||c_E||^2 / 2 + ||max(0, c_I)||^2 / 2`` (NaN when not finite)."""
        ev = state.run.ev
        c_eq, viol = ev.eq(x), np.maximum(ev.ineq(x), 0.0)
        return 0.5 * float(c_eq @ c_eq + viol @ viol)

    def _escape(self, state: OuterState) -> bool:
        """Step from a stationary point of ``phi`` that is not a minimizer of it, along negative curvature.

        L-BFGS-B cannot leave a stationary point of the merit function (e.g. a start where the
        constraint Jacobian and the objective's gradient vanish): there the step is
        ``x + t d``, ``d`` the eigenvector of the least (negative) eigenvalue of the Hessian of
        ``phi`` on the free variables, ``t`` the first of ``1, 1/2, ...`` (clipped to the bounds)
        that lowers ``phi``. Returns whether it stepped (counted in ``extra["escapes"]``).
        """
        p, opts = state.run.problem, state.run.options
        check = self._check(state, state.x)
        if check is None or check.direction is None or check.violation <= opts.feasibility_tol:
            return False
        phi0 = self._infeasibility(state, state.x)
        scale = max(1.0, float(np.max(np.abs(state.x), initial=0.0)))
        t = scale
        while t >= 1e-8 * scale:
            trial = np.clip(state.x + t * check.direction, p.lb, p.ub)
            if self._infeasibility(state, trial) < phi0:
                state.x, state.escapes, state.stalls = trial, state.escapes + 1, 0
                return True
            t *= 0.5
        return False

    def _certify(self, state: OuterState, stuck: bool = False) -> None:
        """Once ``rho > penalty_max`` (or the inner solves are ``stuck``) with violated constraints:
        test for local infeasibility.

        The iterate is first moved to a local minimizer of ``phi`` over the bounds
        (:func:`~mathopt.constrained.kkt.minimize_infeasibility`, Gauss-Newton), stepping along negative
        curvature (:meth:`_escape`) from saddles; the certificate of
        :class:`~mathopt.constrained.kkt.InfeasibilityCheck` is then checked there. When it holds
        the iterate becomes that point (the least-infeasible point found) and the method stops with
        ``INFEASIBLE``; otherwise the iterate stays and the stop is ``NUMERICAL_ERROR`` (no claim).
        """
        opts = state.run.options
        violated = state.residuals.get("feasibility", np.inf) > opts.feasibility_tol
        if (state.status is not None or state.certificate is not None
                or not (stuck or state.rho > opts.penalty_max) or not violated):
            return
        restored = dataclasses.replace(state)
        check = self._check(state, state.x)
        for _ in range(4):  # minimize phi; step off a saddle of it and minimize again
            if check is None:
                break
            x = minimize_infeasibility(state.run.problem, state.run.ev, restored.x)
            if x is None:
                check = None
                break
            restored.x = x
            check = self._check(state, restored.x)
            if check is None or check.direction is None or not self._escape(restored):
                break
        if check is not None and check.locally_infeasible(opts.feasibility_tol):
            state.x = restored.x
            self.measure(state)
            state.certificate = check
        else:
            state.certificate = check if check is not None else InfeasibilityCheck(
                float("nan"), float("nan"), float("nan"), None)

    def _check_stall(self, state: OuterState, previous: np.ndarray) -> None:
        """Stop when three inner solves in a row no longer move the iterate."""
        state.stalls = state.stalls + 1 if self._did_not_move(state.x, previous) else 0
        if state.stalls >= 3 and not state.run.options.meets_tolerances(state.residuals):
            feasible = state.residuals.get("feasibility", np.inf) <= state.run.options.feasibility_tol
            if not feasible:  # stuck while infeasible: INFEASIBLE only with the certificate
                self._certify(state, stuck=True)
                if state.certificate.locally_infeasible(state.run.options.feasibility_tol):
                    state.status, state.message = self._infeasible_verdict(state)
                    return
            state.status = Status.CONVERGED_INACCURATE if feasible else Status.NUMERICAL_ERROR
            state.message = "three inner solves in a row did not move the iterate"

    def terminate(self, state: OuterState):
        return self.verdict(state)[0]

    def verdict(self, state: OuterState) -> tuple[Status | None, str]:
        """The method's stopping test at ``state`` and why (no side effects)."""
        if state.status is not None:
            return state.status, state.message
        if state.run.options.meets_tolerances(state.residuals):
            return Status.CONVERGED, ""
        reason = state.run.options.unbounded_reason(state.fun, state.x, state.residuals["feasibility"])
        if reason:
            return Status.UNBOUNDED, reason
        if state.rho > state.run.options.penalty_max:
            if state.residuals["feasibility"] > state.run.options.feasibility_tol:
                return self._infeasible_verdict(state)
            return Status.CONVERGED_INACCURATE, (f"penalty {state.rho:.1e} > penalty_max: feasible, but the "
                                                 "ill-conditioned inner problems did not reach stationarity_tol")
        return None, ""

    @staticmethod
    def _infeasible_verdict(state: OuterState) -> tuple[Status, str]:
        """``rho > penalty_max`` with violated constraints: INFEASIBLE only with a certificate."""
        cert, tol = state.certificate, state.run.options.feasibility_tol
        violation = state.residuals["feasibility"]
        if cert is not None and cert.locally_infeasible(tol):
            return Status.INFEASIBLE, (f"locally infeasible: a local minimizer of ||c||^2 with violation "
                                       f"{cert.violation:.3e} (projected gradient {cert.stationarity:.1e}, least "
                                       f"curvature {cert.curvature:.1e}): the constraints look inconsistent")
        where = "" if cert is None or not np.isfinite(cert.violation) else (
            f"; minimizing ||c||^2 from it reaches violation {cert.violation:.3e}, projected gradient "
            f"{cert.stationarity:.1e}, least curvature {cert.curvature:.1e}")
        return Status.NUMERICAL_ERROR, (f"penalty {state.rho:.1e} > penalty_max with constraint violation "
                                        f"{violation:.3e} at a point that is not a local minimizer of the "
                                        f"infeasibility{where}: no infeasibility claim")

    def info(self, state: OuterState, nit: int, elapsed: float) -> IterationInfo:
        fun = float("nan") if state.status is Status.NONFINITE else state.fun
        return IterationInfo(nit=nit, x=state.x, fun=fun, residuals=dict(state.residuals), elapsed=elapsed,
                             extra={"penalty": state.rho})

    def finalize(self, state: OuterState, status: Status, info: IterationInfo, history):
        p = state.run.problem
        verdict, note = self.verdict(state)
        note = note if verdict is status else ""
        message = f"{status.message}: {note}" if note else ""
        bounds = state.bounds_mult if state.bounds_mult is not None else np.zeros(p.n)
        if status is Status.INFEASIBLE and state.certificate is not None:  # the certificate beside ||c||
            info = dataclasses.replace(info, residuals={
                **info.residuals, "infeasibility_stationarity": state.certificate.stationarity})
        extra = {"multipliers": {"eq": state.y_eq.copy(), "ineq": state.y_ineq.copy(), "bounds": bounds},
                 "penalty": state.rho, "inner_iterations": state.inner_iters, "njev": state.run.ev.njev,
                 "escapes": state.escapes}
        return make_result(info, status, history, counters=state.run.ev.counters(), message=message, extra=extra)


class _NonFinite(Exception):
    pass


class _Unbounded(Exception):
    pass
