"""``fista``: accelerated proximal gradient with backtracking and adaptive restart.

Problem (:class:`~mathopt.prox.problem.CompositeProblem`):

.. math::

    \\min_x F(x) = f(x) + g(x), \\qquad f \\text{ with an } L\\text{-Lipschitz gradient},
    \\quad g \\text{ known through } \\operatorname{prox}_{tg}.

Iteration k (Beck & Teboulle [1]_, FISTA with backtracking, Section 4; restart of
O'Donoghue & Candès [2]_, Section 3.2), from :math:`x_k, x_{k-1}`, :math:`\\theta_k` (with
:math:`\\theta_0 = 1`) and the current estimate :math:`L`:

.. math::

    \\theta_{k+1} &= \\tfrac12\\big(1 + \\sqrt{1 + 4\\theta_k^2}\\big), \\quad
    y = x_k + \\frac{\\theta_k - 1}{\\theta_{k+1}} (x_k - x_{k-1}), \\\\
    x_{k+1} &= \\operatorname{prox}_{g/L}\\big(y - \\tfrac1L \\nabla f(y)\\big),
    \\text{ with } L \\leftarrow \\eta L \\text{ until }
    f(x_{k+1}) \\le f(y) + \\langle\\nabla f(y), x_{k+1} - y\\rangle + \\tfrac L2\\|x_{k+1} - y\\|^2,

and the gradient restart: when :math:`\\langle y - x_{k+1}, x_{k+1} - x_k\\rangle > 0` (the
momentum points uphill for the composite objective) the momentum is dropped,
:math:`\\theta_{k+1} = 1`. L only grows (as in [1]_), starting from ``1/step_size``, the
problem's ``lipschitz``, or a secant estimate :math:`\\|\\nabla f(x_0 + d) - \\nabla f(x_0)\\|/\\|d\\|`.
The sufficient-decrease test allows a rounding slack of :math:`10\\,\\varepsilon |f(y)|`.

Stopping test (``residuals["stationarity"]``): the infinity norm of the gradient mapping at
the iterate,

.. math::

    G_t(x) = \\frac{x - \\operatorname{prox}_{tg}(x - t\\nabla f(x))}{t}, \\quad t = 1/L,

which is 0 exactly at the stationary points of F (the minimizers when f is convex, for an
exact prox). It costs one more gradient and prox per iteration (counted in ``ngev``).
``x0`` outside the domain of g (``g.value(x0) = inf``) is replaced by
:math:`\\operatorname{prox}_{t_0 g}(x_0)`.

References
----------
.. [1] A. Beck, M. Teboulle, "A fast iterative shrinkage-thresholding algorithm for linear
   inverse problems", SIAM J. Imaging Sci. 2 (2009).
.. [2] B. O'Donoghue, E. Candès, "Adaptive restart for accelerated gradient schemes",
   Found. Comput. Math. 15 (2015).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..core.driver import IterationInfo, IterativeSolver, make_result, run
from ..core.options import CommonOptions, OptionError, check_bool, check_number, check_positive
from ..core.registry import register
from ..core.status import Status
from .base import has_value, value_or_zero
from .problem import CompositeProblem, ProxResult

#: Most increases of L in one backtracking search.
MAX_BACKTRACKS = 60
_SLACK = 10 * np.finfo(float).eps


@dataclass(frozen=True)
class FistaOptions(CommonOptions):
    """FISTA with backtracking on L and gradient-based adaptive restart.

    Parameters
    ----------
    stationarity_tol : float, default 1e-06
        Stop (``CONVERGED``) when ``residuals["stationarity"]``, the infinity norm of the
        gradient mapping ``(x - prox_{tg}(x - t grad f(x))) / t`` at t = 1/L, is at most this.
    step_size : float or None, default None
        Initial step 1/L_0; None: 1/lipschitz of the problem when given, else a secant estimate.
    backtracking : bool, default True
        Increase L by ``backtrack_factor`` until the sufficient-decrease test holds; False keeps
        the initial step (then ``step_size`` or the problem's ``lipschitz`` is required).
    backtrack_factor : float, default 2.0
        The factor eta > 1 applied to L at each failed test.
    restart : bool, default True
        Gradient-based adaptive restart of the momentum (O'Donoghue & Candès 2015).
    max_iter : int, default 5000
        Maximum number of iterations.
    """

    stationarity_tol: float = 1e-6
    step_size: float | None = None
    backtracking: bool = True
    backtrack_factor: float = 2.0
    restart: bool = True
    max_iter: int = 5000

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "stationarity_tol", strict=False, allow_inf=False)
        if self.step_size is not None:
            check_positive(self, "step_size", allow_inf=False)
        check_bool(self, "backtracking")
        check_bool(self, "restart")
        if check_number(self, "backtrack_factor") <= 1.0 or not math.isfinite(self.backtrack_factor):
            raise OptionError(f"backtrack_factor must be a finite number > 1, got {self.backtrack_factor!r}")


class FistaState(NamedTuple):
    x: np.ndarray
    x_prev: np.ndarray
    fx: float            # f(x)
    gx: np.ndarray       # grad f(x)
    theta: float
    lipschitz: float
    stationarity: float
    nfev: int
    ngev: int
    restarts: int


class Fista(IterativeSolver):
    """FISTA on the core loop (one Python step per iteration; see the module docstring).

    One object per solve holds the (read-only) problem and options; the run state is a
    :class:`FistaState`.
    """

    def __init__(self, problem: CompositeProblem, options: FistaOptions):
        self.problem, self.options = problem, options

    def init(self, problem: CompositeProblem, options: FistaOptions):
        if not options.backtracking and options.step_size is None and problem.lipschitz is None:
            raise OptionError("backtracking=False needs step_size or the problem's lipschitz")
        x = problem.x0.copy()
        fx, gx = problem.objective(x), problem.gradient(x)
        lipschitz, nfev, ngev = _initial_lipschitz(problem, options, x, gx)
        if not math.isfinite(value_or_zero(problem.g, x)):  # outside dom g: start from its prox
            x = problem.g.prox_numpy(x, 1.0 / lipschitz)
            fx, gx = problem.objective(x), problem.gradient(x)
            nfev, ngev = nfev + 1, ngev + 1
        return FistaState(x, x, fx, gx, 1.0, lipschitz, _stationarity(problem, x, gx, lipschitz),
                          nfev + 1, ngev + 1, 0)

    def step(self, state: FistaState) -> FistaState:
        problem, options = self.problem, self.options
        theta_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * state.theta ** 2))
        beta = (state.theta - 1.0) / theta_next
        nfev, ngev = state.nfev, state.ngev
        if beta == 0.0:
            y, fy, gy = state.x, state.fx, state.gx
        else:
            y = state.x + beta * (state.x - state.x_prev)
            fy, gy = problem.objective(y), problem.gradient(y)
            nfev, ngev = nfev + 1, ngev + 1
        if not (math.isfinite(fy) and np.all(np.isfinite(gy))):
            return state._replace(fx=math.nan, nfev=nfev, ngev=ngev)
        lipschitz = state.lipschitz
        for _ in range(MAX_BACKTRACKS):
            z = problem.g.prox_numpy(y - gy / lipschitz, 1.0 / lipschitz)
            if not np.all(np.isfinite(z)):  # a prox (e.g. a learned one) that returned NaN
                return state._replace(fx=math.nan, nfev=nfev, ngev=ngev)
            fz = problem.objective(z)
            nfev += 1
            d = z - y
            bound = fy + float(np.vdot(gy, d)) + 0.5 * lipschitz * float(np.vdot(d, d)) + _SLACK * abs(fy)
            if not options.backtracking or (math.isfinite(fz) and fz <= bound):
                break
            lipschitz *= options.backtrack_factor
        restart = options.restart and float(np.vdot(y - z, z - state.x)) > 0.0
        gz = problem.gradient(z)
        ngev += 1
        return FistaState(z, state.x, fz, gz, 1.0 if restart else theta_next, lipschitz,
                          _stationarity(problem, z, gz, lipschitz), nfev, ngev, state.restarts + restart)

    def terminate(self, state: FistaState):
        return Status.CONVERGED if state.stationarity <= self.options.stationarity_tol else None

    def info(self, state: FistaState, nit: int, elapsed: float) -> IterationInfo:
        fun = state.fx + value_or_zero(self.problem.g, state.x)
        return IterationInfo(nit=nit, x=state.x.ravel().copy(), fun=fun,
                             residuals={"stationarity": state.stationarity}, elapsed=elapsed)

    def finalize(self, state: FistaState, status, info: IterationInfo, history):
        return make_result(info, status, history, result_cls=ProxResult,
                           counters={"nfev": state.nfev, "ngev": state.ngev},
                           array=info.x.reshape(self.problem.shape),
                           extra={"lipschitz": state.lipschitz, "restarts": state.restarts,
                                  "g_value": has_value(self.problem.g, info.x.reshape(self.problem.shape))})


def _initial_lipschitz(problem, options, x, gx):
    """(L_0, extra f evaluations, extra gradient evaluations)."""
    if options.step_size is not None:
        return 1.0 / options.step_size, 0, 0
    if problem.lipschitz is not None:
        return problem.lipschitz, 0, 0
    scale = 1e-4 * max(1.0, float(np.max(np.abs(x))))
    norm = float(np.linalg.norm(gx))
    direction = gx / norm if norm > 0 else np.ones_like(x) / math.sqrt(x.size)
    g1 = problem.gradient(x - scale * direction)
    estimate = float(np.linalg.norm(g1 - gx)) / scale
    return (estimate if math.isfinite(estimate) and estimate > 0 else 1.0), 0, 1


def _stationarity(problem, x, gx, lipschitz) -> float:
    t = 1.0 / lipschitz
    mapped = problem.g.prox_numpy(x - t * gx, t)
    return float(np.max(np.abs(x - mapped))) / t


@register("fista", problem=CompositeProblem, options=FistaOptions, default=True)
def fista(problem: CompositeProblem, options: FistaOptions) -> ProxResult:
    """FISTA (accelerated proximal gradient) with backtracking and adaptive restart."""
    return run(Fista(problem, options), problem, options, "fista")
