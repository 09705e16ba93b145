"""admm-qp and halpern-admm against cvxpy and HiGHS, and their certificates checked independently."""
import numpy as np
import pytest

import mathopt
from mathopt import OptionError, Status
from tests.feasibility.certificates import check_certificate, dual_certificate_ok, primal_certificate_ok
from tests.feasibility.conftest import data_file

METHODS = ("admm-qp", "halpern-admm")


def _random_qp(seed, n=6, m=9, lp=False):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n))
    P = None if lp else M @ M.T / n
    A = rng.standard_normal((m, n))
    lower, upper = -rng.random(m), rng.random(m)
    lower[0] = upper[0] = 0.3            # an equality row
    upper[1] = np.inf                    # one-sided rows
    lower[2] = -np.inf
    return mathopt.QP(P, rng.standard_normal(n), A, lower, upper, r=0.5)


def _cvxpy_value(problem):
    cp = pytest.importorskip("cvxpy")
    x = cp.Variable(problem.n)
    A = problem.A.toarray()
    lo, up = np.isfinite(problem.l), np.isfinite(problem.u)
    objective = problem.q @ x + problem.r
    if not problem.is_lp:
        objective = objective + 0.5 * cp.quad_form(x, cp.psd_wrap(problem.P.toarray()))
    cons = [A[lo] @ x >= problem.l[lo], A[up] @ x <= problem.u[up]]
    value = cp.Problem(cp.Minimize(objective), cons).solve(solver=cp.CLARABEL)  # an interior-point method: 1e-8
    return value, x.value


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_small_qps_match_cvxpy(method, seed):
    problem = _random_qp(seed)
    result = mathopt.solve(problem, method=method)
    assert result.status is Status.CONVERGED, result.message
    value, x = _cvxpy_value(problem)
    assert result.fun == pytest.approx(value, rel=1e-5, abs=1e-5)
    np.testing.assert_allclose(result.x, x, atol=1e-3)
    # KKT conditions recomputed here: stationarity, complementarity signs, feasibility
    y = result.y
    assert result.y.shape == (problem.m,) and result.certificate is None
    assert np.max(np.abs(problem.P @ result.x + problem.q + problem.A.T @ y)) < 1e-4
    Ax = problem.A @ result.x
    assert np.all(Ax >= problem.l - 1e-5) and np.all(Ax <= problem.u + 1e-5)
    assert np.all(y[Ax < problem.u - 1e-4] <= 1e-5) and np.all(y[Ax > problem.l + 1e-4] >= -1e-5)
    np.testing.assert_array_equal(result.extra["multipliers"], y)


@pytest.mark.parametrize("method", METHODS)
def test_lp_matches_highs(method, needs_highs):
    import highspy

    from mathopt.problems.lp import read_mps

    path = data_file("netlib-lp", "afiro.mps.gz")
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.readModel(str(path))
    highs.run()
    reference = highs.getInfo().objective_function_value
    result = mathopt.solve(read_mps(path), method=method)
    assert result.status is Status.CONVERGED, result.message
    assert result.fun == pytest.approx(reference, rel=1e-5)


def test_maros_meszaros_hs21():
    from mathopt.problems.qp import maros_meszaros

    result = mathopt.solve(maros_meszaros(data_file("maros-meszaros", "HS21.mat")))
    assert result.status is Status.CONVERGED
    assert result.fun == pytest.approx(-99.96, rel=1e-6)  # published optimum of HS21


def _infeasible_lp(k):
    """x1 + x2 <= 1 with x1 >= 1 and x2 >= k (infeasible for k > 0): the step-by-step example."""
    A = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    return mathopt.QP(None, [1.0, 1.0], A, [-np.inf, 1.0, k], [1.0, np.inf, np.inf])


@pytest.mark.parametrize("method", METHODS)
def test_primal_infeasible_certificate(method):
    problem = _infeasible_lp(0.5)
    result = mathopt.solve(problem, method=method)
    assert result.status is Status.PRIMAL_INFEASIBLE, result.message
    ok, why = check_certificate(problem, result)
    assert ok, why
    # the Farkas vector of this problem is proportional to (1, -1, -1)
    np.testing.assert_allclose(result.certificate / result.certificate[0], [1.0, -1.0, -1.0], atol=1e-3)
    assert not result.success


@pytest.mark.parametrize("method", METHODS)
def test_feasible_neighbour_converges(method):
    result = mathopt.solve(_infeasible_lp(0.0), method=method)
    assert result.status is Status.CONVERGED
    assert result.fun == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("method", METHODS)
def test_dual_infeasible_certificate(method):
    # min -x1 - x2 s.t. x1 - x2 = 0, x1 >= 0: unbounded along (1, 1)
    problem = mathopt.QP(np.diag([0.0, 0.0]), [-1.0, -1.0], np.array([[1.0, -1.0], [1.0, 0.0]]),
                         [0.0, 0.0], [0.0, np.inf])
    result = mathopt.solve(problem, method=method)
    assert result.status is Status.DUAL_INFEASIBLE, result.message
    ok, why = check_certificate(problem, result)
    assert ok, why
    np.testing.assert_allclose(result.certificate, [1.0, 1.0], atol=1e-4)


def test_checker_rejects_wrong_certificates():
    problem = _infeasible_lp(0.5)
    A, l, u = problem.A, problem.l, problem.u
    assert primal_certificate_ok(A, l, u, [1.0, -1.0, -1.0])[0]
    assert not primal_certificate_ok(A, l, u, [-1.0, 1.0, 1.0])[0]      # signs against the infinite bounds
    assert not primal_certificate_ok(A, l, u, [1.0, -1.0, -0.9])[0]     # A'y != 0
    assert not primal_certificate_ok(A, l, u, np.zeros(3))[0]
    feasible = _infeasible_lp(-1.0)                                       # support is 0 >= 0 there
    assert not primal_certificate_ok(feasible.A, feasible.l, feasible.u, [1.0, -1.0, -1.0])[0]
    assert not dual_certificate_ok(problem.P, problem.q, A, l, u, [1.0, 1.0])[0]  # q'x > 0


@pytest.mark.parametrize("method", METHODS + ("pdhg-lp", "halpern-pdhg-lp"))
@pytest.mark.parametrize("name", ["itest2", "itest6", "galenet", "woodinfe"])
def test_netlib_infeasible_lps(method, name, needs_highs):
    from mathopt.problems.lp import read_mps

    problem = read_mps(data_file("netlib-infeas", f"{name}.mps.gz"))
    result = mathopt.solve(problem, method=method, max_iter=20000)
    assert result.status is Status.PRIMAL_INFEASIBLE, result.message
    ok, why = check_certificate(problem, result)
    assert ok, why


def test_penalty_adaptation_refactors_and_fixed_penalty_does_not():
    problem = _random_qp(3, n=8, m=12)
    adaptive = mathopt.solve(problem, method="admm-qp", penalty=1e-4)
    fixed = mathopt.solve(problem, method="admm-qp", penalty=1e-4, penalty_interval=0, max_iter=200)
    assert adaptive.status is Status.CONVERGED and adaptive.extra["refactorizations"] > 1
    assert fixed.extra["refactorizations"] == 1 and fixed.extra["penalty"] == 1e-4


def test_halpern_restarts_recorded():
    result = mathopt.solve(_random_qp(0), method="halpern-admm")
    assert result.extra["restarts"] > 0
    none = mathopt.solve(_random_qp(0), method="halpern-admm", restart_decay=0.0, restart_fraction=0.0,
                         max_iter=100)
    assert none.extra["restarts"] == 0


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("max_iter", [1, 137])
def test_compiled_loop_matches_python_reference(method, max_iter):
    # same iterates up to rounding (the adapted penalty, a ratio of residuals, carries it to about 1e-9)
    # penalty 1e-4 forces refactorizations (and Halpern re-anchoring) inside the run; max_iter 137 stops
    # between two tests, so the kernel runs 25-iteration stretches, a penalty update and a partial one
    problem = _random_qp(3, n=8, m=12)
    runs = [mathopt.solve(problem, method=method, penalty=1e-4, max_iter=max_iter, loop=loop, history=True)
            for loop in ("python", "compiled")]
    python, compiled = runs
    assert python.status is compiled.status and python.nit == compiled.nit
    assert compiled.extra["penalty"] == pytest.approx(python.extra["penalty"], rel=1e-9)
    for key in ("refactorizations",) + (("restarts",) if method == "halpern-admm" else ()):
        assert python.extra[key] == compiled.extra[key], key
    if max_iter > 1:
        assert compiled.extra["refactorizations"] > 1
    np.testing.assert_allclose(compiled.x, python.x, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(compiled.y, python.y, rtol=1e-7, atol=1e-10)
    for name in ("fun", "displacement"):  # every iterate, one kernel call per iteration (history on)
        np.testing.assert_allclose(compiled.history[name], python.history[name], rtol=1e-7, atol=1e-10)
    # the whole budget in one advance call (no history): the same last iterate
    single = mathopt.solve(problem, method=method, penalty=1e-4, max_iter=max_iter)
    np.testing.assert_allclose(single.x, python.x, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("halpern", [False, True])
def test_compiled_loop_never_commits_a_non_finite_iterate(halpern):
    from mathopt.core.status import CODE_NONFINITE
    from mathopt.feasibility.admm import ADMMOptions, ADMMSolver

    solver = ADMMSolver(halpern=halpern)
    state = solver.init(_random_qp(0), ADMMOptions(polish=False))  # polish: early polishing ends it at 25
    good = solver.advance(state, 0, 30, False).state   # 30 finite iterations (a test at 25)
    broken = good.factor.triangular._replace(d_inv=np.full_like(good.factor.triangular.d_inv, 1e300))
    bad = good._replace(factor=good.factor._replace(triangular=broken))   # the next solve overflows
    x, v, image_x = good.x.copy(), good.v.copy(), good.image.x.copy()
    out = solver.advance(bad, 30, 10, False)
    assert out.code == CODE_NONFINITE and out.done == 0
    assert out.state.iteration == 30
    np.testing.assert_array_equal(out.state.x, x)
    np.testing.assert_array_equal(out.state.v, v)
    np.testing.assert_array_equal(out.state.image.x, image_x)
    assert np.all(np.isfinite(out.state.image.x))


@pytest.mark.parametrize("method", METHODS)
def test_compiled_loop_certificate_matches_python_reference(method):
    problem = _infeasible_lp(0.5)
    python, compiled = (mathopt.solve(problem, method=method, loop=loop) for loop in ("python", "compiled"))
    assert compiled.status is Status.PRIMAL_INFEASIBLE and compiled.nit == python.nit
    np.testing.assert_allclose(compiled.certificate, python.certificate, rtol=1e-7, atol=1e-10)
    assert check_certificate(problem, compiled)[0]


def test_unconstrained_qp():
    result = mathopt.solve(mathopt.QP(np.diag([1.0, 2.0]), [-1.0, -2.0], None, [], []))
    assert result.status is Status.CONVERGED
    np.testing.assert_allclose(result.x, [1.0, 1.0], atol=1e-5)


@pytest.mark.parametrize("options, field", [
    ({"relaxation": 2.5}, "relaxation"), ({"penalty": 0.0}, "penalty"), ({"sigma": -1.0}, "sigma"),
    ({"check_interval": 0}, "check_interval"), ({"rel_tol": "1e-6"}, "rel_tol"), ({"scaling": 1.5}, "scaling"),
    ({"feasibility_tol": np.nan}, "feasibility_tol"), ({"penalty_interval": -1}, "penalty_interval"),
    ({"loop": "numba"}, "loop"), ({"penalty_reset_fraction": 1.5}, "penalty_reset_fraction"),
    ({"penalty_reset_fraction": "0.1"}, "penalty_reset_fraction"), ({"polish_growth": 1.0}, "polish_growth"),
    ({"penalty_reset_growth": -0.5}, "penalty_reset_growth"),
    ({"penalty_reset_growth": np.nan}, "penalty_reset_growth"),
])
def test_bad_options_name_the_field(options, field):
    with pytest.raises(OptionError, match=field):
        mathopt.solve(_random_qp(0), method="admm-qp", **options)


@pytest.mark.parametrize("options, field", [({"restart_decay": 1.0}, "restart_decay"),
                                            ({"restart_fraction": -0.1}, "restart_fraction")])
def test_bad_halpern_options(options, field):
    with pytest.raises(OptionError, match=field):
        mathopt.solve(_random_qp(0), method="halpern-admm", **options)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", ["HS118", "QAFIRO", "GENHS28", "DUALC1"])
def test_maros_meszaros_match_clarabel(method, name):
    from mathopt.problems.qp import maros_meszaros

    problem = maros_meszaros(data_file("maros-meszaros", f"{name}.mat"))
    result = mathopt.solve(problem, method=method)
    assert result.status is Status.CONVERGED, result.message
    value, _ = _cvxpy_value(problem)
    assert result.fun == pytest.approx(value, rel=2e-5)


def test_certificate_polishing_repairs_a_near_certificate_and_rejects_a_wrong_one():
    from mathopt.feasibility import admm_operator as op

    # x1 + x2 <= 1, x1 >= 1, x2 >= 0.5: the Farkas vector is (1, -1, -1) (A'y = 0, S(y) = 1 - 1 - 0.5 < 0)
    A = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    problem = mathopt.QP(None, [1.0, 1.0], A, [-np.inf, 1.0, 0.5], [1.0, np.inf, np.inf])
    near = np.array([1.0, -1.0, -1.0]) + np.array([2e-3, -1e-3, 3e-3])
    assert op.primal_certificate(problem, near, 1e-5) is None  # ||A'y|| ~ 1e-3: the plain test fails
    polished = op.polished_primal_certificate(problem, near, 1e-5)
    assert polished is not None and primal_certificate_ok(A, problem.l, problem.u, polished, 1e-8)[0]
    np.testing.assert_allclose(polished, [1.0, -1.0, -1.0], atol=1e-2)
    # a feasible neighbour (x2 >= 0): nothing to polish into a certificate
    feasible = mathopt.QP(None, [1.0, 1.0], A, [-np.inf, 1.0, 0.0], [1.0, np.inf, np.inf])
    assert op.polished_primal_certificate(feasible, near, 1e-5) is None


def test_nnls_certificate_on_a_support():
    from mathopt.feasibility import admm_operator as op

    A = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, -1.0]])
    lower, upper = [-np.inf, 1.0, 0.5, -5.0], [1.0, np.inf, np.inf, 5.0]
    problem = mathopt.QP(None, [1.0, 1.0], A, lower, upper)
    rows = problem.A.tocsr()
    y = op.nnls_primal_certificate(problem, rows, np.arange(4), 1e-8)   # the 4th row is not needed
    assert y is not None and primal_certificate_ok(A, problem.l, problem.u, y, 1e-8)[0]
    np.testing.assert_allclose(y, [1.0, -1.0, -1.0, 0.0], atol=1e-8)
    assert op.nnls_primal_certificate(problem, rows, np.array([0, 1]), 1e-5) is None  # a support too small
    feasible = mathopt.QP(None, [1.0, 1.0], A, [-np.inf, 1.0, 0.0, -5.0], upper)
    assert op.nnls_primal_certificate(feasible, feasible.A.tocsr(), np.arange(4), 1e-5) is None


@pytest.mark.parametrize("method", METHODS)
def test_klein3_certified_by_nnls_polishing(method, needs_highs):
    # the projection polishing fails on klein3 (A'y = 0 and the signs undo each other); NNLS on the
    # support of the difference sequence gives a certificate at the first polishing (iteration 100)
    from mathopt.problems.lp import read_mps

    problem = read_mps(data_file("netlib-infeas", "klein3.mps.gz"))
    result = mathopt.solve(problem, method=method, max_iter=400)
    assert result.status is Status.PRIMAL_INFEASIBLE, result.message
    ok, why = check_certificate(problem, result)
    assert ok, why


def test_polishing_shortens_a_fixed_penalty_run(needs_highs):
    from mathopt.problems.lp import read_mps

    problem = read_mps(data_file("netlib-infeas", "ex72a.mps.gz"))
    options = dict(method="halpern-admm", penalty_interval=0, max_iter=3000)
    plain = mathopt.solve(problem, polish_interval=0, **options)
    polished = mathopt.solve(problem, **options)
    assert polished.status is Status.PRIMAL_INFEASIBLE and check_certificate(problem, polished)[0]
    assert polished.nit <= 200 and plain.nit >= 10 * polished.nit


def test_solution_polishing_reaches_the_vertex(needs_highs):
    """afiro: at the 1e-6 residual tolerances ADMM's objective is 2e-6 off; polishing finds the vertex."""
    from mathopt.problems.lp import read_mps

    problem = read_mps(data_file("netlib-lp", "afiro.mps.gz"))
    reference = -464.7531428571  # Netlib's published optimal value (HiGHS agrees)
    rough = mathopt.solve(problem, method="admm-qp", polish=False)
    polished = mathopt.solve(problem, method="admm-qp")
    assert rough.status is polished.status is Status.CONVERGED
    # with polishing the run ends at the first polished point that meets the tolerances (early polishing)
    assert polished.nit <= rough.nit and not rough.extra["polished"] and polished.extra["polished"]
    assert abs(rough.fun - reference) > 1e-7 * abs(reference)
    assert polished.fun == pytest.approx(reference, rel=1e-10)
    assert np.max(np.abs(problem.q + problem.A.T @ polished.y)) < 1e-8
    assert all(polished.residuals[k] <= rough.residuals[k] * 10 for k in ("feasibility", "stationarity", "gap"))


def test_polishing_schedule():
    from mathopt.feasibility.solver import polishes_at

    # growth 1.25 from 25 with a test every 25 iterations: every test up to 150, then 25 % apart
    tried = [k for k in range(25, 2001, 25) if polishes_at(k, 25, 25, 1.25)]
    assert tried == [25, 50, 75, 100, 125, 150, 200, 250, 300, 375, 475, 575, 725, 900, 1125, 1400, 1750]
    # growth 2 (pdhg-lp's default): the first test at or after 100 * 2^j
    assert [k for k in range(32, 3300, 32) if polishes_at(k, 100, 32)] == [128, 224, 416, 800, 1600, 3200]


def test_penalty_reset_returns_to_the_initial_penalty_and_stops_adapting():
    problem = _random_qp(3, n=8, m=12)
    options = dict(method="admm-qp", penalty=1e-4, max_iter=1000, polish=False)
    adaptive = mathopt.solve(problem, penalty_reset_fraction=0.0, **options)
    # OSQP's rule moves rho away from 1e-4 (and converges there) without the reset
    assert adaptive.extra["penalty"] != 1e-4 and adaptive.extra["refactorizations"] > 1
    # a reset at the second test (iteration 50): rho back to 1e-4 there (it drifted by more than 100 at
    # iteration 25), fixed afterwards
    reset = mathopt.solve(problem, penalty_reset_fraction=0.05, **options)
    assert reset.extra["penalty"] == 1e-4 and reset.extra["refactorizations"] == 3


@pytest.mark.parametrize("method, seed", [("admm-qp", 0), ("admm-qp", 1), ("halpern-admm", 1)])
def test_early_penalty_reset_still_converges_to_cvxpy(method, seed):
    # rho adapted at iterations 25, 50, back to its initial value at 75 (a reset at 0.75 % of the
    # budget) and fixed: the same optimum. Not a rule that always converges fast: with penalty=1e-5
    # the same reset leaves admm-qp at MAX_ITER on these QPs (measured).
    problem = _random_qp(seed)
    # polish=False: early solution polishing would end the run before the reset; penalty_reset_growth=0:
    # the reset without its dual-growth condition (which skips it here, test_reset_needs_growing_multipliers)
    result = mathopt.solve(problem, method=method, penalty=1e-3, penalty_reset_fraction=0.0075,
                           polish=False, penalty_reset_growth=0.0)
    assert result.status is Status.CONVERGED, result.message
    value, x = _cvxpy_value(problem)
    assert result.fun == pytest.approx(value, rel=1e-5, abs=1e-5)
    np.testing.assert_allclose(result.x, x, atol=1e-3)
    assert result.extra["penalty"] == 1e-3 and result.nit > 75


def test_dual_growth_ratio():
    """Mean change of y per iteration over [R/2, R] against [R/4, R/2]: 1 for y growing linearly (what a
    primal infeasible problem gives, y_k ~ k dy*), 2^-(p+1) < 1/2 for y converging like k^-p."""
    from mathopt.feasibility.admm import _dual_growth

    d = np.array([1.0, -2.0, 0.5])
    windows = lambda y: ((250, y(250)), (500, y(500)))  # noqa: E731
    assert _dual_growth(windows(lambda k: k * d), 1000, 1000 * d) == pytest.approx(1.0)
    assert _dual_growth(windows(lambda k: d / k), 1000, d / 1000) == pytest.approx(0.25)
    assert _dual_growth(windows(lambda k: d / np.sqrt(k)), 1000, d / np.sqrt(1000)) == pytest.approx(2 ** -1.5)
    assert _dual_growth(windows(lambda k: d), 1000, d) == 0.0           # y did not move
    assert _dual_growth(windows(lambda k: d), 1000, 2 * d) == np.inf    # it moved only late
    assert np.isnan(_dual_growth(((500, d),), 1000, d))                 # a snapshot missing


@pytest.mark.parametrize("seed", [0, 1])
def test_reset_needs_growing_multipliers(seed):
    """The reset's dual-growth condition (``penalty_reset_growth``): on a feasible QP whose rho drifted
    (1e-3 -> 0.2-0.5) the multipliers converge (ratio < 1/2) and rho keeps OSQP's rule; with 0 the same
    run is reset to 1e-3."""
    options = dict(method="admm-qp", penalty=1e-3, penalty_reset_fraction=0.0075, polish=False)
    kept = mathopt.solve(_random_qp(seed), **options)
    forced = mathopt.solve(_random_qp(seed), penalty_reset_growth=0.0, **options)
    assert kept.status is forced.status is Status.CONVERGED
    assert kept.extra["penalty"] > 0.1 and forced.extra["penalty"] == 1e-3


@pytest.mark.parametrize("method", METHODS)
def test_reset_applies_when_the_multipliers_grow(method):
    """Primal infeasible, its certificate test disabled (tolerance 0, no polishing) and no freeze, so OSQP's
    rule drives rho from 0.1 to 1e6 by iteration 200: y grows linearly there (ratio 1) and rho is reset.
    The LP is ``_infeasible_lp`` with the first row 0.3 x1 + 0.7 x2 <= 1 (and x2 >= 1.5): on the 0/1 matrix
    the iterates' dy reached A'dy = 0 exactly (the certificate (1, -1, -1)) once the kernel's arithmetic
    changed at rounding level, which passes even a zero tolerance."""
    options = dict(penalty=0.1, penalty_reset_fraction=0.1, max_iter=2000, polish_interval=0,
                   infeasibility_tol=0.0, freeze_penalty=False)
    problem = mathopt.QP(None, [1.0, 1.0], np.array([[0.3, 0.7], [1.0, 0.0], [0.0, 1.0]]), [-np.inf, 1.0, 1.5],
                         [1.0, np.inf, np.inf])
    result = mathopt.solve(problem, method=method, **options)
    assert result.status is Status.MAX_ITER
    assert result.nit > 200 and result.extra["penalty"] == 0.1


@pytest.mark.parametrize("method", METHODS)
def test_infeasible_lp_certified_after_a_penalty_reset(method):
    """Certification under the reset: polishing and the unpolished test off until after the reset."""
    problem = _infeasible_lp(0.5)
    result = mathopt.solve(problem, method=method, penalty=1e-3, penalty_reset_fraction=0.01, max_iter=20000,
                           polish_interval=0)
    assert result.status is Status.PRIMAL_INFEASIBLE, result.message
    ok, why = check_certificate(problem, result)
    assert ok, why
