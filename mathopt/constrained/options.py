"""Options shared by the NLP solvers."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.options import CommonOptions, OptionError, check_positive


@dataclass(frozen=True)
class NLPOptions(CommonOptions):
    """Stopping tolerances shared by every NLP solver.

    Parameters
    ----------
    stationarity_tol : float, default 1e-6
        Tolerance on ``residuals["stationarity"]``, the infinity norm of the
        gradient of the Lagrangian (see :mod:`mathopt.constrained.kkt`).
    feasibility_tol : float, default 1e-8
        Tolerance on ``residuals["feasibility"]``, the infinity norm of the
        constraint violation.
    """

    stationarity_tol: float = 1e-6
    feasibility_tol: float = 1e-8

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "stationarity_tol")
        check_positive(self, "feasibility_tol")

    def meets_tolerances(self, residuals) -> bool:
        """True when stationarity and feasibility are within their tolerances."""
        return (residuals.get("stationarity", float("inf")) <= self.stationarity_tol
                and residuals.get("feasibility", float("inf")) <= self.feasibility_tol)


@dataclass(frozen=True)
class UnboundedTestOptions(NLPOptions):
    """Stopping tolerances plus the test for an unbounded problem.

    Parameters
    ----------
    unbounded_threshold : float, default -1e20
        A feasible iterate with a lower objective stops with ``Status.UNBOUNDED``.
    divergence_threshold : float, default 1e12
        A feasible iterate with ``||x||_inf`` above it while the objective
        decreases stops with ``Status.UNBOUNDED`` (iterates diverging, as
        Ipopt's ``diverging_iterates_tol``).
    """

    unbounded_threshold: float = -1e20
    divergence_threshold: float = 1e12

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "divergence_threshold")
        if not self.unbounded_threshold < 0:
            raise OptionError(f"unbounded_threshold must be negative, got {self.unbounded_threshold!r}")

    def unbounded_reason(self, fun: float, x, feasibility: float) -> str:
        """Why a feasible point looks like evidence of unboundedness ('' when it does not)."""
        if feasibility > self.feasibility_tol:
            return ""
        if fun < self.unbounded_threshold:
            return f"objective {fun:.3e} below unbounded_threshold at a feasible point"
        if np.max(np.abs(x), initial=0.0) > self.divergence_threshold:
            return f"feasible iterates diverge (||x||_inf > {self.divergence_threshold:.1e})"
        return ""
