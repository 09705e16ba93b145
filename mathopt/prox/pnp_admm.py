"""``pnp-admm``: plug-and-play ADMM for a linear inverse problem.

Problem (:class:`~mathopt.prox.problem.InverseProblem`, the prior through its prox):

.. math::

    \\min_x \\tfrac12\\|Ax - y\\|_2^2 + \\lambda g(x)
    \\quad\\Longleftrightarrow\\quad
    \\min_{x, z} \\tfrac12\\|Ax - y\\|_2^2 + \\lambda g(z) \\;\\text{ s.t. }\\; x = z .

Scaled ADMM (Boyd et al. [1]_, Section 3.1.1) with penalty :math:`\\rho` and the prox of g
replaced by any denoiser (Venkatakrishnan, Bouman & Wohlberg [2]_):

.. math::

    x_{k+1} &= (A^TA + \\rho I)^{-1}\\big(A^Ty + \\rho(z_k - u_k)\\big), \\\\
    z_{k+1} &= \\operatorname{prox}_{(\\lambda/\\rho) g}(x_{k+1} + u_k), \\\\
    u_{k+1} &= u_k + x_{k+1} - z_{k+1}.

The x-update is exact by FFT for a :class:`~mathopt.prox.convolution.Convolution`, by a
Cholesky factorization (computed once) for a matrix with at most 2000 columns, and by
conjugate gradients (SciPy, warm-started at :math:`x_k`, relative tolerance ``cg_tol``) otherwise.
Start: :math:`x_0` = the problem's ``x0``, :math:`z_0 = \\operatorname{prox}(x_0)`, :math:`u_0 = 0`.

Penalty: fixed, or with ``adaptive_penalty=True`` residual balancing (Boyd et al. [1]_, eq. 3.13):
:math:`\\rho \\leftarrow \\tau\\rho` when :math:`r > \\mu s`, :math:`\\rho \\leftarrow \\rho/\\tau` when
:math:`s > \\mu r` (``penalty_growth`` :math:`\\tau`, ``balance_ratio`` :math:`\\mu`), with the scaled
dual rescaled by the old over the new :math:`\\rho`; it is frozen after
:data:`ADAPT_ITERATIONS` iterations so that the fixed-penalty convergence theory applies to
the tail. For a convex g with an exact prox this does not change the solution (and often
speeds it up); it is off by default because it changes the strength reg/rho at which the
denoiser is applied, which matters for learned and inexact proxes (with scikit-image's TV we
saw it settle in a cycle at the prox's accuracy). ``extra["penalty"]`` is the final value.

Stopping test (Boyd et al. [1]_, Section 3.3.1, with infinity norms): the primal residual
:math:`r = \\|x_{k+1} - z_{k+1}\\|_\\infty` and the dual residual
:math:`s = \\rho\\|z_{k+1} - z_k\\|_\\infty` (``residuals["primal"]``, ``residuals["dual"]``) meet

.. math::

    r \\le \\text{primal\\_tol} + \\text{rel\\_tol}\\max(\\|x\\|_\\infty, \\|z\\|_\\infty), \\qquad
    s \\le \\text{dual\\_tol} + \\text{rel\\_tol}\\,\\rho\\|u\\|_\\infty,

checked from iteration 1 on. With an exact prox of a convex g these are the residuals of the
optimality conditions (:math:`\\rho u` is the multiplier of x = z, ``extra["multipliers"]``),
so ``CONVERGED`` certifies an approximate minimizer; with any prox, r = s = 0 exactly at a
fixed point of the iteration, which is what ``CONVERGED`` certifies for a learned or inexact
denoiser (e.g. TV by Chambolle's method). ``result.x`` is :math:`z` (in the range of the
prox: feasible for a set) and ``fun`` is the objective there (the data term alone when the
prox has no value).

References
----------
.. [1] S. Boyd, N. Parikh, E. Chu, B. Peleato, J. Eckstein, "Distributed optimization and
   statistical learning via the alternating direction method of multipliers", Found. Trends
   Mach. Learn. 3 (2011).
.. [2] S. Venkatakrishnan, C. Bouman, B. Wohlberg, "Plug-and-play priors for model based
   reconstruction", GlobalSIP 2013.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from ..core.driver import IterationInfo, IterativeSolver, run
from ..core.options import OptionError, check_bool, check_choice, check_int, check_positive
from ..core.problem import is_sparse
from ..core.registry import register
from ..core.status import Status
from ..core.problem import all_finite
from ._pnp import NAN, PnPOptions, infinity_norm, objective, pnp_result
from .problem import DENSE_MAX_N, InverseProblem, ProxResult

LINEAR_SOLVERS = ("auto", "fft", "cholesky", "cg")
#: Iterations during which the adaptive penalty may change.
ADAPT_ITERATIONS = 500


@dataclass(frozen=True)
class PnPADMMOptions(PnPOptions):
    """Plug-and-play ADMM.

    Parameters
    ----------
    penalty : float, default 1.0
        The (initial) ADMM penalty rho > 0; the prox is taken with step reg / rho.
    primal_tol : float, default 1e-06
        Absolute tolerance on ``residuals["primal"]`` = ``||x - z||_inf``.
    dual_tol : float, default 1e-06
        Absolute tolerance on ``residuals["dual"]`` = ``penalty * ||z - z_prev||_inf``.
    rel_tol : float, default 0.0001
        Relative part of both tests (scaled by ``max(||x||, ||z||)`` and ``penalty * ||u||``).
    linear_solver : str, default 'auto'
        x-update solver: ``"fft"`` (a Convolution forward operator), ``"cholesky"`` (a matrix;
        dense factorization), ``"cg"`` (any operator); ``"auto"`` picks fft for a convolution,
        cholesky for a matrix with at most 2000 columns, cg otherwise.
    cg_tol : float, default 1e-10
        Relative residual tolerance of conjugate gradients.
    inner_max_iter : int, default 500
        Most conjugate-gradient iterations per x-update (``extra["inner_iterations"]`` counts them).
    adaptive_penalty : bool, default False
        Residual balancing of the penalty during the first 500 iterations (module docstring).
    penalty_growth : float, default 2.0
        The factor tau > 1 by which the adaptive penalty grows or shrinks.
    balance_ratio : float, default 10.0
        The ratio mu > 1 between the residuals that triggers a change of the penalty.
    """

    penalty: float = 1.0
    primal_tol: float = 1e-6
    dual_tol: float = 1e-6
    rel_tol: float = 1e-4
    linear_solver: str = "auto"
    cg_tol: float = 1e-10
    inner_max_iter: int = 500
    adaptive_penalty: bool = False
    penalty_growth: float = 2.0
    balance_ratio: float = 10.0

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "penalty", allow_inf=False)
        for name in ("primal_tol", "dual_tol", "rel_tol"):
            check_positive(self, name, strict=False, allow_inf=False)
        check_choice(self, "linear_solver", LINEAR_SOLVERS)
        check_positive(self, "cg_tol", allow_inf=False)
        check_int(self, "inner_max_iter", minimum=1)
        check_bool(self, "adaptive_penalty")
        for name in ("penalty_growth", "balance_ratio"):
            check_positive(self, name, allow_inf=False)
            if getattr(self, name) <= 1.0:
                raise OptionError(f"{name} must be > 1, got {getattr(self, name)!r}")


class ADMMState(NamedTuple):
    x: np.ndarray
    z: np.ndarray
    u: np.ndarray
    fun: float
    primal: float
    dual: float
    converged: bool
    iteration: int
    inner_iterations: int
    penalty: float
    solve_x: Callable    # (rhs, warm) -> (x, inner iterations) for the current penalty


class PnPADMM(IterativeSolver):
    """PnP-ADMM on the core loop (see the module docstring); one object per solve holds the
    read-only problem, options and x-update solver."""

    def __init__(self, problem: InverseProblem, options: PnPADMMOptions):
        self.problem, self.options = problem, options
        self.rhs0 = problem.apply_adjoint(problem.data)

    def init(self, problem, options):
        x = problem.x0.copy()
        rho = options.penalty
        z = options.prox.prox_numpy(x, options.reg / rho)
        return ADMMState(x, z, np.zeros_like(x), objective(problem, options, z), infinity_norm(x - z),
                         rho * infinity_norm(z - x), False, 0, 0, rho, _x_solver(problem, options, rho))

    def step(self, state: ADMMState) -> ADMMState:
        problem, options = self.problem, self.options
        rho = state.penalty
        rhs = self.rhs0 + rho * (state.z - state.u)
        if not all_finite(rhs):  # never hand NaN to the linear algebra
            return state._replace(fun=NAN)
        x, inner = state.solve_x(rhs, state.x)
        if not all_finite(x):
            return state._replace(fun=NAN)
        z = options.prox.prox_numpy(x + state.u, options.reg / rho)
        u = state.u + x - z
        primal, dual = infinity_norm(x - z), rho * infinity_norm(z - state.z)
        converged = (primal <= options.primal_tol + options.rel_tol * max(infinity_norm(x), infinity_norm(z))
                     and dual <= options.dual_tol + options.rel_tol * rho * infinity_norm(u))
        new_rho, solve_x = rho, state.solve_x
        if options.adaptive_penalty and state.iteration < ADAPT_ITERATIONS and not converged:
            if primal > options.balance_ratio * dual:
                new_rho = rho * options.penalty_growth
            elif dual > options.balance_ratio * primal:
                new_rho = rho / options.penalty_growth
            if new_rho != rho:
                u, solve_x = u * (rho / new_rho), _x_solver(problem, options, new_rho)
        return ADMMState(x, z, u, objective(problem, options, z), primal, dual, converged,
                         state.iteration + 1, state.inner_iterations + inner, new_rho, solve_x)

    def terminate(self, state: ADMMState):
        return Status.CONVERGED if state.converged else None

    def info(self, state: ADMMState, nit: int, elapsed: float) -> IterationInfo:
        return IterationInfo(nit=nit, x=state.z.ravel().copy(), fun=state.fun,
                             residuals={"primal": state.primal, "dual": state.dual}, elapsed=elapsed)

    def finalize(self, state: ADMMState, status, info, history) -> ProxResult:
        return pnp_result(self.problem, self.options, info, status, history,
                          multipliers=(state.penalty * state.u).ravel().copy(),
                          inner_iterations=state.inner_iterations, penalty=state.penalty)


def _x_solver(problem: InverseProblem, options: PnPADMMOptions, rho: float) -> Callable:
    """``solve(rhs, warm) -> (x, inner iterations)`` for (A'A + rho I) x = rhs."""
    from .convolution import Convolution

    choice = options.linear_solver
    n = int(np.prod(problem.shape))
    if choice == "auto":
        choice = ("fft" if isinstance(problem.forward, Convolution)
                  else "cholesky" if problem.kind == "matrix" and n <= DENSE_MAX_N else "cg")
    if choice == "fft":
        if not isinstance(problem.forward, Convolution):
            raise OptionError("linear_solver='fft' needs a Convolution forward operator, "
                              f"this problem's is a {problem.kind}")
        return lambda rhs, warm: (problem.forward.normal_solve(rhs, rho), 0)
    if choice == "cholesky":
        if problem.kind != "matrix":
            raise OptionError(f"linear_solver='cholesky' needs a matrix forward operator, this problem's is a "
                              f"{problem.kind}")
        from scipy.linalg import cho_factor, cho_solve

        dense = problem.forward.toarray() if is_sparse(problem.forward) else problem.forward
        factor = cho_factor(dense.T @ dense + rho * np.eye(n))
        return lambda rhs, warm: (cho_solve(factor, rhs.ravel(), check_finite=False).reshape(problem.shape), 0)
    return _cg_solver(problem, options, rho)


def _cg_solver(problem, options, rho):
    from scipy.sparse.linalg import LinearOperator, cg

    n = int(np.prod(problem.shape))
    normal = LinearOperator((n, n), dtype=float,
                            matvec=lambda v: (problem.apply_adjoint(problem.apply(v)) + rho * v.reshape(problem.shape)).ravel())

    def solve(rhs, warm):
        count = [0]

        def counter(_):
            count[0] += 1

        x, _ = cg(normal, rhs.ravel(), x0=warm.ravel(), rtol=options.cg_tol, atol=0.0,
                  maxiter=options.inner_max_iter, callback=counter)
        return x.reshape(problem.shape), count[0]

    return solve


@register("pnp-admm", problem=InverseProblem, options=PnPADMMOptions, default=True)
def pnp_admm(problem: InverseProblem, options: PnPADMMOptions) -> ProxResult:
    """Plug-and-play ADMM: exact x-update (FFT, Cholesky or CG), any prox as the z-update."""
    return run(PnPADMM(problem, options), problem, options, "pnp-admm")
