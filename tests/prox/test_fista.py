"""fista against scikit-learn's Lasso, cvxpy and scipy.optimize.nnls; options and restarts."""
import cvxpy as cp
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import nnls

import mathopt
from mathopt import OptionError, Status
from mathopt.prox.operators import L1Norm, NuclearNorm
from mathopt.sets import NonnegativeOrthant, Simplex

RNG = np.random.default_rng(1)
A = RNG.standard_normal((40, 25))
B = RNG.standard_normal(40)


def _least_squares(g, x0=np.zeros(25), **kwargs):
    return mathopt.CompositeProblem(lambda x: 0.5 * float(np.sum((A @ x - B) ** 2)), g, x0,
                                    grad=lambda x: A.T @ (A @ x - B), **kwargs)


def test_lasso_against_sklearn_and_cvxpy():
    from sklearn.linear_model import Lasso

    lam = 3.0
    result = mathopt.solve(_least_squares(L1Norm(lam)), method="fista", stationarity_tol=1e-9)
    assert result.status is Status.CONVERGED and result.residuals["stationarity"] <= 1e-9
    sk = Lasso(alpha=lam / A.shape[0], fit_intercept=False, tol=1e-14, max_iter=100000).fit(A, B)
    np.testing.assert_allclose(result.x, sk.coef_, atol=1e-7)
    x = cp.Variable(25)
    cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - B) + lam * cp.norm1(x))).solve(solver=cp.CLARABEL)
    np.testing.assert_allclose(result.x, x.value, atol=1e-5)
    assert result.fun == pytest.approx(0.5 * np.sum((A @ result.x - B) ** 2) + lam * np.abs(result.x).sum())
    assert 0 < np.count_nonzero(result.x) < 25  # the l1 term made it sparse


def test_lasso_with_jax_objective_and_default_options():
    problem = mathopt.CompositeProblem(lambda x: 0.5 * jnp.sum((jnp.asarray(A) @ x - B) ** 2), L1Norm(3.0),
                                       np.zeros(25))
    result = mathopt.solve(problem)  # fista is CompositeProblem's default
    assert result.solver == "fista" and result.status is Status.CONVERGED
    reference = mathopt.solve(_least_squares(L1Norm(3.0)), stationarity_tol=1e-10)
    np.testing.assert_allclose(result.x, reference.x, atol=1e-6)


def test_nonnegative_least_squares_against_nnls():
    result = mathopt.solve(_least_squares(NonnegativeOrthant()), stationarity_tol=1e-10)
    assert result.status is Status.CONVERGED
    np.testing.assert_allclose(result.x, nnls(A, B)[0], atol=1e-8)


def test_simplex_least_squares_against_cvxpy_from_outside_the_simplex():
    result = mathopt.solve(_least_squares(Simplex(1.0), x0=np.full(25, 5.0)), stationarity_tol=1e-9)
    assert result.status is Status.CONVERGED
    x = cp.Variable(25)
    cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - B)), [x >= 0, cp.sum(x) == 1]).solve(solver=cp.CLARABEL)
    np.testing.assert_allclose(result.x, x.value, atol=1e-5)
    assert result.x.sum() == pytest.approx(1.0, abs=1e-12) and result.x.min() >= 0


def test_matrix_variable_nuclear_norm_against_cvxpy():
    rng = np.random.default_rng(3)
    target = rng.standard_normal((6, 2)) @ rng.standard_normal((2, 5)) + 0.1 * rng.standard_normal((6, 5))
    mask = (rng.random((6, 5)) < 0.7).astype(float)
    problem = mathopt.CompositeProblem(lambda X: 0.5 * jnp.sum((mask * (X - target)) ** 2), NuclearNorm(0.5),
                                       np.zeros((6, 5)))
    result = mathopt.solve(problem, stationarity_tol=1e-9)
    assert result.status is Status.CONVERGED and result.array.shape == (6, 5)
    np.testing.assert_array_equal(result.x, result.array.ravel())
    X = cp.Variable((6, 5))
    cp.Problem(cp.Minimize(0.5 * cp.sum_squares(cp.multiply(mask, X - target)) + 0.5 * cp.normNuc(X))).solve(
        solver=cp.CLARABEL)
    np.testing.assert_allclose(result.array, X.value, atol=1e-4)


def test_restart_and_backtracking_on_an_ill_conditioned_problem():
    scaled = A * np.logspace(0, 1, 25)  # condition number ~ 1e1 x cond(A)
    problem = mathopt.CompositeProblem(lambda x: 0.5 * float(np.sum((scaled @ x - B) ** 2)), L1Norm(1.0),
                                       np.zeros(25), grad=lambda x: scaled.T @ (scaled @ x - B))
    restarted = mathopt.solve(problem, stationarity_tol=1e-7)
    assert restarted.status is Status.CONVERGED and restarted.extra["restarts"] > 0
    plain = mathopt.solve(problem, stationarity_tol=1e-7, max_iter=restarted.nit, restart=False)
    assert plain.status is Status.MAX_ITER and plain.extra["restarts"] == 0  # no restart: slower
    L = np.linalg.norm(scaled, 2) ** 2
    assert L / 2 <= restarted.extra["lipschitz"] <= 2.0 * L  # backtracking stops within a factor eta of L


def test_fixed_step_from_the_problems_lipschitz():
    L = np.linalg.norm(A, 2) ** 2
    result = mathopt.solve(_least_squares(L1Norm(3.0), lipschitz=L), backtracking=False, stationarity_tol=1e-9)
    assert result.status is Status.CONVERGED and result.extra["lipschitz"] == L
    with pytest.raises(OptionError, match="backtracking=False"):
        mathopt.solve(_least_squares(L1Norm(3.0)), backtracking=False)


@pytest.mark.parametrize("options, field", [
    ({"backtrack_factor": 1.0}, "backtrack_factor"), ({"step_size": -1.0}, "step_size"),
    ({"restart": "no"}, "restart"), ({"backtracking": 1}, "backtracking"), ({"stationarity_tol": "1"}, "stationarity_tol"),
])
def test_bad_options_name_the_field(options, field):
    with pytest.raises(OptionError, match=field):
        mathopt.solve(_least_squares(L1Norm()), method="fista", **options)
