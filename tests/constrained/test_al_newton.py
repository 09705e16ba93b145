"""al-newton: known optima (HS6, HS7, HS28), a random convex QP in one Newton step, robustness."""
import numpy as np
import pytest

import mathopt
from mathopt import Status
from mathopt.constrained import _exact_al
from mathopt.problems import hs

from . import problems as P

METHOD = "al-newton"


@pytest.mark.parametrize("name", ["HS6", "HS7", "HS28"])
def test_hock_schittkowski_optima(name):
    P.assert_solves_hs(METHOD, name)


def test_hs7_solution_point():
    result = P.assert_solves_hs(METHOD, "HS7")
    np.testing.assert_allclose(result.x, [0.0, np.sqrt(3.0)], atol=1e-7)


def test_random_qp_closed_form_in_one_newton_step():
    result = P.assert_solves_qp(METHOD, x_tol=1e-10, multiplier_tol=1e-9)
    assert result.nit == 1  # an exact Newton step solves an equality QP


@pytest.mark.parametrize("name", ["HS7", "BT8"])
def test_merit_gradient_matches_finite_differences(name):
    """grad L_{mu,nu} = ((I + nu H) grad_x L + mu G^T c, c + nu G grad_x L), H the Lagrangian Hessian.

    The problems have nonlinear constraints, so the Hessian of the Lagrangian
    differs from the objective's (using the latter fails this test).
    """
    problem = hs.load(name)
    n, m = problem.n, problem.n_eq
    solver, ev = _exact_al.ExactALNewton, problem.evaluator()
    rng = np.random.default_rng(3)
    x, lam, mu, nu = problem.x0 + 0.3 * rng.standard_normal(n), rng.standard_normal(m), 2.5, 0.7
    point = solver._evaluate(ev, x, lam)
    gx, gl = _exact_al.merit_gradient(point, solver._hessian(ev, point), mu, nu)

    def merit(z):
        return _exact_al.merit_value(solver._evaluate(ev, z[:n], z[n:]), mu, nu)

    z, h = np.concatenate([x, lam]), 1e-6
    fd = np.array([(merit(z + h * e) - merit(z - h * e)) / (2 * h) for e in np.eye(n + m)])
    np.testing.assert_allclose(np.concatenate([gx, gl]), fd, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(fd).max()))


@pytest.mark.parametrize("name", ["HS27", "HS56", "HS61", "BT7", "BT8"])
def test_previously_failing_problems_solved(name):
    """These five stopped with NUMERICAL_ERROR before the paper's penalty update and the null-space shift."""
    P.assert_solves_hs(METHOD, name)


def test_null_space_projector():
    G = np.array([[1.0, 2.0, 0.0], [2.0, 4.0, 0.0]])  # rank 1
    P_ = _exact_al.ExactALNewton._null_space_projector(G, 3)
    np.testing.assert_allclose(P_ @ G.T, 0.0, atol=1e-12)
    np.testing.assert_allclose(P_ @ P_, P_, atol=1e-12)
    assert np.isclose(np.trace(P_), 2.0)


def test_inconsistent_constraints_reported_infeasible():
    result = mathopt.solve(P.inconsistent(), method=METHOD)
    assert result.status is Status.INFEASIBLE
    assert "inconsistent" in result.message
    np.testing.assert_allclose(result.x[0], 0.5, atol=1e-8)  # least-squares point of the constraints


def test_rank_deficient_jacobian_still_solved():
    P.assert_rank_deficient_solved(METHOD, atol=1e-8)


def test_nan_from_objective_gives_nonfinite():
    result = mathopt.solve(P.nan_objective(), method=METHOD)
    assert result.status is Status.NONFINITE


def test_unbounded_objective_reported():
    result = mathopt.solve(P.unbounded(), method=METHOD)
    assert result.status is Status.UNBOUNDED


def test_sparse_jacobian_and_hessian_give_the_dense_answer():
    problem, x_star, _ = P.sparse_qp(seed=1)
    result = mathopt.solve(problem, method=METHOD)
    assert result.status is Status.CONVERGED
    np.testing.assert_allclose(result.x, x_star, atol=1e-10)


@pytest.mark.parametrize("method", ["al-newton", "al-sketch"])
def test_zero_jacobian_start_is_not_called_infeasible(method):
    """x0 is a stationary point of ||c||^2 (J(x0) = 0) but a maximizer of it: no INFEASIBLE claim."""
    result = mathopt.solve(P.circle_from_its_centre(), method=method, seed=0)
    assert result.status is Status.CONVERGED, result.message
    np.testing.assert_allclose(result.x, P.CIRCLE_SOLUTION, atol=1e-6)


@pytest.mark.parametrize("method", ["al-newton", "al-sketch"])
def test_rank_deficient_start_of_a_feasible_problem_is_not_called_infeasible(method):
    result = mathopt.solve(P.rank_deficient(), method=method, seed=0)
    assert result.status is not Status.INFEASIBLE
    assert result.success, result.message


def test_inconsistent_constraints_infeasible_with_its_certificate():
    result = mathopt.solve(P.contradictory(), method=METHOD)
    assert result.status is Status.INFEASIBLE and "locally infeasible" in result.message
    assert result.residuals["infeasibility_stationarity"] <= 1e-8 * result.residuals["feasibility"]
    assert result.residuals["feasibility"] == pytest.approx(0.5)
    assert result.x[0] == pytest.approx(1.5)


def test_nan_jacobian_mid_run_gives_nonfinite_not_a_valueerror():
    """A NaN Jacobian must not reach scipy.linalg.ldl (ValueError): the line search backs off from it,
    else NONFINITE with the last finite iterate."""
    from tests.faults import Countdown

    problem = mathopt.NLP(lambda x: float(x @ x), [2.0, 1.0], gradient=lambda x: 2 * x,
                          eq=lambda x: np.array([x[0] * x[1] - 1.0]),
                          eq_jacobian=Countdown(lambda x: np.array([[x[1], x[0]]]), 3, "nan"))
    result = mathopt.solve(problem, method=METHOD)
    assert result.status is Status.NONFINITE
    assert np.all(np.isfinite(result.x))


def test_penalty_options_use_the_vocabulary():
    """``penalty`` is mu_0, ``penalty_growth`` the factor of mu (rho^2 in the paper): the default is the paper's."""
    a = mathopt.solve(hs.load("BT8"), method=METHOD)
    b = mathopt.solve(hs.load("BT8"), method=METHOD, penalty=1.0, penalty_growth=1.5 ** 2)
    np.testing.assert_array_equal(a.x, b.x)
    assert a.extra["penalty"] >= 1.0 and "inner_iterations" in a.extra
    with pytest.raises(mathopt.OptionError, match="valid options"):
        mathopt.solve(hs.load("BT8"), method=METHOD, mu=2.0)


def _log_barrier_problem(outside):
    """min -log x0 + x0 + x1^2 s.t. x0 = x1 (solution (1/2, 1/2)); NaN for x0 <= 0, where the first
    Newton step from (4, 4) lands. ``outside`` counts the evaluations there."""
    def objective(x):
        outside.append(x[0] <= 0)
        with np.errstate(invalid="ignore"):
            return float(-np.log(x[0]) + x[0] + x[1] ** 2)

    return mathopt.NLP(objective, [4.0, 4.0],
                       gradient=lambda x: np.array([1 - 1 / x[0], 2 * x[1]]) if x[0] > 0 else np.full(2, np.nan),
                       eq=lambda x: np.array([x[0] - x[1]]), eq_jacobian=lambda x: np.array([[1.0, -1.0]]),
                       lagrangian_hessian=lambda x, y, z: (np.diag([1 / x[0] ** 2, 2.0]) if x[0] > 0
                                                           else np.full((2, 2), np.nan)))


@pytest.mark.parametrize("method", ["al-newton", "al-sketch"])
def test_line_search_backs_off_from_nan(method):
    """Issue 18: a trial point with NaN values is a rejected step (as in Ipopt), not the end of the run."""
    outside = []
    result = mathopt.solve(_log_barrier_problem(outside), method=method, seed=0)
    assert any(outside), "the test must meet a NaN"
    assert result.status is Status.CONVERGED, result.message
    np.testing.assert_allclose(result.x, [0.5, 0.5], atol=1e-7)
