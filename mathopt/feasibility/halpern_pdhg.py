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

from ..core.registry import register
from .options import RestartOptions
from .pdhg import PDHGOptions, solve_lp
from .problem import QP, QPResult


@dataclass(frozen=True)
class HalpernPDHGOptions(PDHGOptions, RestartOptions):
    """Options of ``halpern-pdhg-lp`` (those of ``pdhg-lp`` and the anchor's restarts)."""


@register("halpern-pdhg-lp", problem=QP, options=HalpernPDHGOptions, backends=("numba",), requires=("numba",))
def halpern_pdhg_lp(problem: QP, options: HalpernPDHGOptions) -> QPResult:
    """PDHG for LPs with Halpern anchoring and restarts: O(1/k) infeasibility detection (Park & Ryu 2023)."""
    return solve_lp(problem, options, "halpern-pdhg-lp", halpern=True)
