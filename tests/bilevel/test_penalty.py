"""penalty-bo (Kwon et al. 2024) on convex-set-constrained, merely convex and nonconvex problems."""
import numpy as np
import pytest

import mathopt
from mathopt.problems import bilevel as problems

from .helpers import solve_and_check

# y is the minimizer of sigma F + f, not of f: its lower_gap stays about sigma |grad_y F| (7e-3 on
# the toy, 2e-2 on the others below with sigma = 1/100, 1/50), so the stopping test takes a
# lower_gap_tol above that bias
TOY_GAP = dict(lower_gap_tol=1e-2)
GAP = dict(lower_gap_tol=3e-2)


@pytest.mark.parametrize("single_loop", [False, True])
def test_quadratic_toy(single_loop):
    # bias of the penalty 100: x = 101/201
    result = solve_and_check(problems.quadratic_toy(2), "penalty-bo", x_tol=3e-3, y_tol=3e-3, max_iter=2000,
                             single_loop=single_loop, **TOY_GAP)
    np.testing.assert_allclose(result.x, np.full(2, 101 / 201), atol=1e-6)


def test_random_quadratic():
    solve_and_check(problems.random_quadratic(2, 3, seed=1), "penalty-bo", x_tol=2e-2, y_tol=5e-2,
                    lower_step_size=0.09, step_size=0.02, max_iter=3000, **GAP)


@pytest.mark.parametrize("single_loop", [False, True])
def test_box_lower_level(single_loop):
    solve_and_check(problems.box_toy(), "penalty-bo", x_tol=1e-4, y_tol=1e-6, max_iter=2000, single_loop=single_loop)


def test_merely_convex_lower_level_optimistic_solution():
    result = solve_and_check(problems.convex_lower(), "penalty-bo", x_tol=1e-3, y_tol=1e-3, max_iter=2000)
    assert abs(result.upper_value - problems.convex_lower().known_solution["upper_value"]) < 1e-3


def test_nonconvex_toy_reaches_global_minimizer():
    solve_and_check(problems.pbgd_toy(x0=1.0, y0=-1.0), "penalty-bo", x_tol=1e-2, penalty=50.0, step_size=0.002,
                    lower_step_size=0.2, inner_steps=20, max_iter=3000, **GAP)


def test_upper_set_is_respected():
    box = mathopt.sets.Box(0.0, 0.3)
    problem = mathopt.BilevelProblem(problems._toy_upper, problems._toy_lower, [0.0], [0.0], upper_set=box)
    result = mathopt.solve(problem, "penalty-bo", max_iter=2000)
    # the hyper-objective 1/2 x^2 + 1/2 (x - 1)^2 decreases up to 0.5 > 0.3: the bound is active
    np.testing.assert_allclose(result.x, [0.3], atol=1e-12)


def test_stochastic_minibatches():
    # constant steps on sampled gradients never pass the step test: the run ends at max_iter
    solve_and_check(problems.stochastic_quadratic(batch_size=8), "penalty-bo", x_tol=0.05, max_iter=2000,
                    step_size=0.02, seed=0, status=mathopt.Status.MAX_ITER)
