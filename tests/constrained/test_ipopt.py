"""IPOPT baseline (skipped without cyipopt): known optima, status translation, options."""
import numpy as np
import pytest

import mathopt
from mathopt import Status
from mathopt.problems import hs

pytest.importorskip("cyipopt")


@pytest.mark.parametrize("name", ["HS28", "HS61", "BT7", "HS71", "HS21", "HS76"])
def test_reaches_known_optimum(name):
    problem = hs.load(name)
    result = mathopt.solve(problem, method="ipopt")
    assert result.status is Status.CONVERGED, result.message
    assert abs(result.fun - problem.known_optimum) <= 1e-6 * max(1.0, abs(problem.known_optimum))
    assert result.residuals["stationarity"] <= 1e-6 and result.residuals["feasibility"] <= 1e-8
    # 0: Solve_Succeeded; 5: User_Requested_Stop, mathopt's KKT test met first (as for every NLP solver)
    assert "ipopt_multipliers" in result.extra and result.extra["ipopt_status"] in (0, 5)


def test_ipopt_multipliers_agree_with_least_squares_estimate():
    # HS28: L = f + y c; Ipopt's mult_g uses the same sign convention as mathopt.
    result = mathopt.solve(hs.load("HS28"), method="ipopt")
    np.testing.assert_allclose(result.extra["ipopt_multipliers"]["g"], result.extra["multipliers"]["eq"], atol=1e-8)


def test_limited_memory_hessian_option():
    result = mathopt.solve(hs.load("HS42"), method="ipopt", hessian="limited-memory")
    assert result.success and result.nhev == 0
    assert result.fun == pytest.approx(hs.load("HS42").known_optimum, rel=1e-8)


def test_iteration_limit_translated():
    result = mathopt.solve(hs.load("HS46"), method="ipopt", max_iter=3)
    assert result.status is Status.MAX_ITER and result.nit <= 3


def test_infeasible_problem_reported():
    problem = mathopt.NLP(lambda x: x @ x, [1.0, 1.0],
                          eq=lambda x: np.array([x[0] ** 2 + x[1] ** 2 + 1.0]))
    result = mathopt.solve(problem, method="ipopt", max_iter=200)
    assert result.status is Status.INFEASIBLE and not result.success


def test_bad_option_values_rejected():
    with pytest.raises(mathopt.OptionError, match="hessian"):
        mathopt.solve(hs.load("HS28"), method="ipopt", hessian="bfgs")
