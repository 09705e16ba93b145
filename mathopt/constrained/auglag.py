r"""``auglag``: the classical augmented Lagrangian method (method of multipliers).

.. math::

    \min_x f(x) \quad \text{s.t.} \quad c_E(x) = 0,\; c_I(x) \le 0,\;
    \ell \le x \le u .

Powell-Hestenes-Rockafellar augmented Lagrangian, with inequalities in the
standard ``max(0, .)`` form (Rockafellar 1973; Nocedal & Wright 2006,
eq. 17.65 after eliminating the slacks) and the bounds kept explicit:

.. math::

    \mathcal L_A(x;\lambda,y,\rho) = f(x) + \lambda^\top c_E(x)
      + \frac{\rho}{2}\|c_E(x)\|^2
      + \frac{1}{2\rho}\sum_i \big(\max(0, y_i + \rho c_{I,i}(x))^2 - y_i^2\big).

Each outer iteration minimizes :math:`\mathcal L_A` over the box with
L-BFGS-B to gradient tolerance :math:`\omega_k`, then follows the
bound-constrained Lagrangian method of Nocedal & Wright, Algorithm 17.4
(after Conn, Gould & Toint's LANCELOT):

* if the violation :math:`v_k = \max(\|c_E\|_\infty, \|\max(c_I, -y/\rho)\|_\infty) \le
  \max(\eta_k,` ``feasibility_tol``) (the floor is this implementation's: it
  stops :math:`\rho` from growing once the constraints meet their tolerance):
  first-order multiplier update :math:`\lambda \leftarrow \lambda + \rho c_E`,
  :math:`y \leftarrow \max(0, y + \rho c_I)` (N&W eq. 17.39),
  :math:`\eta_{k+1} = \eta_k / \rho^{0.9}`, :math:`\omega_{k+1} = \omega_k/\rho`;
* else :math:`\rho \leftarrow 100\rho`, :math:`\eta_{k+1} = 1/\rho^{0.1}`,
  :math:`\omega_{k+1} = 1/\rho`.

The tolerances :math:`\omega_k` are floored at ``stationarity_tol / 10`` so
the final inner solves are accurate enough for the stopping test. Stops on the
KKT residuals ``stationarity`` (with the method's multipliers and bound
multipliers read from the gradient at active bounds), ``feasibility`` and
``complementarity`` (when there are inequalities or bounds; it must be below
``stationarity_tol``).

Statuses: ``INFEASIBLE`` ("locally infeasible") when :math:`\rho >` ``penalty_max`` (or
three inner solves in a row did not move the iterate) with the constraints still violated
and the local minimizer of the infeasibility reached from the iterate passes the certificate
of :class:`mathopt.constrained.kkt.InfeasibilityCheck` (``residuals["infeasibility_stationarity"]``),
else ``NUMERICAL_ERROR`` with no infeasibility claim (see
:meth:`mathopt.constrained._inner.SequentialMethod._certify`); ``UNBOUNDED`` when the inner
objective falls below ``unbounded_threshold``; ``NONFINITE`` on NaN/inf from the functions.

References
----------
.. [1] J. Nocedal, S. J. Wright, "Numerical Optimization", 2nd ed., Springer,
   2006, Section 17.3-17.4, Algorithm 17.4.
.. [2] A. R. Conn, N. I. M. Gould, Ph. L. Toint, "A globally convergent
   augmented Lagrangian algorithm for optimization with general constraints
   and simple bounds", SIAM J. Numer. Anal. 28(2), 1991.
.. [3] R. T. Rockafellar, "The multiplier method of Hestenes and Powell
   applied to convex programming", J. Optim. Theory Appl. 12, 1973.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.driver import run
from ..core.nlp import NLP
from ..core.registry import register
from ._inner import OuterState, SequentialMethod, SequentialOptions


@dataclass(frozen=True)
class AugLagOptions(SequentialOptions):
    """Method of multipliers (Nocedal & Wright Algorithm 17.4). ``penalty`` is mu_0 there (default 10)."""

    def meets_tolerances(self, residuals) -> bool:
        return super().meets_tolerances(residuals) and residuals.get("complementarity", 0.0) <= self.stationarity_tol


class AugmentedLagrangian(SequentialMethod):
    # Alg. 17.4 ends each inner solve on its gradient tolerance omega_k only.
    inner_ftol = 0.0

    def setup(self, state: OuterState) -> None:
        state.eta = 1.0 / state.rho ** 0.1
        state.omega = 1.0 / state.rho

    def inner_tolerance(self, state: OuterState) -> float:
        return max(state.omega, 0.1 * state.run.options.stationarity_tol)

    def merit(self, x, state: OuterState):
        p, ev, rho = state.run.problem, state.run.ev, state.rho
        value, grad = ev.fun(x), ev.gradient(x)
        if p.n_eq:
            c, J = ev.eq(x), ev.eq_jacobian(x)
            shifted = state.y_eq + 0.5 * rho * c
            value += float(shifted @ c)
            grad = grad + np.asarray(J.T @ (state.y_eq + rho * c)).ravel()
        if p.n_ineq:
            c, J = ev.ineq(x), ev.ineq_jacobian(x)
            active = np.maximum(0.0, state.y_ineq + rho * c)
            value += float(active @ active - state.y_ineq @ state.y_ineq) / (2.0 * rho)
            grad = grad + np.asarray(J.T @ active).ravel()
        return value, grad

    def update(self, state: OuterState) -> None:
        p, ev, rho = state.run.problem, state.run.ev, state.rho
        c_eq, c_ineq = ev.eq(state.x), ev.ineq(state.x)
        parts = [0.0]
        if p.n_eq:
            parts.append(np.max(np.abs(c_eq)))
        if p.n_ineq:
            parts.append(np.max(np.abs(np.maximum(c_ineq, -state.y_ineq / rho))))
        violation = float(max(parts))
        if violation <= max(state.eta, state.run.options.feasibility_tol):
            state.y_eq = state.y_eq + rho * c_eq
            state.y_ineq = np.maximum(0.0, state.y_ineq + rho * c_ineq)
            state.eta = state.eta / rho ** 0.9
            state.omega = state.omega / rho
        else:
            state.rho = rho * 100.0
            state.eta = 1.0 / state.rho ** 0.1
            state.omega = 1.0 / state.rho


@register("auglag", problem=NLP, options=AugLagOptions, constraints=("eq", "ineq", "bounds"), requires=("scipy",))
def auglag(problem: NLP, options: AugLagOptions):
    """Method of multipliers (PHR augmented Lagrangian, N&W Alg. 17.4) with inner L-BFGS-B."""
    return run(AugmentedLagrangian(), problem, options, "auglag")
