r"""``penalty``: quadratic-penalty continuation, or the (smoothed) exact l1 penalty.

.. math::

    \min_x f(x) \quad \text{s.t.} \quad c_E(x) = 0,\; c_I(x) \le 0,\;
    \ell \le x \le u .

``kind="quadratic"`` (Nocedal & Wright 2006, Framework 17.1, eq. 17.4):

.. math::

    Q(x;\rho) = f(x) + \frac{\rho}{2}\big(\|c_E(x)\|^2 + \|\max(0, c_I(x))\|^2\big),

minimized over the box by L-BFGS-B to tolerance :math:`\tau_k = \max(1/\rho_k,`
``stationarity_tol``/10) (for ``"l1"``: :math:`\max(\epsilon_k,` ``stationarity_tol``/10)), then :math:`\rho_{k+1} = ` ``penalty_growth`` :math:`\rho_k`.
Multiplier estimates (N&W eq. 17.8): :math:`\lambda = \rho c_E`,
:math:`y = \rho\max(0, c_I)`. The minimizers are infeasible by
:math:`O(1/\rho)`, so tight ``feasibility_tol`` needs large :math:`\rho`
(ill-conditioned inner problems): this is the textbook baseline, not a
competitive method.

``kind="l1"`` (N&W Section 17.2, eq. 17.22): the exact penalty
:math:`f + \rho(\|c_E\|_1 + \|\max(0,c_I)\|_1)`, made smooth for L-BFGS-B by
replacing :math:`|t|` with :math:`\sqrt{t^2+\epsilon^2}` and
:math:`\max(0,t)` with :math:`(t + \sqrt{t^2+\epsilon^2})/2`; each outer
iteration divides :math:`\epsilon` by 10 (down to ``feasibility_tol``/10) and multiplies :math:`\rho` by
``penalty_growth`` only while the constraint violation did not shrink by
half (the l1 penalty is exact once :math:`\rho > \|\lambda^*\|_\infty`, so
:math:`\rho` stays bounded on regular problems). Multiplier estimates: least
squares at the iterate (:func:`mathopt.constrained.kkt.estimate_multipliers`),
since the derivative of the smoothed penalty term,
:math:`\rho\, c_E/\sqrt{c_E^2+\epsilon^2}`, is too noisy near feasibility.

Statuses as for ``auglag``: ``INFEASIBLE`` (penalty above ``penalty_max``
with violated constraints, only at a certified local minimizer of the infeasibility, else
``NUMERICAL_ERROR``), ``UNBOUNDED``, ``NONFINITE``.

References
----------
.. [1] J. Nocedal, S. J. Wright, "Numerical Optimization", 2nd ed., Springer,
   2006, Sections 17.1-17.2.
.. [2] R. Fletcher, "Practical Methods of Optimization", 2nd ed., Wiley, 1987,
   Chapter 14 (exact penalty functions).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.driver import run
from ..core.nlp import NLP
from ..core.options import OptionError, check_choice, check_positive
from ..core.registry import register
from ._inner import OuterState, SequentialMethod, SequentialOptions


@dataclass(frozen=True)
class PenaltyOptions(SequentialOptions):
    """Quadratic or smoothed-l1 penalty continuation with inner L-BFGS-B.

    Parameters
    ----------
    kind : {"quadratic", "l1"}, default "quadratic"
        The penalty function.
    penalty_growth : float, default 10.0
        Factor by which the penalty grows between outer iterations.
    smoothing : float, default 1e-2
        Initial smoothing ``epsilon`` of the l1 penalty (divided by 10 every
        outer iteration; ignored by ``"quadratic"``).
    """

    kind: str = "quadratic"
    penalty_growth: float = 10.0
    smoothing: float = 1e-2

    def __post_init__(self):
        super().__post_init__()
        check_choice(self, "kind", ("quadratic", "l1"))
        check_positive(self, "penalty_growth", allow_inf=False)
        check_positive(self, "smoothing", allow_inf=False)
        if self.penalty_growth <= 1.0:
            raise OptionError(f"penalty_growth must be > 1, got {self.penalty_growth!r}")

    def meets_tolerances(self, residuals) -> bool:
        return super().meets_tolerances(residuals) and residuals.get("complementarity", 0.0) <= self.stationarity_tol


def _abs_smooth(t, eps):
    root = np.sqrt(t * t + eps * eps)
    return root, t / root


class PenaltyMethod(SequentialMethod):
    def setup(self, state: OuterState) -> None:
        state.smoothing = state.run.options.smoothing
        state.eta = np.inf  # violation at the previous outer iteration

    def inner_tolerance(self, state: OuterState) -> float:
        loose = 1.0 / state.rho if state.run.options.kind == "quadratic" else state.smoothing
        return max(loose, 0.1 * state.run.options.stationarity_tol)

    def _weights(self, c_eq, c_ineq, state):
        """Penalty value and the derivative weights w_E, w_I (the multiplier estimates)."""
        rho = state.rho
        if state.run.options.kind == "quadratic":
            pos = np.maximum(c_ineq, 0.0)
            return 0.5 * rho * (c_eq @ c_eq + pos @ pos), rho * c_eq, rho * pos
        eps = state.smoothing
        abs_eq, d_eq = _abs_smooth(c_eq, eps)
        abs_in, d_in = _abs_smooth(c_ineq, eps)
        value = rho * (abs_eq.sum() + 0.5 * (c_ineq + abs_in).sum())
        return value, rho * d_eq, 0.5 * rho * (1.0 + d_in)

    def _least_squares_multipliers(self, state: OuterState, c_ineq) -> None:
        """Multipliers of the l1 method: least-squares estimates (the smoothed weights are too noisy)."""
        from .kkt import estimate_multipliers

        ev = state.run.ev
        est = estimate_multipliers(state.run.problem, state.x, ev.gradient(state.x), ev.eq_jacobian(state.x),
                                   ev.ineq_jacobian(state.x), c_ineq)
        state.y_eq, state.y_ineq = est.eq, est.ineq

    def merit(self, x, state: OuterState):
        p, ev = state.run.problem, state.run.ev
        value, grad = ev.fun(x), ev.gradient(x)
        c_eq, c_ineq = ev.eq(x), ev.ineq(x)
        pen, w_eq, w_in = self._weights(c_eq, c_ineq, state)
        if p.n_eq:
            grad = grad + np.asarray(ev.eq_jacobian(x).T @ w_eq).ravel()
        if p.n_ineq:
            grad = grad + np.asarray(ev.ineq_jacobian(x).T @ w_in).ravel()
        return value + pen, grad

    def update(self, state: OuterState) -> None:
        c_eq, c_ineq = state.run.ev.eq(state.x), state.run.ev.ineq(state.x)
        violation = max(np.max(np.abs(c_eq), initial=0.0), np.max(c_ineq, initial=0.0))
        if state.run.options.kind == "quadratic":
            _, state.y_eq, state.y_ineq = self._weights(c_eq, c_ineq, state)
            state.rho *= state.run.options.penalty_growth
            return
        self._least_squares_multipliers(state, c_ineq)
        state.smoothing = max(state.smoothing / 10.0, 0.1 * state.run.options.feasibility_tol)
        if violation > max(0.5 * state.eta, state.run.options.feasibility_tol):
            state.rho *= state.run.options.penalty_growth
        state.eta = violation


@register("penalty", problem=NLP, options=PenaltyOptions, constraints=("eq", "ineq", "bounds"), requires=("scipy",))
def penalty(problem: NLP, options: PenaltyOptions):
    """Quadratic-penalty continuation (N&W Framework 17.1) or smoothed exact l1 penalty, inner L-BFGS-B."""
    return run(PenaltyMethod(), problem, options, "penalty")
