"""Contract-test problems for the prox family (see tests/test_contract.py).

``fista`` runs on a CompositeProblem (a small lasso with NumPy f and grad, so faults can
come "after k calls"); ``pnp-admm`` and ``pnp-pgd`` on an InverseProblem with an l1 prior:
a dense matrix for the plain contract, a (forward, adjoint) function pair for the faults.
"""
import numpy as np

import mathopt
from mathopt.prox.operators import L1Norm
from mathopt.prox.problem import ProxProblem
from mathopt.sets import Reals
from tests.faults import Countdown

PROBLEM_CLASS = ProxProblem

_RNG = np.random.default_rng(42)
_A = _RNG.standard_normal((20, 12))
_B = _RNG.standard_normal(20)


def _f(x):
    r = _A @ x - _B
    return 0.5 * float(r @ r)


def _grad(x):
    return _A.T @ (_A @ x - _B)


def make_problem(method):
    """A lasso, min 1/2 ||Ax - b||^2 + 0.5 ||x||_1 (tens of iterations)."""
    if method == "fista":
        return mathopt.CompositeProblem(_f, L1Norm(0.5), np.zeros(12), grad=_grad)
    return mathopt.InverseProblem(_A, _B)


def solver_options(method):
    return {} if method == "fista" else {"prox": L1Norm(), "reg": 0.5}


_KIND = {"nan_objective": "nan", "nan_gradient": "nan", "user_error": "error", "user_zero_division": "zero"}


def make_fault_problem(method, fault):
    if method == "fista":
        if fault == "unbounded":  # f = -sum(x), g = 0: the iterates run off
            return mathopt.CompositeProblem(lambda x: -float(np.sum(x)), Reals(), np.zeros(3),
                                            grad=lambda x: -np.ones_like(x))
        f, grad = _f, _grad
        if fault in ("nan_objective", "user_error", "user_zero_division"):
            f = Countdown(_f, 6, _KIND[fault])
        else:
            grad = Countdown(_grad, 6, _KIND[fault])
        return mathopt.CompositeProblem(f, L1Norm(0.5), np.zeros(12), grad=grad)
    if fault == "unbounded":
        return ("an InverseProblem's objective 1/2 ||Ax - y||^2 + reg g(x) is bounded below for the "
                "validated data and any prox with a lower-bounded g; a PnP denoiser has no objective to run off")
    forward, adjoint = (lambda x: _A @ x), (lambda r: _A.T @ r)
    # the problem's validation calls forward once and adjoint twice (adjoint test, x0 = A'y)
    if fault in ("nan_objective", "user_error"):
        forward = Countdown(forward, 6, _KIND[fault])
    else:
        adjoint = Countdown(adjoint, 7, _KIND[fault])
    return mathopt.InverseProblem(forward, _B, adjoint=adjoint, shape=(12,))
