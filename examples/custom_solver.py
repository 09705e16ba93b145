"""A complete mathopt solver in one file: projected gradient with Armijo backtracking.

This is the worked example of docs/architecture.md. It minimizes a smooth f
over a box, ``min f(x) s.t. lb <= x <= ub``, with the iteration

    x+ = P(x - t g(x)),   t halved until f(x+) <= f(x) + c g(x).(x+ - x)

where P projects onto the box (Bertsekas, "Nonlinear Programming", 2nd ed.,
Sec. 2.3, Armijo rule along the projection arc). The driver
(:func:`mathopt.core.driver.run`) gives it max_iter, max_time, NaN detection
(ending with the last finite iterate), callback, history, progress and the
NUMERICAL_ERROR status for free. The solver object is made once per solve and
holds only the problem's fixed data; the iterates live in the state, and
``step`` returns a new state (the driver may need the old one).

Run it:  python examples/custom_solver.py
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

import mathopt
from mathopt.core.driver import IterationInfo, IterativeSolver, make_result, run
from mathopt.core.options import check_positive
from mathopt.constrained.options import NLPOptions


@dataclass(frozen=True)
class ProjectedGradientOptions(NLPOptions):
    """Projected gradient with Armijo backtracking.

    Parameters
    ----------
    step : float, default 1.0
        Initial trial step of each backtracking search.
    armijo : float, default 1e-4
        Sufficient-decrease constant ``c`` of the Armijo rule.
    """

    step: float = 1.0
    armijo: float = 1e-4

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "step")
        check_positive(self, "armijo")


class _State(NamedTuple):
    x: np.ndarray
    fun: float
    grad: np.ndarray


class ProjectedGradient(IterativeSolver):
    def __init__(self, problem, options):
        # fixed data of this solve; the evaluator counts the oracle calls
        self.problem, self.options, self.ev = problem, options, problem.evaluator()

    def init(self, problem, options):
        x = np.clip(problem.x0, problem.lb, problem.ub)
        return _State(x, self.ev.fun(x), self.ev.gradient(x))

    def _project(self, x):
        return np.clip(x, self.problem.lb, self.problem.ub)

    def step(self, state):
        t = self.options.step
        for _ in range(60):  # backtracking: halve t until sufficient decrease
            trial = self._project(state.x - t * state.grad)
            f_trial = self.ev.fun(trial)
            if f_trial <= state.fun + self.options.armijo * state.grad @ (trial - state.x):
                break
            t *= 0.5
        return _State(trial, f_trial, self.ev.gradient(trial))

    def _stationarity(self, state):
        # norm of the projected-gradient step: zero exactly at KKT points of the box problem
        return float(np.max(np.abs(state.x - self._project(state.x - state.grad)), initial=0.0))

    def terminate(self, state):
        if self._stationarity(state) <= self.options.stationarity_tol:
            return mathopt.Status.CONVERGED
        return None

    def info(self, state, nit, elapsed):
        return IterationInfo(nit=nit, x=state.x, fun=state.fun, elapsed=elapsed,
                             residuals={"stationarity": self._stationarity(state), "feasibility": 0.0})

    def finalize(self, state, status, info, history):
        return make_result(info, status, history, counters=self.ev.counters())


@mathopt.register("example-projected-gradient", problem=mathopt.NLP, options=ProjectedGradientOptions,
                  constraints=("bounds",))
def projected_gradient(problem, options):
    """Projected gradient descent with Armijo backtracking (worked example of docs/architecture.md)."""
    return run(ProjectedGradient(problem, options), problem, options, name="example-projected-gradient")


if __name__ == "__main__":
    # min (x0 - 2)^2 + (x1 + 1)^2 over [0, 1]^2: solution (1, 0)
    problem = mathopt.NLP(lambda x: (x[0] - 2.0) ** 2 + (x[1] + 1.0) ** 2, x0=[0.5, 0.5],
                          gradient=lambda x: np.array([2 * (x[0] - 2.0), 2 * (x[1] + 1.0)]),
                          bounds=(0.0, 1.0))
    result = mathopt.solve(problem, method="example-projected-gradient", history=True, verbose=1)
    print(result)
    print("x =", result.x)
