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

Ridge on the forward operator's weak band (``null_space_ridge`` c > 0; our addition, off by
default): the data term gains

.. math::

    \\tfrac{c}{2}\\, x^T N x, \\qquad N = \\big(I - A^TA / \\|A\\|_2^2\\big)^q
    \\quad (q = \\text{null\\_space\\_power}),

a ridge that is about :math:`\\tfrac c2\\|x\\|^2` on the directions A (nearly) annihilates and
vanishes where A is well conditioned (for a blur, :math:`\\hat N(\\omega) = (1 - |\\hat k(\\omega)|^2
/ \\max|\\hat k|^2)^q`: with q = 64 it is half on at transfer :math:`|\\hat k| \\approx 0.1\\,\\max|\\hat k|`). It
is for learned denoisers that expand some directions (the prox of a weakly convex, nonconvex
R, e.g. a learned proximal network whose Jacobian has eigenvalues > 1): in the blur's null space
the data term does not hold such directions and PnP iterates can grow there without bound;
the ridge holds them at the cost of damping the image's own content in that band. The
objective is then :math:`\\frac12\\|Ax - y\\|^2 + \\frac c2 x^TNx + \\lambda g(x)` (``fun``); the
x-update solves with :math:`A^TA + cN + \\rho I` (FFT for a convolution; Cholesky for a matrix
with at most 2000 columns, N by an eigendecomposition of :math:`A^TA`; no CG). With an exact prox
of an m-weakly convex :math:`\\lambda g`, the whole objective is convex when
:math:`\\min_\\omega (|\\hat k(\\omega)|^2 + c\\hat N(\\omega)) \\ge m`; the measured uses
(docs/prox.md) stay below that bound.

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
    null_space_ridge : float, default 0.0
        Weight c >= 0 of the ridge (c/2) x'Nx on the forward operator's weak band, N = (I -
        A'A/||A||^2)^q (module docstring); 0: off. Needs a Convolution or a matrix with at most
        2000 columns.
    null_space_power : int, default 64
        The power q >= 1 in N: the larger, the narrower the band the ridge acts on.
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
    null_space_ridge: float = 0.0
    null_space_power: int = 64

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "penalty", allow_inf=False)
        for name in ("primal_tol", "dual_tol", "rel_tol"):
            check_positive(self, name, strict=False, allow_inf=False)
        check_choice(self, "linear_solver", LINEAR_SOLVERS)
        check_positive(self, "cg_tol", allow_inf=False)
        check_int(self, "inner_max_iter", minimum=1)
        check_bool(self, "adaptive_penalty")
        check_positive(self, "null_space_ridge", strict=False, allow_inf=False)
        check_int(self, "null_space_power", minimum=1)
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
        self.ridge = NullSpaceRidge(problem, options) if options.null_space_ridge > 0 else None

    def objective(self, z) -> float:
        value = objective(self.problem, self.options, z)
        return value if self.ridge is None else value + self.ridge.value(z)

    def init(self, problem, options):
        x = problem.x0.copy()
        rho = options.penalty
        z = options.prox.prox_numpy(x, options.reg / rho)
        return ADMMState(x, z, np.zeros_like(x), self.objective(z), infinity_norm(x - z),
                         rho * infinity_norm(z - x), False, 0, 0, rho, _x_solver(problem, options, rho, self.ridge))

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
                u, solve_x = u * (rho / new_rho), _x_solver(problem, options, new_rho, self.ridge)
        return ADMMState(x, z, u, self.objective(z), primal, dual, converged,
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


def _linear_solver(problem: InverseProblem, options: PnPADMMOptions) -> str:
    from .convolution import Convolution

    choice = options.linear_solver
    n = int(np.prod(problem.shape))
    if choice == "auto":
        choice = ("fft" if isinstance(problem.forward, Convolution)
                  else "cholesky" if problem.kind == "matrix" and n <= DENSE_MAX_N else "cg")
    if choice == "fft" and not isinstance(problem.forward, Convolution):
        raise OptionError("linear_solver='fft' needs a Convolution forward operator, "
                          f"this problem's is a {problem.kind}")
    if choice == "cholesky" and problem.kind != "matrix":
        raise OptionError(f"linear_solver='cholesky' needs a matrix forward operator, this problem's is a "
                          f"{problem.kind}")
    return choice


def _dense(problem: InverseProblem) -> np.ndarray:
    return problem.forward.toarray() if is_sparse(problem.forward) else problem.forward


class NullSpaceRidge:
    """N = (I - A'A / ||A||^2)^q of the option ``null_space_ridge`` (module docstring): its
    transfer function (``fft``) or its dense matrix (``cholesky``), and the value (c/2) x'Nx."""

    def __init__(self, problem: InverseProblem, options: PnPADMMOptions):
        self.weight, self.solver = options.null_space_ridge, _linear_solver(problem, options)
        power = options.null_space_power
        if self.solver == "fft":
            gain = np.abs(problem.forward.transfer) ** 2
            self.transfer = np.clip(1.0 - gain / max(float(np.max(gain)), np.finfo(float).tiny), 0.0, 1.0) ** power
        elif self.solver == "cholesky":
            dense = _dense(problem)
            eigenvalues, vectors = np.linalg.eigh(dense.T @ dense)
            shrink = np.clip(1.0 - eigenvalues / max(eigenvalues[-1], np.finfo(float).tiny), 0.0, 1.0) ** power
            self.matrix = (vectors * shrink) @ vectors.T
        else:
            raise OptionError("null_space_ridge needs linear_solver 'fft' (a Convolution) or 'cholesky' (a matrix "
                              f"with at most {DENSE_MAX_N} columns), not {self.solver!r}")

    def value(self, x) -> float:
        if self.solver == "fft":
            spectrum = np.fft.fftn(np.reshape(x, self.transfer.shape))
            return 0.5 * self.weight * float(np.sum(self.transfer * np.abs(spectrum) ** 2)) / spectrum.size
        flat = np.ravel(x)
        return 0.5 * self.weight * float(flat @ self.matrix @ flat)


def _x_solver(problem: InverseProblem, options: PnPADMMOptions, rho: float, ridge=None) -> Callable:
    """``solve(rhs, warm) -> (x, inner iterations)`` for (A'A + c N + rho I) x = rhs (c N: the
    optional ridge)."""
    choice = _linear_solver(problem, options)
    n = int(np.prod(problem.shape))
    if choice == "fft":  # the multiplier of Convolution.normal_solve, plus the ridge's; computed once
        conv = problem.forward
        inverse = 1.0 / (np.abs(conv.transfer) ** 2 + (0.0 if ridge is None else ridge.weight * ridge.transfer) + rho)
        return lambda rhs, warm: (conv.apply_multiplier(rhs, inverse), 0)
    if choice == "cholesky":
        from scipy.linalg import cho_factor, cho_solve

        dense = _dense(problem)
        matrix = dense.T @ dense + rho * np.eye(n)
        if ridge is not None:
            matrix += ridge.weight * ridge.matrix
        factor = cho_factor(matrix)
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
