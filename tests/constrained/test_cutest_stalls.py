"""Issue 18, section 3: the equality-constrained CUTEst problems on which al-sketch stalled.

The sizes are those of the shared SIF set (``modified for S2X tests``); see the section
"Stalls on equality-constrained CUTEst problems" of docs/benchmarks.md for the diagnosis.
Skipped without CUTEst/pycutest. The stagnation test itself is checked without CUTEst.
"""
import types

import numpy as np
import pytest

import mathopt
from mathopt import Status
from mathopt.constrained import _exact_al
from mathopt.problems import cutest

UNAVAILABLE = cutest.unavailable_reason()
requires_cutest = pytest.mark.skipif(UNAVAILABLE is not None, reason=f"CUTEst/pycutest not available: {UNAVAILABLE}")


def _fake_state():
    return types.SimpleNamespace(stalls_in_a_row=0, stall_start_kkt=float("inf"), status=None, message="")


def test_stagnation_test_stops_after_a_run_of_stalls_without_progress():
    state = _fake_state()
    stops = [_exact_al.ExactALNewton._stagnates(state, 1e-4 * (1 - 1e-3 * k), True) for k in range(60)]
    assert stops.index(True) == _exact_al._MAX_STALLED_ITERATIONS - 1
    assert state.status is Status.NUMERICAL_ERROR and "sketching solver stalls" in state.message


def test_stagnation_test_resets_on_progress_or_an_accurate_solve():
    state = _fake_state()
    # ||KKT|| halves every 20 stalled iterations: progress, never a stop
    assert not any(_exact_al.ExactALNewton._stagnates(state, 0.5 ** (k / 20 + 0.01), True) for k in range(200))
    state = _fake_state()
    flags = [(k % 40) != 39 for k in range(200)]  # an accurate solve every 40 iterations
    assert not any(_exact_al.ExactALNewton._stagnates(state, 1e-4, stalled) for stalled in flags)
    assert state.status is None


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
    """DTOC2: cond(K) about 3e3, randomized Kaczmarz needs about 2e8 steps per digit. Before: the run
    crawled on inaccurate sketched directions to the time limit (MAX_TIME at 30 s and 120 s)."""
    problem = cutest.load("DTOC2")
    result = mathopt.solve(problem, method="al-sketch", seed=0, max_time=120)
    assert result.status is Status.NUMERICAL_ERROR and "sketching solver stalls" in result.message
    assert result.nit < 300
    solved = mathopt.solve(problem, method="al-sketch", seed=0, max_time=120, exact_fallback=True)
    assert solved.status is Status.CONVERGED
    assert solved.fun == pytest.approx(0.485982541, rel=1e-7)
