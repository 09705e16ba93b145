"""The compiled residuals of the termination test (admm_operator.residuals) are the NumPy ones, bitwise."""
import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

from mathopt.feasibility import admm_operator as op
from mathopt.feasibility._residual_kernel import pairwise_sum
from mathopt.feasibility.problem import QP


@pytest.mark.parametrize("size", [0, 1, 7, 8, 9, 127, 128, 129, 255, 1000, 8192, 8193, 100_003])
def test_pairwise_sum_is_numpy_sum(size):
    rng = np.random.default_rng(size)
    a = rng.standard_normal(size) * 10.0 ** rng.uniform(-8, 8, size)
    assert pairwise_sum(a) == np.sum(a)  # bitwise: the same summation tree


def _random_qp(seed, n=300, m=200):
    rng = np.random.default_rng(seed)
    M = sp.random(n, n, 0.02, random_state=seed)
    A = sp.random(m, n, 0.05, random_state=seed + 1, format="csc")
    l = rng.standard_normal(m)
    u = l + rng.uniform(0.0, 2.0, m)
    u[::5] = np.inf
    l[1::7] = -np.inf
    equality = np.arange(3, m, 11)
    equality = equality[np.isfinite(l[equality])]
    u[equality] = l[equality]
    return QP(P=(M @ M.T).tocsc(), q=rng.standard_normal(n), A=A, l=l, u=u), rng


def _same(a, b):
    for got, expected in zip(a, b):
        assert got.keys() == expected.keys()
        for key in got:
            assert got[key] == expected[key] or (np.isnan(got[key]) and np.isnan(expected[key])), key


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_compiled_residuals_equal_numpy_ones(seed):
    problem, rng = _random_qp(seed)
    assert problem.A.format == "csc" and problem.P.format == "csc"  # the compiled path is taken
    n, m = problem.n, problem.m
    x = rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3, n)
    z = np.clip(problem.A @ x + 1e-3 * rng.standard_normal(m), problem.l, problem.u)
    y = rng.standard_normal(m)
    y = np.where(np.isinf(problem.u), np.minimum(y, 0.0), y)  # finite support value
    y = np.where(np.isinf(problem.l), np.maximum(y, 0.0), y)
    point = op.Unscaled(x=x, z=z, y=y)
    _same(op.residuals(problem, point), op.residuals_reference(problem, point))
    values, _ = op.residuals(problem, point)
    assert np.isfinite(values["gap"])
    # a multiplier on an infinite bound: support +inf, gap inf, in both
    y_bad = y.copy()
    y_bad[np.flatnonzero(np.isinf(problem.u))[0]] = 1.0
    bad = op.Unscaled(x=x, z=z, y=y_bad)
    _same(op.residuals(problem, bad), op.residuals_reference(problem, bad))
    assert op.residuals(problem, bad)[0]["gap"] == np.inf
    # NaN propagates as np.max does
    x_nan = x.copy()
    x_nan[5] = np.nan
    nan_point = op.Unscaled(x=x_nan, z=z, y=y)
    got, expected = op.residuals(problem, nan_point), op.residuals_reference(problem, nan_point)
    _same(got, expected)
    assert np.isnan(got[0]["stationarity"])


def test_residuals_at_a_known_solution_are_zero():
    # min 1/2 x'x - x1 s.t. 0 <= x1 + x2 <= 0.5: KKT x1 - 1 + y = 0, x2 + y = 0, x1 + x2 = 0.5, so
    # y = 0.25 on the upper bound, x = (0.75, -0.25) (all values dyadic: the residuals are exactly 0)
    problem = QP(P=sp.eye(2, format="csc"), q=np.array([-1.0, 0.0]), A=sp.csc_matrix([[1.0, 1.0]]),
                 l=np.array([0.0]), u=np.array([0.5]))
    point = op.Unscaled(x=np.array([0.75, -0.25]), z=np.array([0.5]), y=np.array([0.25]))
    values, scales = op.residuals(problem, point)
    assert values == {"feasibility": 0.0, "stationarity": 0.0, "gap": 0.0}
    assert scales == {"feasibility": 0.5, "stationarity": 1.0, "gap": 0.75}
    _same((values, scales), op.residuals_reference(problem, point))


def test_qp_transpose_is_made_once_and_equal_to_T():
    problem, rng = _random_qp(5)
    AT = problem.AT
    assert AT is problem.AT  # made once per problem
    y = rng.standard_normal(problem.m)
    np.testing.assert_array_equal(AT @ y, problem.A.T @ y)  # the same arrays: bitwise the same product
    with pytest.raises(dataclasses.FrozenInstanceError):
        problem.A = problem.A.copy()  # the problem cannot change under its cached transpose