"""al-sketch: known optima, random convex QP, both sketches, dense and sparse KKT, robustness."""
import numpy as np
import pytest

import mathopt
from mathopt import Status
from mathopt.problems import hs

from . import problems as P

METHOD = "al-sketch"


@pytest.mark.parametrize("sketch", ["kaczmarz", "gaussian"])
@pytest.mark.parametrize("name", ["HS6", "HS7", "HS28"])
def test_hock_schittkowski_optima(name, sketch):
    P.assert_solves_hs(METHOD, name, sketch=sketch, seed=0)


@pytest.mark.parametrize("sketch", ["kaczmarz", "gaussian"])
def test_random_qp_closed_form(sketch):
    P.assert_solves_qp(METHOD, x_tol=1e-7, multiplier_tol=1e-6, problem_seed=1, sketch=sketch, seed=0)


@pytest.mark.parametrize("sketch", ["kaczmarz", "gaussian"])
def test_sparse_kkt_matches_closed_form(sketch):
    problem, x_star, y_star = P.sparse_qp(seed=2)
    result = mathopt.solve(problem, method=METHOD, sketch=sketch, seed=0)
    assert result.status is Status.CONVERGED, result.message
    np.testing.assert_allclose(result.x, x_star, atol=1e-7)
    np.testing.assert_allclose(result.extra["multipliers"]["eq"], y_star, atol=1e-6)


def test_sharpened_accuracy_takes_no_more_iterations_than_basic():
    basic = mathopt.solve(P.random_equality_qp(seed=3)[0], method=METHOD, accuracy_sharpening=0.0, seed=0,
                          stationarity_tol=1e-10, feasibility_tol=1e-10)
    sharp = mathopt.solve(P.random_equality_qp(seed=3)[0], method=METHOD, accuracy_sharpening=1.0, seed=0,
                          stationarity_tol=1e-10, feasibility_tol=1e-10)
    assert basic.success and sharp.success
    assert sharp.nit <= basic.nit


def test_same_seed_same_iterates_different_seed_runs_too():
    problem = P.random_equality_qp(seed=4)[0]
    a = mathopt.solve(problem, method=METHOD, seed=11)
    b = mathopt.solve(problem, method=METHOD, seed=11)
    c = mathopt.solve(problem, method=METHOD, seed=12)
    np.testing.assert_array_equal(a.x, b.x)
    assert a.extra["inner_iterations"] == b.extra["inner_iterations"]
    assert c.success


def test_inconsistent_constraints_give_documented_failure():
    # the pure method: the KKT systems are inconsistent, the sketch never meets its accuracy condition
    pure = mathopt.solve(P.inconsistent(), method=METHOD, seed=0, inner_max_iter=20000)
    assert pure.status in (Status.INFEASIBLE, Status.NUMERICAL_ERROR) and not pure.success
    assert "inconsistent" in pure.message
    result = mathopt.solve(P.inconsistent(), method=METHOD, seed=0, inner_max_iter=20000, exact_fallback=True)
    assert result.status is Status.INFEASIBLE  # the stalled sketch falls back on an exact solve
    assert result.message and not result.success


def test_rank_deficient_jacobian_still_solved():
    P.assert_rank_deficient_solved(METHOD, seed=0)


def test_nan_from_objective_gives_nonfinite():
    assert mathopt.solve(P.nan_objective(), method=METHOD, seed=0).status is Status.NONFINITE


def test_unbounded_objective_is_not_reported_solved():
    """Zero Hessian: shifted KKT systems; the recycled directions carry the iterates to the divergence test."""
    for options in ({}, {"exact_fallback": True}):
        result = mathopt.solve(P.unbounded(), method=METHOD, seed=0, max_iter=100, inner_max_iter=20000, **options)
        assert result.status is Status.UNBOUNDED
        assert result.x[0] > 1e6  # it does move towards +inf


def test_bad_options_rejected():
    with pytest.raises(mathopt.OptionError):
        mathopt.solve(P.rank_deficient(), method=METHOD, sketch="count")
    with pytest.raises(mathopt.OptionError):
        mathopt.solve(P.rank_deficient(), method=METHOD, accuracy=1.5)


@pytest.mark.parametrize("name", ["HS27", "HS50", "HS56", "HS61", "BT7", "BT8"])
def test_previously_failing_problems_solved(name):
    """These stopped with NUMERICAL_ERROR before the paper's penalty update and the equilibrated sketch."""
    result = P.assert_solves_hs(METHOD, name, seed=0)
    assert result.extra["fallback_steps"] == 0


@pytest.mark.parametrize("name", ["HS56", "BT8", "HS46", "HS49"])
def test_pure_sketching_solves_without_exact_fallback(name):
    # HS46 and HS49 have degenerate solutions (singular reduced Hessian): solved thanks to ``recycle``
    result = P.assert_solves_hs(METHOD, name, seed=0, max_time=30)
    assert result.extra["exact_fallbacks"] == 0
    # A sketch whose residual stops decreasing ends early (``_hopeless``); its direction is used when it
    # passes the descent test. HS46, seed 0: 9 inaccurate steps of 23 iterations and 37k sketch steps in
    # all, where sketching every system to its accuracy took 4.3M steps for <= 10% inaccurate steps.
    assert result.extra["inaccurate_steps"] <= 0.5 * result.nit
    assert result.extra["inner_iterations"] <= 200_000


def test_plain_kaczmarz_stalls_at_a_degenerate_solution_where_recycling_does_not():
    # Without the recycled subspace the KKT system near HS49's solution needs ~1e9 Kaczmarz steps per digit
    plain = mathopt.solve(hs.load("HS49"), method=METHOD, seed=0, recycle=0, inner_max_iter=20_000, max_iter=40)
    recycled = mathopt.solve(hs.load("HS49"), method=METHOD, seed=0, recycle=3, inner_max_iter=20_000, max_iter=40)
    assert not plain.success and plain.extra["inaccurate_steps"] > 0
    assert recycled.success and recycled.extra["inaccurate_steps"] == 0


def test_recycled_subspace_removes_a_slow_direction_from_one_solve():
    from mathopt.constrained.al_sketch import ALSketchOptions, SketchKKTSolver

    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(12, 12)))
    K = Q @ np.diag(np.r_[np.linspace(1.0, 2.0, 11), 1e-6]) @ Q.T  # one direction of tiny curvature
    rhs = Q[:, -1] * 1e-6 + 1e-3 * Q[:, 0]
    exact = np.linalg.solve(K, rhs)
    tol = 1e-6 * np.linalg.norm(rhs)
    solver = SketchKKTSolver(ALSketchOptions(inner_max_iter=50_000, equilibrate=False))
    cold = solver.solve(K, rhs, tol, seed=0)
    assert cold.residual > tol  # Kaczmarz alone: ~1e12 steps per digit along Q[:, -1]
    warm = solver.solve(K, rhs, tol, seed=0, memory=[exact + 0.1 * rng.normal(size=12) * 1e-3])  # a nearby direction
    assert warm.residual <= tol
    assert np.linalg.norm(warm.direction - exact) <= tol / 1e-6  # ||K^-1|| = 1e6


def test_stalled_sketch_falls_back_on_an_exact_solve_and_counts_it():
    # Without recycling, HS46's KKT matrix is nearly singular near its degenerate solution: Kaczmarz stalls
    result = P.assert_solves_hs(METHOD, "HS46", seed=0, inner_max_iter=20_000, recycle=0, exact_fallback=True)
    assert result.extra["exact_fallbacks"] > 0
    assert result.extra["exact_fallbacks"] < result.nit


def test_contradictory_constraints_stop_without_max_time():
    """x0 = 1 and x0 = 2 (issue 12): the sketch of an inconsistent KKT system stalls; the run stops
    on its own (it used to run to max_time) and never reports success."""
    result = mathopt.solve(P.contradictory(), method=METHOD, seed=0, max_time=60)
    assert result.status in (Status.INFEASIBLE, Status.NUMERICAL_ERROR), result.message
    assert result.wall_time < 30 and np.all(np.isfinite(result.x))


def test_inner_options_use_the_vocabulary():
    result = mathopt.solve(P.random_equality_qp(seed=4)[0], method=METHOD, seed=1, inner_max_iter=50_000)
    assert result.success and result.extra["inner_iterations"] > 0
    with pytest.raises(mathopt.OptionError, match="valid options"):
        mathopt.solve(P.random_equality_qp(seed=4)[0], method=METHOD, max_inner=10)
