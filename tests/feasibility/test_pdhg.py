"""pdhg-lp and halpern-pdhg-lp: optimal values against HiGHS, certificates checked independently,
the PDLP options (each one on and off, each bad value rejected by name)."""
import numpy as np
import pytest
import scipy.sparse as sp

import mathopt
from mathopt import OptionError, Status, UnknownMethodError
from mathopt.feasibility import _pdlp
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


def _transport_lp():
    """A 3 x 4 transportation LP (equality rows, nonnegative flows as bound rows): 12 variables."""
    rng = np.random.default_rng(3)
    cost = rng.uniform(1.0, 5.0, (3, 4))
    supply, demand = np.array([4.0, 5.0, 3.0]), np.array([3.0, 3.0, 4.0, 2.0])
    rows = [np.kron(np.eye(3)[i], np.ones(4)) for i in range(3)] + [np.kron(np.ones(3), np.eye(4)[j]) for j in range(4)]
    A = np.vstack(rows + [np.eye(12)])
    return mathopt.QP(None, cost.ravel(), A, np.r_[supply, demand, np.zeros(12)],
                      np.r_[supply, demand, np.full(12, np.inf)])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("make", [lambda: make_problem("pdhg-lp"), _transport_lp], ids=["box", "transport"])
def test_small_lp_matches_highs(method, make):
    problem = make()
    result = mathopt.solve(problem, method=method)
    assert result.status is Status.CONVERGED, result.message
    assert result.fun == pytest.approx(_highs_value(problem), rel=1e-8, abs=1e-9)
    assert np.max(np.abs(problem.q + problem.A.T @ result.y)) < 1e-6
    assert np.max(problem.A @ result.x - problem.u) < 1e-6 and np.max(problem.l - problem.A @ result.x) < 1e-6


@pytest.mark.parametrize("method", METHODS)
def test_certificates(method):
    A = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])   # the last two rows become bounds on x
    infeasible = mathopt.QP(None, [1.0, 1.0], A, [-np.inf, 1.0, 0.5], [1.0, np.inf, np.inf])
    result = mathopt.solve(infeasible, method=method)
    assert result.status is Status.PRIMAL_INFEASIBLE
    ok, why = check_certificate(infeasible, result)
    assert ok, why
    assert result.certificate[1] < 0 and result.certificate[2] < 0  # the bound rows carry the certificate
    unbounded = mathopt.QP(None, [-1.0, -1.0], np.array([[1.0, -1.0], [1.0, 0.0]]), [0.0, 0.0], [0.0, np.inf])
    result = mathopt.solve(unbounded, method=method)
    assert result.status is Status.DUAL_INFEASIBLE
    ok, why = check_certificate(unbounded, result)
    assert ok, why


@pytest.mark.parametrize("method, options", [
    ("pdhg-lp", {"bound_rows": False}), ("pdhg-lp", {"pock_chambolle": False, "scaling": 0}),
    ("pdhg-lp", {"operator_norm": "bound"}), ("pdhg-lp", {"restarts": False}),
    ("pdhg-lp", {"restart_to": "average"}), ("pdhg-lp", {"restart_to": "current", "primal_weight_update": 0.0}),
    ("pdhg-lp", {"primal_weight": 10.0}), ("halpern-pdhg-lp", {"reflection": 0.0}),
    ("halpern-pdhg-lp", {"bound_rows": False, "operator_norm": "bound"}),
])
def test_options_converge(method, options):
    problem = _transport_lp()
    result = mathopt.solve(problem, method=method, **options)
    assert result.status is Status.CONVERGED, result.message
    assert result.fun == pytest.approx(_highs_value(problem), rel=1e-7)


def test_restarts_and_primal_weight():
    problem = _transport_lp()
    fixed = mathopt.solve(problem, method="pdhg-lp", primal_weight=3.0, primal_weight_update=0.0)
    assert fixed.extra["primal_weight"] == 3.0 and fixed.extra["restarts"] > 0
    tau, sigma = fixed.extra["step_sizes"]
    assert sigma / tau == pytest.approx(9.0)  # tau = eta / omega, sigma = eta omega
    none = mathopt.solve(problem, method="halpern-pdhg-lp", restarts=False, max_iter=500)
    assert none.extra["restarts"] == 0


def test_operator_norm_estimate_is_a_safe_upper_estimate():
    A = sp.random(40, 30, density=0.2, random_state=np.random.default_rng(1), format="csr")
    true = np.linalg.norm(A.toarray(), 2)
    estimate = _pdlp.operator_norm(A, estimate=True)
    assert true <= estimate <= true * (1 + 2 * _pdlp.NORM_MARGIN)
    bound = _pdlp.operator_norm(A, estimate=False)
    assert bound == _pdlp.norm_bound(A) and bound >= estimate


def test_bound_rows_become_column_bounds():
    problem = _transport_lp()
    general, xl, xu, low_row, up_row, _ = _pdlp.reduce_lp(problem, bound_rows=True)
    np.testing.assert_array_equal(general, np.arange(7))
    np.testing.assert_array_equal(xl, np.zeros(12))
    assert np.all(np.isinf(xu)) and np.all(low_row == np.arange(7, 19)) and np.all(up_row == -1)


def test_qp_rejected():
    with pytest.raises(UnknownMethodError, match="LPs"):
        mathopt.solve(make_problem("admm-qp"), method="pdhg-lp")


@pytest.mark.parametrize("method, options, field", [
    ("halpern-pdhg-lp", {"primal_weight": 0.0}, "primal_weight"),
    ("pdhg-lp", {"primal_weight": "1"}, "primal_weight"),
    ("halpern-pdhg-lp", {"check_interval": 0}, "check_interval"),
    ("halpern-pdhg-lp", {"restart_fraction": 1.0}, "restart_fraction"),
    ("pdhg-lp", {"restart_decay": -0.1}, "restart_decay"),
    ("pdhg-lp", {"restart_necessary": 1.0}, "restart_necessary"),
    ("pdhg-lp", {"restarts": "no"}, "restarts"),
    ("pdhg-lp", {"pock_chambolle": 1}, "pock_chambolle"),
    ("pdhg-lp", {"bound_rows": "yes"}, "bound_rows"),
    ("pdhg-lp", {"step_size": 1.0}, "step_size"),
    ("pdhg-lp", {"step_size": 0.0}, "step_size"),
    ("pdhg-lp", {"operator_norm": "power"}, "operator_norm"),
    ("pdhg-lp", {"primal_weight_update": 1.5}, "primal_weight_update"),
    ("pdhg-lp", {"restart_to": "last"}, "restart_to"),
    ("halpern-pdhg-lp", {"reflection": 1.5}, "reflection"),
    ("halpern-pdhg-lp", {"reflection": "full"}, "reflection"),
])
def test_bad_options(method, options, field):
    with pytest.raises(OptionError, match=field):
        mathopt.solve(make_problem(method), method=method, **options)


@pytest.mark.parametrize("method", METHODS)
def test_nonfinite_step_keeps_the_last_finite_iterate(method, monkeypatch):
    """A kernel call that stops before a non-finite image (simulated: the second call does one step
    fewer and leaves NaN in the image arrays) ends NONFINITE at the last finite iterate."""
    from mathopt.feasibility import _pdhg_kernel

    real, calls = _pdhg_kernel.pdhg_iterations, []

    def failing(*args):
        calls.append(1)
        if len(calls) < 2:
            return real(*args)
        args = list(args)
        args[-3] -= 1               # steps (the arguments end with since, steps, halpern, reflection)
        done, since = real(*args)
        for image in args[19:21]:   # image_x, image_y: the rejected step's values
            image[:] = np.nan
        return done, since

    monkeypatch.setattr(_pdhg_kernel, "pdhg_iterations", failing)
    result = mathopt.solve(_transport_lp(), method=method)
    assert result.status is Status.NONFINITE
    assert result.nit == 64 + 63 and np.all(np.isfinite(result.x)) and np.all(np.isfinite(result.y))
