"""pdhg-lp and halpern-pdhg-lp: optimal values against HiGHS, certificates checked independently."""
import numpy as np
import pytest

import mathopt
from mathopt import OptionError, Status, UnknownMethodError
from tests.feasibility.certificates import check_certificate
from tests.feasibility.contract import make_problem

METHODS = ("pdhg-lp", "halpern-pdhg-lp")


def _highs_value(problem):
    highspy = pytest.importorskip("highspy", reason="highspy (HiGHS) is not installed")
    A = problem.A.tocsc()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = problem.n, problem.m
    lp.col_cost_ = problem.q
    lp.col_lower_, lp.col_upper_ = np.full(problem.n, -np.inf), np.full(problem.n, np.inf)
    lp.row_lower_, lp.row_upper_ = problem.l, problem.u
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = A.indptr, A.indices, A.data
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.passModel(lp)
    highs.run()
    return highs.getInfo().objective_function_value


@pytest.mark.parametrize("method", METHODS)
def test_small_lp_matches_highs(method):
    problem = make_problem(method)
    result = mathopt.solve(problem, method=method)
    assert result.status is Status.CONVERGED, result.message
    assert result.fun == pytest.approx(_highs_value(problem), rel=1e-5, abs=1e-6)
    assert np.max(np.abs(problem.q + problem.A.T @ result.y)) < 1e-4


@pytest.mark.parametrize("method", METHODS)
def test_certificates(method):
    A = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    infeasible = mathopt.QP(None, [1.0, 1.0], A, [-np.inf, 1.0, 0.5], [1.0, np.inf, np.inf])
    result = mathopt.solve(infeasible, method=method)
    assert result.status is Status.PRIMAL_INFEASIBLE
    assert check_certificate(infeasible, result)[0]
    unbounded = mathopt.QP(None, [-1.0, -1.0], np.array([[1.0, -1.0], [1.0, 0.0]]), [0.0, 0.0], [0.0, np.inf])
    result = mathopt.solve(unbounded, method=method)
    assert result.status is Status.DUAL_INFEASIBLE
    ok, why = check_certificate(unbounded, result)
    assert ok, why


def test_qp_rejected():
    with pytest.raises(UnknownMethodError, match="LPs"):
        mathopt.solve(make_problem("admm-qp"), method="pdhg-lp")


@pytest.mark.parametrize("options, field", [({"primal_weight": 0.0}, "primal_weight"),
                                            ({"check_interval": 0}, "check_interval"),
                                            ({"restart_fraction": 1.0}, "restart_fraction")])
def test_bad_options(options, field):
    with pytest.raises(OptionError, match=field):
        mathopt.solve(make_problem("halpern-pdhg-lp"), method="halpern-pdhg-lp", **options)
