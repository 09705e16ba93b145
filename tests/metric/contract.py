"""Contract-test problems for solvers registered on MetricProblem (see tests/test_contract.py)."""
import numpy as np

import mathopt

PROBLEM_CLASS = mathopt.MetricProblem


def make_problem(method):
    """Metric nearness on 6 points with random (non-metric) dissimilarities."""
    rng = np.random.default_rng(0)
    upper = np.triu(rng.random((6, 6)), 1)
    return mathopt.MetricProblem(upper + upper.T)


def make_nan_problem(method):
    """None: a validated MetricProblem has finite nonnegative data and positive
    weights, and every Project and Forget update is a division by a positive
    constraint norm (or, for metric learning, a rank-one update that keeps M
    positive definite), so no NaN can arise from valid inputs."""
    return None


def solver_options(method):
    """Options the contract tests pass to every call of the method."""
    return {}
