"""Options ``penalty_schedule`` and ``penalty_change`` of the ADMM methods (issue 14):
validation, the rule itself, and convergence to the HiGHS / Clarabel optimum with the "averaged" rule."""
import math

import numpy as np
import pytest

import mathopt
from mathopt import Status
from mathopt.core.options import OptionError
from mathopt.feasibility import admm

from .test_admm import _cvxpy_value, _random_qp
from .test_defaults import LPS, _highs, _random_problem

AVERAGED = dict(penalty_schedule="averaged", penalty_interval=100)


@pytest.mark.parametrize("options, field", [
    ({"penalty_schedule": "every"}, "penalty_schedule"), ({"penalty_change": 1.0}, "penalty_change"),
    ({"penalty_change": math.inf}, "penalty_change"), ({"penalty_change": "5"}, "penalty_change"),
    ({"penalty_change": np.nan}, "penalty_change"),
])
@pytest.mark.parametrize("method", ["admm-qp", "admm-qp-aa", "halpern-admm"])
def test_bad_penalty_options_name_the_field(method, options, field):
    with pytest.raises(OptionError, match=field):
        mathopt.solve(_random_qp(0), method=method, **options)


def _state(penalty, **options):
    solver = admm.ADMMSolver(halpern=False)
    state = solver.init(_random_qp(0), admm.ADMMOptions(penalty=penalty, polish=False, **options))
    return solver, state


def test_averaged_rule_waits_for_the_interval_and_uses_the_geometric_mean():
    # factors 10 and 1000 recorded before the interval: no change; at the interval the mean of the three
    # factors (10, 1000, 1) is 10^(4/3) > penalty_change, so rho is multiplied by it, and the record restarts
    _, state = _state(1e-3, penalty_schedule="averaged", penalty_interval=75)
    state = admm._averaged_penalty(state._replace(iteration=25), 1e-2)
    state = admm._averaged_penalty(state._replace(iteration=50), 1.0)
    assert state.penalty == 1e-3 and state.refactorizations == 1 and state.penalty_log_count == 2
    state = admm._averaged_penalty(state._replace(iteration=75), 1e-3)
    assert state.penalty == pytest.approx(1e-3 * 10 ** (4 / 3), rel=1e-12)
    assert state.refactorizations == 2 and state.penalty_log_count == 0 and state.penalty_since == 75
    # a mean within the factor penalty_change (here 5) changes nothing
    state = admm._averaged_penalty(state._replace(iteration=175), state.penalty * 4.0)
    assert state.refactorizations == 2 and state.penalty_log_count == 1


def test_penalty_change_threshold_of_the_doubling_rule():
    # penalty 1e-4 on this QP: OSQP's rule wants a change of more than 5x at the first update (the
    # reference test of the compiled loop relies on it); with penalty_change=1e6 it never refactors
    problem = _random_qp(3, n=8, m=12)
    moved = mathopt.solve(problem, method="admm-qp", penalty=1e-4, max_iter=400, polish=False)
    held = mathopt.solve(problem, method="admm-qp", penalty=1e-4, max_iter=400, polish=False, penalty_change=1e6)
    assert moved.extra["refactorizations"] > 1
    assert held.extra["refactorizations"] == 1 and held.extra["penalty"] == 1e-4


@pytest.mark.parametrize("max_iter", [137, 1000])
def test_averaged_compiled_loop_matches_python_reference(max_iter):
    problem = _random_qp(3, n=8, m=12)
    options = dict(penalty=1e-4, max_iter=max_iter, polish=False, penalty_schedule="averaged", penalty_interval=50)
    python, compiled = (mathopt.solve(problem, method="admm-qp", loop=loop, **options) for loop in ("python", "compiled"))
    assert python.status is compiled.status and python.nit == compiled.nit
    assert python.extra["refactorizations"] == compiled.extra["refactorizations"] > 1
    assert compiled.extra["penalty"] == pytest.approx(python.extra["penalty"], rel=1e-9)
    np.testing.assert_allclose(compiled.x, python.x, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("method", ["admm-qp", "admm-qp-aa"])
@pytest.mark.parametrize("seed, m, n, equality", LPS)
def test_averaged_schedule_solves_random_lps(method, seed, m, n, equality, needs_highs):
    check_random_lp(method, seed, m, n, equality, penalty_reset_fraction=0.0, **AVERAGED)


def check_random_lp(method, seed, m, n, equality, **options):
    """The method with ``options`` converges to HiGHS's optimum of a random LP of test_defaults."""
    problem, data = _random_problem(seed, m, n, equality)
    value, x = _highs(data, equality)
    result = mathopt.solve(problem, method=method, **options)
    assert result.status is Status.CONVERGED, (result.status, result.nit, result.message)
    assert result.fun == pytest.approx(value, rel=1e-5, abs=1e-6)
    np.testing.assert_allclose(result.x, x, atol=1e-5)


@pytest.mark.parametrize("method", ["admm-qp", "admm-qp-aa", "halpern-admm"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_averaged_schedule_solves_random_qps(method, seed):
    check_random_qp(method, seed, **AVERAGED)


def check_random_qp(method, seed, **options):
    """From penalty 1e-4 (far off: it must move), the method with ``options`` converges to Clarabel's optimum."""
    problem = _random_qp(seed, n=8, m=12)
    value, _ = _cvxpy_value(problem)
    result = mathopt.solve(problem, method=method, penalty=1e-4, **options)
    assert result.status is Status.CONVERGED, (result.status, result.nit, result.message)
    assert result.fun == pytest.approx(value, rel=1e-5, abs=1e-6)


def test_admm_qp_aa_defaults_to_the_averaged_schedule():
    from mathopt.feasibility.admm import ADMMOptions, AndersonADMMOptions

    aa, plain = AndersonADMMOptions(), ADMMOptions()
    assert (aa.penalty_schedule, aa.penalty_balance, aa.penalty_window) == ("averaged", "gap", 8)
    # admm-qp and halpern-admm keep the doubling schedule and OSQP's balance of the residuals
    assert (plain.penalty_schedule, plain.penalty_balance, plain.penalty_window) == ("doubling", "residuals", 0)


def test_reset_while_accelerated_is_provisional_and_final_at_the_plain_restart():
    # a reset made while the acceleration runs is held, then rho adapts again (reset_pending); the first infeasibility
    # verdict restarts the plain iteration from s = 0 with rho back at ``penalty`` and fixed
    solver = admm.ADMMSolver(halpern=False)
    options = admm.AndersonADMMOptions(penalty=0.1, polish=False)
    state = solver.init(_random_qp(0), options)
    state = admm._change_penalty(state, 1e-3)._replace(reset_pending=True, iteration=500)
    assert not state.penalty_reset
    # held up to twice the reset iteration R (here R = 1 000: 10 % of max_iter 10 000), then adapting again
    assert admm._reset_iteration(options) == 1000
    assert admm._holds_reset(state._replace(iteration=1975)) and not admm._holds_reset(state._replace(iteration=2000))
    assert not admm._holds_reset(state._replace(reset_pending=False))
    plain = admm._plain_from_start(state, 500)
    assert plain.penalty == 0.1 and plain.penalty_reset and plain.anderson is None
    np.testing.assert_array_equal(plain.rho, admm.op.rho_vector(state.setup.scaled, 0.1))
    assert not np.any(plain.x) and not np.any(plain.v) and plain.anderson_stopped == 500
    # without a pending reset the plain phase keeps the adapted rho, as before
    kept = admm._plain_from_start(state._replace(reset_pending=False), 500)
    assert kept.penalty == 1e-3 and not kept.penalty_reset


def test_penalty_window_forgets_the_oldest_factors():
    # window 2: factors 10, 10, then 1000: the full record (2 log 10) is scaled to one term of its mean before
    # the new one enters, so the mean is (log 10 + 3 log 10) / 2, a factor 100 (without the window 10^(5/3))
    _, state = _state(1.0, penalty_schedule="averaged", penalty_interval=1000, penalty_window=2)
    for iteration, wanted in ((25, 10.0), (50, 10.0), (75, 1000.0)):
        state = admm._averaged_penalty(state._replace(iteration=iteration), wanted)
    assert state.penalty_log_count == 2 and state.refactorizations == 1
    assert state.penalty_log_sum == pytest.approx(4 * math.log(10.0), rel=1e-12)
    # at the interval a factor 1 enters the same way: mean log 10, beyond penalty_change = 5, so rho moves by 10
    state = admm._averaged_penalty(state._replace(iteration=1000), 1.0)
    assert state.penalty == pytest.approx(10.0, rel=1e-12) and state.refactorizations == 2
    _, unlimited = _state(1.0, penalty_schedule="averaged", penalty_interval=1000)
    for iteration, wanted in ((25, 10.0), (50, 10.0), (75, 1000.0)):
        unlimited = admm._averaged_penalty(unlimited._replace(iteration=iteration), wanted)
    assert unlimited.penalty_log_count == 3 and unlimited.penalty_log_sum == pytest.approx(5 * math.log(10.0))


@pytest.mark.parametrize("value", [-1, 1.5, "8", None])
def test_bad_penalty_window_names_the_field(value):
    with pytest.raises(OptionError, match="penalty_window"):
        mathopt.solve(_random_qp(0), method="admm-qp-aa", penalty_window=value)


@pytest.mark.parametrize("method", ["admm-qp", "admm-qp-aa", "halpern-admm"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_averaged_schedule_with_a_window_solves_random_qps(method, seed):
    check_random_qp(method, seed, penalty_window=2, **AVERAGED)
