"""Contract-test problems for the bilevel solvers (see tests/test_contract.py).

JAX traces the user's functions once per compilation, so a fault cannot come
"after k calls" inside a compiled run: the faulty problems below are bad in a
region of the domain that the iterates reach on their way from x0 = 0 to the
solution x* = 0.5 of the quadratic toy (the region x[0] > 0.1), or raise when
the solve traces them (after the one evaluation of the problem's validation).
"""
import jax.numpy as jnp

import mathopt
from mathopt.problems.bilevel import _toy_lower, _toy_upper, coupled_toy, quadratic_toy
from tests.faults import Countdown

PROBLEM_CLASS = mathopt.BilevelProblem


def make_problem(method):
    """The 2-D quadratic toy (x* = y* = 0.5); for lvhba, which takes coupled lower-level
    constraints, the coupled toy of Yao et al. with n = 2."""
    return coupled_toy(2) if method == "lvhba" else quadratic_toy(2)


def _nan_upper(x, y):
    # finite at x0 = 0; NaN once x[0] passes 0.1 on its way to the solution 0.5
    return _toy_upper(x, y) + jnp.sqrt(0.1 - x[0])


def _nan_lower_value(x, y):
    # NaN lower value past x[0] = 0.1 with finite gradients: only the value check catches it
    return _toy_lower(x, y) + jnp.where(x[0] > 0.1, jnp.nan, 0.0)


def _nan_gradient_upper(x, y):
    # the value stays finite, the gradient is NaN past x[0] = 0.1 (the where-of-sqrt trap)
    return _toy_upper(x, y) + jnp.where(x[0] > 0.1, 0.0, jnp.sqrt(0.1 - x[0]))


def _unbounded_upper(x, y):
    return _toy_lower(x, y) - 10.0 * jnp.sum(x)


def make_nan_problem(method):
    """An upper objective that becomes NaN as the iterates move towards the solution."""
    return mathopt.BilevelProblem(_nan_upper, _toy_lower, [0.0, 0.0], [0.0, 0.0])


def make_fault_problem(method, fault):
    start = ([0.0, 0.0], [0.0, 0.0])
    if fault == "nan_objective":
        return mathopt.BilevelProblem(_toy_upper, _nan_lower_value, *start)
    if fault == "nan_gradient":
        return mathopt.BilevelProblem(_nan_gradient_upper, _toy_lower, *start)
    if fault in ("user_error", "user_zero_division"):
        # the problem's validation evaluates lower once; the solve's trace raises
        lower = Countdown(_toy_lower, 1, "error" if fault == "user_error" else "zero")
        return mathopt.BilevelProblem(_toy_upper, lower, *start)
    if fault == "unbounded":
        # F decreases without bound along x (y*(x) = x): the iterates run off
        return mathopt.BilevelProblem(_unbounded_upper, _toy_lower, *start)
    raise ValueError(fault)


def solver_options(method):
    """Few iterations, large enough steps for the NaN problems to reach their NaN regions."""
    return {"max_iter": 300}
