"""auglag and penalty claim INFEASIBLE only at a local minimizer of the infeasibility (issue 18, section 1).

Once the penalty passes ``penalty_max`` (or the inner solves stop moving) with violated
constraints, the methods minimize ``phi = ||c_E||^2/2 + ||max(0, c_I)||^2/2`` over the bounds from
the last iterate and claim "locally infeasible" only where the projected gradient of ``phi``
vanishes (relative 1e-8, see mathopt.constrained.kkt.InfeasibilityCheck) and
its Hessian has no negative eigenvalue; ``residuals["infeasibility_stationarity"]`` is the
projected gradient there. A start where the Jacobian and the objective's gradient vanish (a
saddle of the merit function that L-BFGS-B cannot leave) is escaped along negative curvature.
"""
import numpy as np
import pytest

import mathopt
from mathopt import Status

from . import problems as P

CASES = [("auglag", {}), ("penalty", {"kind": "quadratic"}), ("penalty", {"kind": "l1"})]
IDS = ["auglag", "penalty-quadratic", "penalty-l1"]
#: The quadratic penalty reaches only O(1/rho) feasibility (see test_penalty.py).
LOOSE = {"stationarity_tol": 1e-3, "feasibility_tol": 1e-6}


def ellipse_objective_from_the_centre():
    """min x1^2 + 2 x2^2 s.t. (x1^2 + x2^2)/100 = 1 from x0 = 0, where grad f = 0 and the Jacobian is 0:
    a stationary point of the merit function and a maximizer of ||c||^2. Solutions (+-10, 0), f = 100."""
    return mathopt.NLP(lambda x: x[0] ** 2 + 2.0 * x[1] ** 2, [0.0, 0.0],
                       gradient=lambda x: np.array([2.0 * x[0], 4.0 * x[1]]),
                       eq=lambda x: np.array([(x[0] ** 2 + x[1] ** 2) / 100.0 - 1.0]),
                       eq_jacobian=lambda x: np.array([[x[0] / 50.0, x[1] / 50.0]]),
                       lagrangian_hessian=lambda x, y, z: np.diag([2.0, 4.0]) + y[0] / 50.0 * np.eye(2))


def equality_outside_the_box():
    """x0 = 2 with x0 <= 1: the box-constrained minimizer of ||c||^2 is x0 = 1 (violation 1)."""
    return mathopt.NLP(lambda x: float(x @ x), [0.0, 0.5], gradient=lambda x: 2.0 * x,
                       eq=lambda x: np.array([x[0] - 2.0]), eq_jacobian=lambda x: np.array([[1.0, 0.0]]),
                       bounds=([-np.inf, -np.inf], [1.0, np.inf]))


def contradictory_inequalities():
    """x0 <= 1 and x0 >= 2: the least-squares point has x0 = 3/2 (violation 1/2)."""
    return mathopt.NLP(lambda x: float(x @ x), [0.3, 0.2], gradient=lambda x: 2.0 * x,
                       ineq=lambda x: np.array([x[0] - 1.0, 2.0 - x[0]]),
                       ineq_jacobian=lambda x: np.array([[1.0, 0.0], [-1.0, 0.0]]))


@pytest.mark.parametrize(("method", "options"), CASES, ids=IDS)
def test_degenerate_start_of_a_feasible_problem_is_escaped(method, options):
    """Before: three inner solves did not move x0 = 0 and the solve ended with NUMERICAL_ERROR at x0."""
    result = mathopt.solve(ellipse_objective_from_the_centre(), method=method, **options, **LOOSE)
    assert result.status is not Status.INFEASIBLE
    assert result.extra["escapes"] >= 1
    np.testing.assert_allclose(np.abs(result.x), [10.0, 0.0], atol=1e-3)
    if method == "auglag" or options["kind"] == "l1":
        assert result.status is Status.CONVERGED, result.message


@pytest.mark.parametrize(("method", "options"), CASES, ids=IDS)
def test_feasible_problem_stopped_by_penalty_max_is_not_called_infeasible(method, options):
    """A small penalty_max stops the run while the constraints are still violated; the problem is
    feasible and the iterate no minimizer of ||c||^2 (before: INFEASIBLE, "constraints look inconsistent")."""
    result = mathopt.solve(P.circle_from_its_centre(), method=method, penalty_max=1e2, **options)
    assert result.residuals["feasibility"] > 1e-8
    assert result.status is Status.NUMERICAL_ERROR, result.message
    assert "no infeasibility claim" in result.message
    assert "infeasibility_stationarity" not in result.residuals


@pytest.mark.parametrize(("method", "options"), CASES, ids=IDS)
@pytest.mark.parametrize(("make", "x0_star", "violation"), [
    (P.contradictory, 1.5, 0.5), (P.inconsistent, 0.5, 0.5),
    (equality_outside_the_box, 1.0, 1.0), (contradictory_inequalities, 1.5, 0.5)],
    ids=["contradictory", "inconsistent", "outside-box", "inequalities"])
def test_inconsistent_constraints_infeasible_with_its_certificate(method, options, make, x0_star, violation):
    result = mathopt.solve(make(), method=method, **options)
    assert result.status is Status.INFEASIBLE, result.message
    assert "locally infeasible" in result.message
    # the certificate's scale max(1, ||J^T||_inf) is at most 2 on these problems
    assert result.residuals["infeasibility_stationarity"] <= 2e-8 * result.residuals["feasibility"]
    assert result.residuals["feasibility"] == pytest.approx(violation, rel=1e-6)
    assert result.x[0] == pytest.approx(x0_star, rel=1e-6)
