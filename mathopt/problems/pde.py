r"""A PDE-constrained test problem with sparse derivatives (scales to n >= 1e5).

The elliptic optimal control problem of the PDE experiment of Hong, Na,
Mahoney & Kolar (2023), as set up in the authors' AdaSketch-Newton code
(``PDE/*/Eval.jl``): on an ``N x N`` interior grid with spacing
``h = 2 / (N + 1)`` and zero Dirichlet boundary values, state ``w`` and
control ``z`` (both ``N^2`` values, ``x = (w, z)``, ``n = 2 N^2``, ``m = N^2``):

.. math::

    \min_{w,z}\ \tfrac12\|w - w_d\|^2 + \tfrac{\alpha}{2}\|z\|^2
    \quad\text{s.t.}\quad \Delta_h w + z - \kappa\, w^3 = 0 ,

with :math:`\Delta_h` the 5-point Laplacian, :math:`\alpha = 0.1` and the
target :math:`w_d[i,j] = \sin(4 + \tfrac{0.1}{\sqrt{15}}(i - \tfrac{N+1}{2}))
+ \cos(3 + \tfrac{0.1}{\sqrt{15}}(j - \tfrac{N+1}{2}))` (``i, j = 1..N``).
``kappa = 0`` (the default) is the paper's linear-quadratic problem, whose
KKT system is linear so its exact solution is one sparse solve
(:func:`exact_solution`); ``kappa > 0`` adds a semilinear reaction term
(a nonlinear, x-dependent Jacobian; this implementation's addition).

Derivatives are user-supplied ``scipy.sparse`` matrices: the Jacobian
``[Delta_h - 3 kappa diag(w^2), I]`` (CSR, about ``6 m`` nonzeros) and the
diagonal Lagrangian Hessian ``diag(1 - 6 kappa lambda w, alpha)``, so no
solver that keeps them sparse ever needs ``O(n^2)`` memory.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..core.nlp import NLP
from ..core.problem import ProblemError

__all__ = ["poisson_control", "laplacian_2d", "laplacian_3d", "exact_solution", "kkt_preconditioner"]


def laplacian_2d(N: int) -> sp.csr_matrix:
    """The 5-point Laplacian on an ``N x N`` interior grid, spacing ``h = 2/(N+1)``, zero boundary."""
    h = 2.0 / (N + 1)
    second = sp.diags([np.ones(N - 1), -2.0 * np.ones(N), np.ones(N - 1)], [-1, 0, 1])
    eye = sp.identity(N)
    lap = ((sp.kron(eye, second) + sp.kron(second, eye)) / h ** 2).tocsr()
    lap.eliminate_zeros()  # kron of DIA matrices stores the padding zeros
    return lap


def laplacian_3d(N: int) -> sp.csr_matrix:
    """The 7-point Laplacian on an ``N x N x N`` interior grid, spacing ``h = 2/(N+1)``, zero boundary."""
    h = 2.0 / (N + 1)
    second = sp.diags([np.ones(N - 1), -2.0 * np.ones(N), np.ones(N - 1)], [-1, 0, 1])
    eye = sp.identity(N)
    lap = (sp.kron(sp.kron(eye, eye), second) + sp.kron(sp.kron(eye, second), eye)
           + sp.kron(sp.kron(second, eye), eye)) / h ** 2
    lap = lap.tocsr()
    lap.eliminate_zeros()
    return lap


def _linear_jacobian(N: int, dim: int = 2) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """``(Delta_h, [Delta_h, I])``: the Laplacian and the Jacobian of the linear constraint."""
    lap = laplacian_2d(N) if dim == 2 else laplacian_3d(N)
    return lap, sp.hstack([lap, sp.identity(N ** dim, format="csr")], format="csr")


def _hessian(state_diagonal: np.ndarray, alpha: float) -> sp.csr_matrix:
    """The diagonal Lagrangian Hessian ``diag(state_diagonal, alpha)``."""
    return sp.diags(np.concatenate([state_diagonal, np.full(state_diagonal.size, alpha)]), format="csr")


def _target(N: int, dim: int = 2) -> np.ndarray:
    idx = np.arange(1, N + 1) - (N + 1) / 2.0
    step = 0.1 / np.sqrt(15.0)
    if dim == 3:  # ours: the 2-D target plus a third term along the new axis
        return (np.sin(4.0 + step * idx)[:, None, None] + np.cos(3.0 + step * idx)[None, :, None]
                + np.sin(2.0 + step * idx)[None, None, :]).ravel()
    return (np.sin(4.0 + step * idx)[:, None] + np.cos(3.0 + step * idx)[None, :]).ravel()


def poisson_control(N: int = 32, alpha: float = 0.1, kappa: float = 0.0, x0=None, dim: int = 2) -> NLP:
    """The elliptic control problem above as an :class:`~mathopt.NLP` with sparse derivatives.

    Parameters
    ----------
    N : int, default 32
        Interior grid points per side (``n = 2 N^2`` variables, ``m = N^2`` constraints).
    alpha : float, default 0.1
        Control cost (the paper's value).
    kappa : float, default 0.0
        Coefficient of the cubic reaction term; 0 gives the paper's linear constraints.
    x0 : array_like, optional
        Starting point; default all ones (as in the authors' code).
    dim : {2, 3}, default 2
        2: the paper's problem. 3 (ours): the same problem on an ``N x N x N``
        grid with the 7-point Laplacian (``n = 2 N^3``, ``m = N^3``) and the
        target ``w_d[i,j,k] = sin(4 + s (i - c)) + cos(3 + s (j - c)) + sin(2 + s (k - c))``
        (``s = 0.1/sqrt(15)``, ``c = (N+1)/2``), whose sparse LU factors fill in
        like ``m^{4/3}`` or worse (3-D grids have no small separators).
    """
    if int(N) != N or N < 2:
        raise ProblemError("N", f"must be an integer >= 2, got {N!r}")
    if not alpha > 0:
        raise ProblemError("alpha", f"must be positive, got {alpha!r}")
    if not kappa >= 0:
        raise ProblemError("kappa", f"must be nonnegative, got {kappa!r}")
    if dim not in (2, 3):
        raise ProblemError("dim", f"must be 2 or 3, got {dim!r}")
    N, m = int(N), int(N) ** dim
    lap, linear_jac = _linear_jacobian(N, dim)
    target = _target(N, dim)
    eye = sp.identity(m, format="csr")

    def objective(x):
        w, z = x[:m], x[m:]
        return 0.5 * float((w - target) @ (w - target)) + 0.5 * alpha * float(z @ z)

    def gradient(x):
        return np.concatenate([x[:m] - target, alpha * x[m:]])

    def eq(x):
        w = x[:m]
        return lap @ w + x[m:] - kappa * w ** 3

    def eq_jacobian(x):
        if kappa == 0.0:
            return linear_jac
        return sp.hstack([lap - sp.diags(3.0 * kappa * x[:m] ** 2), eye], format="csr")

    def lagrangian_hessian(x, y_eq, y_ineq):
        state = 1.0 - 6.0 * kappa * y_eq * x[:m] if kappa else np.ones(m)
        return _hessian(state, alpha)

    x0 = np.ones(2 * m) if x0 is None else x0
    return NLP(objective, x0, gradient=gradient, eq=eq, eq_jacobian=eq_jacobian,
               lagrangian_hessian=lagrangian_hessian, name=f"poisson-control-N{N}" + ("-3d" if dim == 3 else "") + (f"-k{kappa:g}" if kappa else ""))


def exact_solution(N: int, alpha: float = 0.1, dim: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """``(x*, lambda*)`` of the linear problem (``kappa = 0``) by one sparse LU solve of its KKT system."""
    from scipy.sparse.linalg import spsolve

    m = N ** dim
    _, jac = _linear_jacobian(N, dim)
    hess = _hessian(np.ones(m), alpha)
    kkt = sp.bmat([[hess, jac.T], [jac, None]], format="csc")
    rhs = np.concatenate([_target(N, dim), np.zeros(m), np.zeros(m)])
    sol = spsolve(kkt, rhs)
    return sol[:2 * m], sol[2 * m:]


def kkt_preconditioner(seed: int = 0, split: int = 2, inner_tol: float | None = 1e-4):
    r"""A ``preconditioner(B, G)`` for ``al-sketch`` with ``inner_solver="minres"`` on :func:`poisson_control`.

    With ``G = [L, I]`` (``L = Delta_h - 3 kappa diag(w^2)``, state block first)
    and ``B = diag(B_w, B_z)``, the KKT matrix ``[[B, G^T], [G, 0]]`` is
    preconditioned by the block-diagonal (symmetric positive definite)

    .. math::

        P = \mathrm{diag}(|B_w|, |B_z|, \hat S), \qquad
        \hat S = \tfrac{1}{\beta}(\tilde L + \gamma I)(\tilde L + \gamma I), \quad
        \tilde L = -L, \ \gamma = \sqrt{\beta / a},

    with :math:`\beta, a` the means of ``|B_w|`` and ``|B_z|`` (1 and
    :math:`\alpha` for the linear problem). For :math:`B = \mathrm{diag}(I,
    \alpha I)` the Schur complement is :math:`S = G B^{-1} G^\top = \tilde L^2 +
    I/\alpha`, and :math:`\hat S = S + 2\alpha^{-1/2}\tilde L` (Pearson & Wathen
    2012) has the eigenvalues of :math:`\hat S^{-1} S` in :math:`[1/2, 1]`
    (because :math:`0 \preceq 2\alpha^{-1/2}\tilde L \preceq \tilde L^2 + I/\alpha`),
    for every mesh size: MINRES then needs a mesh-independent number of
    iterations (Murphy, Golub & Wathen 2000). :math:`\tilde L + \gamma I` is SDDM;
    :math:`(\tilde L + \gamma I)^{-1}` is replaced by one application of its
    randomized approximate Cholesky factor
    (:func:`mathopt.constrained._approx_chol.approx_cholesky`, ``seed``, ``split``),
    so :math:`\hat S^{-1} \approx \beta F^{-1} F^{-1}` costs four sparse
    triangular solves and stays a fixed SPD operator (a PCG solve inside would make
    the preconditioner change from one MINRES iteration to the next).

    The factor is rebuilt for each new ``(B, G)`` (every outer iteration of the
    nonlinear ``kappa > 0`` problem; once per run for the linear one). Raises
    ``ValueError`` when ``G`` is not of the form ``[L, I]`` with ``-L`` SDDM.

    Parameters
    ----------
    seed : int, default 0
        Seed of the randomized approximate Cholesky factorization.
    split : int, default 2
        Copies each edge is split into by the factorization (more: a better, denser factor).
    inner_tol : float or None, default 1e-4
        None: apply the factor once, as above (a fixed SPD operator). A number: solve
        with :math:`\tilde L + \gamma I` by PCG preconditioned with the factor, to this relative
        tolerance (at most 500 iterations), instead of one application: a closer :math:`\hat S`
        at the cost of an operator that is SPD only up to that tolerance.

    Raises ``ProblemError`` naming ``seed``, ``split`` or ``inner_tol`` for a bad value.

    References: J. W. Pearson, A. J. Wathen, "A new approximation of the Schur
    complement in preconditioners for PDE-constrained optimization", Numer.
    Linear Algebra Appl. 19(5), 2012.
    """
    from scipy.sparse.linalg import LinearOperator

    from ..constrained._approx_chol import approx_cholesky, pcg

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ProblemError("seed", f"must be a nonnegative integer, got {seed!r}")
    if isinstance(split, bool) or not isinstance(split, (int, np.integer)) or split < 1:
        raise ProblemError("split", f"must be an integer >= 1, got {split!r}")
    if inner_tol is not None and (isinstance(inner_tol, (bool, str)) or not 0 < inner_tol < np.inf):
        raise ProblemError("inner_tol", f"must be None or a positive number, got {inner_tol!r}")

    def build(B, G):
        G = sp.csr_matrix(G)
        m = G.shape[0]
        if G.shape[1] != 2 * m:
            raise ValueError(f"G must have shape (m, 2 m) = [L, I], got {G.shape}")
        if abs(G[:, m:] - sp.identity(m)).sum() > 0:
            raise ValueError("G must be [L, I]: its control block is not the identity")
        diag_b = np.abs(B.diagonal() if sp.issparse(B) else np.diag(np.asarray(B)))
        diag_b = np.where(diag_b > 0, diag_b, 1.0)
        beta, a = float(np.mean(diag_b[:m])), float(np.mean(diag_b[m:]))
        gamma = np.sqrt(beta / a)
        shifted = (-G[:, :m] + gamma * sp.identity(m)).tocsr()
        factor = approx_cholesky(shifted, seed=seed, split=split)
        inv_b = 1.0 / diag_b
        n = 2 * m

        def solve(r):
            if inner_tol is None:
                return factor.solve(r)
            return pcg(shifted, r, factor, tol=inner_tol, maxiter=500).x

        def apply(r):
            r = np.ravel(r)
            out = np.empty_like(r, dtype=float)
            out[:n] = inv_b * r[:n]
            out[n:] = beta * solve(solve(r[n:]))
            return out

        return LinearOperator((3 * m, 3 * m), matvec=apply, dtype=float)

    return build
