"""penalty-bo (Kwon et al. 2024) on convex-set-constrained, merely convex and nonconvex problems."""
import numpy as np
import pytest

import mathopt
from mathopt import Status
from mathopt.problems import bilevel as problems

from .helpers import solve_and_check


@pytest.mark.parametrize("single_loop", [False, True])
def test_quadratic_toy(single_loop):
    solve_and_check(problems.quadratic_toy(2), "penalty-bo", x_tol=1e-5, y_tol=1e-5, single_loop=single_loop,
                    max_iter=3000)


def test_constant_penalty_is_the_papers_method():
    # sigma = 1/100 fixed: the penalized fixed point x = 101/201 (bias O(sigma)), stated inaccurate
    result = mathopt.solve(problems.quadratic_toy(1), "penalty-bo", penalty_growth=1.0, penalty_max=100.0)
    assert result.status is Status.CONVERGED_INACCURATE
    np.testing.assert_allclose(result.x, [101 / 201], atol=1e-6)


@pytest.mark.parametrize("single_loop", [False, True])
def test_box_lower_level(single_loop):
    solve_and_check(problems.box_toy(), "penalty-bo", x_tol=1e-5, y_tol=1e-6, single_loop=single_loop,
                    max_iter=3000)


def test_merely_convex_lower_level_optimistic_solution():
    result = solve_and_check(problems.convex_lower(), "penalty-bo", x_tol=1e-5, y_tol=1e-5)
    assert abs(result.upper_value - problems.convex_lower().known_solution["upper_value"]) < 1e-5


def test_nonconvex_toy_reaches_global_minimizer():
    solve_and_check(problems.pbgd_toy(x0=1.0, y0=-1.0), "penalty-bo", x_tol=1e-4)


def test_user_steps():
    # the paper's constant steps (beta on sigma F + f, alpha on x) with the continuation
    solve_and_check(problems.quadratic_toy(1), "penalty-bo", x_tol=1e-5, lower_step_size=0.5, step_size=0.2,
                    max_iter=3000)


def test_upper_set_is_respected():
    box = mathopt.sets.Box(0.0, 0.3)
    problem = mathopt.BilevelProblem(problems._toy_upper, problems._toy_lower, [0.0], [0.0], upper_set=box)
    result = mathopt.solve(problem, "penalty-bo")
    # the hyper-objective 1/2 x^2 + 1/2 (x - 1)^2 decreases up to 0.5 > 0.3: the bound is active
    assert result.status is Status.CONVERGED
    np.testing.assert_allclose(result.x, [0.3], atol=1e-12)


def test_stochastic_minibatches():
    # constant steps on sampled gradients never certify stationarity: the run ends at max_iter
    solve_and_check(problems.stochastic_quadratic(batch_size=8), "penalty-bo", x_tol=0.05, max_iter=2000,
                    step_size=0.02, penalty_growth=1.0, seed=0, status=Status.MAX_ITER)
