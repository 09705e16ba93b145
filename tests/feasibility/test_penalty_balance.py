"""Option ``penalty_balance`` of the ADMM methods (issue 14, session 27): validation, the gap
split the "gap" rule rests on, the rule itself, and convergence to the HiGHS / Clarabel optimum with it."""
import math

import numpy as np
import pytest

import mathopt
from mathopt.core.options import OptionError
from mathopt.feasibility import admm
from mathopt.feasibility import admm_operator as op

from .test_admm import _random_qp
from .test_defaults import LPS
from .test_penalty_schedule import check_random_lp, check_random_qp


@pytest.mark.parametrize("value", ["duality", "", None, 1])
@pytest.mark.parametrize("method", ["admm-qp", "admm-qp-aa", "halpern-admm"])
def test_bad_penalty_balance_names_the_field(method, value):
    with pytest.raises(OptionError, match="penalty_balance"):
        mathopt.solve(_random_qp(0), method=method, penalty_balance=value)


def test_defaults_gap_for_admm_qp_aa_only():
    # admm-qp-aa: 114 of 137 Maros-Meszaros QPs at 10 s with it, 107 without (docs/feasibility.md);
    # admm-qp and halpern-admm keep OSQP's rule
    assert admm.AndersonADMMOptions().penalty_balance == "gap"
    assert admm.ADMMOptions().penalty_balance == "residuals"


def _iterate(problem, iterations=60, penalty=0.1):
    """The state of a plain admm-qp run after ``iterations`` (no test ends it: tolerances 0)."""
    options = admm.ADMMOptions(penalty=penalty, polish=False, penalty_interval=0, max_iter=iterations,
                               rel_tol=0.0, feasibility_tol=0.0, stationarity_tol=0.0, gap_tol=0.0)
    solver = admm.ADMMSolver(halpern=False)
    state = solver.init(problem, options)
    return solver.advance(state, 0, iterations, False).state


def test_gap_splits_into_a_dual_and_a_primal_term_at_an_iterate():
    # y_i != 0 only where z_i is at a bound, so S(y) = y'z and x'Px + q'x + S(y) = x'r_d - y'r_p exactly
    problem = _random_qp(1, n=8, m=12)
    state = _iterate(problem)
    image = state.image
    point = op.unscale(state.setup.scaled, image.x, image.z, image.y)
    r_p = problem.A @ point.x - point.z
    r_d = problem.P @ point.x + problem.q + problem.A.T @ point.y
    gap = point.x @ (problem.P @ point.x) + problem.q @ point.x + op.support(problem, point.y)
    assert abs(gap) > 1e-8   # not converged yet: the identity is not 0 = 0
    assert gap == pytest.approx(point.x @ r_d - point.y @ r_p, rel=1e-9, abs=1e-12)


def test_gap_rule_is_osqps_factor_on_the_larger_errors():
    problem = _random_qp(2, n=8, m=12)
    state = _iterate(problem, iterations=40)
    setup, image = state.setup, state.image
    options = setup.options
    tolerances = dict(feasibility=1e-6, stationarity=1e-6, gap=1e-6)
    wanted = op.gap_balanced_penalty(problem, setup.scaled, image, 0.1, tolerances, 1e-6)
    point = op.unscale(setup.scaled, image.x, image.z, image.y)
    values, scales = op.residuals(problem, point)
    t = {k: 1e-6 + 1e-6 * scales[k] for k in values}
    r_p = problem.A @ point.x - point.z
    r_d = problem.P @ point.x + problem.q + problem.A.T @ point.y
    primal = max(np.max(np.abs(r_p)) / t["feasibility"], abs(point.y @ r_p) / t["gap"])
    dual = max(np.max(np.abs(r_d)) / t["stationarity"], abs(point.x @ r_d) / t["gap"])
    assert wanted == pytest.approx(0.1 * math.sqrt(primal / dual), rel=1e-9)
    assert options.penalty_balance == "residuals"   # the function does not read the option
    # the rule through the option: the penalty the solver asks for at the same point
    gap_setup = setup._replace(options=admm.ADMMOptions(penalty_balance="gap", polish=False))
    assert admm._wanted_penalty(gap_setup, image, 0.1) == pytest.approx(wanted, rel=1e-12)
    assert admm._wanted_penalty(setup, image, 0.1) == op.adapted_penalty(setup.scaled, image, 0.1)


def test_gap_rule_keeps_the_penalty_on_a_degenerate_point():
    problem = _random_qp(0)
    state = admm.ADMMSolver(halpern=False).init(problem, admm.ADMMOptions(polish=False))
    # at the start x = 0, y = 0: the dual error is |q| / t > 0 but the primal one may be 0
    wanted = op.gap_balanced_penalty(problem, state.setup.scaled, state.image, 0.1,
                                     dict(feasibility=1e-6, stationarity=1e-6, gap=1e-6), 1e-6)
    assert math.isfinite(wanted) and op.RHO_MIN <= wanted <= op.RHO_MAX


@pytest.mark.parametrize("method", ["admm-qp", "admm-qp-aa"])
@pytest.mark.parametrize("seed, m, n, equality", LPS)
def test_gap_rule_solves_random_lps(method, seed, m, n, equality, needs_highs):
    check_random_lp(method, seed, m, n, equality, penalty_balance="gap")


@pytest.mark.parametrize("method", ["admm-qp", "admm-qp-aa", "halpern-admm"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gap_rule_solves_random_qps(method, seed):
    check_random_qp(method, seed, penalty_balance="gap")
