"""Each prox against its closed form and against cvxpy's solution of
min_u g(u) + 1/(2t) ||u - v||^2 on random inputs; bad input names the field."""
import cvxpy as cp
import numpy as np
import pytest

from mathopt.core.problem import ProblemError
from mathopt.prox.operators import (Box, L1Ball, L1Norm, L2Norm, NonnegativeOrthant, NuclearNorm, Reals, Simplex,
                                    SquaredL2Norm, TotalVariation)

STEP = 0.7


def _cvxpy_prox(g_expr, shape, v, step, constraints=()):
    u = cp.Variable(shape)
    objective = (g_expr(u) if g_expr is not None else 0) + cp.sum_squares(u - v) / (2 * step)
    cp.Problem(cp.Minimize(objective), [c(u) for c in constraints]).solve(solver=cp.CLARABEL)
    return u.value


def _threshold_by_bisection(v, total):
    """The shift tau with sum(max(v - tau, 0)) = total, by bisection (independent of the sort)."""
    lo, hi = np.min(v) - total, np.max(v)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if np.maximum(v - mid, 0).sum() > total else (lo, mid)
    return 0.5 * (lo + hi)


@pytest.fixture(params=[0, 1, 2])
def v(request):
    return np.random.default_rng(request.param).standard_normal((5, 4)) * 2.0


def test_l1_closed_form_and_cvxpy(v):
    weight = np.abs(np.random.default_rng(9).standard_normal((5, 4)))
    got = L1Norm(weight).prox(v, STEP)
    np.testing.assert_allclose(got, np.sign(v) * np.maximum(np.abs(v) - STEP * weight, 0), atol=1e-15)
    expected = _cvxpy_prox(lambda u: cp.sum(cp.multiply(weight, cp.abs(u))), v.shape, v, STEP)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert L1Norm(weight).value(v) == pytest.approx(np.sum(weight * np.abs(v)))


def test_l2_closed_form_and_cvxpy(v):
    got = L2Norm(3.0).prox(v, STEP)
    norm = np.linalg.norm(v)
    np.testing.assert_allclose(got, max(1 - STEP * 3.0 / norm, 0) * v, atol=1e-15)
    expected = _cvxpy_prox(lambda u: 3.0 * cp.norm(cp.vec(u, order="C"), 2), v.shape, v, STEP)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.all(L2Norm(100.0).prox(v, STEP) == 0)  # the whole block is thresholded to 0


def test_group_l2_rows_against_cvxpy(v):
    got = L2Norm(1.5, axis=1).prox(v, STEP)
    expected = _cvxpy_prox(lambda u: 1.5 * cp.sum(cp.norm(u, 2, axis=1)), v.shape, v, STEP)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert L2Norm(1.5, axis=1).value(v) == pytest.approx(1.5 * np.linalg.norm(v, axis=1).sum())


def test_squared_l2_closed_form_and_cvxpy(v):
    got = SquaredL2Norm(2.0).prox(v, STEP)
    np.testing.assert_allclose(got, v / (1 + 2.0 * STEP), atol=1e-15)
    np.testing.assert_allclose(got, _cvxpy_prox(lambda u: cp.sum_squares(u), v.shape, v, STEP), atol=1e-5)


def test_nuclear_norm_svt_and_cvxpy(v):
    got = NuclearNorm(1.2).prox(v, STEP)
    u, s, wt = np.linalg.svd(v, full_matrices=False)
    shrunk = np.maximum(s - 1.2 * STEP, 0)
    np.testing.assert_allclose(got, u @ np.diag(shrunk) @ wt, atol=1e-12)
    np.testing.assert_allclose(np.linalg.svd(got, compute_uv=False), shrunk, atol=1e-12)
    expected = _cvxpy_prox(lambda x: 1.2 * cp.normNuc(x), v.shape, v, STEP)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert NuclearNorm(1.2).value(v) == pytest.approx(1.2 * s.sum())


def _tv_cvxpy(u):
    """Isotropic TV with forward differences and Neumann boundary (the TotalVariation docstring)."""
    dx = u[1:, :] - u[:-1, :]
    dy = u[:, 1:] - u[:, :-1]
    inner = cp.norm(cp.vstack([cp.vec(dx[:, :-1], order="C"), cp.vec(dy[:-1, :], order="C")]), 2, axis=0)
    return cp.sum(inner) + cp.sum(cp.abs(dy[-1, :])) + cp.sum(cp.abs(dx[:, -1]))


def test_total_variation_value_and_prox_against_cvxpy(v):
    tv = TotalVariation(0.4, tol=1e-10, max_num_iter=20000)
    u = cp.Variable(v.shape)
    u.value = v
    assert tv.value(v) == pytest.approx(0.4 * _tv_cvxpy(u).value, rel=1e-12)
    got = tv.prox(v, STEP)
    expected = _cvxpy_prox(lambda x: 0.4 * _tv_cvxpy(x), v.shape, v, STEP)
    np.testing.assert_allclose(got, expected, atol=2e-4)
    objective = lambda x: tv.value(x) + np.sum((x - v) ** 2) / (2 * STEP)  # noqa: E731
    assert objective(got) <= objective(expected) + 1e-6


def test_total_variation_one_dimensional_is_fused_lasso():
    v = np.random.default_rng(4).standard_normal(12)
    got = TotalVariation(0.5, tol=1e-10, max_num_iter=50000).prox(v, 1.0)
    expected = _cvxpy_prox(lambda x: 0.5 * cp.norm1(cp.diff(x)), v.shape, v, 1.0)
    np.testing.assert_allclose(got, expected, atol=2e-4)


def test_box_and_orthant(v):
    np.testing.assert_array_equal(Box(-0.5, 1.0).prox(v, STEP), np.clip(v, -0.5, 1.0))
    np.testing.assert_array_equal(NonnegativeOrthant().prox_numpy(v, STEP), np.maximum(v, 0))
    expected = _cvxpy_prox(None, v.shape, v, STEP, [lambda u: u >= -0.5, lambda u: u <= 1.0])
    np.testing.assert_allclose(Box(-0.5, 1.0).prox_numpy(v, STEP), expected, atol=1e-5)
    assert Box(-0.5, 1.0).value(np.clip(v, -0.5, 1.0)) == 0.0
    assert Box(-0.5, 1.0).value(v) == np.inf


def test_simplex_bisection_and_cvxpy(v):
    flat = v.ravel()
    got = Simplex(2.0).prox_numpy(flat, STEP)
    np.testing.assert_allclose(got, np.maximum(flat - _threshold_by_bisection(flat, 2.0), 0), atol=1e-12)
    expected = _cvxpy_prox(None, flat.shape, flat, STEP, [lambda u: u >= 0, lambda u: cp.sum(u) == 2.0])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(Simplex(2.0).prox_numpy(v, STEP), got.reshape(v.shape), atol=1e-15)  # any shape


def test_l1_ball_bisection_and_cvxpy(v):
    got = L1Ball(3.0).prox_numpy(v, STEP)
    magnitude = np.abs(v)
    closed = np.sign(v) * np.maximum(magnitude - _threshold_by_bisection(magnitude, 3.0), 0)
    np.testing.assert_allclose(got, closed, atol=1e-12)
    expected = _cvxpy_prox(None, v.shape, v, STEP, [lambda u: cp.norm1(cp.vec(u, order="C")) <= 3.0])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    inside = v / np.abs(v).sum()
    np.testing.assert_array_equal(L1Ball(3.0).prox_numpy(inside), inside)
    assert L1Ball(3.0).value(got) == 0.0 and L1Ball(3.0).value(v) == np.inf


def test_numpy_and_jax_paths_agree(v):
    import jax
    import jax.numpy as jnp
    from mathopt.core.jax_utils import enable_x64

    for g in (L1Norm(0.3), L2Norm(0.5, axis=0), SquaredL2Norm(1.0), NuclearNorm(0.8), Box(-1, 1),
              L1Ball(2.0), Simplex(1.0)):
        with enable_x64():
            traced = np.asarray(jax.jit(lambda x: g.prox(x, STEP))(jnp.asarray(v)))
        np.testing.assert_allclose(traced, g.prox_numpy(v, STEP), atol=1e-12, err_msg=repr(g))


@pytest.mark.parametrize("make, field", [
    (lambda: L1Norm(-1.0), "weight"), (lambda: L1Norm([1.0, np.nan]), "weight"),
    (lambda: L2Norm([1.0, 2.0]), "weight"), (lambda: SquaredL2Norm("a"), "weight"),
    (lambda: NuclearNorm(-0.1), "weight"), (lambda: TotalVariation(-1.0), "weight"),
    (lambda: TotalVariation(1.0, tol=0.0), "tol"), (lambda: TotalVariation(1.0, max_num_iter=0), "max_num_iter"),
    (lambda: L2Norm(1.0, axis=1.5), "axis"), (lambda: L1Ball(-1.0), "radius"),
])
def test_bad_construction_names_the_field(make, field):
    with pytest.raises(ProblemError, match=field):
        make()


@pytest.mark.parametrize("g", [L1Norm(), L2Norm(), SquaredL2Norm(), NuclearNorm(), TotalVariation(), Box(0, 1),
                               Simplex(), L1Ball(), Reals()])
@pytest.mark.parametrize("step", [-1.0, 0.0, np.inf, np.nan, "1", True])
def test_bad_step_names_step(g, step):
    with pytest.raises(ProblemError, match="step"):
        g.prox_numpy(np.ones((3, 3)), step)


def test_wrong_shapes_name_v():
    with pytest.raises(ProblemError, match="v: must be a matrix"):
        NuclearNorm().prox(np.ones(4), 1.0)
    with pytest.raises(ProblemError, match="v: shape"):
        L1Norm(np.ones(3)).prox(np.ones(4), 1.0)
    with pytest.raises(ProblemError, match="v: has 1 dimensions"):
        L2Norm(axis=2).prox(np.ones(4), 1.0)
