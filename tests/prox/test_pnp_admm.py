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


def _null_space_ridge_matrix(forward, power):
    """N = (I - A'A/||A||^2)^q, densely (the option's definition)."""
    gram = forward.T @ forward
    eigenvalues, vectors = np.linalg.eigh(gram)
    return (vectors * np.clip(1 - eigenvalues / eigenvalues[-1], 0, 1) ** power) @ vectors.T


@pytest.mark.parametrize("kind", ["fft", "cholesky"])
def test_null_space_ridge_tikhonov_closed_form(kind):
    """With the squared-l2 prox the ridge's minimizer is (A'A + c N + reg I)^{-1} A'y, for the
    FFT solve of a convolution and the Cholesky solve of its matrix alike; fun includes the ridge."""
    from mathopt.prox.operators import SquaredL2Norm
    from tests.prox.helpers import blurred

    _, conv, data = blurred(8)
    matrix = dense_matrix(conv)
    problem = mathopt.InverseProblem(conv, data) if kind == "fft" else mathopt.InverseProblem(matrix, data.ravel())
    c, reg, power = 0.7, 0.05, 8
    ridge = _null_space_ridge_matrix(matrix, power)
    expected = np.linalg.solve(matrix.T @ matrix + c * ridge + reg * np.eye(64), matrix.T @ data.ravel())
    result = mathopt.solve(problem, method="pnp-admm", prox=SquaredL2Norm(), reg=reg, null_space_ridge=c,
                           null_space_power=power, **TIGHT)
    assert result.status is Status.CONVERGED
    np.testing.assert_allclose(result.x, expected, atol=1e-7)
    residual = matrix @ expected - data.ravel()
    fun = 0.5 * residual @ residual + 0.5 * c * expected @ ridge @ expected + 0.5 * reg * expected @ expected
    assert result.fun == pytest.approx(fun, rel=1e-7)
    plain = mathopt.solve(problem, method="pnp-admm", prox=SquaredL2Norm(), reg=reg, **TIGHT)
    assert np.max(np.abs(plain.x - expected)) > 1e-3  # the ridge changed the solution


class _Expanding(mathopt.prox.Prox):
    """prox of R(x) = -(m/2)||P x||^2 (P an orthogonal projector): m-weakly convex, nonconvex;
    its prox v + (tm / (1 - tm)) P v expands range(P), as a learned denoiser may."""

    traceable = False

    def __init__(self, projector, m):
        self.projector, self.m = projector, m

    def prox(self, v, step=1.0):
        v = np.asarray(v, dtype=float)
        return v + (step * self.m / (1 - step * self.m)) * (self.projector @ v.ravel()).reshape(v.shape)

    def value(self, x):
        x = np.ravel(x)
        return -0.5 * self.m * float(x @ self.projector @ x)


def test_null_space_ridge_holds_an_expanding_prox_in_the_null_space():
    """A has a 2-dimensional null space that the prox expands: plain PnP-ADMM runs away along it;
    with a ridge c > reg * m the objective is convex and PnP-ADMM converges to its minimizer."""
    rng = np.random.default_rng(3)
    U, _ = np.linalg.qr(rng.standard_normal((20, 20)))
    V, _ = np.linalg.qr(rng.standard_normal((20, 20)))
    s = np.linspace(1.0, 0.3, 20)
    s[-2:] = 0.0
    forward = U @ np.diag(s) @ V.T
    projector = V[:, -2:] @ V[:, -2:].T
    y = rng.standard_normal(20)
    reg, m, c = 1.0, 0.5, 1.0
    prox = _Expanding(projector, m)
    plain = mathopt.solve(mathopt.InverseProblem(forward, y), method="pnp-admm", prox=prox, reg=reg, penalty=2.0,
                          max_iter=300)
    assert plain.status is not Status.CONVERGED and np.linalg.norm(projector @ plain.x) > 1e3
    result = mathopt.solve(mathopt.InverseProblem(forward, y), method="pnp-admm", prox=prox, reg=reg, penalty=2.0,
                           null_space_ridge=c, **TIGHT)
    hessian = forward.T @ forward + c * _null_space_ridge_matrix(forward, 64) - reg * m * projector
    assert np.linalg.eigvalsh(hessian)[0] > 0.1  # convex (c - reg m = 0.5 on the null space itself)
    assert result.status is Status.CONVERGED
    np.testing.assert_allclose(result.x, np.linalg.solve(hessian, forward.T @ y), atol=1e-6)


@pytest.mark.parametrize("options, match", [
    ({"null_space_ridge": -1.0}, "null_space_ridge"), ({"null_space_power": 0}, "null_space_power"),
    ({"null_space_ridge": 1.0, "linear_solver": "cg"}, "null_space_ridge"),
])
def test_null_space_ridge_bad_options(options, match):
    with pytest.raises(OptionError, match=match):
        mathopt.solve(mathopt.InverseProblem(A, Y), method="pnp-admm", **options)
