"""Truncated back-propagation: full unrolling is accurate, truncation is biased as predicted and said."""
import numpy as np

import mathopt
from mathopt import Status
from mathopt.problems import bilevel as problems

from .helpers import solve_and_check


def test_quadratic_toy_defaults():
    # f = 1/2||y||^2 - x'y has unit curvature: with the estimated inner step the unrolled Jacobian is exact
    result = solve_and_check(problems.quadratic_toy(2), "itd", x_tol=1e-6, y_tol=1e-6)
    assert result.residuals["truncation_bias"] <= 1e-6


def test_truncation_bias_matches_closed_form_and_is_reported():
    # K of T steps back-propagated on the toy: dy_T/dx = 1 - (1 - beta)^K at the fixed point y = x,
    # the hypergradient x * s + (x - 1) vanishes at x = 1 / (1 + s), s = 1 - (1 - beta)^K
    beta, truncation = 0.2, 3
    s = 1 - (1 - beta) ** truncation
    result = mathopt.solve(problems.quadratic_toy(1), "itd", inner_step_size=beta, inner_steps=40,
                           truncation=truncation, max_iter=500)
    np.testing.assert_allclose(result.x, [1 / (1 + s)], atol=1e-5)
    assert result.status is Status.CONVERGED_INACCURATE
    assert "inner_steps" in result.message and "truncation" in result.message
    # the estimate: the hypergradient changes by about (1 - beta)^K (1 - (1 - beta)^K) x when K more steps count
    expected = (1 - beta) ** truncation * (1 - (1 - beta) ** truncation) * result.x[0]
    np.testing.assert_allclose(result.residuals["truncation_bias"], expected, rtol=1e-3)


def test_random_quadratic_long_unrolling():
    solve_and_check(problems.random_quadratic(2, 3, seed=1), "itd", x_tol=1e-5, inner_steps=200)


def test_box_lower_level():
    solve_and_check(problems.box_toy(), "itd", x_tol=1e-5, y_tol=1e-8)


def test_cold_start_matches_warm_start_on_toy():
    cold = mathopt.solve(problems.quadratic_toy(1), "itd", inner_step_size=0.5, inner_steps=30, warm_start=False,
                         max_iter=300)
    assert cold.status is Status.CONVERGED
    np.testing.assert_allclose(cold.x, [0.5], atol=1e-5)
