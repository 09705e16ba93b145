"""Contract-test problems for solvers registered on NLP (see tests/test_contract.py)."""
import numpy as np

import mathopt
from tests.faults import Countdown

PROBLEM_CLASS = mathopt.NLP


def _objective(x):
    return (x[0] + x[1]) ** 2 + (x[1] + x[2]) ** 2


def _gradient(x):
    return np.array([2 * (x[0] + x[1]), 2 * (x[0] + x[1]) + 2 * (x[1] + x[2]), 2 * (x[1] + x[2])])


def make_problem(method, objective=_objective, gradient=_gradient):
    """A small well-posed problem the method handles (HS28, equality constrained)."""
    return mathopt.NLP(objective, [-4.0, 1.0, 1.0], gradient=gradient,
                       eq=lambda x: np.array([x[0] + 2 * x[1] + 3 * x[2] - 1.0]),
                       eq_jacobian=lambda x: np.array([[1.0, 2.0, 3.0]]))


#: Calls of the faulty function before it turns bad: past construction and iterate 0, inside the run.
_CALLS = 3


def make_fault_problem(method, fault):
    """HS28 with a user function that turns bad mid-run, or (``unbounded``) ``min -x0`` on a plane."""
    if fault == "unbounded":
        return mathopt.NLP(lambda x: -x[0], [0.0, 0.0, 0.0], gradient=lambda x: np.array([-1.0, 0.0, 0.0]),
                           eq=lambda x: np.array([x[1] - x[2]]), eq_jacobian=lambda x: np.array([[0.0, 1.0, -1.0]]),
                           lagrangian_hessian=lambda x, y, z: np.zeros((3, 3)))
    kind = {"nan_objective": "nan", "nan_gradient": "nan", "user_error": "error", "user_zero_division": "zero"}[fault]
    if fault == "nan_gradient":
        return make_problem(method, gradient=Countdown(_gradient, _CALLS, kind))
    return make_problem(method, objective=Countdown(_objective, _CALLS, kind))


def solver_options(method):
    """Options the contract tests pass to every call of the method."""
    return {}
