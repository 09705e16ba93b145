"""``halpern-pdhg-lp``: the PDHG map of ``pdhg-lp`` with Halpern anchoring and restarts.

:math:`z_{k+1} = \\frac{1}{j+2} z_a + \\frac{j+1}{j+2} T z_k` for the PDHG map :math:`T` of
:mod:`mathopt.feasibility.pdhg` (firmly nonexpansive in the PDHG metric), so the fixed-point
residual reaches the infimal displacement vector at the optimal :math:`O(1/k)` (Park & Ryu,
ICML 2023); the anchor :math:`z_a` restarts as in :mod:`mathopt.feasibility.halpern_admm`
(residual decay ``restart_decay``, artificial restart after ``restart_fraction`` of all
iterations; cf. restarted Halpern PDHG, Lu & Yang 2024).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..core.options import OptionError, check_number
from ..core.registry import register
from .pdhg import PDHGOptions, solve_lp
from .problem import QP, QPResult


@dataclass(frozen=True)
class HalpernPDHGOptions(PDHGOptions):
    """Options of ``halpern-pdhg-lp``.

    Parameters
    ----------
    restart_decay : float, default 0.2
        Move the anchor to the current iterate when the fixed-point residual is at most
        this fraction of its value at the anchor; 0 never restarts on this test.
    restart_fraction : float, default 0.2
        Also restart when the iterations since the anchor reach this fraction of all
        iterations; 0 never does.
    """

    restart_decay: float = 0.2
    restart_fraction: float = 0.2

    def __post_init__(self):
        super().__post_init__()
        for name in ("restart_decay", "restart_fraction"):
            check_number(self, name)
            if not 0.0 <= getattr(self, name) < 1.0:
                raise OptionError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")


@register("halpern-pdhg-lp", problem=QP, options=HalpernPDHGOptions)
def halpern_pdhg_lp(problem: QP, options: HalpernPDHGOptions) -> QPResult:
    """PDHG for LPs with Halpern anchoring and restarts: O(1/k) infeasibility detection (Park & Ryu 2023)."""
    return solve_lp(problem, options, "halpern-pdhg-lp", halpern=True)
