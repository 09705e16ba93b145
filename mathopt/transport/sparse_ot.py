"""Sparsity-constrained optimal transport (Liu, Puigcerver & Blondel, ICLR 2023).

Primal problem (paper Section 3): quadratically regularized OT with at most k
nonzeros per column of the plan,

.. math::

    \\min_{T \\in U(a, b)} \\langle C, T \\rangle + \\sum_j \\Omega(t_j), \\qquad
    \\Omega(t) = \\frac{\\gamma}{2} \\|t\\|_2^2 + \\delta(\\|t\\|_0 \\le k),

with :math:`\\gamma` = ``reg`` and k = ``max_nz`` (names as in POT). Although
the primal is nonconvex, the conjugate of :math:`\\Omega + \\delta_{\\ge 0}` is
smooth, :math:`\\Omega^*(x) = \\frac{1}{2\\gamma}\\sum_{i \\in \\text{top-}k(x)} [x_i]_+^2`
(paper Proposition 4), so the relaxed **dual** (paper eq. 8)

.. math::

    \\max_{\\alpha, \\beta} \\langle \\alpha, a \\rangle + \\langle \\beta, b \\rangle
    - \\sum_j \\Omega^*(\\alpha + \\beta_j \\mathbf{1} - c_j)

and **semi-dual** (paper eq. 9), where column j's term is the max over the
k-sparse simplex scaled by :math:`b_j` (computed with the top-k sparse simplex
projection, paper Proposition 5 / Kyrillidis et al. 2013),

.. math::

    \\max_{\\alpha} \\langle \\alpha, a \\rangle - \\sum_j
    \\max_{t \\in b_j \\Delta, \\|t\\|_0 \\le k} \\langle \\alpha - c_j, t\\rangle - \\frac{\\gamma}{2}\\|t\\|^2

are unconstrained, concave and smooth; they are solved with L-BFGS as in the
paper's experiments (jaxopt's L-BFGS, compiled with JAX). The plan is
recovered from the duals (paper eq. 10): :math:`t_j = \\nabla\\Omega^*(\\alpha +
\\beta_j - c_j)`, i.e. the positive part of the top-k entries divided by
:math:`\\gamma` (dual), or the sparse simplex projection (semi-dual). Every
column has at most k nonzeros by construction; the marginals hold up to the
dual's stationarity (``residuals["marginal"]``).

Trade-off (paper Section 4): k = 1 approaches unregularized OT (sparsest,
least smooth, slowest to solve); k = n recovers quadratically regularized OT
(POT ``reg_type="l2"``); the smoothness of the dual grows with k, so larger k
converges faster but gives denser plans.

Differentiability: :func:`sparse_ot_plan` is a JAX function of the cost
(implicit differentiation of the L-BFGS solution by jaxopt, then the explicit
plan formula), usable as a matching layer under ``jax.grad``.

References
----------
.. [1] T. Liu, J. Puigcerver, M. Blondel, "Sparsity-Constrained Optimal
   Transport", ICLR 2023.
.. [2] A. Kyrillidis, S. Becker, V. Cevher, C. Koch, "Sparse projections onto
   the simplex", ICML 2013.

Example
-------
>>> import mathopt
>>> p = mathopt.TransportProblem([0.5, 0.5], [0.5, 0.5], cost=[[0.0, 1.0], [1.0, 0.0]])
>>> r = mathopt.solve(p, method="sparse-ot", max_nz=1, reg=0.1)
>>> int(r.plan.nnz)
2
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..core.driver import IterationInfo, Progress, make_result
from ..core.options import CommonOptions, OptionError, check_choice, check_int, check_positive
from ..core.registry import register
from ..core.status import Status
from .problem import TransportProblem, TransportResult


@dataclass(frozen=True)
class SparseOTOptions(CommonOptions):
    """Sparsity-constrained OT (Liu et al. 2023) by L-BFGS on the dual or semi-dual.

    Parameters
    ----------
    max_iter : int, default 500
        L-BFGS iterations (POT's ``numItermax`` default).
    max_nz : int, default 2
        k, the maximum number of nonzeros per column of the plan (POT's
        ``max_nz``); at least 1, values above n are clipped to n.
    reg : float, default 0.1
        gamma, the weight of the squared L2 regularizer (POT's ``reg``).
    formulation : {"dual", "semi-dual"}, default "dual"
        Paper eq. 8 (variables alpha, beta) or eq. 9 (alpha only).
    stationarity_tol : float, default 1e-5
        Converged when the L2 norm of the dual gradient (the marginal
        violation of the recovered plan) is at most this. A stop by L-BFGS-B's
        own ``ftol`` test above it is ``CONVERGED_INACCURATE``. SciPy's
        L-BFGS-B (numba backend) typically stalls near 1e-6 on this piecewise
        quadratic dual, where the dual objective is already exact to ~1e-12
        relative; the jax backend reaches 1e-9.
    history_size : int, default 10
        Number of L-BFGS memory pairs (scipy's L-BFGS-B used by POT keeps 10).
    ftol : float, default 1e-14
        Numba backend: L-BFGS-B's relative decrease test (POT passes its
        ``stopThr``, 1e-9, here, which stops while the gradient is ~1e-4; the
        smaller default reaches ``stationarity_tol`` on typical instances).
    backend : {"numba", "jax"}, default "numba"
        "numba": SciPy's L-BFGS-B (as POT) on a compiled Numba oracle (value,
        gradient and plan in one pass with an O(nk) top-k per column), fast on
        CPU. "jax": jaxopt's L-BFGS with the whole loop in one compiled
        ``lax.while_loop`` (runs unchanged on GPU; slower on CPU, where XLA's
        top-k is costly).
    """

    max_iter: int = 500
    max_nz: int = 2
    reg: float = 0.1
    formulation: str = "dual"
    stationarity_tol: float = 1e-5
    history_size: int = 10
    ftol: float = 1e-14
    backend: str = "numba"

    def __post_init__(self):
        super().__post_init__()
        check_int(self, "max_nz", minimum=1)
        check_positive(self, "reg", allow_inf=False)
        check_choice(self, "formulation", ("dual", "semi-dual"))
        check_positive(self, "stationarity_tol")
        check_int(self, "history_size", minimum=1)
        check_choice(self, "backend", ("numba", "jax"))
        check_positive(self, "ftol")
        if self.max_iter < 1 and self.max_iter != 0:
            raise OptionError("max_iter must be >= 0")


def _plan(kernels, formulation, params, cost, b, reg, k):
    if formulation == "dual":
        return kernels.dual_plan(params[0], params[1], cost, reg, k)
    return kernels.semi_dual_plan(params, cost, b, reg, k)


@register("sparse-ot", problem=TransportProblem, options=SparseOTOptions, backends=("jax",),
          requires=("jax", "jaxopt"))
def sparse_ot(problem: TransportProblem, options: SparseOTOptions) -> TransportResult:
    """Sparsity-constrained OT (Liu et al. 2023): L-BFGS on the (semi-)dual, plan from the duals."""
    import jax.numpy as jnp
    import scipy.sparse

    from ..core.jax_utils import enable_x64
    from . import _sparse_kernels as kernels

    if problem.cost is None:
        raise ValueError("sparse-ot handles linear OT only (give cost=...)")
    if options.backend == "numba":
        return _solve_numba(problem, options)
    n, m = problem.shape
    k = min(options.max_nz, n)
    key = (options.formulation, k, max(options.max_iter, 1), float(options.stationarity_tol),
           options.history_size)
    start = time.perf_counter()
    with enable_x64():
        cost, a, b = (jnp.asarray(v) for v in (problem.cost, problem.a, problem.b))
        reg = jnp.asarray(float(options.reg))
        init = (jnp.zeros(n), jnp.zeros(m)) if options.formulation == "dual" else jnp.zeros(n)
        objective = kernels.neg_dual if options.formulation == "dual" else kernels.neg_semi_dual

        def info(params, nit, error):
            plan = np.asarray(_plan(kernels, options.formulation, params, cost, b, reg, k))
            value = -float(objective(params, cost, a, b, reg, k))
            return IterationInfo(nit=nit, x=plan.ravel(), fun=problem.value(plan),
                                 residuals={"marginal": problem.marginal_error(plan), "stationarity": error},
                                 elapsed=time.perf_counter() - start, extra={"dual_objective": value})

        history = None
        if options.callback is None and not options.history and not options.progress_every \
                and np.isinf(options.max_time) and options.max_iter > 0:
            params, nit, error, _ = kernels.compiled_run(*key)(init, cost, a, b, reg)
            last = info(params, int(nit), float(error))
            status = Status.CONVERGED if float(error) <= options.stationarity_tol else Status.MAX_ITER
        else:
            params, status, last, history = _python_loop(kernels, key, init, cost, a, b, reg, info, options)
    if not last.is_finite():
        status = Status.NONFINITE
    plan = last.x.reshape(problem.shape)
    f, g = (np.asarray(params[0]), np.asarray(params[1])) if options.formulation == "dual" else (
        np.asarray(params), None)
    return make_result(last, status, history, result_cls=TransportResult, plan=scipy.sparse.csc_array(plan),
                       f=f, g=g, regularized_objective=last.fun + 0.5 * options.reg * float(np.sum(plan ** 2)),
                       dual_objective=last.extra["dual_objective"], counters={"nfev": last.nit, "ngev": last.nit})


def _solve_numba(problem: TransportProblem, options: SparseOTOptions) -> TransportResult:
    """SciPy L-BFGS-B on the Numba oracle of the dual / semi-dual (the optimizer POT uses)."""
    import scipy.optimize
    import scipy.sparse

    from ..core.driver import HistoryRecorder
    from ._numba_kernels import sparse_dual_oracle, sparse_semi_dual_oracle

    n, m = problem.shape
    k = min(options.max_nz, n)
    cost = np.ascontiguousarray(problem.cost)
    a, b, reg = problem.a, problem.b, float(options.reg)
    plan = np.zeros((n, m))
    dual = options.formulation == "dual"
    counters = {"nfev": 0}
    last_call = {"params": None, "value": None, "grad": None}  # ``plan`` holds that call's plan

    def oracle(params):
        counters["nfev"] += 1
        if dual:
            value, grad_alpha, grad_beta = sparse_dual_oracle(params[:n], params[n:], cost, a, b, reg, k, plan)
            grad = np.concatenate([grad_alpha, grad_beta])
        else:
            value, grad = sparse_semi_dual_oracle(params, cost, a, b, reg, k, plan)
        last_call.update(params=params.copy(), value=value, grad=grad)
        return value, grad

    def evaluated(params):
        """The oracle at ``params``, reusing L-BFGS-B's last evaluation when it was there (the accepted
        point of a line search usually is), so per-iteration checks do not double the cost."""
        if last_call["params"] is not None and np.array_equal(last_call["params"], params):
            return last_call["value"], last_call["grad"]
        return oracle(params)

    start = time.perf_counter()
    recorder = HistoryRecorder() if options.history else None
    progress = Progress("sparse-ot", options.progress_every)
    state = {"status": None, "nit": 0}

    def info(params, nit):
        value, grad = evaluated(params)
        return IterationInfo(nit=nit, x=plan.ravel().copy(), fun=problem.value(plan),
                             residuals={"marginal": problem.marginal_error(plan),
                                        "stationarity": float(np.linalg.norm(grad))},
                             elapsed=time.perf_counter() - start, extra={"dual_objective": -value})

    def callback(intermediate_result):
        state["nit"] += 1
        if options.callback is None and recorder is None and not options.progress_every \
                and np.isinf(options.max_time):
            return  # nothing to check per iteration: keep the loop inside scipy
        current = info(intermediate_result.x, state["nit"])
        progress.update(current)
        if recorder is not None:
            recorder.append(current)
        if not current.is_finite():
            state["status"] = Status.NONFINITE
        elif options.callback is not None and options.callback(current):
            state["status"] = Status.CALLBACK
        elif current.elapsed >= options.max_time:
            state["status"] = Status.MAX_TIME
        if state["status"] is not None:
            raise StopIteration

    x0 = np.zeros(n + m if dual else n)
    params = x0
    if options.max_iter > 0:
        solution = scipy.optimize.minimize(
            oracle, x0, jac=True, method="L-BFGS-B", callback=callback,
            options=dict(maxiter=options.max_iter, maxcor=options.history_size, gtol=options.stationarity_tol,
                         ftol=options.ftol))
        params = solution.x
    last = info(params, state["nit"])
    progress.update(last, force=True)
    status = state["status"]
    if status is None:
        if last.residuals["stationarity"] <= options.stationarity_tol:
            status = Status.CONVERGED
        elif options.max_iter > 0 and solution.success:
            status = Status.CONVERGED_INACCURATE
        else:
            status = Status.MAX_ITER
    dense = last.x.reshape(problem.shape)
    return make_result(last, status, recorder.arrays() if recorder is not None else None,
                       result_cls=TransportResult, plan=scipy.sparse.csc_array(dense),
                       f=params[:n].copy(), g=params[n:].copy() if dual else None,
                       regularized_objective=last.fun + 0.5 * reg * float(np.sum(dense ** 2)),
                       dual_objective=last.extra["dual_objective"],
                       counters={"nfev": counters["nfev"], "ngev": counters["nfev"]})


def _python_loop(kernels, key, params, cost, a, b, reg, info, options):
    """L-BFGS driven from Python over a compiled update (callback, history, time limit, progress)."""
    from ..core.driver import HistoryRecorder

    init_state, update = kernels.compiled_step(*key)
    state = init_state(params, cost, a, b, reg)
    recorder = HistoryRecorder() if options.history else None
    progress = Progress("sparse-ot", options.progress_every)
    current = info(params, 0, float("inf"))
    status = Status.MAX_ITER
    for nit in range(1, options.max_iter + 1):
        params, state = update(params, state, cost, a, b, reg)
        current = info(params, nit, float(state.error))
        progress.update(current)
        if recorder is not None:
            recorder.append(current)
        if not current.is_finite():
            status = Status.NONFINITE
            break
        if float(state.error) <= options.stationarity_tol:
            status = Status.CONVERGED
            break
        if options.callback is not None and options.callback(current):
            status = Status.CALLBACK
            break
        if current.elapsed >= options.max_time:
            status = Status.MAX_TIME
            break
    progress.update(current, force=True)
    return params, status, current, recorder.arrays() if recorder is not None else None


def sparse_ot_plan(cost, a, b, reg: float, max_nz: int, *, max_iter: int = 500, tol: float = 1e-9):
    """The sparse-ot plan as a differentiable JAX function of ``cost`` (a matching layer).

    Solves the dual (paper eq. 8) of Liu et al. (2023) with jaxopt's L-BFGS
    and returns the plan recovered from the duals (paper eq. 10). Under
    ``jax.grad`` the derivative of the duals with respect to ``cost`` comes
    from implicit differentiation of the stationarity condition (jaxopt), the
    rest from the explicit plan formula; it is exact where the top-k supports
    do not change (the plan is piecewise smooth in the cost). Only the dual
    is used here: the semi-dual's objective holds its sparse-simplex maximizer
    constant (Danskin), so it has no second derivatives for implicit
    differentiation. Call it inside
    ``jax.enable_x64`` / :func:`mathopt.core.jax_utils.enable_x64` for float64.

    Example
    -------
    >>> import jax, jax.numpy as jnp
    >>> from mathopt.core.jax_utils import enable_x64
    >>> from mathopt.transport import sparse_ot_plan
    >>> with enable_x64():
    ...     a = b = jnp.full(3, 1 / 3)
    ...     cost = jnp.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]])
    ...     grad = jax.grad(lambda c: jnp.sum(sparse_ot_plan(c, a, b, 0.5, 2) * c))(cost)
    >>> grad.shape
    (3, 3)
    """
    import jax.numpy as jnp

    from . import _sparse_kernels as kernels

    n, m = cost.shape
    k = min(int(max_nz), n)
    if k < 1:
        raise ValueError(f"max_nz must be >= 1, got {max_nz!r}")
    solver = kernels.lbfgs("dual", k, max_iter, float(tol), 10, True)
    alpha, beta = solver.run((jnp.zeros(n, cost.dtype), jnp.zeros(m, cost.dtype)), cost, a, b, reg).params
    return kernels.dual_plan(alpha, beta, cost, reg, k)
