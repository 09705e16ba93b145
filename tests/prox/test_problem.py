"""Validation of CompositeProblem and InverseProblem (errors name the field), Convolution."""
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.ndimage import convolve
from scipy.sparse.linalg import aslinearoperator

import mathopt
from mathopt.core.problem import ProblemError
from mathopt.prox.convolution import Convolution
from mathopt.prox.operators import L1Norm

RNG = np.random.default_rng(0)
A = RNG.standard_normal((6, 4))
Y = RNG.standard_normal(6)


def _quadratic(x):
    return 0.5 * jnp.sum(x ** 2)


@pytest.mark.parametrize("kwargs, field", [
    ({"f": 3.0}, "f"), ({"g": lambda v, t: v}, "g"), ({"x0": [np.nan, 1.0]}, "x0"), ({"x0": []}, "x0"),
    ({"x0": "ab"}, "x0"), ({"grad": 1}, "grad"), ({"lipschitz": -1.0}, "lipschitz"),
    ({"f": lambda x: float(np.sum(x)) if False else float(x[0] > 0)}, "f"),  # not traceable without grad
    ({"f": lambda x: np.nan, "grad": lambda x: x}, "f"), ({"grad": lambda x: np.ones(5)}, "grad"),
    ({"grad": lambda x: np.full(2, np.inf)}, "grad"),
])
def test_composite_problem_validation(kwargs, field):
    args = {"f": _quadratic, "g": L1Norm(), "x0": np.ones(2), **kwargs}
    with pytest.raises(ProblemError, match=f"^{field}"):
        mathopt.CompositeProblem(args.pop("f"), args.pop("g"), args.pop("x0"), **args)


def test_composite_problem_jax_gradient_in_float64_any_shape():
    problem = mathopt.CompositeProblem(lambda x: jnp.sum(jnp.sin(x)), L1Norm(), np.zeros((2, 3)) + 0.1)
    np.testing.assert_allclose(problem.gradient(problem.x0), np.cos(0.1 * np.ones((2, 3))), rtol=1e-14)
    assert problem.gradient(problem.x0).shape == (2, 3)


@pytest.mark.parametrize("forward", [A, sp.csr_matrix(A), aslinearoperator(A)])
def test_inverse_problem_operator_kinds_agree(forward):
    problem = mathopt.InverseProblem(forward, Y)
    x = RNG.standard_normal(4)
    np.testing.assert_allclose(problem.apply(x), A @ x, atol=1e-14)
    np.testing.assert_allclose(problem.apply_adjoint(Y), A.T @ Y, atol=1e-14)
    np.testing.assert_allclose(problem.x0, A.T @ Y, atol=1e-14)
    assert problem.norm_squared() == pytest.approx(np.linalg.norm(A, 2) ** 2, rel=0.02)


def test_inverse_problem_function_pair_and_image_shape():
    kernel = RNG.random((3, 3))
    data = RNG.random((8, 7))
    problem = mathopt.InverseProblem(lambda x: convolve(x, kernel, mode="wrap"), data,
                                     adjoint=lambda r: convolve(r, kernel[::-1, ::-1], mode="wrap"))
    assert problem.shape == (8, 7) and problem.kind == "function"
    conv = Convolution(kernel, (8, 7))
    np.testing.assert_allclose(problem.apply(data), conv.apply(data), atol=1e-12)
    np.testing.assert_allclose(problem.apply_adjoint(data), conv.apply_adjoint(data), atol=1e-12)
    assert problem.norm_squared() == pytest.approx(conv.norm_squared(), rel=0.02)


def test_jax_function_pair_runs_in_float64():
    # arrays the functions make from NumPy data are float64 (a float32 JAX array captured from
    # outside would stay float32: the user's choice)
    problem = mathopt.InverseProblem(lambda x: jnp.asarray(A) @ x, Y, adjoint=lambda r: jnp.asarray(A).T @ r,
                                     shape=(4,))
    x = RNG.standard_normal(4)
    np.testing.assert_allclose(problem.apply(x), A @ x, rtol=1e-13)


@pytest.mark.parametrize("args, kwargs, field", [
    ((A, Y[:5]), {}, "data"), ((A, np.r_[Y[:5], np.nan]), {}, "data"), ((A, Y), {"shape": (5,)}, "shape"),
    ((A, Y), {"adjoint": lambda r: A.T @ r}, "adjoint"), ((lambda x: A @ x, Y), {}, "adjoint"),
    ((lambda x: A @ x, Y), {"adjoint": lambda r: 2 * A.T @ r, "shape": (4,)}, "adjoint"),
    ((lambda x: A @ x, Y), {"adjoint": lambda r: np.ones(3), "shape": (4,)}, "adjoint"),
    ((np.full((6, 4), np.inf), Y), {}, "forward"), (("A", Y), {}, "forward"), ((A, Y), {"x0": np.ones(3)}, "x0"),
    ((A + 1j, Y), {}, "forward"),
])
def test_inverse_problem_validation(args, kwargs, field):
    with pytest.raises(ProblemError, match=f"^{field}"):
        mathopt.InverseProblem(*args, **kwargs)


def test_convolution_matches_scipy_and_solves_normal_equations():
    kernel = RNG.random((3, 5))
    x = RNG.random((9, 8))
    conv = Convolution(kernel, x.shape)
    np.testing.assert_allclose(conv.apply(x), convolve(x, kernel, mode="wrap"), atol=1e-13)
    w = RNG.random(x.shape)
    assert np.vdot(conv.apply(x), w) == pytest.approx(np.vdot(x, conv.apply_adjoint(w)), rel=1e-12)
    b = conv.normal_solve(x, 0.3)
    np.testing.assert_allclose(conv.apply_adjoint(conv.apply(b)) + 0.3 * b, x, atol=1e-12)
    dense = np.stack([conv.apply(e).ravel() for e in np.eye(x.size).reshape(-1, *x.shape)], axis=1)
    assert conv.norm_squared() == pytest.approx(np.linalg.norm(dense, 2) ** 2, rel=1e-10)


@pytest.mark.parametrize("kernel, shape, field", [
    (np.ones(3), (4, 4), "kernel"), (np.ones((5, 5)), (4, 4), "kernel"), (np.full((2, 2), np.nan), (4, 4), "kernel"),
    (np.ones((2, 2)), (4, 0), "shape"), (np.ones((2, 2)), "ab", "shape"),
])
def test_convolution_validation(kernel, shape, field):
    with pytest.raises(ProblemError, match=f"^{field}"):
        Convolution(kernel, shape)
