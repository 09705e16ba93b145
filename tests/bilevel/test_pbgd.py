"""PBGD (V-PBGD and G-PBGD) on the bilevel test problems with known solutions."""
import numpy as np
import pytest

import mathopt
from mathopt import Status
from mathopt.problems import bilevel as problems

from .helpers import solve_and_check

# a constant penalty gamma = 100 (no continuation): the penalized fixed point of the 1-D toy,
# x = (1 + g)/(1 + 2 g) = 101/201, 2.5e-3 from x* = 1/2; solved at the cap, y is not a lower-level
# solution to lower_gap_tol (its O(1/gamma) bias), and the status says so
CONSTANT = dict(penalty=100.0, penalty_growth=1.0, penalty_max=100.0)


def test_quadratic_toy_defaults():
    # continuation: gamma grows from 10 until the lower gap of the optimistic y meets lower_gap_tol
    result = solve_and_check(problems.quadratic_toy(2), "pbgd", x_tol=1e-5, y_tol=1e-5)
    assert result.residuals["penalty"] > 1e4 and result.residuals["lower_gap"] <= 1e-6


def test_constant_penalty_bias_matches_closed_form():
    result = mathopt.solve(problems.quadratic_toy(1), "pbgd", **CONSTANT)
    assert result.status is Status.CONVERGED_INACCURATE and "penalty_max" in result.message
    np.testing.assert_allclose(result.x, [101 / 201], atol=1e-5)


def test_gradient_variant_constant_penalty_closed_form():
    # G-PBGD on the toy: min 1/2 y^2 + 1/2 (x-1)^2 + g (y - x)^2 gives x = (1 + 2g)/(1 + 4g)
    result = mathopt.solve(problems.quadratic_toy(1), "pbgd", variant="gradient", max_iter=5000, penalty=10.0,
                           penalty_growth=1.0, penalty_max=10.0)
    assert result.status is Status.CONVERGED_INACCURATE
    np.testing.assert_allclose(result.x, [21 / 41], atol=1e-5)


def test_box_lower_level():
    solve_and_check(problems.box_toy(), "pbgd", x_tol=1e-5, y_tol=1e-6)


def test_nonconvex_toy_reaches_global_minimizer():
    solve_and_check(problems.pbgd_toy(x0=1.0, y0=-1.0), "pbgd", x_tol=1e-4)


def test_merely_convex_lower_level_optimistic_solution():
    solve_and_check(problems.convex_lower(), "pbgd", x_tol=1e-5, y_tol=1e-5)


def test_penalty_continuation_stops_at_the_cap():
    result = mathopt.solve(problems.quadratic_toy(1), "pbgd", penalty=10.0, penalty_max=100.0)
    assert result.residuals["penalty"] == 100.0
    np.testing.assert_allclose(result.x, [101 / 201], atol=1e-5)


def test_linear_penalty_ramp_of_the_authors_code():
    # gamma_k = min(1 + 0.1 k, 100): 100 after 990 iterations, then the fixed point of gamma = 100
    result = mathopt.solve(problems.quadratic_toy(1), "pbgd", penalty=1.0, penalty_increment=0.1,
                           penalty_growth=1.0, penalty_max=100.0, max_iter=3000)
    np.testing.assert_allclose(result.x, [101 / 201], atol=1e-5)


def test_gradient_variant_rejects_lower_set():
    with pytest.raises(mathopt.OptionError, match="unconstrained"):
        mathopt.solve(problems.box_toy(), "pbgd", variant="gradient")


def test_stochastic_minibatches():
    # PBGD is analysed deterministically; with batches of 32 and constant steps it still lands
    # near x* (|x*| ~ 0.08, so a 0.06 tolerance rules out the start x0 = 0 and wrong answers);
    # the sampled steps never certify stationarity: the run ends at max_iter
    solve_and_check(problems.stochastic_quadratic(batch_size=32), "pbgd", x_tol=0.06, penalty=20.0,
                    penalty_growth=1.0, step_size=0.01, max_iter=2000, seed=3, status=Status.MAX_ITER)


def test_paper_joint_step_and_user_steps():
    # lower_steps=1 is the paper's single y step per x step; constant user steps still converge
    # (alpha about 1 / (L_F + gamma L_f) for the joint step, as in the paper's analysis)
    result = mathopt.solve(problems.quadratic_toy(1), "pbgd", lower_steps=1, step_size=0.005, lower_step_size=0.5,
                           inner_step_size=0.5, max_iter=5000, **CONSTANT)
    np.testing.assert_allclose(result.x, [101 / 201], atol=1e-5)
