"""``halpern-pdhg-lp``: the PDHG map of ``pdhg-lp`` with r2HPDHG's reflected Halpern step and restarts.

For the PDHG map :math:`T` of :mod:`mathopt.feasibility.pdhg` (firmly nonexpansive in the PDHG
metric :math:`M`, so the reflection :math:`2T - I` is nonexpansive), Lu & Yang's r2HPDHG [2]_ iterates

.. math::

   z_{k+1} = \\frac{1}{j+2} z_a + \\frac{j+1}{j+2}\\big((1 + \\rho) T z_k - \\rho z_k\\big),

:math:`\\rho` = ``reflection`` (0: rHPDHG; 1: the fully reflected step), :math:`z_a` the anchor
and :math:`j` the iterations since it was set. The fixed-point residual :math:`z - Tz` reaches the
infimal displacement vector at the optimal :math:`O(1/k)` (Park & Ryu [1]_), so its blocks become
certificates sooner. Restarts (r2HPDHG): every ``check_interval`` iterations, with
:math:`r = \\|z_k - T z_k\\|_M` and :math:`r_0` its value at the last restart, the anchor and the
iterate move to :math:`T z_k` when :math:`r \\le 0.2 r_0` (``restart_decay``), or
:math:`r \\le 0.8 r_0` (``restart_necessary``) and :math:`r` grew since the previous test, or the
iterations since the restart reach 0.36 of all (``restart_fraction``); the primal weight is updated
at each restart as in ``pdhg-lp``. The reported point is :math:`T z_k`.

References
----------
.. [1] J. Park, E. K. Ryu, "Accelerated infeasibility detection of constrained optimization
   and fixed-point iterations", ICML 2023.
.. [2] H. Lu, J. Yang, "Restarted Halpern PDHG for linear programming", arXiv:2407.16144 (2024),
   Section 6 (reflection).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..core.registry import register
from ..core.options import check_fraction
from .pdhg import LPOptions, solve_lp
from .problem import QP, QPResult


@dataclass(frozen=True)
class HalpernPDHGOptions(LPOptions):
    """Options of ``halpern-pdhg-lp``.

    Parameters
    ----------
    reflection : float, default 1.0
        rho in [0, 1]: the anchored step uses (1 + rho) T z - rho z (r2HPDHG, Lu & Yang 2024;
        0 is rHPDHG).
    """

    reflection: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        check_fraction(self, "reflection", closed=True)


@register("halpern-pdhg-lp", problem=QP, options=HalpernPDHGOptions, backends=("numba",), requires=("numba",))
def halpern_pdhg_lp(problem: QP, options: HalpernPDHGOptions) -> QPResult:
    """PDHG for LPs with r2HPDHG's reflected Halpern step and restarts: O(1/k) infeasibility detection."""
    return solve_lp(problem, options, "halpern-pdhg-lp", halpern=True)
