r"""Preconditioned MINRES as an inner solver of ``al-sketch`` (``inner_solver="minres"``).

The KKT matrix :math:`K = [[B, G^\top], [G, 0]]` is symmetric and
indefinite; MINRES (Paige & Saunders 1975) with a symmetric positive definite
preconditioner :math:`P \approx |K|` minimizes :math:`\|K\Delta - b\|_{P^{-1}}`
over a growing Krylov space. Here it is stopped by the exact augmented
Lagrangian method's adaptive accuracy condition itself,
:math:`\|K\Delta + \nabla\mathcal L\|_2 \le \theta_t\|\nabla\mathcal L\|`
(Hong et al. 2023): the 2-norm residual is carried by the recurrence
:math:`r_k = r_{k-1} - \phi_k K w_k` (with :math:`K w_k` from the three-term
recurrence of the search directions, no extra product with :math:`K`) and
checked against :math:`K\Delta - b` before the solve stops.

Preconditioners: ``None`` is the Ruiz equilibration ``D`` of ``K``
(:math:`P^{-1} = D^2`, cheap and general, but on PDE spectra MINRES then needs
:math:`O(N)` iterations or more); a callable ``preconditioner(B, G)`` returns
an SPD operator approximating :math:`|K|^{-1}`, e.g. the block-diagonal
:math:`\mathrm{diag}(\hat B, \hat S)^{-1}` with a Schur complement
approximation :math:`\hat S \approx G B^{-1} G^\top`, for which MINRES needs a
number of iterations independent of the mesh when :math:`\hat B, \hat S` are
spectrally equivalent to :math:`B, S` (Murphy, Golub & Wathen 2000; Silvester
& Wathen 1994). :func:`mathopt.problems.pde.kkt_preconditioner` is one for the
PDE-control problem, built on the randomized approximate Cholesky factor of
:mod:`mathopt.constrained._approx_chol`. The preconditioner is built once per
pair ``(B, G)`` (kept in the solver's memory between solves, rebuilt when the
Hessian modification or the Jacobian changes).

References
----------
.. [1] C. C. Paige, M. A. Saunders, "Solution of sparse indefinite systems of
   linear equations", SIAM J. Numer. Anal. 12(4), 1975.
.. [2] M. F. Murphy, G. H. Golub, A. J. Wathen, "A note on preconditioning for
   indefinite linear systems", SIAM J. Sci. Comput. 21(6), 2000.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ..core.lazy import lazy_module
from ..core.user import user_function
from ._exact_al import KKTLinearSolver, LinearSolve

sp = lazy_module("scipy.sparse")


@dataclass(frozen=True)
class MinresResult:
    x: np.ndarray
    residual: float  # ||A x - b||_2, computed
    iterations: int
    ok: bool  # False: the preconditioner was not positive definite, or a value was not finite


def minres(A, b, apply_pinv, tol: float, maxiter: int, x0=None, deadline: float = math.inf) -> MinresResult:
    """Preconditioned MINRES for symmetric ``A``, stopped once ``||A x - b||_2 <= tol`` (absolute).

    ``apply_pinv(r)`` applies the SPD preconditioner's inverse. The Lanczos
    process and the Givens QR of its tridiagonal matrix follow Paige & Saunders
    (1975), written here from the algorithm.
    """
    x = np.zeros(b.size) if x0 is None else np.array(x0, dtype=float)
    r = b - A @ x if x0 is not None else b.copy()  # 2-norm residual b - A x, carried along
    res = float(np.linalg.norm(r))
    if res <= tol:
        return MinresResult(x, res, 0, True)
    r1 = r.copy()
    y = apply_pinv(r1)
    beta1 = float(r1 @ y)
    if not beta1 > 0.0 or not math.isfinite(beta1):
        return MinresResult(x, res, 0, False)
    beta1 = math.sqrt(beta1)
    beta, old_beta = beta1, 0.0
    dbar, eps_next, phibar = 0.0, 0.0, beta1
    cs, sn = -1.0, 0.0
    r2 = r1
    w = np.zeros(b.size)
    w_prev = np.zeros(b.size)
    aw = np.zeros(b.size)  # A w, by the same recurrence as w
    aw_prev = np.zeros(b.size)
    for it in range(1, maxiter + 1):
        v = y / beta
        av = np.asarray(A @ v).ravel()
        y = av.copy()
        if it >= 2:
            y -= (beta / old_beta) * r1
        alpha = float(v @ y)
        y -= (alpha / beta) * r2
        r1, r2 = r2, y
        y = apply_pinv(r2)
        old_beta = beta
        beta2 = float(r2 @ y)
        if beta2 < 0.0 or not math.isfinite(beta2):
            return MinresResult(x, float(np.linalg.norm(A @ x - b)), it, False)
        beta = math.sqrt(beta2)
        # apply the previous rotation, then a new one eliminating beta
        eps = eps_next
        delta = cs * dbar + sn * alpha
        gbar = sn * dbar - cs * alpha
        eps_next = sn * beta
        dbar = -cs * beta
        gamma = max(math.hypot(gbar, beta), np.finfo(float).eps)
        cs, sn = gbar / gamma, beta / gamma
        phi = cs * phibar
        phibar = sn * phibar
        w_old, w_prev = w_prev, w
        w = (v - eps * w_old - delta * w_prev) / gamma
        aw_old, aw_prev = aw_prev, aw
        aw = (av - eps * aw_old - delta * aw_prev) / gamma
        x = x + phi * w
        r = r - phi * aw
        res = float(np.linalg.norm(r))
        if not math.isfinite(res):
            return MinresResult(x, res, it, False)
        if res <= tol or beta == 0.0:
            r = b - np.asarray(A @ x).ravel()  # the recurrence drifts: check the true residual
            res = float(np.linalg.norm(r))
            if res <= tol or beta == 0.0:
                return MinresResult(x, res, it, True)
        if time.perf_counter() > deadline:
            break
    return MinresResult(x, float(np.linalg.norm(np.asarray(A @ x).ravel() - b)), it, True)


def _same(a, b) -> bool:
    if a is b:
        return True
    if sp.issparse(a) != sp.issparse(b) or a.shape != b.shape:
        return False
    if sp.issparse(a):
        a, b = sp.csr_matrix(a), sp.csr_matrix(b)
        return (np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
                and np.array_equal(a.data, b.data))
    return bool(np.array_equal(a, b))


def _as_function(op):
    """``r -> P^{-1} r`` from what a ``preconditioner(B, G)`` returned (operator, matrix or function).

    A value of another size than ``r``, or a non-finite value for a finite ``r``, raises a
    ValueError naming the preconditioner (a user error, not a stalled solve).
    """
    if hasattr(op, "matvec"):
        apply = op.matvec
    elif callable(op):
        apply = op
    elif hasattr(op, "shape") and hasattr(op, "__matmul__"):
        apply = op.__matmul__
    else:
        raise TypeError(f"preconditioner(B, G) must return a LinearOperator, a matrix or a function, "
                        f"got {type(op).__name__}")

    def checked(r):
        shape = getattr(op, "shape", None)
        if shape is not None and tuple(shape) != (r.size, r.size):
            raise ValueError(f"preconditioner(B, G) returned an operator of shape {tuple(shape)}; "
                             f"the KKT system has size {r.size}")
        out = np.asarray(apply(r), dtype=float).ravel()
        if out.size != r.size:
            raise ValueError(f"preconditioner(B, G): the operator it returned maps a vector of size {r.size} "
                             f"to one of size {out.size}")
        if not np.all(np.isfinite(out)) and np.all(np.isfinite(r)):
            raise ValueError("preconditioner(B, G): the operator it returned gave non-finite values "
                             "(NaN or inf) for a finite vector")
        return out

    return checked


class MinresKKTSolver(KKTLinearSolver):
    """Preconditioned MINRES on the KKT matrix, stopped by the adaptive accuracy condition.

    ``memory`` holds ``(B, G, apply)``, the preconditioner of the last
    ``(B, G)``; it is rebuilt only when ``B`` or ``G`` changes.
    """

    exact = False
    directions = "MINRES directions"
    stall_hint = ("the KKT systems look too ill-conditioned for MINRES with this preconditioner within "
                  "inner_max_iter, or the preconditioner is not positive definite")

    def __init__(self, options):
        self.options = options
        self.deadline = time.perf_counter() + options.max_time  # the driver starts its clock right after

    def solve(self, K, rhs, accuracy, seed, warm=None, memory=(), n=None) -> LinearSolve:
        from .al_sketch import _ruiz_scaling

        opts = self.options
        size = rhs.size
        n = size if n is None else n
        K = sp.csr_matrix(K) if sp.issparse(K) else np.asarray(K, dtype=float)
        B, G = K[:n, :n], K[n:, :n]
        cached = memory[0] if memory and isinstance(memory[0], tuple) and len(memory[0]) == 3 else None
        if cached is not None and _same(cached[0], B) and _same(cached[1], G):
            apply = cached[2]
        elif opts.preconditioner is None:  # Ruiz's diagonal (equilibrate=True), else none
            d2 = _ruiz_scaling(K) ** 2 if opts.equilibrate else np.ones(size)
            apply = d2.__mul__
        else:
            # the user's callable and the operator it returns: their exceptions propagate unchanged
            apply = user_function(_as_function(user_function(opts.preconditioner, "preconditioner")(B, G)),
                                  "preconditioner(B, G)")
        max_steps = opts.inner_max_iter if opts.inner_max_iter is not None else max(100, min(10 * size, 10**5))
        out = minres(K, rhs, apply, accuracy, max_steps, x0=warm, deadline=self.deadline)
        ok = out.ok and bool(np.all(np.isfinite(out.x)))
        return LinearSolve(out.x, out.residual, out.iterations, ok=ok, memory=((B, G, apply),))
