"""Every QP/LP method with its DEFAULT options on small random feasible LPs and QPs (issue 14):
CONVERGED, and the objective and solution of HiGHS (``scipy.optimize.linprog``) or Clarabel (cvxpy).

Before the early solution polishing (``solver.early_solution``) ``admm-qp`` ended 9 of 24 such LPs
(60 x 100 and similar, seeds 0-3) at MAX_ITER = 10 000; the cases below include three of them."""
import numpy as np
import pytest

import mathopt
from mathopt import Status

LP_METHODS = ("admm-qp", "admm-qp-aa", "halpern-admm", "pdhg-lp", "halpern-pdhg-lp")
QP_METHODS = ("admm-qp", "admm-qp-aa", "halpern-admm")


def _random_problem(seed, m, n, equality, qp=False):
    """min 1/2 x'Px + q'x s.t. Ax = b (or b - s <= Ax <= b + t), 0 <= x <= 2, with b = A x0 for a
    random x0 in [0, 2] (feasible; bounded by the box). Returns the QP and the linprog data."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    b = A @ rng.uniform(0.0, 2.0, n)
    lower, upper = (b, b) if equality else (b - rng.uniform(0, 1, m), b + rng.uniform(0, 1, m))
    q = rng.standard_normal(n)
    M = rng.standard_normal((n, n // 2))
    P = M @ M.T if qp else None
    problem = mathopt.QP(P, q, np.vstack([A, np.eye(n)]), np.concatenate([lower, np.zeros(n)]),
                         np.concatenate([upper, np.full(n, 2.0)]))
    return problem, (A, lower, upper, q)


def _highs(data, equality):
    from scipy.optimize import linprog

    A, lower, upper, q = data
    if equality:
        out = linprog(q, A_eq=A, b_eq=lower, bounds=(0, 2), method="highs")
    else:
        out = linprog(q, A_ub=np.vstack([A, -A]), b_ub=np.concatenate([upper, -lower]), bounds=(0, 2), method="highs")
    assert out.status == 0
    return out.fun, out.x


# (seed, m, n, equality): admm-qp ended (1, 60, 100, eq), (2, 30, 50, ineq) and (3, 60, 100, eq) at
# MAX_ITER before early polishing; the others converged in 50-9 500 iterations
LPS = [(1, 60, 100, True), (2, 30, 50, False), (3, 60, 100, True), (0, 30, 50, True), (1, 100, 60, False)]


@pytest.mark.parametrize("method", LP_METHODS)
@pytest.mark.parametrize("seed, m, n, equality", LPS)
def test_default_options_solve_random_lps(method, seed, m, n, equality, needs_highs):
    problem, data = _random_problem(seed, m, n, equality)
    value, x = _highs(data, equality)
    result = mathopt.solve(problem, method=method)
    assert result.status is Status.CONVERGED, (result.status, result.nit, result.message)
    assert result.fun == pytest.approx(value, rel=1e-5, abs=1e-6)
    if method in QP_METHODS:  # polished to the vertex (PDHG: its 1e-6 residual tolerances only)
        np.testing.assert_allclose(result.x, x, atol=1e-5)


@pytest.mark.parametrize("method", QP_METHODS)
@pytest.mark.parametrize("seed, m, n, equality", [(0, 60, 100, True), (1, 30, 50, False), (2, 100, 60, False)])
def test_default_options_solve_random_qps(method, seed, m, n, equality):
    cp = pytest.importorskip("cvxpy")
    problem, _ = _random_problem(seed, m, n, equality, qp=True)
    x = cp.Variable(problem.n)
    A = problem.A.toarray()
    objective = 0.5 * cp.quad_form(x, cp.psd_wrap(problem.P.toarray())) + problem.q @ x
    value = cp.Problem(cp.Minimize(objective), [A @ x >= problem.l, A @ x <= problem.u]).solve(solver=cp.CLARABEL)
    result = mathopt.solve(problem, method=method)
    assert result.status is Status.CONVERGED, (result.status, result.nit, result.message)
    assert result.fun == pytest.approx(value, rel=1e-5, abs=1e-6)
    np.testing.assert_allclose(result.x, x.value, atol=1e-4)
