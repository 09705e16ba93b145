"""Contract-test problems for the bilevel solvers (see tests/test_contract.py)."""
import jax.numpy as jnp

import mathopt
from mathopt.problems.bilevel import quadratic_toy

PROBLEM_CLASS = mathopt.BilevelProblem


def make_problem(method):
    """The 2-D quadratic toy (x* = y* = 0.5)."""
    return quadratic_toy(2)


def _nan_upper(x, y):
    # finite at x0 = 0; NaN once x[0] passes 0.1 on its way to the solution 0.5
    return 0.5 * jnp.sum(y ** 2) + 0.5 * jnp.sum((x - 1.0) ** 2) + jnp.sqrt(0.1 - x[0])


def _nan_lower(x, y):
    return 0.5 * jnp.sum(y ** 2) - jnp.dot(x, y)


def make_nan_problem(method):
    """An upper objective that becomes NaN as the iterates move towards the solution."""
    return mathopt.BilevelProblem(_nan_upper, _nan_lower, [0.0, 0.0], [0.0, 0.0])


def solver_options(method):
    """Few iterations, large enough steps for the NaN problem to reach its NaN region."""
    return {"max_iter": 300}
