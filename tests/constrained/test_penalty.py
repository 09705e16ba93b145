"""penalty: quadratic and smoothed-l1 continuation on known optima, closed-form QP, robustness.

The quadratic penalty is infeasible by O(1/rho) and its inner problems become
ill-conditioned, so its tests ask for the looser tolerances it can reach
(documented in docs/constrained.md); the smoothed l1 penalty reaches them too.
"""
import numpy as np
import pytest

import mathopt
from mathopt import Status

from . import problems as P

METHOD = "penalty"
LOOSE = {"stationarity_tol": 1e-3, "feasibility_tol": 1e-6}


@pytest.mark.parametrize("kind", ["quadratic", "l1"])
@pytest.mark.parametrize("name", ["HS6", "HS7", "HS28", "HS71"])
def test_hock_schittkowski_optima(name, kind):
    # x within 1e-3: the loose stationarity_tol bounds the distance to a nondegenerate minimizer
    P.assert_solves_hs(METHOD, name, x_tol=1e-3, fun_tol=1e-5, kind=kind, **LOOSE)


@pytest.mark.parametrize("kind", ["quadratic", "l1"])
def test_random_qp_closed_form(kind):
    P.assert_solves_qp(METHOD, x_tol=1e-5, multiplier_tol=1e-3, kind=kind, **LOOSE)


def test_quadratic_penalty_reports_inaccurate_when_tolerances_are_out_of_reach():
    result = mathopt.solve(P.random_equality_qp()[0], method=METHOD, stationarity_tol=1e-12)
    assert result.status in (Status.CONVERGED_INACCURATE, Status.MAX_ITER)
    assert result.residuals["feasibility"] <= 1e-8


@pytest.mark.parametrize("kind", ["quadratic", "l1"])
def test_inconsistent_constraints_reported_infeasible(kind):
    result = mathopt.solve(P.inconsistent(), method=METHOD, kind=kind)
    assert result.status is Status.INFEASIBLE
    assert "inconsistent" in result.message


def test_rank_deficient_jacobian_still_solved():
    P.assert_rank_deficient_solved(METHOD)


def test_nan_from_objective_gives_nonfinite():
    assert mathopt.solve(P.nan_objective(), method=METHOD).status is Status.NONFINITE


def test_unbounded_objective_reported():
    assert mathopt.solve(P.unbounded(), method=METHOD).status is Status.UNBOUNDED


def test_bad_kind_rejected():
    with pytest.raises(mathopt.OptionError):
        mathopt.solve(P.rank_deficient(), method=METHOD, kind="l2")
