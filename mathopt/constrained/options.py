"""Options shared by the NLP solvers."""
from __future__ import annotations

from dataclasses import dataclass

from ..core.options import CommonOptions, check_positive


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
