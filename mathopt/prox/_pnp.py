"""What the plug-and-play solvers share: the prox and its weight, the objective, the result."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.driver import IterationInfo, make_result
from ..core.options import CommonOptions, OptionError, check_positive
from .base import Prox, has_value, value_or_zero
from .problem import ProxResult

NAN = math.nan


@dataclass(frozen=True)
class PnPOptions(CommonOptions):
    """The prior of a plug-and-play solver.

    Parameters
    ----------
    prox : Prox or None, default None
        The denoiser: any :class:`~mathopt.prox.base.Prox` (a classical prox of
        :mod:`mathopt.prox.operators`, a set, a learned proximal network). None: Tikhonov,
        ``SquaredL2Norm(1.0)``.
    reg : float, default 0.1
        The weight lambda > 0 of the regularizer: the solvers target
        ``min_x 1/2 ||Ax - y||^2 + reg * g(x)`` for the g whose prox is ``prox``.
    """

    prox: Prox | None = None
    reg: float = 0.1

    def __post_init__(self):
        super().__post_init__()
        if self.prox is None:
            from .operators import SquaredL2Norm

            object.__setattr__(self, "prox", SquaredL2Norm(1.0))
        elif not isinstance(self.prox, Prox):
            raise OptionError(f"prox must be a mathopt.prox.Prox (e.g. L1Norm(), TotalVariation(), a set "
                              f"or a learned proximal network), got {type(self.prox).__name__}")
        check_positive(self, "reg", allow_inf=False)


def objective(problem, options: PnPOptions, x, residual=None) -> float:
    """:math:`\\frac12\\|Ax - y\\|^2 + \\lambda g(x)` (``residual`` = Ax - y when already known)."""
    if residual is None:
        residual = problem.apply(x) - problem.data
    return 0.5 * float(np.vdot(residual, residual)) + options.reg * value_or_zero(options.prox, x)


def infinity_norm(a) -> float:
    return float(np.max(np.abs(a))) if np.size(a) else 0.0


def pnp_result(problem, options, info: IterationInfo, status, history, **extra) -> ProxResult:
    """The ProxResult of a PnP run (``extra`` gains ``g_value``: whether fun includes reg*g)."""
    return make_result(info, status, history, result_cls=ProxResult, array=info.x.reshape(problem.shape),
                       extra={**extra, "g_value": has_value(options.prox, problem.x0)})

