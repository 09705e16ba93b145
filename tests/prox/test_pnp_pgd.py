"""pnp-pgd against cvxpy (l1 and TV priors), its step and stopping test, options."""
import cvxpy as cp
import numpy as np
import pytest

import mathopt
from mathopt import OptionError, Status
from mathopt.prox.operators import L1Norm, TotalVariation
from tests.prox.helpers import blurred, dense_matrix, psnr, tv_least_squares_cvxpy

RNG = np.random.default_rng(6)
A = RNG.standard_normal((30, 20))
Y = RNG.standard_normal(30)


def test_lasso_against_cvxpy_and_the_stationarity_certificate():
    result = mathopt.solve(mathopt.InverseProblem(A, Y), method="pnp-pgd", prox=L1Norm(), reg=2.0,
                           stationarity_tol=1e-10, max_iter=20000)
    assert result.status is Status.CONVERGED
    assert result.extra["step_size"] == pytest.approx(1 / np.linalg.norm(A, 2) ** 2)
    x = cp.Variable(20)
    cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - Y) + 2.0 * cp.norm1(x))).solve(solver=cp.CLARABEL)
    np.testing.assert_allclose(result.x, x.value, atol=1e-5)
    t = result.extra["step_size"]  # the reported residual is the gradient mapping at result.x
    mapped = L1Norm(2.0).prox(result.x - t * A.T @ (A @ result.x - Y), t)
    # recomputed here with NumPy's products (the solver's may sum in another order or thread count):
    # agreement to the rounding of x - mapped, a few ulps of |x| divided by t (~1e-14 here, the value ~1e-10)
    rounding = 50 * np.finfo(float).eps * max(1.0, np.max(np.abs(result.x))) / t
    assert np.max(np.abs(mapped - result.x)) / t == pytest.approx(result.residuals["stationarity"], rel=1e-6, abs=rounding)


def test_tv_deconvolution_against_cvxpy():
    image, conv, data = blurred(8)
    expected = tv_least_squares_cvxpy(dense_matrix(conv), data, 0.02, image.shape)
    result = mathopt.solve(mathopt.InverseProblem(conv, data), method="pnp-pgd", prox=TotalVariation(), reg=0.02)
    assert result.status is Status.CONVERGED
    np.testing.assert_allclose(result.array, expected, atol=3e-3)  # the TV prox's accuracy (Chambolle, tol 1e-6)


def test_tv_deblurring_converges_with_defaults_and_improves_psnr():
    image, conv, data = blurred(16)
    result = mathopt.solve(mathopt.InverseProblem(conv, data), method="pnp-pgd", prox=TotalVariation(), reg=0.003)
    assert result.status is Status.CONVERGED
    assert psnr(result.array, image) > psnr(data, image) + 3.0


def test_smaller_step_same_solution():
    problem = mathopt.InverseProblem(A, Y)
    half = mathopt.solve(problem, method="pnp-pgd", prox=L1Norm(), reg=2.0, step_size=0.5 / np.linalg.norm(A, 2) ** 2,
                         stationarity_tol=1e-9, max_iter=20000)
    full = mathopt.solve(problem, method="pnp-pgd", prox=L1Norm(), reg=2.0, stationarity_tol=1e-9, max_iter=20000)
    assert half.status is Status.CONVERGED and half.nit > full.nit
    np.testing.assert_allclose(half.x, full.x, atol=1e-6)


@pytest.mark.parametrize("options, field", [
    ({"prox": L1Norm}, "prox"), ({"reg": -1.0}, "reg"), ({"step_size": 0.0}, "step_size"),
    ({"stationarity_tol": "a"}, "stationarity_tol"),
])
def test_bad_options_name_the_field(options, field):
    with pytest.raises(OptionError, match=field):
        mathopt.solve(mathopt.InverseProblem(A, Y), method="pnp-pgd", **options)
