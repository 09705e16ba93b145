"""Option ``polish_budget`` of the ADMM methods (issue 14) and the time rule of the averaged penalty
schedule: validation, the rule that puts polishing tries off, runs that still reach the Clarabel
optimum / a checked certificate when every try after the first is put off, and a change of rho that
waits for an expensive factorization."""
import time

import numpy as np
import pytest

import mathopt
from mathopt import Status
from mathopt.core.options import OptionError
from mathopt.feasibility import admm

from .certificates import check_certificate
from .test_admm import _cvxpy_value, _infeasible_lp, _random_qp

METHODS = ["admm-qp", "admm-qp-aa", "halpern-admm"]


@pytest.mark.parametrize("value", [1.5, -0.1, "0.2", np.nan, True])
@pytest.mark.parametrize("method", METHODS)
def test_bad_polish_budget_names_the_field(method, value):
    with pytest.raises(OptionError, match="polish_budget"):
        mathopt.solve(_random_qp(0), method=method, polish_budget=value)


def _state(iteration, spent, age, budget=0.2, owed=False):
    """A state at a test ``iteration`` whose tries took ``spent`` s of a run started ``age`` s ago."""
    state = admm.ADMMSolver(halpern=False).init(_random_qp(0), admm.ADMMOptions(polish_budget=budget))
    setup = state.setup._replace(started=time.perf_counter() - age)
    return state._replace(setup=setup, iteration=iteration, polish_seconds=spent, polish_owed=owed)


def test_tries_follow_the_schedule_under_the_floor():
    # 0.5 s spent of a 0.6 s run (83 %) is under POLISH_BUDGET_FLOOR (1 s): the schedule alone decides
    assert admm.POLISH_BUDGET_FLOOR == 1.0
    state, polish = admm._polish_now(_state(100, spent=0.5, age=0.6))
    assert polish and not state.polish_owed
    state, polish = admm._polish_now(_state(1010, spent=0.5, age=0.6))   # 1010 is not a scheduled test
    assert not polish and not state.polish_owed


def test_a_try_over_budget_is_put_off_then_made_at_the_next_test_within_it():
    # 3 s of tries in a 10 s run: over 20 % (and over the 1 s floor), so the scheduled try at 100 is put off
    state, polish = admm._polish_now(_state(100, spent=3.0, age=10.0))
    assert not polish and state.polish_owed
    # at 1010 (not scheduled) it is still owed while over budget, and made once 3 s is under 20 % of the run
    state, polish = admm._polish_now(_state(1010, spent=3.0, age=12.0, owed=True))
    assert not polish and state.polish_owed
    state, polish = admm._polish_now(_state(1010, spent=3.0, age=16.0, owed=True))
    assert polish and not state.polish_owed
    # budget 1 never puts a try off (the tries' time never exceeds the run's)
    assert admm._polish_now(_state(100, spent=9.9, age=10.0, budget=1.0))[1]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", [0, 1])
def test_runs_converge_when_every_later_try_is_put_off(method, seed, monkeypatch):
    # floor 0 and budget 0: only the first scheduled try is made; the plain termination test still ends
    # the run CONVERGED at the optimum
    monkeypatch.setattr(admm, "POLISH_BUDGET_FLOOR", 0.0)
    problem = _random_qp(seed, n=8, m=12)
    value, _ = _cvxpy_value(problem)
    result = mathopt.solve(problem, method=method, polish_budget=0.0)
    assert result.status is Status.CONVERGED, (result.status, result.nit, result.message)
    assert result.fun == pytest.approx(value, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("method", METHODS)
def test_infeasible_lp_certified_when_every_later_try_is_put_off(method, monkeypatch):
    monkeypatch.setattr(admm, "POLISH_BUDGET_FLOOR", 0.0)
    problem = _infeasible_lp(0.5)
    result = mathopt.solve(problem, method=method, polish_budget=0.0)
    assert result.status is Status.PRIMAL_INFEASIBLE, (result.status, result.nit)
    ok, why = check_certificate(problem, result)
    assert ok, why


def test_averaged_penalty_waits_for_an_expensive_factorization():
    # the last factorization "took" 1 s and ended now: a change wanted by the averaged rule (factor 100,
    # past the interval) waits until 0.4 s have passed; with a cheap factorization (under 0.05 s) it does not
    options = admm.ADMMOptions(penalty=1e-3, penalty_schedule="averaged", penalty_interval=25, polish=False)
    state = admm.ADMMSolver(halpern=False).init(_random_qp(0), options)
    slow = state._replace(iteration=100, factor=state.factor._replace(seconds=1.0, done=time.perf_counter()))
    waited = admm._averaged_penalty(slow, 0.1)
    assert waited.penalty == 1e-3 and waited.refactorizations == 1 and waited.penalty_log_count == 1
    later = slow._replace(factor=slow.factor._replace(done=time.perf_counter() - 0.5))
    assert admm._averaged_penalty(later, 0.1).penalty == pytest.approx(0.1, rel=1e-12)
    cheap = slow._replace(factor=slow.factor._replace(seconds=0.01))
    changed = admm._averaged_penalty(cheap, 0.1)
    assert changed.penalty == pytest.approx(0.1, rel=1e-12) and changed.refactorizations == 2
