"""auglag: known optima (HS6, HS7, HS28, HS71 with inequalities and bounds), closed-form QP, robustness."""
import numpy as np
import pytest

import mathopt
from mathopt import Status

from . import problems as P

METHOD = "auglag"


@pytest.mark.parametrize("name", ["HS6", "HS7", "HS28", "HS71"])
def test_hock_schittkowski_optima(name):
    P.assert_solves_hs(METHOD, name)


def test_hs71_solution_and_multiplier_signs():
    result = P.assert_solves_hs(METHOD, "HS71")
    np.testing.assert_allclose(result.x, [1.0, 4.74299963, 3.82114998, 1.37940829], atol=1e-5)
    mult = result.extra["multipliers"]
    assert mult["ineq"][0] > 0  # x1 x2 x3 x4 >= 25 is active
    assert mult["bounds"][0] < 0  # x1 at its lower bound 1


def test_random_qp_closed_form():
    P.assert_solves_qp(METHOD, x_tol=1e-6, multiplier_tol=1e-5)


def test_inconsistent_constraints_reported_infeasible():
    result = mathopt.solve(P.inconsistent(), method=METHOD)
    assert result.status is Status.INFEASIBLE
    np.testing.assert_allclose(result.x[0], 0.5, atol=1e-6)


def test_rank_deficient_jacobian_still_solved():
    P.assert_rank_deficient_solved(METHOD)


def test_nan_from_objective_gives_nonfinite():
    assert mathopt.solve(P.nan_objective(), method=METHOD).status is Status.NONFINITE


def test_unbounded_objective_reported():
    assert mathopt.solve(P.unbounded(), method=METHOD).status is Status.UNBOUNDED
