"""Contract-test problems for solvers registered on NLP (see tests/test_contract.py)."""
import numpy as np

import mathopt

PROBLEM_CLASS = mathopt.NLP


def make_problem(method):
    """A small well-posed problem the method handles (HS28-like, equality constrained)."""
    return mathopt.NLP(lambda x: (x[0] + x[1]) ** 2 + (x[1] + x[2]) ** 2, [-4.0, 1.0, 1.0],
                       gradient=lambda x: np.array([2 * (x[0] + x[1]), 2 * (x[0] + x[1]) + 2 * (x[1] + x[2]),
                                                    2 * (x[1] + x[2])]),
                       eq=lambda x: np.array([x[0] + 2 * x[1] + 3 * x[2] - 1.0]),
                       eq_jacobian=lambda x: np.array([[1.0, 2.0, 3.0]]))


def make_nan_problem(method):
    """Finite at x0, NaN as soon as the iterates move towards the minimizer at 0."""
    def objective(x):
        return float(x @ x) if x[0] > 0.5 else float("nan")

    return mathopt.NLP(objective, [1.0, 1.0], gradient=lambda x: 2.0 * x if x[0] > 0.5 else np.full(2, np.nan))


def solver_options(method):
    """Options the contract tests pass to every call of the method."""
    return {}
