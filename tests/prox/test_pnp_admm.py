"""pnp-admm against cvxpy (l1 and TV priors), the x-update solvers, a TV deblurring toy, options."""
import cvxpy as cp
import numpy as np
import pytest
from scipy.sparse.linalg import aslinearoperator

import mathopt
from mathopt import OptionError, Status
from mathopt.prox.operators import L1Norm, TotalVariation
from tests.prox.helpers import blurred, dense_matrix, psnr, tv_least_squares_cvxpy

RNG = np.random.default_rng(5)
A = RNG.standard_normal((30, 20))
Y = RNG.standard_normal(30)
TIGHT = {"primal_tol": 1e-9, "dual_tol": 1e-9, "rel_tol": 1e-9, "max_iter": 5000}


def _lasso_cvxpy(reg):
    x = cp.Variable(20)
    cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - Y) + reg * cp.norm1(x))).solve(solver=cp.CLARABEL)
    return x.value


@pytest.mark.parametrize("forward, linear_solver, adaptive", [
    (A, "cholesky", False), (A, "cg", False), (aslinearoperator(A), "auto", False), (A, "auto", True)])
def test_lasso_against_cvxpy(forward, linear_solver, adaptive):
    result = mathopt.solve(mathopt.InverseProblem(forward, Y), method="pnp-admm", prox=L1Norm(), reg=2.0,
                           penalty=10.0 if not adaptive else 0.01, adaptive_penalty=adaptive,
                           linear_solver=linear_solver, **TIGHT)
    assert result.status is Status.CONVERGED
    np.testing.assert_allclose(result.x, _lasso_cvxpy(2.0), atol=1e-5)
    multipliers = result.extra["multipliers"]  # rho u = -A'(Ax - y) at the solution, a subgradient of reg ||.||_1
    np.testing.assert_allclose(multipliers, -A.T @ (A @ result.x - Y), atol=1e-5)
    assert np.max(np.abs(multipliers)) <= 2.0 + 1e-5
    if linear_solver == "cg":
        assert result.extra["inner_iterations"] > 0
    if adaptive:  # residual balancing moved the penalty away from the poor start 0.01
        assert result.extra["penalty"] > 0.1


def test_tv_deconvolution_against_cvxpy_fft_and_cg_agree():
    image, conv, data = blurred(8)
    problem = mathopt.InverseProblem(conv, data)
    expected = tv_least_squares_cvxpy(dense_matrix(conv), data, 0.02, image.shape)
    # the default TV prox (Chambolle stopped at a relative energy change 1e-6) limits the accuracy
    fft = mathopt.solve(problem, method="pnp-admm", prox=TotalVariation(), reg=0.02)
    cg = mathopt.solve(problem, method="pnp-admm", prox=TotalVariation(), reg=0.02, linear_solver="cg")
    for result in (fft, cg):
        assert result.status is Status.CONVERGED and result.array.shape == (8, 8)
        np.testing.assert_allclose(result.array, expected, atol=3e-3)
    np.testing.assert_allclose(fft.x, cg.x, atol=1e-6)


def test_tv_deblurring_improves_psnr_and_converges_with_defaults():
    image, conv, data = blurred(16)
    result = mathopt.solve(mathopt.InverseProblem(conv, data), prox=TotalVariation(), reg=0.003, history=True)
    assert result.solver == "pnp-admm" and result.status is Status.CONVERGED
    assert psnr(result.array, image) > psnr(data, image) + 3.0
    tikhonov = mathopt.solve(mathopt.InverseProblem(conv, data))  # default prox: squared l2
    assert tikhonov.status is Status.CONVERGED
    assert psnr(result.array, image) > psnr(tikhonov.array, image) + 1.0
    assert result.history["primal"][-1] < result.history["primal"][1]


@pytest.mark.parametrize("options, field", [
    ({"prox": "l1"}, "prox"), ({"reg": 0.0}, "reg"), ({"penalty": -1.0}, "penalty"),
    ({"linear_solver": "lu"}, "linear_solver"), ({"linear_solver": "fft"}, "fft"),
    ({"inner_max_iter": 0}, "inner_max_iter"), ({"rel_tol": np.nan}, "rel_tol"),
    ({"penalty_growth": 1.0}, "penalty_growth"), ({"adaptive_penalty": "yes"}, "adaptive_penalty"),
])
def test_bad_options_name_the_field(options, field):
    with pytest.raises(OptionError, match=field):
        mathopt.solve(mathopt.InverseProblem(A, Y), method="pnp-admm", **options)
