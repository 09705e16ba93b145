"""Contract-test problems for the transport solvers (see tests/test_contract.py)."""
import numpy as np

import mathopt
from tests.faults import Countdown

PROBLEM_CLASS = mathopt.TransportProblem

_LINEAR_ONLY = ("{method} solves linear OT only: its one input is a validated finite cost matrix "
                "(no user function to fail)")


def _cost():
    x = np.linspace(0.0, 1.0, 4)
    return (x[:, None] - x[None, :] + 0.3) ** 2


def make_problem(method):
    """A 4 x 4 instance with uniform marginals (same shape for every method: one compilation)."""
    return mathopt.TransportProblem(np.full(4, 0.25), np.full(4, 0.25), cost=_cost())


def make_fault_problem(method, fault):
    """mirror-sinkhorn: a convex quadratic objective whose user functions turn bad mid-run.

    The linear-only methods (sinkhorn, sparse-ot) take no user function; no method can meet an
    unbounded problem (the transport polytope is compact).
    """
    if fault == "unbounded":
        return "U(a, b) is compact: a convex objective finite on it is bounded below"
    if method != "mirror-sinkhorn":
        return _LINEAR_ONLY.format(method=method)
    cost, a = _cost(), np.full(4, 0.25)

    def objective(plan):
        return float(np.sum(cost * plan) + 0.5 * np.sum(plan ** 2))

    def gradient(plan):
        return cost + plan

    if fault == "nan_objective":  # F is evaluated at the start and at each stopping test / report
        return mathopt.TransportProblem(a, a, objective=Countdown(objective, 2, "nan"), gradient=gradient)
    kind = {"nan_gradient": "nan", "user_error": "error", "user_zero_division": "zero"}[fault]
    return mathopt.TransportProblem(a, a, objective=objective, gradient=Countdown(gradient, 10, kind))


def solver_options(method):
    """Options the contract tests pass to every call of the method."""
    return {"mirror-sinkhorn": {"max_iter": 50}, "sparse-ot": {"max_iter": 50},
            "sinkhorn": {"reg": 0.1}}.get(method, {})
