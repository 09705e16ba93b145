"""The Numba loop of ``admm-qp`` / ``halpern-admm`` (see :mod:`mathopt.feasibility.admm`).

The KKT matrix :math:`K` is factored in Python (:func:`admm_operator.factor_kkt`: QDLDL's LDL', or SuperLU),
both given in SuperLU's form:
:math:`P_r K P_c = L U` with scipy's convention (``lu.perm_r``, ``lu.perm_c``), so
:math:`K s = b` is :math:`L U w = P_r b`, :math:`s = P_c w`, i.e. ``w`` solves the two triangular
systems with right-hand side ``c[perm_r[i]] = b[i]`` and ``s[i] = w[perm_c[i]]``. The two
triangular solves (column-oriented, on the CSC factors) run here, inside the iteration loop.
"""
import math
from typing import NamedTuple

import numpy as np
from numba import njit

from ._anchor_kernel import next_iterate


class TriangularFactors(NamedTuple):
    """The triangular factors of the KKT matrix (SuperLU's form) as plain arrays for the kernel: the
    strictly lower part of L and strictly upper part of U (CSC), their diagonals, the permutations."""

    l_ptr: np.ndarray
    l_idx: np.ndarray
    l_val: np.ndarray
    l_diag: np.ndarray
    u_ptr: np.ndarray
    u_idx: np.ndarray
    u_val: np.ndarray
    u_diag: np.ndarray
    perm_r: np.ndarray
    perm_c: np.ndarray


def triangular_factors(lu) -> TriangularFactors:
    """The CSC factors L, U of a ``scipy.sparse.linalg.splu`` object or an :class:`admm_operator.LDLFactor`
    (same attribute names) without their diagonals (the strictly lower part of L, strictly upper of U,
    entries in their stored order), the diagonals apart, and the permutations: :func:`lu_solve` then
    needs no test of the row index per entry, with the same operations in the same order."""
    L, U = lu.L.tocsc(), lu.U.tocsc()
    return TriangularFactors(*_strict_part(L, lower=True), L.diagonal(), *_strict_part(U, lower=False), U.diagonal(),
                             lu.perm_r.astype(np.int64), lu.perm_c.astype(np.int64))


def _strict_part(matrix, lower: bool):
    """(indptr, indices, data) of the entries of the CSC ``matrix`` strictly below (``lower``) or above its
    diagonal, in their stored order."""
    columns = np.repeat(np.arange(matrix.shape[1], dtype=np.int64), np.diff(matrix.indptr))
    rows = matrix.indices.astype(np.int64)
    keep = rows > columns if lower else rows < columns
    indptr = np.zeros(matrix.shape[1] + 1, dtype=np.int64)
    np.cumsum(np.bincount(columns[keep], minlength=matrix.shape[1]), out=indptr[1:])
    return indptr, rows[keep], matrix.data[keep]


@njit(cache=True)
def lu_solve(l_ptr, l_idx, l_val, l_diag, u_ptr, u_idx, u_val, u_diag, perm_r, perm_c, b, work, out):
    """``out = K^{-1} b`` from the factors of :func:`triangular_factors` (strict parts and diagonals;
    ``work``: scratch of the same length). A unit diagonal entry of L is not divided by (x / 1 = x
    exactly: QDLDL's L is unit, and the division was a step in the serial chain of the solve)."""
    size = b.shape[0]
    for i in range(size):
        work[perm_r[i]] = b[i]
    for j in range(size):  # L w = c, column by column
        wj = work[j]
        if l_diag[j] != 1.0:
            wj = wj / l_diag[j]
            work[j] = wj
        if wj != 0.0:
            for p in range(l_ptr[j], l_ptr[j + 1]):
                work[l_idx[p]] -= l_val[p] * wj
    for j in range(size - 1, -1, -1):  # U w = w
        wj = work[j] / u_diag[j]
        work[j] = wj
        if wj != 0.0:
            for p in range(u_ptr[j], u_ptr[j + 1]):
                work[u_idx[p]] -= u_val[p] * wj
    for i in range(size):
        out[i] = work[perm_c[i]]


@njit(cache=True)
def operator_image(l_ptr, l_idx, l_val, l_diag, u_ptr, u_idx, u_val, u_diag, perm_r, perm_c,
                   q, lower, upper, rho, sigma, alpha, x, v, image_x, image_v, image_z, image_y, diff_x, diff_v,
                   diff_y, rhs, solution, work, z, y, new_x, new_v):
    """One application of the OSQP operator T at (x, v), with the arithmetic of
    :func:`admm_operator.apply_operator`: writes T(x, v) (and its z, y) to image_* and
    T(x, v) - (x, v), y+ - y to diff_*; ``rhs`` ... ``new_v`` are scratch. Returns the squared
    residual sigma ||dx||^2 + ||dv||_rho^2, or -1.0 (nothing written) when T(x, v) is not finite."""
    n, m = x.shape[0], v.shape[0]
    for j in range(n):
        rhs[j] = sigma * x[j] - q[j]
    for i in range(m):
        z[i] = min(max(v[i], lower[i]), upper[i])
        y[i] = rho[i] * (v[i] - z[i])
        new_v[i] = y[i] / rho[i]  # kept for the update of v below (new_v is scratch until then)
        rhs[n + i] = z[i] - new_v[i]
    lu_solve(l_ptr, l_idx, l_val, l_diag, u_ptr, u_idx, u_val, u_diag, perm_r, perm_c, rhs, work, solution)
    finite = True
    for j in range(n):
        new_x[j] = alpha * solution[j] + (1.0 - alpha) * x[j]
        finite = finite and math.isfinite(new_x[j])
    for i in range(m):
        y_over_rho = new_v[i]
        z_tilde = z[i] + (solution[n + i] - y[i]) / rho[i]
        new_v[i] = alpha * z_tilde + (1.0 - alpha) * z[i] + y_over_rho
        finite = finite and math.isfinite(new_v[i])
    if not finite:
        return -1.0
    residual = 0.0
    for j in range(n):  # the image, its difference and the residual in one pass
        image_x[j] = new_x[j]
        diff_x[j] = new_x[j] - x[j]
        residual += diff_x[j] * diff_x[j]
    residual *= sigma
    for i in range(m):
        image_v[i] = new_v[i]
        image_z[i] = min(max(new_v[i], lower[i]), upper[i])
        image_y[i] = rho[i] * (new_v[i] - image_z[i])
        diff_v[i] = new_v[i] - v[i]
        diff_y[i] = image_y[i] - y[i]
        residual += diff_v[i] * (rho[i] * diff_v[i])
    return residual


@njit(cache=True)
def admm_iterations(l_ptr, l_idx, l_val, l_diag, u_ptr, u_idx, u_val, u_diag, perm_r, perm_c,
                    q, lower, upper, rho, sigma, alpha,
                    x, v, anchor_x, anchor_v, image_x, image_v, image_z, image_y, diff_x, diff_v, diff_y,
                    since, anchor_residual, iteration, steps, halpern, restart_decay, restart_fraction):
    """Up to ``steps`` iterations of the OSQP operator T (plain or Halpern-anchored), in place on
    x, v (and the anchor), each one :func:`operator_image`.

    Writes the last image T(x, v) (and its z, y) to image_* and T(x, v) - (x, v), y+ - y to diff_*;
    stops before committing a non-finite image. Returns (iterations done, iterations since the
    anchor, the residual at the anchor, restarts).
    """
    n, m = x.shape[0], v.shape[0]
    rhs, solution, work = np.empty(n + m), np.empty(n + m), np.empty(n + m)
    z, y, new_x, new_v = np.empty(m), np.empty(m), np.empty(n), np.empty(m)
    done, restarts = 0, 0
    for _ in range(steps):
        residual = operator_image(l_ptr, l_idx, l_val, l_diag, u_ptr, u_idx, u_val, u_diag, perm_r, perm_c,
                                  q, lower, upper, rho, sigma, alpha, x, v, image_x, image_v, image_z, image_y,
                                  diff_x, diff_v, diff_y, rhs, solution, work, z, y, new_x, new_v)
        if residual < 0.0:  # nothing of this iteration is written
            break
        if halpern:
            residual = math.sqrt(residual)
        since, anchor_residual, restarted = next_iterate(
            halpern, x, v, anchor_x, anchor_v, image_x, image_v, residual, since, anchor_residual,
            iteration + done, restart_decay, restart_fraction)
        done, restarts = done + 1, restarts + restarted
    return done, since, anchor_residual, restarts
