"""Projections of mathopt.sets against closed forms and cvxpy."""
import cvxpy as cp
import numpy as np
import pytest

from mathopt import ProblemError
from mathopt.sets import Ball, Box, NonnegativeOrthant, Projection, Reals, Simplex

RNG = np.random.default_rng(0)
POINTS = [RNG.normal(scale=2.0, size=5) for _ in range(4)]


def _cvxpy_projection(v, constraints):
    u = cp.Variable(v.shape[0])
    cp.Problem(cp.Minimize(cp.sum_squares(u - v)), constraints(u)).solve(solver=cp.CLARABEL)
    return u.value


@pytest.mark.parametrize("v", POINTS)
def test_simplex_matches_cvxpy(v):
    expected = _cvxpy_projection(v, lambda u: [u >= 0, cp.sum(u) == 2.5])
    np.testing.assert_allclose(Simplex(2.5).project_numpy(v), expected, atol=1e-6)


@pytest.mark.parametrize("v", POINTS)
def test_ball_matches_cvxpy(v):
    center = np.arange(5.0) / 5
    expected = _cvxpy_projection(v, lambda u: [cp.norm(u - center) <= 0.7])
    np.testing.assert_allclose(Ball(center, 0.7).project_numpy(v), expected, atol=1e-6)


def test_ball_keeps_interior_points():
    np.testing.assert_array_equal(Ball(0.0, 10.0).project_numpy([1.0, -2.0]), [1.0, -2.0])


def test_box_with_infinite_bounds():
    box = Box([0.0, -np.inf, -1.0], [1.0, 0.0, np.inf])
    np.testing.assert_array_equal(box.project_numpy([2.0, 3.0, -5.0]), [1.0, 0.0, -1.0])


def test_orthant_reals_and_user_projection():
    v = np.array([-1.0, 2.0])
    np.testing.assert_array_equal(NonnegativeOrthant().project_numpy(v), [0.0, 2.0])
    np.testing.assert_array_equal(Reals().project_numpy(v), v)
    import jax.numpy as jnp

    np.testing.assert_array_equal(Projection(lambda u: jnp.clip(u, 0.0, 1.0)).project_numpy(v), [0.0, 1.0])


def test_projections_are_jittable_and_vmappable():
    import jax

    from mathopt.core.jax_utils import enable_x64
    from mathopt.sets import register_pytrees

    register_pytrees()
    simplex = Simplex(1.0)
    batch = np.stack(POINTS)
    with enable_x64():
        out = jax.jit(jax.vmap(lambda s, v: s.project(v), in_axes=(None, 0)))(simplex, batch)
    np.testing.assert_allclose(np.asarray(out).sum(axis=1), 1.0, atol=1e-12)
    assert np.all(np.asarray(out) >= 0)


@pytest.mark.parametrize("make, field", [
    (lambda: Box(1.0, 0.0), "upper"),
    (lambda: Box([0.0, 0.0], [1.0]), "upper"),
    (lambda: Box(np.nan, 1.0), "lower"),
    (lambda: Ball([0.0], -1.0), "radius"),
    (lambda: Ball([np.inf], 1.0), "center"),
    (lambda: Simplex(0.0), "total"),
    (lambda: Projection(3), "fn"),
])
def test_invalid_sets_rejected(make, field):
    with pytest.raises(ProblemError) as info:
        make()
    assert info.value.field == field
