"""sl-BAMM on merely and strongly convex lower levels, with default options unless a test says why."""
import numpy as np
import pytest

import mathopt
from mathopt.problems import bilevel as problems

from .helpers import solve_and_check


def test_merely_convex_toy_defaults():
    # the authors' toy at the authors' size (n = 100: one compilation, ~100 iterations)
    result = solve_and_check(problems.merely_convex_toy(100), "slbamm", x_tol=1e-4, y_tol=1e-4)
    assert result.nit > 3


def test_quadratic_toy_defaults():
    solve_and_check(problems.quadratic_toy(2), "slbamm", x_tol=1e-4, y_tol=1e-4)


@pytest.mark.parametrize("dims", [(3, 4, 0), (2, 3, 1), (4, 7, 2)])
def test_random_quadratic_defaults(dims):
    # (3, 4, 0) is the instance on which implicit's default step diverges: the x step is Lipschitz-estimated
    solve_and_check(problems.random_quadratic(*dims), "slbamm", x_tol=1e-4, y_tol=1e-4)


def test_convex_lower_selects_the_optimistic_solution():
    # y_2 is free in the lower level; the optimistic y_2 = 1/2 comes from the averaging with F
    solve_and_check(problems.convex_lower(), "slbamm", x_tol=1e-4, y_tol=1e-4)


def test_power_schedule_solves_the_merely_convex_toy():
    # the paper's / authors' schedule mu_k = 0.9 (k+1)^(-1/10): no averaging bias on this toy
    solve_and_check(problems.merely_convex_toy(5), "slbamm", x_tol=1e-4, y_tol=1e-4, averaging_schedule="power")


def test_power_schedule_is_biased_on_a_strongly_convex_lower_level():
    # why the default schedule is adaptive: with mu_k = 0.9 (k+1)^(-1/10) the averaged problem's
    # solution x_mu = 1 / (1 + (1 - mu)^2) (quadratic toy) is still far from x* = 1/2 after 2000 iterations
    max_iter = 2000
    result = mathopt.solve(problems.quadratic_toy(1), "slbamm", averaging_schedule="power", max_iter=max_iter)
    assert result.status is mathopt.Status.MAX_ITER
    mu = 0.9 * max_iter ** -0.1
    np.testing.assert_allclose(result.x, 1 / (1 + (1 - mu) ** 2), atol=2e-3)
    assert abs(result.x[0] - 0.5) > 0.1


def test_certified_residuals_at_the_solution():
    result = mathopt.solve(problems.merely_convex_toy(3), "slbamm")
    assert result.status is mathopt.Status.CONVERGED
    assert result.residuals["stationarity"] <= 1e-6 and result.residuals["multiplier"] <= 1e-6
    assert result.residuals["lower_gap"] <= 1e-6


def test_residual_tolerances_decide_the_stop():
    loose = mathopt.solve(problems.quadratic_toy(2), "slbamm", stationarity_tol=1e-3, multiplier_tol=1e-3,
                          lower_gap_tol=1e-3)
    tight = mathopt.solve(problems.quadratic_toy(2), "slbamm")
    assert loose.status is tight.status is mathopt.Status.CONVERGED
    assert loose.nit < tight.nit
    # the engine's test is relative to max(1, the value at iterate 0)
    scale = max(1.0, mathopt.solve(problems.quadratic_toy(2), "slbamm", max_iter=0).residuals["stationarity"])
    assert loose.residuals["stationarity"] <= 1e-3 * scale and tight.residuals["stationarity"] <= 1e-6 * scale


def test_lower_set_refused():
    with pytest.raises(mathopt.OptionError, match="lower_set"):
        mathopt.solve(problems.box_toy(), "slbamm")


@pytest.mark.parametrize("options, field", [({"averaging": 1.0}, "averaging"),
                                            ({"lipschitz_decay": 0.0}, "lipschitz_decay"),
                                            ({"averaging_schedule": "linear"}, "averaging_schedule"),
                                            ({"averaging_min": 0.95}, "averaging_min"),
                                            ({"lower_step_size": -1.0}, "lower_step_size")])
def test_bad_options_name_the_field(options, field):
    with pytest.raises(mathopt.OptionError, match=field):
        mathopt.solve(problems.quadratic_toy(2), "slbamm", **options)


def test_constant_lower_step():
    # the authors' code's constant y step (y_lr = 0.1) instead of the line search
    solve_and_check(problems.quadratic_toy(2), "slbamm", x_tol=1e-4, lower_step_size=0.1, max_iter=5000)


def test_multiplier_in_the_result():
    result = mathopt.solve(problems.quadratic_toy(2), "slbamm")
    if not hasattr(result, "multipliers"):
        pytest.skip("BilevelResult.multipliers and the result_fields hook come with the coupled-constraints branch")
    # quadratic toy: grad^2_yy f = I and grad_y F = y, so the multiplier v of grad^2_yy f v = grad_y F is y
    np.testing.assert_allclose(result.multipliers, result.y, atol=1e-6)
    np.testing.assert_allclose(result.multipliers, 0.5, atol=1e-5)
