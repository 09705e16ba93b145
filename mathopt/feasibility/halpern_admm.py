"""``halpern-admm``: the ADMM operator of ``admm-qp`` with Halpern anchoring and restarts.

Park & Ryu [1]_ show that for a nonexpansive operator :math:`T` the Halpern iteration

.. math::

   s_{k+1} = \\beta_k s_0 + (1 - \\beta_k) T s_k, \\qquad \\beta_k = \\frac{1}{k+2},

makes the fixed-point residual :math:`s_k - T s_k` converge to the infimal displacement
vector :math:`v` at the optimal rate :math:`O(1/k)` in norm, against :math:`O(1/\\sqrt{k})`
for the plain iteration :math:`s_{k+1} = T s_k` (their Theorems 2-3 and Section 5). For an
infeasible QP the blocks of :math:`v` are the certificates of Banjac et al., so
infeasibility is detected in fewer iterations. Here :math:`T` is the OSQP operator of
:mod:`mathopt.feasibility.admm_operator` (relaxation :math:`\\alpha = 2` by default, the
reflected operator, which is nonexpansive), the iterate tested at iteration :math:`k` is
:math:`T s_{k-1}`, and the certificate comes from :math:`T s_{k-1} - s_{k-1}`.

Restarts (a deviation from [1]_, in the spirit of restarted Halpern PDHG [2]_): the anchor
:math:`s_0` moves to the current iterate when the fixed-point residual (in the norm
:math:`\\sqrt{\\sigma\\|x\\|^2 + \\|v\\|_\\rho^2}`) falls below ``restart_decay`` times its value
at the anchor, and whenever the penalty :math:`\\rho` (hence :math:`T`) changes.

References
----------
.. [1] J. Park, E. K. Ryu, "Accelerated infeasibility detection of constrained optimization
   and fixed-point iterations", ICML 2023, arXiv:2303.15876.
.. [2] H. Lu, J. Yang, "Restarted Halpern PDHG for linear programming", arXiv:2407.16144 (2024).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..core.driver import run
from ..core.registry import register
from .admm import ADMMOptions, ADMMSolver
from .options import RestartOptions
from .problem import QP, QPResult


@dataclass(frozen=True)
class HalpernADMMOptions(ADMMOptions, RestartOptions):
    """Options of ``halpern-admm``.

    Parameters
    ----------
    relaxation : float, default 2.0
        Relaxation alpha in (0, 2] of the anchored operator (2: the reflected, nonexpansive one).
    """

    relaxation: float = 2.0


@register("halpern-admm", problem=QP, options=HalpernADMMOptions)
def halpern_admm(problem: QP, options: HalpernADMMOptions) -> QPResult:
    """ADMM with Halpern anchoring and restarts: O(1/k) infeasibility detection (Park & Ryu 2023)."""
    return run(ADMMSolver(halpern=True), problem, options, "halpern-admm")
