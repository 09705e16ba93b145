"""Contract-test problems for solvers registered on QP (see tests/test_contract.py)."""
import numpy as np

import mathopt

PROBLEM_CLASS = mathopt.QP

_NO_USER_FUNCTIONS = ("a QP is given by validated data (P, q, A, l, u, all finite apart from infinite "
                      "bounds): it has no user function that could {what} mid-run")


def make_problem(method):
    """A strictly convex QP with 6 variables and 8 two-sided constraints (about 50-100 iterations);
    for the LP methods (``*-pdhg-lp``), the LP with the same constraints and box -1 <= x <= 1."""
    rng = np.random.default_rng(0)
    if method.endswith("pdhg-lp"):
        A = np.vstack([rng.standard_normal((8, 6)), np.eye(6)])
        return mathopt.QP(None, rng.standard_normal(6), A, np.r_[-rng.random(8), -np.ones(6)],
                          np.r_[rng.random(8), np.ones(6)])
    M = rng.standard_normal((6, 6))
    A = rng.standard_normal((8, 6))
    return mathopt.QP(M @ M.T / 6 + 0.1 * np.eye(6), rng.standard_normal(6), A, -rng.random(8), rng.random(8))


def solver_options(method):
    """Options the contract tests pass to every call of the method."""
    return {}


def make_fault_problem(method, fault):
    """Only ``unbounded`` can be posed: min -x1 s.t. x1 + x2 >= 0, x2 <= 1 (dual infeasible)."""
    if fault == "unbounded":
        return mathopt.QP(None, [-1.0, 0.0], np.array([[1.0, 1.0], [0.0, 1.0]]), [0.0, -np.inf], [np.inf, 1.0])
    what = {"nan_objective": "return NaN", "nan_gradient": "return a NaN gradient",
            "user_error": "raise", "user_zero_division": "raise ZeroDivisionError"}[fault]
    return _NO_USER_FUNCTIONS.format(what=what)
