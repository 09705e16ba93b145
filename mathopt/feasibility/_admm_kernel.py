"""The Numba loop of ``admm-qp`` / ``halpern-admm`` (see :mod:`mathopt.feasibility.admm`).

The KKT matrix :math:`K` is factored in Python (:func:`admm_operator.factor_kkt`: QDLDL's LDL', or SuperLU),
and both are given here in one form (:func:`triangular_factors`):

.. math::

   P_r K P_c = (I + L)\\, D\\, (I + N), \\qquad L \\text{ strictly lower}, \\quad N \\text{ strictly upper},
   \\quad D \\text{ diagonal},

with scipy's permutation convention (``perm_r``, ``perm_c``): :math:`K s = b` is solved by
``c[perm_r[i]] = b[i]``, the forward solve :math:`(I + L) w = c` (column scatter on :math:`L`'s CSC
arrays), :math:`w \\leftarrow D^{-1} w` (a multiplication by the precomputed inverse), the backward solve
:math:`(I + N) w = w` (row gather on :math:`N`'s CSR arrays: :math:`w_i \\mathrel{-}= \\sum_j N_{ij} w_j`),
and ``s[i] = w[perm_c[i]]``: the order of QDLDL's own solve (Davis et al., "QDLDL", the solver of
OSQP), for which :math:`N = L^T` (:math:`L`'s CSC arrays are :math:`N`'s CSR arrays, shared). For
SuperLU's :math:`L U` (unit :math:`L`), :math:`D` is :math:`U`'s diagonal and :math:`N = D^{-1} U - I`
(each row of :math:`U` divided by its diagonal entry once, at the factorization), so the solve rounds
differently from a column-oriented solve on :math:`U` (relative differences of order the unit
roundoff times the condition number; tests/feasibility/test_factor.py checks 1e-10 against a dense
solve). The triangular solves run here, inside the iteration loop.
"""
import math
from typing import NamedTuple

import numpy as np
from numba import njit

from ._anchor_kernel import next_iterate


class TriangularFactors(NamedTuple):
    """The factors :math:`P_r K P_c = (I + L) D (I + N)` as plain arrays for the kernel: the strictly
    lower :math:`L` (CSC: ``l_ptr``, ``l_idx``, ``l_val``), :math:`D^{-1}` (``d_inv``), the strictly
    upper :math:`N` (CSR: ``n_ptr``, ``n_idx``, ``n_val``) and the permutations."""

    l_ptr: np.ndarray
    l_idx: np.ndarray
    l_val: np.ndarray
    d_inv: np.ndarray
    n_ptr: np.ndarray
    n_idx: np.ndarray
    n_val: np.ndarray
    perm_r: np.ndarray
    perm_c: np.ndarray


def triangular_factors(lu) -> TriangularFactors:
    """The kernel's form (module docstring) of an :class:`admm_operator.LDLFactor` (QDLDL's strict L
    and D as they are, the inverse of its permutation: :math:`N = L^T` shares L's arrays) or of a
    ``scipy.sparse.linalg.splu`` object (unit L; U's diagonal as D, the rows of U divided by it).
    Row/column indices and permutations are unsigned 32-bit where the size allows (fewer bytes to
    read per entry, and no test for negative indices in the compiled loads: about 6 % of the solve
    on AUG2DQP), column pointers 64-bit."""
    import scipy.sparse as sp

    ldl = getattr(lu, "ldl_factors", None)
    if ldl is not None:
        lower, diagonal, perm = ldl()
        lower.sort_indices()
        index = _index_type(lower.shape[0])
        ptr, idx, val = (lower.indptr.astype(np.int64), lower.indices.astype(index),
                         np.asarray(lower.data, dtype=float))
        return TriangularFactors(ptr, idx, val, 1.0 / np.asarray(diagonal, dtype=float), ptr, idx, val,
                                 perm.astype(index), perm.astype(index))
    L, U = sp.csc_matrix(lu.L), sp.csr_matrix(lu.U)
    l_diagonal, diagonal = L.diagonal(), U.diagonal()
    if np.any(l_diagonal != 1.0):  # SuperLU's L is unit; fold any other diagonal into U (L = L1 diag(l))
        L = (L @ sp.diags(1.0 / l_diagonal)).tocsc()
        U = (sp.diags(l_diagonal) @ U).tocsr()
        diagonal = U.diagonal()
    lower = sp.tril(L, k=-1, format="csc")
    upper = (sp.diags(1.0 / diagonal) @ sp.triu(U, k=1, format="csr")).tocsr()
    lower.sort_indices()
    upper.sort_indices()
    index = _index_type(L.shape[0])
    return TriangularFactors(lower.indptr.astype(np.int64), lower.indices.astype(index), lower.data.astype(float),
                             1.0 / diagonal, upper.indptr.astype(np.int64), upper.indices.astype(index),
                             upper.data.astype(float), lu.perm_r.astype(index), lu.perm_c.astype(index))


def _index_type(size: int):
    return np.uint32 if size < 2**32 else np.int64


@njit(cache=True, fastmath={"contract"})
def permuted_solve(l_ptr, l_idx, l_val, d_inv, n_ptr, n_idx, n_val, work):
    """In place on ``work`` (the right-hand side already permuted by ``perm_r``):
    ``work = ((I + L) D (I + N))^{-1} work`` in QDLDL's order: the forward solve as a column scatter,
    D^{-1} multiplied in, the backward solve as a row gather. Columns and rows are sorted, so the
    entry next to the diagonal (row j + 1 of L's column j, column i + 1 of N's row i), when present,
    comes first: that one update is kept in a register for the next step (``carry``, ``previous``)
    instead of going through memory, which takes a store and a load off the serial chain of the
    solve (the one place the steps depend on each other on banded factors such as LISWET's).
    A column whose solution entry is zero is not scattered (QDLDL scatters it): the right-hand sides of
    the iteration have many zeros there (with the test the kernel alone ran 1.13-1.75x base-s27's rate
    on LISWET1, AUG2DQP, QSCFXM2, STADAT1 against 1.01-1.27x without, docs/feasibility.md).
    Floating-point contraction (fused multiply-add) is allowed here."""
    size = work.shape[0]
    if size == 0:
        return
    carry = work[0]
    for j in range(size):  # (I + L) w = c, column scatter
        wj = carry
        start, end = l_ptr[j], l_ptr[j + 1]
        if j + 1 < size:
            if end > start and l_idx[start] == j + 1:
                carry = work[j + 1] - l_val[start] * wj
                start += 1
            else:
                carry = work[j + 1]
        if wj != 0.0:
            for p in range(start, end):
                work[l_idx[p]] -= l_val[p] * wj
        work[j] = wj
    previous = 0.0
    for i in range(size - 1, -1, -1):  # (I + N) w = D^{-1} w, row gather
        total = work[i] * d_inv[i]
        start, end = n_ptr[i], n_ptr[i + 1]
        if end > start and n_idx[start] == i + 1:
            total -= n_val[start] * previous
            start += 1
        for p in range(start, end):
            total -= n_val[p] * work[n_idx[p]]
        work[i] = total
        previous = total


@njit(cache=True)
def lu_solve(l_ptr, l_idx, l_val, d_inv, n_ptr, n_idx, n_val, perm_r, perm_c, b, work, out):
    """``out = K^{-1} b`` from the factors of :func:`triangular_factors` (``work``: scratch of the same
    length); :func:`operator_image` fuses the two permutations into its own passes instead."""
    for i in range(b.shape[0]):
        work[perm_r[i]] = b[i]
    permuted_solve(l_ptr, l_idx, l_val, d_inv, n_ptr, n_idx, n_val, work)
    for i in range(b.shape[0]):
        out[i] = work[perm_c[i]]


@njit(cache=True)
def operator_image(l_ptr, l_idx, l_val, d_inv, n_ptr, n_idx, n_val, perm_r, perm_c,
                   q, lower, upper, rho, alpha_over_rho, sigma, alpha, x, v, image_x, image_v, image_z, image_y,
                   diff_x, diff_v, diff_y, work, z, new_x, new_v):
    """One application of the OSQP operator T at (x, v) (the operator of
    :func:`admm_operator.apply_operator`): writes T(x, v) (and its z, y) to image_* and
    T(x, v) - (x, v), y+ - y to diff_*; ``alpha_over_rho`` is alpha / rho (made once per call of the
    loops, as rho is fixed there); ``work`` ... ``new_v`` are scratch (the permutations of the solve are
    fused into the passes here). Returns the squared
    residual sigma ||dx||^2 + ||dv||_rho^2, or -1.0 (nothing written) when it is not finite (a NaN or
    infinity of T(x, v) propagates into it; one test instead of one per entry).

    The arithmetic is the operator's, rearranged (equal in exact arithmetic, not to the last bit):
    with w = v - z = y / rho, the right-hand side is (sigma x - q, z - w), the new v is
    z + (1 - alpha) w + (alpha / rho) nu (from z~ = z + (nu - y) / rho): a multiplication by the
    precomputed alpha / rho instead of three divisions per row."""
    n, m = x.shape[0], v.shape[0]
    for j in range(n):
        work[perm_r[j]] = sigma * x[j] - q[j]
    for i in range(m):
        zi = min(max(v[i], lower[i]), upper[i])
        z[i] = zi
        work[perm_r[n + i]] = zi - (v[i] - zi)
    permuted_solve(l_ptr, l_idx, l_val, d_inv, n_ptr, n_idx, n_val, work)
    beta = 1.0 - alpha
    residual_x = 0.0
    for j in range(n):
        value = alpha * work[perm_c[j]] + beta * x[j]
        new_x[j] = value
        d = value - x[j]
        residual_x += d * d
    residual_v = 0.0
    for i in range(m):
        zi = z[i]
        value = zi + beta * (v[i] - zi) + alpha_over_rho[i] * work[perm_c[n + i]]
        new_v[i] = value
        d = value - v[i]
        residual_v += d * (rho[i] * d)
    residual = sigma * residual_x + residual_v
    if not math.isfinite(residual):
        return -1.0
    for j in range(n):
        image_x[j] = new_x[j]
        diff_x[j] = new_x[j] - x[j]
    for i in range(m):
        value = new_v[i]
        zi = min(max(value, lower[i]), upper[i])
        yi = rho[i] * (value - zi)
        image_v[i] = value
        image_z[i] = zi
        image_y[i] = yi
        diff_v[i] = value - v[i]
        diff_y[i] = yi - rho[i] * (v[i] - z[i])
    return residual


@njit(cache=True)
def admm_iterations(l_ptr, l_idx, l_val, d_inv, n_ptr, n_idx, n_val, perm_r, perm_c,
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
    work, z, new_x, new_v = np.empty(n + m), np.empty(m), np.empty(n), np.empty(m)
    alpha_over_rho = alpha / rho
    done, restarts = 0, 0
    for _ in range(steps):
        residual = operator_image(l_ptr, l_idx, l_val, d_inv, n_ptr, n_idx, n_val, perm_r, perm_c,
                                  q, lower, upper, rho, alpha_over_rho, sigma, alpha, x, v, image_x, image_v,
                                  image_z, image_y, diff_x, diff_v, diff_y, work, z, new_x, new_v)
        if residual < 0.0:  # nothing of this iteration is written
            break
        if halpern:
            residual = math.sqrt(residual)
        since, anchor_residual, restarted = next_iterate(
            halpern, x, v, anchor_x, anchor_v, image_x, image_v, residual, since, anchor_residual,
            iteration + done, restart_decay, restart_fraction)
        done, restarts = done + 1, restarts + restarted
    return done, since, anchor_residual, restarts
