"""Numba kernels of the transport solvers (imported inside the solve functions only)."""
from __future__ import annotations

import math

import numpy as np

from ..core.numba_utils import njit


@njit
def sinkhorn_log_iterations(cost, log_a, log_b, reg, f, g, n_iter, tol, errors):
    """Run up to ``n_iter`` log-domain Sinkhorn iterations in place on (f, g).

    One iteration is the pair of soft c-transforms (Peyre & Cuturi 2019,
    Remark 4.23):  f_i = reg log a_i - reg LSE_j((g_j - C_ij)/reg), then
    g_j = reg log b_j - reg LSE_i((f_i - C_ij)/reg). Before the f-update the
    row sums of the current plan P_ij = exp((f_i + g_j - C_ij)/reg) are known
    from the same log-sum-exp, which gives the marginal error ||P 1 - a||_1
    (columns are exact after the g-update) at no extra cost.
    Returns (iterations done, last error); errors[k] receives the error seen
    at the start of iteration k.
    """
    n, m = cost.shape
    err = np.inf
    row_lse = np.empty(n)
    col_max = np.empty(m)
    col_sum = np.empty(m)
    for it in range(n_iter):
        err = 0.0
        for i in range(n):
            top = -np.inf
            for j in range(m):
                v = (g[j] - cost[i, j]) / reg
                if v > top:
                    top = v
            total = 0.0
            for j in range(m):
                total += math.exp((g[j] - cost[i, j]) / reg - top)
            row_lse[i] = top + math.log(total)
            err += abs(math.exp(f[i] / reg + row_lse[i]) - math.exp(log_a[i]))
        errors[it] = err
        if not err > tol:  # also stops on NaN
            return it, err
        for i in range(n):
            f[i] = reg * (log_a[i] - row_lse[i])
        for j in range(m):
            col_max[j] = -np.inf
            col_sum[j] = 0.0
        for i in range(n):
            for j in range(m):
                v = (f[i] - cost[i, j]) / reg
                if v > col_max[j]:
                    col_max[j] = v
        for i in range(n):
            for j in range(m):
                col_sum[j] += math.exp((f[i] - cost[i, j]) / reg - col_max[j])
        for j in range(m):
            g[j] = reg * (log_b[j] - col_max[j] - math.log(col_sum[j]))
    return n_iter, err


@njit
def mirror_sinkhorn_step(gradient, a, b, plan, t, eta):
    """One Mirror Sinkhorn iteration with a gradient given per call (general/online case)."""
    n, m = plan.shape
    if t % 2 == 1:
        for i in range(n):
            s = 0.0
            for j in range(m):
                v = plan[i, j] * math.exp(-eta * gradient[i, j])
                plan[i, j] = v
                s += v
            scale = a[i] / s if s > 0 else 0.0
            for j in range(m):
                plan[i, j] *= scale
    else:
        col = np.zeros(m)
        for i in range(n):
            for j in range(m):
                v = plan[i, j] * math.exp(-eta * gradient[i, j])
                plan[i, j] = v
                col[j] += v
        for j in range(m):
            col[j] = b[j] / col[j] if col[j] > 0 else 0.0
        for i in range(n):
            for j in range(m):
                plan[i, j] *= col[j]


@njit
def mirror_sinkhorn_iterations(gradient, a, b, plan, average, weight, t0, n_iter, step_scale, averaged_value,
                               record):
    """Run Mirror Sinkhorn iterations t0+1 .. t0+n_iter in place (linear case).

    Iteration t (Ballu & Berthet 2023, Algorithm 1): the mirror-descent
    (exponentiated gradient) step  P' = P * exp(-eta_t G), eta_t =
    step_scale / sqrt(t), then a Sinkhorn half-step: rows rescaled to a when t
    is odd, columns to b when t is even (the KL projection onto one affine
    set). The output is the eta-weighted average of the iterates, accumulated
    in ``average`` with total weight ``weight[0]``; when ``record``,
    averaged_value[k] gets <G, average> / weight after iteration k (the
    objective for linear OT; one more pass over the matrix).
    Returns the number of iterations run (stops early on non-finite values).
    """
    n, m = plan.shape
    for k in range(n_iter):
        t = t0 + k + 1
        eta = step_scale / math.sqrt(t)
        mirror_sinkhorn_step(gradient, a, b, plan, t, eta)
        weight[0] += eta
        total = 0.0
        for i in range(n):
            for j in range(m):
                average[i, j] += eta * plan[i, j]
                total += plan[i, j]
        if record:
            value = 0.0
            for i in range(n):
                for j in range(m):
                    value += gradient[i, j] * average[i, j]
            averaged_value[k] = value / weight[0]
        if not math.isfinite(total):
            return k + 1
    return n_iter


@njit
def _top_k_rows(column, k, rows):
    """Indices of the k largest entries of ``column`` (insertion into a sorted buffer, O(n k))."""
    count = 0
    for i in range(column.size):
        v = column[i]
        if count < k:
            pos = count
            count += 1
        elif v > column[rows[k - 1]]:
            pos = k - 1
        else:
            continue
        while pos > 0 and column[rows[pos - 1]] < v:
            rows[pos] = rows[pos - 1]
            pos -= 1
        rows[pos] = i
    return count


@njit
def sparse_dual_oracle(alpha, beta, cost, a, b, reg, k, plan):
    """-D(alpha, beta) of Liu et al. (2023, eq. 8) and its gradient; ``plan`` receives the plan (eq. 10).

    Column j: x = alpha + beta_j - c_j; the conjugate of the k-sparse squared
    L2 regularizer is (1/2reg) sum over the top-k entries of [x]_+^2, with
    gradient [x]_+ / reg on those entries (0 elsewhere).
    """
    n, m = cost.shape
    value = 0.0
    for i in range(n):
        value += alpha[i] * a[i]
    for j in range(m):
        value += beta[j] * b[j]
    grad_alpha = -a.copy()
    grad_beta = -b.copy()
    column = np.empty(n)
    rows = np.empty(k, dtype=np.int64)
    plan[:] = 0.0
    for j in range(m):
        for i in range(n):
            column[i] = alpha[i] + beta[j] - cost[i, j]
        count = _top_k_rows(column, k, rows)
        for r in range(count):
            i = rows[r]
            if column[i] > 0:
                t = column[i] / reg
                value -= 0.5 * column[i] * t
                plan[i, j] = t
                grad_alpha[i] += t
                grad_beta[j] += t
    return -value, grad_alpha, grad_beta


@njit
def sparse_semi_dual_oracle(alpha, cost, a, b, reg, k, plan):
    """-S(alpha) of Liu et al. (2023, eq. 9) and its gradient; ``plan`` receives the plan.

    Column j: t_j = b_j P_k((alpha - c_j) / (b_j reg)), P_k the projection onto
    the k-sparse simplex (top-k entries onto the simplex; Kyrillidis et al.
    2013); the column's term is <x, t_j> - reg/2 ||t_j||^2 and (Danskin) the
    gradient is a - T 1.
    """
    n, m = cost.shape
    value = 0.0
    for i in range(n):
        value += alpha[i] * a[i]
    grad = -a.copy()
    column = np.empty(n)
    rows = np.empty(k, dtype=np.int64)
    plan[:] = 0.0
    for j in range(m):
        scale = b[j] * reg
        for i in range(n):
            column[i] = (alpha[i] - cost[i, j]) / scale
        count = _top_k_rows(column, k, rows)
        cumulative = 0.0
        theta = 0.0
        for r in range(count):  # rows are sorted by decreasing value
            cumulative += column[rows[r]]
            candidate = (cumulative - 1.0) / (r + 1)
            if column[rows[r]] - candidate > 0:
                theta = candidate
        for r in range(count):
            i = rows[r]
            t = column[i] - theta
            if t > 0:
                t *= b[j]
                x = alpha[i] - cost[i, j]
                value -= x * t - 0.5 * reg * t * t
                plan[i, j] = t
                grad[i] += t
    return -value, grad
