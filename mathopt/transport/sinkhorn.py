"""Log-domain entropic Sinkhorn: the baseline of the transport family.

.. math::

    \\min_{P \\in U(a, b)} \\langle C, P \\rangle + \\mathrm{reg}\\,
    \\sum_{ij} P_{ij} (\\log P_{ij} - 1)

whose solution is :math:`P_{ij} = \\exp((f_i + g_j - C_{ij})/\\mathrm{reg})`
with dual potentials (f, g) found by alternating soft c-transforms
(Cuturi 2013; log-domain form: Peyre & Cuturi 2019, Remark 4.23, eq. 4.43)

.. math::

    f_i \\leftarrow \\mathrm{reg} \\log a_i - \\mathrm{reg} \\log \\sum_j e^{(g_j - C_{ij})/\\mathrm{reg}},
    \\qquad
    g_j \\leftarrow \\mathrm{reg} \\log b_j - \\mathrm{reg} \\log \\sum_i e^{(f_i - C_{ij})/\\mathrm{reg}}.

This is the same iteration as POT's ``ot.sinkhorn_log``, started half an
iteration later (iterate 0 is f = 0 and g its c-transform: columns exact and
a finite plan whatever the scale of the cost). The whole loop runs
in one Numba kernel (stable for small ``reg``, where the plain-domain
``ot.sinkhorn`` under/overflows).

Stopping test (computable, checked after every iteration): ``CONVERGED``
when ``||P 1 - a||_1 <= marginal_tol``; the columns are exact after each
g-update, so this is the L1 norm of the gradient of the entropic dual
(Peyre & Cuturi 2019, Remark 4.24). With the defaults (``reg=0.05``,
``marginal_tol=1e-8``, ``max_iter=10000``) well-scaled problems (costs in
[0, 1]) converge in tens to a few hundred iterations. ``sinkhorn`` is the
default method for ``TransportProblem`` with a cost matrix.

Only linear OT (``cost``) is handled. Rows/columns with zero mass are removed
before solving; their potentials are ``-inf`` (log 0) and their plan entries 0.

References
----------
.. [1] M. Cuturi, "Sinkhorn distances: lightspeed computation of optimal
   transport", NeurIPS 2013.
.. [2] G. Peyre, M. Cuturi, "Computational Optimal Transport", Foundations and
   Trends in Machine Learning 11(5-6), 2019.

Example
-------
>>> import numpy as np, mathopt
>>> p = mathopt.TransportProblem([0.5, 0.5], [0.5, 0.5], cost=[[0.0, 1.0], [1.0, 0.0]])
>>> r = mathopt.solve(p, method="sinkhorn", reg=0.05)
>>> bool(r.plan[0, 0] > 0.49)
True
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..core.driver import Advance, IterativeSolver, make_result, run
from ..core.options import CommonOptions, check_positive
from ..core.registry import register
from ..core.status import Status
from .problem import TransportProblem, TransportResult, plan_info


@dataclass(frozen=True)
class SinkhornOptions(CommonOptions):
    """Log-domain entropic Sinkhorn (the same iteration as POT's ``ot.sinkhorn_log``).

    Parameters
    ----------
    max_iter : int, default 10000
        Maximum number of Sinkhorn iterations (pairs of row and column updates).
    reg : float, default 0.05
        Entropic regularization (POT's ``reg``); the plan is biased by it.
        Costs are not rescaled: choose ``reg`` relative to ``max(C)``.
    marginal_tol : float, default 1e-8
        Stop (``CONVERGED``) when ``||P 1 - a||_1`` is at most this, checked
        after every iteration (POT's ``stopThr`` checks the columns of the
        plain-domain iteration; the test is the same up to which side is
        exact: here the columns are exact after each iteration).
    """

    max_iter: int = 10000
    reg: float = 0.05
    marginal_tol: float = 1e-8

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "reg", allow_inf=False)
        check_positive(self, "marginal_tol")


class _SinkhornState(NamedTuple):
    f: np.ndarray        # row potentials of the rows of positive mass
    g: np.ndarray        # column potentials of the columns of positive mass
    row_lse: np.ndarray  # LSE_j((g_j - C_ij)/reg) for the current g
    error: float         # ||P 1 - a||_1 of the current iterate


class Sinkhorn(IterativeSolver):
    """Log-domain Sinkhorn on the one driver loop; ``advance`` runs the Numba kernel."""

    records = ("marginal",)

    def init(self, problem, options):
        if problem.cost is None:
            raise ValueError("sinkhorn handles linear OT only (give cost=...); use mirror-sinkhorn for "
                             "general objectives")
        rows, cols = problem.a > 0, problem.b > 0
        context = _Context(problem, options, rows, cols, np.ascontiguousarray(problem.cost[np.ix_(rows, cols)]))
        # iterate 0: f = 0 and g its soft c-transform, so the columns are exact (as after every iteration)
        # and the plan is finite whatever the scale of the cost
        f = np.zeros(rows.sum())
        g = options.reg * (context.log_b - _log_sum_exp(-context.cost / options.reg, axis=0))
        row_lse = _log_sum_exp((g[None, :] - context.cost) / options.reg, axis=1)
        error = float(np.abs(np.exp(f / options.reg + row_lse) - context.a).sum())
        return context, _SinkhornState(f, g, row_lse, error)

    def advance(self, state, nit, k, record):
        from ._numba_kernels import sinkhorn_log_iterations

        context, current = state
        f, g, row_lse = current.f.copy(), current.g.copy(), current.row_lse.copy()
        errors = np.full(k, np.nan)
        done, code, error = sinkhorn_log_iterations(context.cost, context.a, context.log_a, context.log_b,
                                                    context.options.reg, f, g, row_lse, current.error, k,
                                                    context.options.marginal_tol, errors)
        return Advance((context, _SinkhornState(f, g, row_lse, error)), done, code, {"marginal": errors})

    def terminate(self, state):
        context, current = state
        return Status.CONVERGED if current.error <= context.options.marginal_tol else None

    def info(self, state, nit, elapsed):
        context, _ = state
        return plan_info(context.problem, _full_plan(state), nit, elapsed)

    def finalize(self, state, status, info, history):
        context, current = state
        problem, reg = context.problem, context.options.reg
        plan = info.x.reshape(problem.shape)
        f_full = np.full(problem.a.size, -np.inf)
        g_full = np.full(problem.b.size, -np.inf)
        f_full[context.rows], g_full[context.cols] = current.f, current.g
        positive = plan > 0
        entropy_term = float(np.sum(plan[positive] * (np.log(plan[positive]) - 1.0)))
        return make_result(info, status, history, result_cls=TransportResult, plan=plan, f=f_full, g=g_full,
                           regularized_objective=info.fun + reg * entropy_term)


class _Context(NamedTuple):
    """What stays fixed during a solve: the problem restricted to rows/columns of positive mass."""

    problem: TransportProblem
    options: SinkhornOptions
    rows: np.ndarray
    cols: np.ndarray
    cost: np.ndarray

    @property
    def a(self):
        return self.problem.a[self.rows]

    @property
    def log_a(self):
        return np.log(self.problem.a[self.rows])

    @property
    def log_b(self):
        return np.log(self.problem.b[self.cols])


def _log_sum_exp(values: np.ndarray, axis: int) -> np.ndarray:
    """log sum exp along ``axis``, shifted by the maximum (-inf where every entry is -inf)."""
    top = np.max(values, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.squeeze(top, axis) + np.log(np.sum(np.exp(values - top), axis=axis))


def _full_plan(state) -> np.ndarray:
    context, current = state
    plan = np.zeros(context.problem.shape)
    plan[np.ix_(context.rows, context.cols)] = np.exp(
        (current.f[:, None] + current.g[None, :] - context.cost) / context.options.reg)
    return plan


@register("sinkhorn", problem=TransportProblem, options=SinkhornOptions, backends=("numba",),
          requires=("numba",), default=True)
def sinkhorn(problem: TransportProblem, options: SinkhornOptions) -> TransportResult:
    """Log-domain entropic Sinkhorn (Cuturi 2013), whole loop compiled with Numba (the default method)."""
    return run(Sinkhorn(), problem, options, "sinkhorn")
