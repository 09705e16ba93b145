"""The result type every solver returns.

One frozen dataclass with every field always present (``x`` is always an
array); problem families extend it with their own fields (``y`` for bilevel,
``plan`` for transport) by subclassing.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping

import numpy as np

from .status import Status


class SolverError(RuntimeError):
    """Raised by :meth:`Result.raise_for_status` when a solve did not succeed."""

    def __init__(self, result: "Result"):
        self.result = result
        super().__init__(f"{result.solver}: {result.status.name}: {result.message}")


@dataclass(frozen=True, kw_only=True)
class Result:
    """Outcome of :func:`mathopt.solve`.

    Attributes
    ----------
    x : ndarray
        Final iterate as a flat float64 vector (always 1-D, even for one
        variable): the problem's decision variables in C order. Families give
        the shaped view in a field of their own (``plan`` for transport,
        ``matrix`` for metric problems, ``y`` for the lower level of bilevel
        problems). After ``NONFINITE`` or ``NUMERICAL_ERROR`` it is the last
        finite iterate.
    fun : float
        Objective value at ``x`` (``nan`` only when it could not be evaluated).
    status : Status
        Why the solver stopped; ``status.message`` explains it.
    success : bool
        ``status is Status.CONVERGED``.
    message : str
        Human-readable explanation (the status message, possibly with detail).
    nit : int
        Iterations performed (outer iterations for nested methods).
    nfev, ngev, nhev : int
        Objective, gradient and Hessian (or Hessian-vector) evaluations; 0
        where a method does not use that oracle.
    residuals : Mapping[str, float]
        Named optimality residuals at ``x``, e.g. ``stationarity`` and
        ``feasibility`` (infinity norms of the KKT residual).
    history : Mapping[str, ndarray] or None
        Per-iteration records (when ``history=True`` was asked for).
    solver : str
        Registered name of the method.
    wall_time : float
        Seconds spent in the solve (compilation included; see ``extra``).
    extra : Mapping[str, Any]
        Method-specific outputs, e.g. ``multipliers``.
    """

    x: np.ndarray
    fun: float
    status: Status
    message: str = ""
    nit: int = 0
    nfev: int = 0
    ngev: int = 0
    nhev: int = 0
    residuals: Mapping[str, float] = field(default_factory=dict)
    history: Mapping[str, np.ndarray] | None = None
    solver: str = ""
    wall_time: float = 0.0
    extra: Mapping[str, Any] = field(default_factory=dict)
    success: bool = field(init=False)

    def __post_init__(self):
        x = np.asarray(self.x)
        if np.iscomplexobj(x):
            raise TypeError("Result.x must be real")
        object.__setattr__(self, "x", np.array(x, dtype=float).reshape(-1))
        object.__setattr__(self, "fun", float(self.fun))
        object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "success", self.status.success)
        if not self.message:
            object.__setattr__(self, "message", self.status.message)
        object.__setattr__(self, "residuals", {k: float(v) for k, v in self.residuals.items()})

    def raise_for_status(self) -> "Result":
        """Return ``self`` if the solve succeeded, else raise :class:`SolverError`."""
        if not self.success:
            raise SolverError(self)
        return self

    def replace(self, **changes) -> "Result":
        """A copy with some fields changed (``success`` follows ``status``)."""
        return replace(self, **changes)

    def __repr__(self) -> str:  # a short summary; the arrays can be large
        lines = [f"{type(self).__name__}(solver={self.solver!r}, status={self.status.name}, "
                 f"fun={self.fun:.10g}, nit={self.nit}, wall_time={self.wall_time:.3g}s)"]
        for name, value in self.residuals.items():
            lines.append(f"  {name}: {value:.3e}")
        return "\n".join(lines)


def result_field_names(cls=Result) -> tuple[str, ...]:
    """Names of every field of a result class (used by the contract tests)."""
    return tuple(f.name for f in fields(cls))
