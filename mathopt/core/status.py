"""Solver termination statuses shared by every mathopt solver.

Each member of :class:`Status` carries a human-readable message, so a result's
``message`` never has to be assembled by hand and means the same thing for
every method (the optimistix ``RESULTS`` idea, as an ``IntEnum``).
"""
from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    """Why a solver stopped.

    ``Status.CONVERGED.message`` gives the text; ``bool(status.success)`` says
    whether the returned point met the requested tolerances.
    """

    CONVERGED = 0
    CONVERGED_INACCURATE = 1
    MAX_ITER = 2
    MAX_TIME = 3
    INFEASIBLE = 4
    UNBOUNDED = 5
    NONFINITE = 6
    CALLBACK = 7
    NUMERICAL_ERROR = 8

    @property
    def message(self) -> str:
        return _MESSAGES[self]

    @property
    def success(self) -> bool:
        """True only for a point that met the requested tolerances."""
        return self is Status.CONVERGED


_MESSAGES = {
    Status.CONVERGED: "converged: the optimality residuals are below the requested tolerances",
    Status.CONVERGED_INACCURATE: "stopped near a solution, but some residuals exceed the requested tolerances",
    Status.MAX_ITER: "the maximum number of iterations was reached before convergence",
    Status.MAX_TIME: "the time limit was reached before convergence",
    Status.INFEASIBLE: "the problem appears to be infeasible",
    Status.UNBOUNDED: "the problem appears to be unbounded",
    Status.NONFINITE: "non-finite values (NaN or inf) appeared in the iterates or the problem's functions",
    Status.CALLBACK: "stopped by the user's callback",
    Status.NUMERICAL_ERROR: "the solver failed on a numerical error (e.g. a singular linear system)",
}
