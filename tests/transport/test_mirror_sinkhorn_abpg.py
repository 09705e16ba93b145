"""Mirror Sinkhorn's accelerated full-projection mode (acceleration="abpg": Hanzely, Richtarik & Xiao 2021)."""
import numpy as np
import ot
import pytest

import mathopt
from mathopt.transport.mirror_sinkhorn import abpg_theta
from tests.transport.conftest import point_cloud_instance

LAM = 0.5
ROW_LAM = 20.0


def _row_shape(n, m):
    """The ``rowshape`` objective of benchmarks/bench_transport_general.py: F = <C, P> + lam/2 ||P x - t||^2."""
    return np.linspace(0.0, 1.0, m), np.linspace(0.2, 0.8, n) / n


def _rowshape_problem(a, b, cost, lam=ROW_LAM):
    x, target = _row_shape(*cost.shape)

    def objective(P):
        r = P @ x - target
        return float(np.sum(cost * P) + 0.5 * lam * (r @ r))

    return mathopt.TransportProblem(a, b, objective=objective,
                                    gradient=lambda P: cost + lam * np.outer(P @ x - target, x))


def _cvxpy_rowshape(a, b, cost, lam=ROW_LAM):
    import cvxpy as cp

    x, target = _row_shape(*cost.shape)
    plan = cp.Variable(cost.shape, nonneg=True)
    objective = cp.sum(cp.multiply(cost, plan)) + 0.5 * lam * cp.sum_squares(plan @ x - target)
    problem = cp.Problem(cp.Minimize(objective), [cp.sum(plan, axis=1) == a, cp.sum(plan, axis=0) == b])
    return problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11)


def _quad_problem(a, b, cost):
    return mathopt.TransportProblem(a, b, objective=lambda P: np.sum(cost * P) + 0.5 * LAM * np.sum(P ** 2),
                                    gradient=lambda P: cost + LAM * P)


@pytest.mark.parametrize("exponent", [2.0, 1.0])
def test_abpg_reaches_the_cvxpy_optimum_of_the_rowshape_objective_with_its_certified_gap(exponent):
    a, b, cost = point_cloud_instance()
    optimum = _cvxpy_rowshape(a, b, cost)
    result = mathopt.solve(_rowshape_problem(a, b, cost), method="mirror-sinkhorn", acceleration="abpg",
                           acceleration_exponent=exponent)
    assert result.status is mathopt.Status.CONVERGED and result.nit < 3000
    gap = result.residuals["gap"]
    assert gap <= 1e-6 * max(1.0, abs(result.fun)) and result.residuals["marginal"] < 1e-12
    assert -1e-9 <= result.fun - optimum <= gap + 1e-9  # a feasible (rounded) plan within its certified gap
    assert result.extra["inner_iterations"] > 0 and result.extra["restarts"] >= 0


def test_abpg_on_the_quadratic_objective_and_seed_reproducibility():
    a, b, cost = point_cloud_instance()
    problem = _quad_problem(a, b, cost)
    first = mathopt.solve(problem, method="mirror-sinkhorn", acceleration="abpg", seed=3)
    second = mathopt.solve(problem, method="mirror-sinkhorn", acceleration="abpg", seed=3)
    plain = mathopt.solve(problem, method="mirror-sinkhorn")
    assert first.status is mathopt.Status.CONVERGED and first.nit == second.nit
    np.testing.assert_array_equal(first.plan, second.plan)
    # both certified within 1e-6 of the same optimum
    assert abs(first.fun - plain.fun) <= first.residuals["gap"] + plain.residuals["gap"] + 1e-12
    # linear OT: acceleration selects the full projection under projection="auto"; the LP value within the gap
    linear = mathopt.solve(mathopt.TransportProblem(a, b, cost=cost), method="mirror-sinkhorn", acceleration="abpg",
                           max_iter=3000)
    assert linear.status is mathopt.Status.CONVERGED and "restarts" in linear.extra
    assert -1e-12 <= linear.fun - ot.emd2(a, b, cost) <= linear.residuals["gap"] + 1e-12


def test_abpg_history_is_monotone_with_theta_in_the_unit_interval():
    """The restart safeguard rejects any accelerated step that increases F, so F at the iterates x_k does not
    increase (beyond the projections' tolerance, as for the plain method);
    theta_k solves (1 - theta_k) / theta_k^2 = (M_k / M_{k-1}) / theta_{k-1}^2, in (0, 1]."""
    a, b, cost = point_cloud_instance()
    result = mathopt.solve(_rowshape_problem(a, b, cost), method="mirror-sinkhorn", acceleration="abpg", max_iter=80,
                           history=True, gap_tol=1e-300, objective_change_tol=1e-300)
    assert result.status is mathopt.Status.MAX_ITER and result.nit == 80
    objective, theta = result.history["objective"][1:80], result.history["theta"][1:80]
    assert np.all(np.isfinite(objective)) and np.all(np.diff(objective) <= 1e-9)  # as the plain method's test
    assert np.all((theta > 0) & (theta <= 1)) and theta[-1] < 0.5  # accelerated: theta decreases
    assert np.all(result.history["smoothness"][1:80] > 0)


@pytest.mark.parametrize("exponent", [1.0, 1.5, 2.0])
@pytest.mark.parametrize("previous, ratio", [(1.0, 1.0), (0.3, 0.7), (0.05, 2.0)])
def test_abpg_theta_solves_its_equation(exponent, previous, ratio):
    theta = abpg_theta(previous, ratio, exponent)
    assert 0 < theta < 1
    np.testing.assert_allclose((1 - theta) / theta ** exponent, ratio / previous ** exponent, rtol=1e-10)


def test_abpg_bad_options_raise_naming_the_field():
    a, b, cost = point_cloud_instance()
    problem = _quad_problem(a, b, cost)
    for bad, field in (({"acceleration": "fista"}, "acceleration"), ({"acceleration": None}, "acceleration"),
                       ({"acceleration_exponent": 2.5}, "acceleration_exponent"),
                       ({"acceleration_exponent": 0.5}, "acceleration_exponent"),
                       ({"acceleration_exponent": float("nan")}, "acceleration_exponent"),
                       ({"acceleration_exponent": "2"}, "acceleration_exponent"),
                       ({"acceleration": "abpg", "projection": "half"}, "acceleration='abpg' needs the full"),
                       ({"acceleration": "abpg", "averaging": "step"}, "averaging")):
        with pytest.raises(mathopt.OptionError, match=field):
            mathopt.solve(problem, method="mirror-sinkhorn", **bad)
    online = mathopt.TransportProblem(a, b, cost=cost, stochastic_gradient=lambda plan, rng: cost)
    with pytest.raises(mathopt.OptionError, match="acceleration='abpg' needs an exact gradient"):
        mathopt.solve(online, method="mirror-sinkhorn", acceleration="abpg", max_iter=5)


def test_certified_gap_stays_an_upper_bound_with_potentials_far_out_of_range():
    """Potentials of ~1e15 (seen from an unconverged z-projection) make the c-transform bound cancel
    catastrophically (the gap came out 0 at a 1e-4 sub-optimal plan); the bound then uses the gradient's row
    minima."""
    from types import SimpleNamespace

    from mathopt.transport.mirror_sinkhorn import FullMirrorSinkhorn

    a, b, cost = point_cloud_instance()
    problem = _rowshape_problem(a, b, cost)
    grad = problem.gradient_function()
    plan = np.outer(a, b)
    alpha = 3e15 + np.min(grad(plan), axis=1)  # without the fallback: D = 0.5 > <G, R> = 0.36, gap 0
    gap, rounded = FullMirrorSinkhorn._gap(SimpleNamespace(problem=problem, plan=plan, grad=grad, alpha=alpha))
    gradient = grad(rounded)
    exact = float(np.sum(gradient * rounded)) - ot.emd2(a, b, gradient)  # the Frank-Wolfe gap, exact LP
    assert exact > 1e-3 and exact - 1e-12 <= gap < 10 * exact
