"""Solver termination statuses shared by every mathopt solver.

Each member of :class:`Status` carries a human-readable message, so a result's
``message`` never has to be assembled by hand and means the same thing for
every method (the optimistix ``RESULTS`` idea, as an ``IntEnum``).

Compiled loops (Numba kernels, JAX ``lax.while_loop``) carry a status *code*
in their state: the integer value of a member, or :data:`CONTINUE` (-1) while
the run goes on. The plain-int constants ``CODE_*`` below are the values to
use inside compiled code; :func:`from_code` turns a code back into a member.
"""
from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    """Why a solver stopped.

    ``Status.CONVERGED.message`` gives the text; ``bool(status.success)`` says
    whether the returned point met the requested tolerances.

    ``INFEASIBLE`` is a (possibly local) claim that the constraints of a
    nonlinear problem cannot be met; ``PRIMAL_INFEASIBLE`` and
    ``DUAL_INFEASIBLE`` are the convex (LP/QP/conic) claims that come with a
    certificate in the result (a Farkas-type vector for the primal, a recession
    direction of decrease for the dual).
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
    PRIMAL_INFEASIBLE = 9
    DUAL_INFEASIBLE = 10

    @property
    def message(self) -> str:
        return _MESSAGES[self]

    @property
    def success(self) -> bool:
        """True only for a point that met the requested tolerances."""
        return self is Status.CONVERGED


#: Code of a compiled loop that has not stopped yet.
CONTINUE = -1
CODE_CONVERGED = int(Status.CONVERGED)
CODE_MAX_ITER = int(Status.MAX_ITER)
CODE_INFEASIBLE = int(Status.INFEASIBLE)
CODE_UNBOUNDED = int(Status.UNBOUNDED)
CODE_NONFINITE = int(Status.NONFINITE)
CODE_NUMERICAL_ERROR = int(Status.NUMERICAL_ERROR)
CODE_PRIMAL_INFEASIBLE = int(Status.PRIMAL_INFEASIBLE)
CODE_DUAL_INFEASIBLE = int(Status.DUAL_INFEASIBLE)


def from_code(code) -> Status | None:
    """The status of a compiled loop's code; None for :data:`CONTINUE`."""
    code = int(code)
    return None if code == CONTINUE else Status(code)


_MESSAGES = {
    Status.CONVERGED: "converged: the optimality residuals are below the requested tolerances",
    Status.CONVERGED_INACCURATE: "stopped near a solution, but some residuals exceed the requested tolerances",
    Status.MAX_ITER: "the maximum number of iterations was reached before convergence",
    Status.MAX_TIME: "the time limit was reached before convergence",
    Status.INFEASIBLE: "the problem appears to be infeasible",
    Status.UNBOUNDED: "the problem appears to be unbounded",
    Status.NONFINITE: "non-finite values (NaN or inf) appeared in the iterates or the problem's functions; "
                      "the result holds the last finite iterate",
    Status.CALLBACK: "stopped by the user's callback",
    Status.NUMERICAL_ERROR: "the solver failed on a numerical error (e.g. a singular linear system); "
                            "the result holds the last iterate before it",
    Status.PRIMAL_INFEASIBLE: "the problem is primal infeasible; result.certificate holds a certificate",
    Status.DUAL_INFEASIBLE: "the problem is dual infeasible (unbounded); result.certificate holds a certificate",
}
