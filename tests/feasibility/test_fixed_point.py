import numpy as np
import pytest

from mathopt.feasibility import fixed_point


def _douglas_rachford():
    """Douglas-Rachford for a point in A = {x1 <= 0} and B = disk (center (3, 1), radius 1):
    T z = z + P_B(2 P_A z - z) - P_A z, firmly nonexpansive, no fixed point as A and B are
    disjoint; its infimal displacement vector is the gap a* - b* = (0, 1) - (2, 1) = (-2, 0)
    (Bauschke, Combettes & Luke 2004)."""
    center = np.array([3.0, 1.0])

    def project_b(w):
        d = w - center
        return center + d / max(np.linalg.norm(d), 1.0)

    def T(z):
        a = np.array([min(z[0], 0.0), z[1]])
        return z + project_b(2 * a - z) - a

    return T, np.array([-2.0, 0.0])


def test_translation_is_exact_for_both_iterations():
    v = np.array([1.0, -2.0])
    for acceleration in ("none", "halpern"):
        out = fixed_point(lambda z: z - v, np.zeros(2), acceleration, max_iter=7)
        np.testing.assert_allclose(out.displacement, v, atol=1e-14)
        np.testing.assert_allclose(out.normalized, v, atol=1e-14)
        assert out.nit == 7


def test_displacement_of_disjoint_sets():
    T, v = _douglas_rachford()
    for acceleration in ("none", "halpern"):
        out = fixed_point(T, np.array([-5.0, 8.0]), acceleration, max_iter=2000)
        assert np.linalg.norm(out.displacement - v) < 1e-2, acceleration


def test_halpern_rate_is_one_over_k():
    """||v_k - v|| * k stays bounded for Halpern (O(1/k), Park & Ryu Thm. 3): checked on a
    rotation-like nonexpansive map whose plain iteration does not settle quickly."""
    theta = 0.3
    R = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])

    def T(z):  # a rotation in the plane and a translation along the third axis
        return np.concatenate([R @ z[:2], [z[2] - 0.5]])

    v = np.array([0.0, 0.0, 0.5])
    out = fixed_point(T, np.array([4.0, 0.0, 0.0]), "halpern", max_iter=400, keep_differences=True)
    errors = np.linalg.norm(out.differences - v, axis=1)
    k = np.arange(1, 401)
    assert np.max(errors[50:] * k[50:]) < 20.0
    assert errors[-1] < 0.05
    plain = fixed_point(T, np.array([4.0, 0.0, 0.0]), "none", max_iter=400, keep_differences=True)
    # the plain differences of a rotation do not converge: their error stays at the radius' chord
    assert np.linalg.norm(plain.differences[-1] - v) > 1.0


def test_restart_and_tolerance():
    out = fixed_point(lambda z: 0.5 * z, np.ones(3), "halpern", max_iter=1000, tol=1e-8, restart_decay=0.2)
    assert out.nit < 1000 and out.restarts > 0
    assert np.linalg.norm(out.z) < 1e-7
    assert out.residual_norms.shape == (out.nit,)


def test_bad_arguments():
    with pytest.raises(ValueError, match="acceleration"):
        fixed_point(lambda z: z, np.zeros(1), "nesterov")
    with pytest.raises(ValueError, match="restart_decay"):
        fixed_point(lambda z: z, np.zeros(1), "halpern", restart_decay=1.5)
