"""Issue 18, section 3: the equality-constrained CUTEst problems on which al-sketch stalled.

The sizes are those of the shared SIF set (``modified for S2X tests``); see the section
"Stalls on equality-constrained CUTEst problems" of docs/benchmarks.md for the diagnosis.
Skipped without CUTEst/pycutest (except the Hessian-shift unit test at the end).
"""
import numpy as np
import pytest

import mathopt
from mathopt import Status
from mathopt.constrained import _exact_al
from mathopt.problems import cutest

UNAVAILABLE = cutest.unavailable_reason()
requires_cutest = pytest.mark.skipif(UNAVAILABLE is not None, reason=f"CUTEst/pycutest not available: {UNAVAILABLE}")


@requires_cutest
@pytest.mark.parametrize("method", ["al-newton", "al-sketch", "auglag", "penalty"])
def test_bratu2dt_at_the_turning_point_is_locally_infeasible(method):
    """BRATU2DT (P = 7, lambda = 6.80812 beyond the discrete fold): IPOPT also reports infeasibility.
    Before: al-newton raised ValueError (the Hessian shift overflowed to inf), al-sketch and auglag
    stopped with NUMERICAL_ERROR."""
    problem = cutest.load("BRATU2DT")
    result = mathopt.solve(problem, method=method, seed=0, max_time=60)
    assert result.status is Status.INFEASIBLE, result.message
    assert result.residuals["feasibility"] == pytest.approx(5.5513e-3, rel=1e-3)
    ev = problem.evaluator()
    G, c = ev.eq_jacobian(result.x), ev.eq(result.x)
    assert np.max(np.abs(G.T @ c)) <= 1e-6 * np.max(np.abs(c)) * np.max(np.abs(G).sum(axis=0))


@requires_cutest
def test_dtoc2_sketch_stall_is_reported_and_exact_fallback_solves_it():
    """DTOC2: cond(K) about 3e3, randomized Kaczmarz needs about 5e7 steps per e-fold on the
    equilibrated KKT matrix (2e8 without), the sketch misses the accuracy condition in nearly every
    iteration and the run crawls on the inaccurate directions. Before: MAX_TIME or NUMERICAL_ERROR
    with no word on why; now the message says so. exact_fallback=True solves it in 7 iterations."""
    problem = cutest.load("DTOC2")
    result = mathopt.solve(problem, method="al-sketch", seed=0, max_time=10)
    assert not result.success
    assert "missed the accuracy condition" in result.message and "exact_fallback=True" in result.message
    solved = mathopt.solve(problem, method="al-sketch", seed=0, max_time=120, exact_fallback=True)
    assert solved.status is Status.CONVERGED
    assert solved.fun == pytest.approx(0.485982541, rel=1e-7)


def test_no_hessian_shift_when_the_jacobian_has_full_column_rank():
    """n = m with a nonsingular but badly scaled G: the reduced Hessian is empty, the shift must stay 0.
    Before: K's tiny eigenvalues (about ||H|| / sigma_min(G)^2 below the largest) failed the inertia
    count, the shift grew 8x per try to 1e16 - 1e40 (DRCAVTY2) and multiplied P's round-off."""
    solver = _exact_al.ExactALNewton(None)
    H, G = np.diag([1e4, -1e4]), np.diag([1.0, 1e-5])
    P = _exact_al.ExactALNewton._null_space_projector(G, 2)
    assert not np.any(P)
    assert solver._inertia_shift(H, G, 0.0, lambda: P) == 0.0
    assert solver._inertia_shift(H, G, 1e3, lambda: P) == 0.0
