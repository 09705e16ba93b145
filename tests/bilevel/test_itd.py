"""Truncated back-propagation: full unrolling is accurate, truncation is biased as predicted."""
import numpy as np

import mathopt
from mathopt.problems import bilevel as problems

from .helpers import solve_and_check


def test_quadratic_toy_full_backprop():
    # with beta = 0.5 the unrolled Jacobian sum_{t<T} (1 - beta)^t beta is 1 - 2^-T
    solve_and_check(problems.quadratic_toy(2), "itd", x_tol=1e-5, y_tol=1e-5, inner_step_size=0.5,
                    inner_steps=30, max_iter=300)


def test_truncation_bias_matches_closed_form():
    # K of T steps back-propagated on the toy: dy_T/dx = 1 - (1 - beta)^K at the fixed point y = x,
    # the hypergradient x * s + (x - 1) vanishes at x = 1 / (1 + s), s = 1 - (1 - beta)^K
    beta, truncation = 0.2, 3
    s = 1 - (1 - beta) ** truncation
    result = mathopt.solve(problems.quadratic_toy(1), "itd", inner_step_size=beta, inner_steps=40,
                           truncation=truncation, max_iter=500)
    np.testing.assert_allclose(result.x, [1 / (1 + s)], atol=1e-5)


def test_random_quadratic():
    solve_and_check(problems.random_quadratic(2, 3, seed=1), "itd", x_tol=1e-4, inner_step_size=0.09,
                    inner_steps=150, step_size=0.05, max_iter=1000)


def test_box_lower_level():
    solve_and_check(problems.box_toy(), "itd", x_tol=1e-4, y_tol=1e-8, max_iter=500)


def test_cold_start_matches_warm_start_on_toy():
    cold = mathopt.solve(problems.quadratic_toy(1), "itd", inner_step_size=0.5, inner_steps=30, warm_start=False,
                         max_iter=300)
    np.testing.assert_allclose(cold.x, [0.5], atol=1e-5)
