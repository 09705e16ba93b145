"""Contract-test problems for solvers registered on MetricProblem (see tests/test_contract.py)."""
import numpy as np

import mathopt

PROBLEM_CLASS = mathopt.MetricProblem

_NO_USER_FUNCTION = (
    "a MetricProblem takes no user function (data only: dissimilarities, weights, points, pairs, bounds, "
    "validated finite at construction), so {what} cannot be posed")


def make_problem(method):
    """Metric nearness on 6 points with random (non-metric) dissimilarities (7 iterations)."""
    rng = np.random.default_rng(0)
    upper = np.triu(rng.random((6, 6)), 1)
    return mathopt.MetricProblem(upper + upper.T)


def make_fault_problem(method, fault):
    """The faults of tests.faults.FAULTS are about user functions turning bad; a MetricProblem has none.

    * ``nan_objective``: posed without a user function: finite dissimilarities near the float64
      limit (1e200) make the built-in objective overflow to inf after the first projections;
      the run must end NONFINITE with the last finite iterate (the data, iterate 0).
    * ``nan_gradient``: no gradient is evaluated (the Bregman projections divide by positive
      constraint norms, and the LogDet rank-one update keeps M positive definite).
    * ``user_error`` / ``user_zero_division``: no user callable is ever called.
    * ``unbounded``: every objective is bounded below by 0 (a norm, or a LogDet divergence) and the
      metric cone contains x = 0 (nearness) or the problem is checked for infeasibility (metric
      learning), so no kind can be unbounded.
    """
    if fault == "nan_objective":
        rng = np.random.default_rng(0)
        upper = np.triu(rng.random((6, 6)), 1) * 1e200
        return mathopt.MetricProblem(upper + upper.T)
    what = {"nan_gradient": "a NaN gradient",
            "user_error": "a user exception", "user_zero_division": "a user ZeroDivisionError",
            "unbounded": "an unbounded problem (every objective is bounded below by 0)"}[fault]
    return _NO_USER_FUNCTION.format(what=what)


def solver_options(method):
    """Options the contract tests pass to every call of the method."""
    return {}
