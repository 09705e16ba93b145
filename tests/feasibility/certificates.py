"""Independent checks of infeasibility certificates (no mathopt solver code is used).

``check_certificate(problem, result)`` recomputes, from the problem data alone, the
conditions a certificate must meet (Banjac et al. 2019, Propositions 3.1-3.2), after
normalizing it to ``||.||_inf = 1``:

* primal infeasibility, ``y`` (length m): ``||A'y||_inf <= tol`` and
  ``u'y_+ + l'y_- <= -tol`` (``+inf`` when y has a positive entry on an infinite upper bound
  or a negative one on an infinite lower bound, which fails);
* dual infeasibility, ``x`` (length n): ``||Px||_inf <= tol``, ``q'x <= -tol``,
  ``(Ax)_i >= -tol`` where ``l_i`` is finite and ``(Ax)_i <= tol`` where ``u_i`` is finite.
"""
import numpy as np

from mathopt import Status

#: Default tolerance of the checks (OSQP's infeasibility tolerance is 1e-5; this is looser, 1e-4).
CHECK_TOL = 1e-4


def primal_certificate_ok(A, l, u, y, tol=CHECK_TOL) -> tuple[bool, str]:
    y = np.asarray(y, dtype=float)
    size = np.max(np.abs(y), initial=0.0)
    if not np.isfinite(size) or size == 0.0:
        return False, "zero or non-finite certificate"
    y = y / size
    positive, negative = y > tol * 1e-3, y < -tol * 1e-3
    if np.any(positive & np.isinf(u)) or np.any(negative & np.isinf(l)):
        return False, "positive entry on an infinite upper bound (or negative on an infinite lower)"
    support = float(np.sum(u[positive] * y[positive]) + np.sum(l[negative] * y[negative]))
    farkas = float(np.max(np.abs(A.T @ y), initial=0.0))
    if farkas > tol:
        return False, f"||A'y||_inf = {farkas:.3e} > {tol:g}"
    if support > -tol:
        return False, f"u'y_+ + l'y_- = {support:.3e} is not below -{tol:g}"
    return True, f"||A'y||_inf = {farkas:.2e}, u'y_+ + l'y_- = {support:.3e}"


def dual_certificate_ok(P, q, A, l, u, x, tol=CHECK_TOL) -> tuple[bool, str]:
    x = np.asarray(x, dtype=float)
    size = np.max(np.abs(x), initial=0.0)
    if not np.isfinite(size) or size == 0.0:
        return False, "zero or non-finite certificate"
    x = x / size
    curvature = float(np.max(np.abs(P @ x), initial=0.0))
    slope = float(q @ x)
    Ax = A @ x
    below = float(np.max(-Ax[np.isfinite(l)], initial=-np.inf))
    above = float(np.max(Ax[np.isfinite(u)], initial=-np.inf))
    if curvature > tol:
        return False, f"||Px||_inf = {curvature:.3e} > {tol:g}"
    if slope > -tol:
        return False, f"q'x = {slope:.3e} is not below -{tol:g}"
    if below > tol or above > tol:
        return False, f"Ax leaves the recession cone of [l, u] by {max(below, above):.3e}"
    return True, f"||Px||_inf = {curvature:.2e}, q'x = {slope:.3e}"


def check_certificate(problem, result, tol=CHECK_TOL) -> tuple[bool, str]:
    """(ok, explanation) for the certificate of an infeasibility verdict in ``result``."""
    if result.status is Status.PRIMAL_INFEASIBLE:
        return primal_certificate_ok(problem.A, problem.l, problem.u, result.certificate, tol)
    if result.status is Status.DUAL_INFEASIBLE:
        return dual_certificate_ok(problem.P, problem.q, problem.A, problem.l, problem.u, result.certificate, tol)
    return False, f"no infeasibility verdict (status {result.status.name})"
