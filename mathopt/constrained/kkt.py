r"""KKT residuals and least-squares multiplier estimates for :class:`~mathopt.NLP`.

With the Lagrangian convention of :mod:`mathopt.core.nlp`,

.. math::

    \text{stationarity} &= \| \nabla f(x) + J_E(x)^\top y_E + J_I(x)^\top y_I + z \|_\infty ,\\
    \text{feasibility}  &= \max\big(\|c_E(x)\|_\infty,\ \|\max(c_I(x), 0)\|_\infty,\
                            \|\max(\ell - x, x - u, 0)\|_\infty\big),

with ``y_I >= 0`` and ``z = z_u - z_l`` (``z_u, z_l >= 0``). Every NLP solver
reports these two residuals (plus ``complementarity`` when there are
inequalities or bounds), so "solved" means the same for all of them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.problem import is_sparse


@dataclass(frozen=True)
class Multipliers:
    """Lagrange multipliers: equalities, inequalities (>= 0) and bounds (``z_u - z_l``)."""

    eq: np.ndarray
    ineq: np.ndarray
    bounds: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        return {"eq": self.eq, "ineq": self.ineq, "bounds": self.bounds}


def _dense(mat) -> np.ndarray:
    return mat.toarray() if is_sparse(mat) else np.asarray(mat, dtype=float)


def feasibility(problem, x, c_eq=None, c_ineq=None) -> float:
    """Infinity norm of the constraint violation (0 when there are no constraints)."""
    parts = [0.0]
    if problem.n_eq:
        parts.append(np.max(np.abs(c_eq)))
    if problem.n_ineq:
        parts.append(np.max(np.maximum(c_ineq, 0.0)))
    parts.append(np.max(np.maximum(np.maximum(problem.lb - x, x - problem.ub), 0.0), initial=0.0))
    return float(max(parts))


def estimate_multipliers(problem, x, grad, jac_eq, jac_ineq, c_ineq, active_tol: float = 1e-6) -> Multipliers:
    """Least-squares multipliers minimizing the stationarity residual at ``x``.

    Inequalities with ``c_I(x) >= -active_tol`` and bounds within
    ``active_tol`` (relative to ``max(1, |bound|)``) count as active; their
    multipliers are constrained to have the right sign, inactive ones are 0.
    """
    n = problem.n
    columns, lower = [], []
    if problem.n_eq:
        columns.append(_dense(jac_eq).T)
        lower.append(np.full(problem.n_eq, -np.inf))
    active_ineq = np.zeros(problem.n_ineq, dtype=bool)
    if problem.n_ineq:
        active_ineq = c_ineq >= -active_tol
        columns.append(_dense(jac_ineq)[active_ineq].T)
        lower.append(np.zeros(int(active_ineq.sum())))
    finite_ub, finite_lb = np.isfinite(problem.ub), np.isfinite(problem.lb)
    ub = np.where(finite_ub, problem.ub, 0.0)
    lb = np.where(finite_lb, problem.lb, 0.0)
    at_upper = finite_ub & (x >= ub - active_tol * np.maximum(1.0, np.abs(ub)))
    at_lower = finite_lb & (x <= lb + active_tol * np.maximum(1.0, np.abs(lb)))
    eye = np.eye(n)
    columns += [eye[:, at_upper], -eye[:, at_lower]]
    lower += [np.zeros(int(at_upper.sum())), np.zeros(int(at_lower.sum()))]
    matrix = np.hstack(columns) if columns else np.zeros((n, 0))
    if matrix.shape[1] == 0:
        w = np.zeros(0)
    else:
        from scipy.optimize import lsq_linear  # imported here: keeps the registry light

        lo = np.concatenate(lower)
        w = lsq_linear(matrix, -grad, bounds=(lo, np.full(lo.size, np.inf)), method="bvls").x
    k = 0
    y_eq = w[k:k + problem.n_eq]
    k += problem.n_eq
    y_ineq = np.zeros(problem.n_ineq)
    y_ineq[active_ineq] = w[k:k + int(active_ineq.sum())]
    k += int(active_ineq.sum())
    z = np.zeros(n)
    z[at_upper] += w[k:k + int(at_upper.sum())]
    k += int(at_upper.sum())
    z[at_lower] -= w[k:k + int(at_lower.sum())]
    return Multipliers(eq=np.asarray(y_eq, dtype=float), ineq=y_ineq, bounds=z)


def kkt_residuals(problem, x, grad, jac_eq, jac_ineq, c_eq, c_ineq, mult: Multipliers) -> dict[str, float]:
    """Named KKT residuals (infinity norms) at ``x`` for the given multipliers."""
    lag_grad = np.asarray(grad, dtype=float) + mult.bounds
    if problem.n_eq:
        lag_grad = lag_grad + np.asarray(jac_eq.T @ mult.eq).ravel()
    if problem.n_ineq:
        lag_grad = lag_grad + np.asarray(jac_ineq.T @ mult.ineq).ravel()
    res = {"stationarity": float(np.max(np.abs(lag_grad), initial=0.0)),
           "feasibility": feasibility(problem, x, c_eq, c_ineq)}
    if problem.n_ineq or problem.has_bounds:
        comp = [0.0]
        if problem.n_ineq:
            comp.append(np.max(np.abs(mult.ineq * c_ineq)))
        zu, zl = np.maximum(mult.bounds, 0.0), np.maximum(-mult.bounds, 0.0)
        with np.errstate(invalid="ignore"):
            gap_u = np.where(zu > 0, zu * (problem.ub - x), 0.0)
            gap_l = np.where(zl > 0, zl * (x - problem.lb), 0.0)
        comp += [np.max(np.abs(gap_u), initial=0.0), np.max(np.abs(gap_l), initial=0.0)]
        res["complementarity"] = float(max(comp))
    return res


def evaluate_kkt(evaluator, x) -> tuple[float, dict[str, float], Multipliers]:
    """Objective, KKT residuals and least-squares multipliers at ``x``."""
    problem = evaluator.problem
    fun = evaluator.fun(x)
    grad = evaluator.gradient(x)
    c_eq, c_ineq = evaluator.eq(x), evaluator.ineq(x)
    jac_eq, jac_ineq = evaluator.eq_jacobian(x), evaluator.ineq_jacobian(x)
    values = [fun, grad, c_eq, c_ineq] + [j.data if is_sparse(j) else j for j in (jac_eq, jac_ineq)]
    if not all(np.all(np.isfinite(v)) for v in values):  # no NaN reaches the least-squares solve
        nan = float("nan")
        empty = Multipliers(np.full(problem.n_eq, nan), np.full(problem.n_ineq, nan), np.full(problem.n, nan))
        return fun, {"stationarity": nan, "feasibility": nan}, empty
    mult = estimate_multipliers(problem, x, grad, jac_eq, jac_ineq, c_ineq)
    return fun, kkt_residuals(problem, x, grad, jac_eq, jac_ineq, c_eq, c_ineq, mult), mult


#: Relative tolerances of the infeasibility certificate (:class:`InfeasibilityCheck`):
#: ``||P grad phi||_inf <= 1e-6 v max(1, ||J^T||_inf)`` and no curvature of ``phi`` below ``-1e-8 v``
#: (``v`` the violation). The first-order one is 1e-6, not 1e-8: at the minimizers of BRATU2DT and
#: JUNKTURN (folds, least singular value of ``J`` about 1e-9) Gauss-Newton stalls at a relative 2e-8 - 5e-8.
INFEASIBILITY_RTOL = 1e-6
CURVATURE_RTOL = 1e-8


@dataclass(frozen=True)
class InfeasibilityCheck:
    r"""First- and second-order test of :math:`x` as a local minimizer of the infeasibility.

    The measure is :math:`\varphi(x) = \tfrac12\|c_E(x)\|^2 + \tfrac12\|\max(0, c_I(x))\|^2` over the
    bounds. ``stationarity`` is :math:`\|x - \Pi(x - \nabla\varphi)\|_\infty` (``Pi`` the projection on
    the box; without bounds :math:`\|J_E^\top c_E + J_I^\top c_I^+\|_\infty`), tested against
    ``1e-6 violation scale`` with ``scale`` :math:`= \max(1, \|J^\top\|_\infty)` (the largest column
    sum of the violated rows' Jacobian: ``stationarity / (violation scale)`` is the scale-free cosine
    in the infinity norm; at a minimizer where ``J`` is nearly rank deficient, e.g. JUNKTURN,
    the gradient is of the order of the least singular value times the violation); ``curvature`` the least
    eigenvalue of :math:`\nabla^2\varphi = J^\top J + \sum_i c_i \nabla^2 c_i` (violated rows)
    restricted to the variables not held at a bound, NaN when it was not formed (first-order test
    failed, or ``n > 3000``), and ``direction`` its eigenvector when it is negative (a direction
    along which :math:`\varphi` decreases from a stationary point that is a saddle or maximizer,
    e.g. a point where :math:`J = 0`).
    """

    violation: float
    stationarity: float
    curvature: float
    direction: np.ndarray | None
    scale: float = 1.0

    def locally_infeasible(self, feasibility_tol: float) -> bool:
        """A local minimizer of ``phi`` (to the relative tolerance) whose violation is above ``100 feasibility_tol``."""
        v = self.violation
        return bool(v > 100.0 * feasibility_tol and self.stationarity <= INFEASIBILITY_RTOL * v * self.scale
                    and not self.curvature < -CURVATURE_RTOL * v)  # NaN (not formed): first order only


def infeasibility_check(problem, ev, x, c_eq, j_eq, c_ineq, j_ineq, max_n: int = 3000) -> InfeasibilityCheck:
    """:class:`InfeasibilityCheck` at ``x``; the Hessian (two Lagrangian Hessians from ``ev``) only when
    the first-order test holds and ``n <= max_n``."""
    c_eq = np.asarray(c_eq, dtype=float)
    viol = np.maximum(np.asarray(c_ineq, dtype=float), 0.0)
    violation = float(max(np.max(np.abs(c_eq), initial=0.0), np.max(viol, initial=0.0)))
    grad = np.zeros(x.size)
    col_sums = np.zeros(x.size)
    if c_eq.size:
        grad += np.asarray(j_eq.T @ c_eq).ravel()
        col_sums += np.asarray(abs(j_eq).sum(axis=0)).ravel()
    if viol.size:
        grad += np.asarray(j_ineq.T @ viol).ravel()
        col_sums += np.asarray(abs(j_ineq).T @ (viol > 0.0)).ravel()
    scale = float(max(1.0, np.max(col_sums, initial=0.0)))
    projected = x - np.clip(x - grad, problem.lb, problem.ub)
    stationarity = float(np.max(np.abs(projected), initial=0.0))
    nan = InfeasibilityCheck(violation, stationarity, float("nan"), None, scale)
    if not (stationarity <= INFEASIBILITY_RTOL * violation * scale) or x.size > max_n:
        return nan
    near = 1e-8 * np.maximum(1.0, np.abs(x))
    held = ((x <= problem.lb + near) & (grad > 0.0)) | ((x >= problem.ub - near) & (grad < 0.0))
    free = ~held
    rows = [_dense(j_eq)] if c_eq.size else []
    if viol.size:
        rows.append(_dense(j_ineq)[viol > 0.0])
    J = np.vstack(rows) if rows else np.zeros((0, x.size))
    curv = _dense(ev.lagrangian_hessian(x, c_eq, viol)) - _dense(ev.lagrangian_hessian(x, 0.0 * c_eq, 0.0 * viol))
    hess = J.T @ J + 0.5 * (curv + curv.T)
    if not (np.all(np.isfinite(hess)) and np.any(free)):
        return nan
    eig, vec = np.linalg.eigh(hess[np.ix_(free, free)])
    direction = None
    if eig[0] < -CURVATURE_RTOL * violation:
        direction = np.zeros(x.size)
        direction[free] = vec[:, 0]
    return InfeasibilityCheck(violation, stationarity, float(eig[0]), direction, scale)


def minimize_infeasibility(problem, ev, x, max_nfev: int = 200) -> np.ndarray | None:
    r"""A local minimizer of :math:`\varphi = \tfrac12\|c_E\|^2 + \tfrac12\|\max(0, c_I)\|^2` over the
    bounds, from ``x``: SciPy's trust-region reflective Gauss-Newton method (``least_squares``,
    ``method="trf"``) on the residuals :math:`(c_E, \max(0, c_I))`, all its tolerances at ``1e-15``
    (it converges where a quasi-Newton method on :math:`\varphi` stalls on an ill-conditioned
    Jacobian), then up to 5 Gauss-Newton steps (least-squares, on the variables not held at a
    bound, halved until :math:`\varphi` decreases) to polish. None when a function gives
    non-finite values.
    """
    from scipy.optimize import least_squares

    class _Bad(Exception):
        pass

    def residual(z):
        c_eq, c_ineq = ev.eq(z), ev.ineq(z)
        r = np.concatenate([c_eq, np.maximum(c_ineq, 0.0)])
        # a trial point with non-finite values: a huge finite residual, so that the step is rejected
        return r if np.all(np.isfinite(r)) else np.full(r.size, 1e100)

    def jacobian(z):
        parts = []
        if problem.n_eq:
            parts.append(_dense(ev.eq_jacobian(z)))
        if problem.n_ineq:
            parts.append(_dense(ev.ineq_jacobian(z)) * (ev.ineq(z) > 0.0)[:, None])
        J = np.vstack(parts)
        if not np.all(np.isfinite(J)):
            raise _Bad
        return J

    if not (problem.n_eq or problem.n_ineq):
        return None
    lb, ub = problem.lb, problem.ub
    x0 = np.clip(np.asarray(x, dtype=float), lb, ub)
    if not np.all(residual(x0) < 1e100):
        return None
    try:
        fit = least_squares(residual, x0, jac=jacobian, bounds=(lb, ub), method="trf", xtol=1e-15, ftol=1e-15,
                            gtol=1e-15, max_nfev=max_nfev)
        z, r = np.asarray(fit.x, dtype=float), residual(fit.x)
        for _ in range(5):  # Gauss-Newton polish on the variables off their bounds (trf stops on ftol early)
            J = jacobian(z)
            near = 1e-8 * np.maximum(1.0, np.abs(z))
            grad = J.T @ r
            free = ~(((z <= lb + near) & (grad > 0.0)) | ((z >= ub - near) & (grad < 0.0)))
            step = np.zeros(z.size)
            step[free] = -np.linalg.lstsq(J[:, free], r, rcond=None)[0]
            t = 1.0
            while t > 1e-4:
                trial = np.clip(z + t * step, lb, ub)
                r_trial = residual(trial)
                with np.errstate(over="ignore"):
                    better = float(r_trial @ r_trial) <= float(r @ r)
                if better:
                    z, r = trial, r_trial
                    break
                t *= 0.5
            else:
                break
    except (_Bad, np.linalg.LinAlgError):
        return None
    return z if np.all(np.isfinite(z)) else None
