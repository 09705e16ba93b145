"""The SciPy reference solvers on classic problems with known optima."""
import numpy as np
import pytest

import mathopt
from mathopt import Status
from mathopt.problems import hs

KNOWN_SOLUTIONS = {
    "HS6": [1.0, 1.0],
    "HS7": [0.0, np.sqrt(3.0)],
    "HS28": [0.5, -0.5, 0.5],
    "HS71": [1.0, 4.74299963, 3.82114998, 1.37940829],
}


@pytest.mark.parametrize("method", ["scipy-slsqp", "scipy-trust-constr"])
@pytest.mark.parametrize("name", ["HS6", "HS7", "HS28"])
def test_equality_problems_reach_known_optimum(method, name):
    problem = hs.load(name)
    result = mathopt.solve(problem, method=method)
    assert result.status is Status.CONVERGED, result.message
    assert abs(result.fun - problem.known_optimum) <= 1e-6 * max(1.0, abs(problem.known_optimum))
    np.testing.assert_allclose(result.x, KNOWN_SOLUTIONS[name], atol=1e-6)
    assert result.residuals["stationarity"] <= 1e-6 and result.residuals["feasibility"] <= 1e-8
    multipliers = result.extra["multipliers"]
    assert multipliers["eq"].shape == (problem.n_eq,)


def test_slsqp_inequalities_and_bounds_hs71():
    problem = hs.load("HS71")
    result = mathopt.solve(problem, method="scipy-slsqp")
    assert result.status is Status.CONVERGED
    assert abs(result.fun - problem.known_optimum) <= 1e-6 * problem.known_optimum
    np.testing.assert_allclose(result.x, KNOWN_SOLUTIONS["HS71"], atol=1e-6)
    mult = result.extra["multipliers"]
    assert mult["ineq"][0] > 0 and mult["bounds"][0] < 0  # active inequality and lower bound on x0
    assert result.residuals["complementarity"] <= 1e-6


def test_jax_problem_without_derivatives():
    import jax.numpy as jnp

    problem = mathopt.NLP(lambda x: (x[0] + x[1]) ** 2 + (x[1] + x[2]) ** 2, [-4.0, 1.0, 1.0],
                          eq=lambda x: jnp.array([x[0] + 2 * x[1] + 3 * x[2] - 1.0]))
    assert problem.derivative_source == "jax"
    result = mathopt.solve(problem, method="scipy-trust-constr")
    np.testing.assert_allclose(result.x, KNOWN_SOLUTIONS["HS28"], atol=1e-6)


def test_infeasible_constraints_reported():
    problem = mathopt.NLP(lambda x: float(x @ x), [0.3, 0.2], gradient=lambda x: 2 * x,
                          eq=lambda x: np.array([x[0] - 1.0, x[0] - 2.0]),
                          eq_jacobian=lambda x: np.array([[1.0, 0.0], [1.0, 0.0]]))
    result = mathopt.solve(problem, method="scipy-slsqp")
    assert not result.success
    assert result.status in (Status.INFEASIBLE, Status.NUMERICAL_ERROR, Status.CONVERGED_INACCURATE)
    assert result.residuals["feasibility"] >= 0.4


def test_history_records_each_iteration():
    result = mathopt.solve(hs.load("HS6"), method="scipy-slsqp", history=True)
    hist = result.history
    np.testing.assert_array_equal(hist["nit"], np.arange(result.nit + 1))  # iterate 0 included
    assert hist["fun"][0] == pytest.approx(hs.load("HS6").objective(hs.load("HS6").x0))
    assert hist["stationarity"][-1] <= 1e-6


def _unbounded_on_a_plane():
    return mathopt.NLP(lambda x: -x[0], [0.0, 0.0, 0.0], gradient=lambda x: np.array([-1.0, 0.0, 0.0]),
                       eq=lambda x: np.array([x[1] - x[2]]), eq_jacobian=lambda x: np.array([[0.0, 1.0, -1.0]]),
                       lagrangian_hessian=lambda x, y, z: np.zeros((3, 3)))


@pytest.mark.parametrize("method", ["scipy-slsqp", "scipy-trust-constr"])
def test_unbounded_problem_gives_a_status_and_a_finite_iterate(method):
    """Issue 12: SLSQP returned NaN iterates, trust-constr raised ValueError (negative curvature)."""
    result = mathopt.solve(_unbounded_on_a_plane(), method=method)
    assert result.status in (Status.UNBOUNDED, Status.NONFINITE, Status.NUMERICAL_ERROR), result.message
    assert not result.success and np.all(np.isfinite(result.x)) and np.isfinite(result.fun)
    if result.status is Status.UNBOUNDED:
        assert result.x[0] > 1e6


@pytest.mark.parametrize("method", ["scipy-slsqp", "scipy-trust-constr"])
def test_nan_mid_run_gives_nonfinite_with_the_last_finite_iterate(method):
    from . import problems as P

    result = mathopt.solve(P.nan_objective(), method=method, history=True)
    assert result.status is Status.NONFINITE
    assert np.all(np.isfinite(result.x)) and np.isfinite(result.fun)
    assert len(result.history["fun"]) == result.nit + 1 and np.all(np.isfinite(result.history["fun"]))


@pytest.mark.parametrize("method", ["scipy-slsqp", "scipy-trust-constr"])
def test_contradictory_constraints_give_a_finite_iterate_and_no_success(method):
    from . import problems as P

    result = mathopt.solve(P.contradictory(), method=method)
    assert not result.success and np.all(np.isfinite(result.x))
    assert result.status in (Status.INFEASIBLE, Status.NUMERICAL_ERROR, Status.CONVERGED_INACCURATE), result.message


@pytest.mark.parametrize("method", ["scipy-slsqp", "scipy-trust-constr", "ipopt"])
def test_nan_jacobian_mid_run_gives_nonfinite(method):
    if method == "ipopt":
        pytest.importorskip("cyipopt")
    from tests.faults import Countdown

    problem = mathopt.NLP(lambda x: float(x @ x), [2.0, 1.0], gradient=lambda x: 2 * x,
                          eq=lambda x: np.array([x[0] * x[1] - 1.0]),
                          eq_jacobian=Countdown(lambda x: np.array([[x[1], x[0]]]), 2, "nan"))
    result = mathopt.solve(problem, method=method)
    assert result.status is Status.NONFINITE, result.message  # not a ValueError from the least-squares multipliers
    assert np.all(np.isfinite(result.x))
