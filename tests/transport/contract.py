"""Contract-test problems for the transport solvers (see tests/test_contract.py)."""
import numpy as np

import mathopt

PROBLEM_CLASS = mathopt.TransportProblem


def _cost():
    x = np.linspace(0.0, 1.0, 4)
    return (x[:, None] - x[None, :] + 0.3) ** 2


def make_problem(method):
    """A 4 x 4 instance with uniform marginals (same shape for every method: one compilation)."""
    return mathopt.TransportProblem(np.full(4, 0.25), np.full(4, 0.25), cost=_cost())


def make_nan_problem(method):
    """Validated inputs are finite, so NaN comes from overflow or from the user's objective.

    sinkhorn: costs of +-1e308 overflow (g - C)/reg to inf; sparse-ot: a cost of -1e200
    makes [alpha + beta - C]_+^2 overflow; mirror-sinkhorn: a general objective whose
    gradient is NaN.
    """
    a = np.full(4, 0.25)
    if method == "mirror-sinkhorn":
        return mathopt.TransportProblem(a, a, objective=lambda plan: float("nan"),
                                        gradient=lambda plan: np.full(plan.shape, np.nan))
    cost = _cost()
    cost[0, 0] = -1e308 if method == "sinkhorn" else -1e200
    cost[1, 1] = 1e308 if method == "sinkhorn" else 0.0
    return mathopt.TransportProblem(a, a, cost=cost)


def solver_options(method):
    """Options the contract tests pass to every call of the method."""
    return {"mirror-sinkhorn": {"max_iter": 50}, "sparse-ot": {"max_iter": 50, "max_nz": 2},
            "sinkhorn": {"reg": 0.1}}.get(method, {})
