"""``pnp-pgd``: plug-and-play proximal gradient for a linear inverse problem.

Problem (:class:`~mathopt.prox.problem.InverseProblem`):
:math:`\\min_x \\frac12\\|Ax - y\\|_2^2 + \\lambda g(x)`, the prior through its prox (any
denoiser). The iteration (proximal gradient, e.g. Beck & Teboulle [1]_ without momentum; the
PnP form of Kamilov et al. [2]_) with step t:

.. math::

    x_{k+1} = T(x_k) = \\operatorname{prox}_{t\\lambda g}\\big(x_k - t A^T(Ax_k - y)\\big),

t = ``step_size``, default :math:`1/\\|A\\|_2^2` (:meth:`InverseProblem.norm_squared`).

Stopping test (``residuals["stationarity"]``): the fixed-point residual at the returned
iterate, :math:`\\|T(x_k) - x_k\\|_\\infty / t`, i.e. the norm of the gradient mapping
:math:`G_t(x_k)`: for a true prox of g it is 0 exactly at the stationary points of the
composite objective (the minimizers for convex g), and for any denoiser at the fixed points of
T. :math:`T(x_k)` is computed once per iteration and becomes the next iterate.

References
----------
.. [1] A. Beck, M. Teboulle, "A fast iterative shrinkage-thresholding algorithm for linear
   inverse problems", SIAM J. Imaging Sci. 2 (2009).
.. [2] U. Kamilov, H. Mansour, B. Wohlberg, "A plug-and-play priors approach for solving
   nonlinear imaging inverse problems", IEEE Signal Process. Lett. 24 (2017).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..core.driver import IterationInfo, IterativeSolver, run
from ..core.options import check_positive
from ..core.registry import register
from ..core.status import Status
from ..core.problem import all_finite
from ._pnp import NAN, PnPOptions, infinity_norm, objective, pnp_result
from .problem import InverseProblem, ProxResult


@dataclass(frozen=True)
class PnPPGDOptions(PnPOptions):
    """Plug-and-play proximal gradient.

    Parameters
    ----------
    step_size : float or None, default None
        The step t; None: 1 / ||A||_2^2 (convergent for a convex g with an exact prox).
    stationarity_tol : float, default 1e-06
        Stop (``CONVERGED``) when ``||T(x) - x||_inf / t`` is at most this.
    """

    step_size: float | None = None
    stationarity_tol: float = 1e-6

    def __post_init__(self):
        super().__post_init__()
        if self.step_size is not None:
            check_positive(self, "step_size", allow_inf=False)
        check_positive(self, "stationarity_tol", strict=False, allow_inf=False)


class PGDState(NamedTuple):
    x: np.ndarray
    fun: float
    x_next: np.ndarray      # T(x)
    stationarity: float     # ||T(x) - x||_inf / t


class PnPPGD(IterativeSolver):
    """PnP proximal gradient on the core loop; one object per solve holds the read-only problem,
    options and step."""

    def __init__(self, problem: InverseProblem, options: PnPPGDOptions):
        self.problem, self.options = problem, options
        self.step_size = options.step_size or 1.0 / problem.norm_squared()

    def _state(self, x) -> PGDState:
        problem, options, t = self.problem, self.options, self.step_size
        residual = problem.apply(x) - problem.data
        gradient = problem.apply_adjoint(residual)
        if not all_finite(residual, gradient):  # never hand NaN to the prox
            return PGDState(x, NAN, x, NAN)
        x_next = options.prox.prox_numpy(x - t * gradient, t * options.reg)
        return PGDState(x, objective(problem, options, x, residual), x_next, infinity_norm(x_next - x) / t)

    def init(self, problem, options):
        return self._state(problem.x0.copy())

    def step(self, state: PGDState) -> PGDState:
        return self._state(state.x_next)

    def terminate(self, state: PGDState):
        return Status.CONVERGED if state.stationarity <= self.options.stationarity_tol else None

    def info(self, state: PGDState, nit: int, elapsed: float) -> IterationInfo:
        return IterationInfo(nit=nit, x=state.x.ravel().copy(), fun=state.fun,
                             residuals={"stationarity": state.stationarity}, elapsed=elapsed)

    def finalize(self, state: PGDState, status, info, history) -> ProxResult:
        return pnp_result(self.problem, self.options, info, status, history, step_size=self.step_size)


@register("pnp-pgd", problem=InverseProblem, options=PnPPGDOptions)
def pnp_pgd(problem: InverseProblem, options: PnPPGDOptions) -> ProxResult:
    """Plug-and-play proximal gradient: x <- prox(x - t A'(Ax - y)), any prox."""
    return run(PnPPGD(problem, options), problem, options, "pnp-pgd")
