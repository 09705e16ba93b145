"""Approximate implicit differentiation on strongly convex lower levels."""
import pytest

import mathopt
from mathopt.problems import bilevel as problems

from .helpers import solve_and_check


def test_quadratic_toy_cg():
    solve_and_check(problems.quadratic_toy(2), "implicit", x_tol=1e-6, y_tol=1e-6)


def test_random_quadratic_user_steps():
    # constant steps given by the user (the papers' scheme) still converge
    solve_and_check(problems.random_quadratic(2, 3, seed=1), "implicit", x_tol=1e-5, y_tol=1e-5,
                    inner_step_size=0.09, inner_steps=50, step_size=0.05, max_iter=1000)


def test_random_quadratic_neumann():
    solve_and_check(problems.random_quadratic(2, 3, seed=1), "implicit", x_tol=1e-5, linear_solver="neumann")


def test_box_lower_level_uses_neumann():
    solve_and_check(problems.box_toy(), "implicit", x_tol=1e-5, y_tol=1e-8)


def test_cg_refused_with_lower_set():
    with pytest.raises(mathopt.OptionError, match="neumann"):
        mathopt.solve(problems.box_toy(), "implicit", linear_solver="cg")


def test_nonconvex_toy():
    solve_and_check(problems.pbgd_toy(x0=1.0, y0=-1.0), "implicit", x_tol=1e-5)


def test_stochastic_minibatches():
    # constant steps on sampled gradients never certify stationarity: the run ends at max_iter
    solve_and_check(problems.stochastic_quadratic(batch_size=32), "implicit", x_tol=0.05, max_iter=1000,
                    step_size=0.02, seed=0, status=mathopt.Status.MAX_ITER)
