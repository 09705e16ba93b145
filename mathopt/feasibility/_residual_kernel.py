"""The three residuals of the QP termination test, compiled (:func:`admm_operator.residuals`).

:func:`admm_operator.residuals_reference` computes them with NumPy and SciPy: about 25 array
operations, each a Python call, which took about 1 ms a test on QSCFXM2 (n + m = 2 488), a sixth of
the time of ``admm-qp`` there (docs/feasibility.md). This kernel does the same arithmetic in one
call, in the same order, so that the values are the same to the last bit:

* the products with A and P loop over the CSC entries in their stored order, as SciPy's
  ``csc_matvec`` (``A @ x``) and ``csr_matvec`` on the transpose (``A.T @ y``) do;
* the inner products are NumPy's ``np.sum(a * b)``: the products, then NumPy's pairwise summation
  (:func:`pairwise_sum`: blocks of at most 128 entries summed with eight accumulators, halves
  otherwise), the summation ``np.add.reduce`` runs on a contiguous float64 array;
* maxima of absolute values propagate NaN as ``np.max`` does.

``tests/feasibility/test_residuals.py`` checks the equality (bitwise) against the NumPy reference.
"""
import math

import numpy as np
from numba import njit

#: NumPy's block size of the pairwise summation (``PW_BLOCKSIZE`` in its loops).
PAIRWISE_BLOCK = 128


@njit(cache=True)
def _block_sum(a, start, count):
    """NumPy's sum of one block (``count`` <= PAIRWISE_BLOCK): sequential below 8 entries, else eight
    accumulators combined as ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), then the remainder."""
    if count < 8:
        total = 0.0
        for i in range(start, start + count):
            total += a[i]
        return total
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    i = 8
    stop = count - count % 8
    while i < stop:
        r0 += a[start + i]
        r1 += a[start + i + 1]
        r2 += a[start + i + 2]
        r3 += a[start + i + 3]
        r4 += a[start + i + 4]
        r5 += a[start + i + 5]
        r6 += a[start + i + 6]
        r7 += a[start + i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < count:
        total += a[start + i]
        i += 1
    return total


@njit(cache=True)
def _left_half(count):
    half = count // 2
    return half - half % 8


@njit(cache=True)
def _pairwise(a, start, count):
    """NumPy's pairwise sum of ``a[start:start + count]``: a block sum up to PAIRWISE_BLOCK entries, else
    the sum of the two halves (the left one a multiple of 8), left + right. Written with an explicit stack
    rather than recursion (a recursive function loaded from Numba's cache crashed)."""
    starts, counts = np.empty(64, dtype=np.int64), np.empty(64, dtype=np.int64)
    stages, lefts = np.zeros(64, dtype=np.int64), np.empty(64)
    top = 0
    starts[0], counts[0], stages[0] = start, count, 0
    while True:
        if counts[top] > PAIRWISE_BLOCK:  # descend into the left half
            half = _left_half(counts[top])
            top += 1
            starts[top], counts[top], stages[top] = starts[top - 1], half, 0
            continue
        carry = _block_sum(a, starts[top], counts[top])
        top -= 1
        while top >= 0 and stages[top] == 1:  # right halves done: combine upwards
            carry = lefts[top] + carry
            top -= 1
        if top < 0:
            return carry
        lefts[top], stages[top] = carry, 1  # left half done: now the right half
        half = _left_half(counts[top])
        top += 1
        starts[top], counts[top], stages[top] = starts[top - 1] + half, counts[top - 1] - half, 0


@njit(cache=True)
def pairwise_sum(a):
    """``np.sum(a)`` of a contiguous float64 vector, with NumPy's pairwise summation."""
    return _pairwise(a, 0, a.shape[0])


@njit(cache=True)
def _max_abs(a):
    """``np.max(np.abs(a), initial=0.0)`` (NaN propagates)."""
    best = 0.0
    for i in range(a.shape[0]):
        value = abs(a[i])
        if value > best or value != value:
            if best != best:
                continue
            best = value
    return best


@njit(cache=True)
def _py_max(a, b):
    """Python's ``max(a, b)`` on floats (``a`` unless ``b > a``; NaN handling included)."""
    return b if b > a else a


@njit(cache=True)
def qp_residuals(a_ptr, a_idx, a_val, p_ptr, p_idx, p_val, q, lower, upper, x, z, y, out):
    """The residuals of :func:`admm_operator.residuals_reference` at the unscaled (x, z, y), for A and P
    in CSC form: writes (feasibility, stationarity, gap, their three scales) to ``out``."""
    n, m = x.shape[0], z.shape[0]
    Ax, Px, ATy = np.zeros(m), np.zeros(n), np.zeros(n)
    for j in range(n):
        xj = x[j]
        for k in range(a_ptr[j], a_ptr[j + 1]):
            Ax[a_idx[k]] += a_val[k] * xj
        for k in range(p_ptr[j], p_ptr[j + 1]):
            Px[p_idx[k]] += p_val[k] * xj
        total = 0.0
        for k in range(a_ptr[j], a_ptr[j + 1]):
            total += a_val[k] * y[a_idx[k]]
        ATy[j] = total
    products = np.empty(max(n, m))
    for j in range(n):
        products[j] = x[j] * Px[j]
    xPx = _pairwise(products, 0, n)
    for j in range(n):
        products[j] = q[j] * x[j]
    qx = _pairwise(products, 0, n)
    unbounded = False
    for i in range(m):
        if (y[i] > 0.0 and math.isinf(upper[i])) or (y[i] < 0.0 and math.isinf(lower[i])):
            unbounded = True
    if unbounded:
        support = math.inf
    else:  # support_value: u'y+ + l'y- with 0 * inf = 0
        for i in range(m):
            up = y[i] if (y[i] >= 0.0 or y[i] != y[i]) else 0.0  # np.maximum(y, 0.0)
            products[i] = (upper[i] if up > 0.0 else 0.0) * up
        support = _pairwise(products, 0, m)
        for i in range(m):
            down = y[i] if (y[i] <= 0.0 or y[i] != y[i]) else 0.0  # np.minimum(y, 0.0)
            products[i] = (lower[i] if down < 0.0 else 0.0) * down
        support = support + _pairwise(products, 0, m)
    residual = np.empty(max(n, m))
    for i in range(m):
        residual[i] = Ax[i] - z[i]
    out[0] = _max_abs(residual[:m])
    for j in range(n):
        residual[j] = Px[j] + q[j] + ATy[j]
    out[1] = _max_abs(residual[:n])
    out[2] = abs(xPx + qx + support)
    out[3] = _py_max(_max_abs(Ax), _max_abs(z))
    out[4] = _py_max(_py_max(_max_abs(Px), _max_abs(ATy)), _max_abs(q))
    out[5] = _py_max(_py_max(abs(xPx), abs(qx)), abs(support))
