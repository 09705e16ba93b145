"""Numba kernels of the transport solvers (imported inside the solve functions only)."""
from __future__ import annotations

import math

import numpy as np

from numba import prange

from ..core.numba_utils import exp as fast_exp
from ..core.numba_utils import njit
from ..core.status import CODE_CONVERGED, CODE_NONFINITE, CONTINUE


@njit
def sinkhorn_row_lse(cost, g, reg, out):
    """out_i = LSE_j((g_j - C_ij) / reg), the log row sums of exp((g_j - C_ij)/reg)."""
    n, m = cost.shape
    for i in range(n):
        top = -np.inf
        for j in range(m):
            v = (g[j] - cost[i, j]) / reg
            if v > top:
                top = v
        total = 0.0
        for j in range(m):
            total += math.exp((g[j] - cost[i, j]) / reg - top)
        out[i] = top + math.log(total)


@njit
def sinkhorn_row_error(f, row_lse, a, reg):
    """||P 1 - a||_1 for P_ij = exp((f_i + g_j - C_ij)/reg), from row_lse (see ``sinkhorn_row_lse``)."""
    err = 0.0
    for i in range(f.size):
        err += abs(math.exp(f[i] / reg + row_lse[i]) - a[i])
    return err


@njit
def _all_finite(x):
    for k in range(x.size):
        if not math.isfinite(x[k]):
            return False
    return True


@njit
def sinkhorn_log_iterations(cost, a, log_a, log_b, reg, f, g, row_lse, error, n_iter, tol, errors):
    """Up to ``n_iter`` log-domain Sinkhorn iterations on (f, g); returns (iterations done, status code,
    row error of the returned iterate), ``error`` being that of the iterate on entry.

    One iteration is the pair of soft c-transforms (Peyre & Cuturi 2019,
    Remark 4.23): f_i = reg log a_i - reg LSE_j((g_j - C_ij)/reg), then
    g_j = reg log b_j - reg LSE_i((f_i - C_ij)/reg). ``row_lse`` holds the
    LSE of the current g on entry and on return (computed once per
    iteration: it gives the f-update of the next iteration and the row error
    ||P 1 - a||_1 of the new iterate, the columns being exact after the
    g-update). errors[k] receives the error after iteration k. Stops with
    CODE_CONVERGED when the error is at most ``tol``; a non-finite new
    iterate is not committed (CODE_NONFINITE, state of the last finite one).
    """
    n, m = cost.shape
    new_f = np.empty(n)
    new_g = np.empty(m)
    new_lse = np.empty(n)
    col_max = np.empty(m)
    col_sum = np.empty(m)
    for it in range(n_iter):
        for i in range(n):
            new_f[i] = reg * (log_a[i] - row_lse[i])
        for j in range(m):
            col_max[j] = -np.inf
            col_sum[j] = 0.0
        for i in range(n):
            for j in range(m):
                v = (new_f[i] - cost[i, j]) / reg
                if v > col_max[j]:
                    col_max[j] = v
        for i in range(n):
            for j in range(m):
                col_sum[j] += math.exp((new_f[i] - cost[i, j]) / reg - col_max[j])
        for j in range(m):
            new_g[j] = reg * (log_b[j] - col_max[j] - math.log(col_sum[j]))
        sinkhorn_row_lse(cost, new_g, reg, new_lse)
        err = sinkhorn_row_error(new_f, new_lse, a, reg)
        if not (_all_finite(new_f) and _all_finite(new_g) and _all_finite(new_lse) and math.isfinite(err)):
            return it, CODE_NONFINITE, error
        for i in range(n):  # element loops: a slice assignment costs seconds of Numba compile time
            f[i] = new_f[i]
            row_lse[i] = new_lse[i]
        for j in range(m):
            g[j] = new_g[j]
        errors[it] = err
        error = err
        if err <= tol:
            return it + 1, CODE_CONVERGED, error
    return n_iter, CONTINUE, error


@njit
def mirror_sinkhorn_step(gradient, a, b, plan, t, eta):
    """One Mirror Sinkhorn iteration in place with a gradient given per call (general/online case).

    P' = P * exp(-eta G) then rows rescaled to a (t odd) or columns to b (t even).
    """
    n, m = plan.shape
    if t % 2 == 1:
        for i in range(n):
            s = 0.0
            for j in range(m):
                v = plan[i, j] * fast_exp(-eta * gradient[i, j])
                plan[i, j] = v
                s += v
            scale = a[i] / s if s > 0 else (0.0 if a[i] == 0 else np.nan)
            for j in range(m):
                plan[i, j] *= scale
    else:
        col = np.zeros(m)
        for i in range(n):
            for j in range(m):
                v = plan[i, j] * fast_exp(-eta * gradient[i, j])
                plan[i, j] = v
                col[j] += v
        for j in range(m):
            col[j] = b[j] / col[j] if col[j] > 0 else (0.0 if b[j] == 0 else np.nan)
        for i in range(n):
            for j in range(m):
                plan[i, j] *= col[j]


@njit(fastmath={"reassoc", "contract"})
def _row_half_step(row, v, a_i, cols):
    """One row of a fused Sinkhorn pass: r = <K_i, v>, u_i = a_i / r, cols += u_i K_i; returns u_i
    (0 for a zero-mass row, NaN when a_i > 0 and r = 0)."""
    r = 0.0
    for j in range(row.size):
        r += row[j] * v[j]
    u = a_i / r if r > 0 else (0.0 if a_i == 0 else np.nan)
    for j in range(row.size):
        cols[j] += row[j] * u
    return u


@njit(fastmath={"reassoc", "contract"})
def bregman_projection(plan, gradient, inv_l, a, b, alpha, beta, out, tol, max_iter):
    """KL (Bregman) projection of ``plan * exp(-inv_l * gradient)`` onto U(a, b) by warm-started Sinkhorn.

    The exact step of mirror descent with the entropy mirror map and step 1/L = ``inv_l``,
    Q = argmin_{Q in U(a, b)} <G, Q> + L KL(Q | P), is Q = diag(u) K diag(v) with
    K_ij = P_ij exp(-(G_ij - m_i) / L) (m_i = min_j G_ij: a row constant that only rescales u
    and keeps every exponent <= 0) and (u, v) the Sinkhorn scalings of K. The scalings are kept
    as potentials of G, alpha_i = L log u_i + m_i and beta_j = L log v_j (in place; the warm start
    of the next projection whatever its L: at a fixed point G = alpha_i + beta_j on the support).
    Each Sinkhorn iteration is ONE pass over K, row by row: r_i = <K_i, v>, u_i = a_i / r_i, then
    the column sums c = K^T u accumulate while the row is in cache; then v = b / c. The first
    pass is fused with the one that forms K. Stops when the column error ||Q^T 1 - b||_1 of
    Q = diag(u) K diag(v) (rows exact) is at most ``tol``, or after ``max_iter`` (>= 1) passes.
    ``out`` receives Q.

    Returns (passes, column error, <G, Q>, KL(Q | P) = sum Q log(Q / P) - sum Q + sum P,
    <G, P>, max |G|); the column error is NaN when a scaling is not finite.
    """
    n, m = plan.shape
    shift = np.empty(n)
    u = np.empty(n)
    v = np.empty(m)
    for j in range(m):
        v[j] = math.exp(inv_l * beta[j])
    cols = np.zeros(m)
    gp = 0.0
    total_p = 0.0
    top = 0.0
    for i in range(n):
        low = np.inf
        for j in range(m):
            low = min(low, gradient[i, j])
            top = max(top, abs(gradient[i, j]))
        shift[i] = low
        for j in range(m):
            p = plan[i, j]
            g = gradient[i, j]
            gp += g * p
            total_p += p
            out[i, j] = p * fast_exp(-inv_l * (g - low))
        u[i] = _row_half_step(out[i], v, a[i], cols)
    its = 1
    err = np.nan
    while True:
        err = 0.0
        for j in range(m):
            err += abs(v[j] * cols[j] - b[j])
        if not math.isfinite(err):
            return its, np.nan, np.nan, np.nan, gp, top
        if err <= tol or its >= max_iter:
            break
        for j in range(m):
            v[j] = b[j] / cols[j] if cols[j] > 0 else (0.0 if b[j] == 0 else np.nan)
        cols[:] = 0.0
        for i in range(n):
            u[i] = _row_half_step(out[i], v, a[i], cols)
        its += 1
    gq = 0.0
    total_q = 0.0
    log_q = 0.0  # sum Q log(Q / P) + <G, Q> / L
    for i in range(n):
        ui = u[i]
        row = 0.0
        for j in range(m):
            q = ui * out[i, j] * v[j]
            out[i, j] = q
            gq += gradient[i, j] * q
            row += q
        total_q += row
        if row > 0:
            log_q += row * (math.log(ui) + inv_l * shift[i])
    for j in range(m):
        if v[j] > 0 and cols[j] > 0:
            log_q += cols[j] * v[j] * math.log(v[j])
    kl = log_q - inv_l * gq - total_q + total_p
    for i in range(n):
        if u[i] > 0:
            alpha[i] = math.log(u[i]) / inv_l + shift[i]
    for j in range(m):
        if v[j] > 0:
            beta[j] = math.log(v[j]) / inv_l
    return its, err, gq, kl, gp, top


@njit(fastmath={"reassoc", "contract"})
def _sum(values):
    """Sum with reassociation allowed so LLVM vectorizes it (rounding differs, NaN/inf semantics kept)."""
    total = 0.0
    for k in range(values.size):
        total += values[k]
    return total


@njit(fastmath={"reassoc", "contract"})
def _dot(x, y):
    total = 0.0
    for k in range(x.size):
        total += x[k] * y[k]
    return total


# exp(x) for |x| <= TAYLOR_RADIUS by its Taylor polynomial of degree 8: the truncation error, at most
# e^(2h) h^9 / 9! relative, is below 8e-17 (under an ulp) for h = 6.4e-2, so the result is exp(x) up to
# Horner's rounding. Used for the ratio exp(-eta_col C) / exp(-eta_row C) = exp((eta_row - eta_col) C),
# whose exponent is small once t is past the first few iterations (eta_t - eta_{t+1} ~ eta_t / 2t).
# One polynomial (not one per radius) keeps the kernel quick to compile.
TAYLOR_RADIUS = 6.4e-2


@njit(inline="always")  # inlined at Numba IR level so LLVM vectorizes the loop calling it
def _taylor_exp8(x):
    p = 1.0 / 40320.0
    for coefficient in (1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0):
        p = p * x + coefficient
    return p


@njit
def use_taylor(eta_row, eta_col, cost_bound):
    """True when exp((eta_row - eta_col) C) is within TAYLOR_RADIUS of the origin for every entry."""
    return abs(eta_row - eta_col) * cost_bound <= TAYLOR_RADIUS


@njit
def _pass_block(block, cost, a, plan, col_scale, average, flush_weight, eta_row, row_weight, eta_col, taylor,
                column_sums, sums, buffers):
    """One fused pass over the rows of one block (linear OT).

    The iterate is P = plan diag(col_scale) (``col_scale`` is the pending
    column scaling of the last column step). In one read of C, of ``plan``
    and of the average, the pass (i) adds ``flush_weight * P`` to ``average``
    (the pending column iterate of the previous pass; skipped when 0), (ii)
    when ``eta_row > 0`` does the row step P' = P exp(-eta_row C),
    P = diag(a / P' 1) P' and adds ``row_weight * P`` to ``average``, (iii)
    when ``eta_col > 0`` stores
    Q = P exp(-eta_col C) in ``plan`` and accumulates its column sums into
    ``column_sums[block]`` (the caller sets ``col_scale = b / Q^T 1``);
    otherwise P itself is stored (the caller resets ``col_scale`` to 1).
    sums[block] gets (<C, flushed P>, <C, row iterate>) for the history and
    the number of rows of positive mass whose sum was not positive (NaN).
    Each row is processed in a buffer that stays in cache, with branch-free
    loops LLVM vectorizes. When both steps run and ``taylor`` is true,
    exp(-eta_col C) is not computed but obtained as exp(-eta_row C) times the
    degree-8 Taylor polynomial of exp((eta_row - eta_col) C) (exact to
    rounding, see TAYLOR_RADIUS): one full exp per entry per pass.
    """
    n, m = cost.shape
    blocks = column_sums.shape[0]
    buffer = buffers[block, 0]
    factors = buffers[block, 1]
    delta = eta_row - eta_col
    partial = column_sums[block]
    for j in range(m):
        partial[j] = 0.0
    flushed_value = 0.0
    row_value = 0.0
    failed = 0
    for i in range(block * n // blocks, (block + 1) * n // blocks):
        if a[i] == 0:  # zero-mass row stays zero
            continue
        row = cost[i]
        plan_row = plan[i]
        average_row = average[i]
        for j in range(m):
            buffer[j] = plan_row[j] * col_scale[j]
        if flush_weight > 0:
            for j in range(m):
                average_row[j] += flush_weight * buffer[j]
            flushed_value += _dot(buffer, row)
        if eta_row > 0:
            for j in range(m):
                factors[j] = fast_exp(-eta_row * row[j])
                buffer[j] *= factors[j]
            row_sum = _sum(buffer)
            if not row_sum > 0:
                failed += 1
            scale = a[i] / row_sum
            for j in range(m):
                buffer[j] *= scale
                average_row[j] += row_weight * buffer[j]
            row_value += _dot(buffer, row)
        if eta_col == 0:
            for j in range(m):
                plan_row[j] = buffer[j]
        elif eta_row == 0 or not taylor:
            for j in range(m):
                plan_row[j] = buffer[j] * fast_exp(-eta_col * row[j])
        else:
            for j in range(m):
                plan_row[j] = buffer[j] * factors[j] * _taylor_exp8(delta * row[j])
        if eta_col > 0:
            for j in range(m):
                partial[j] += plan_row[j]
    sums[block, 0] = flushed_value
    sums[block, 1] = row_value
    sums[block, 2] = failed


# Serial and threaded (one row block per thread) drivers of the pass. On the idle 2-core benchmark
# machine two threads almost halve the time per pass from n = m = 100 (10^4 entries) up with Numba's
# OpenMP threading layer; its fallback "workqueue" layer takes tens of microseconds to wake its
# threads, and only pays off from about 2.5e5 entries (n = m = 500: 0.21 vs 0.25 ms per iteration).
PARALLEL_MIN_ENTRIES = 10_000
WORKQUEUE_MIN_ENTRIES = 250_000


def parallel_min_entries() -> int:
    """Entries of C from which the pass is threaded: PARALLEL_MIN_ENTRIES once Numba reports (public
    ``numba.threading_layer()``, known after a first threaded run in the process) its OpenMP or TBB
    layer, WORKQUEUE_MIN_ENTRIES otherwise (workqueue, or not known yet)."""
    import numba

    try:
        layer = numba.threading_layer()
    except ValueError:  # no threaded function has run in this process yet
        return WORKQUEUE_MIN_ENTRIES
    return PARALLEL_MIN_ENTRIES if layer in ("omp", "tbb") else WORKQUEUE_MIN_ENTRIES


def row_blocks(shape, parallel: bool) -> int:
    """Row blocks of the linear pass: one per Numba thread when threading pays off, else 1."""
    import numba

    n, m = shape
    if not parallel or n * m < parallel_min_entries():
        return 1
    return max(1, min(numba.get_num_threads(), n))


@njit
def _column_total(sums, column):
    total = 0.0
    for block in range(sums.shape[0]):
        total += sums[block, column]
    return total


@njit(parallel=True)
def _pass_parallel(cost, a, plan, col_scale, average, flush_weight, eta_row, row_weight, eta_col, taylor,
                   column_sums, sums, buffers):
    for block in prange(column_sums.shape[0]):
        _pass_block(block, cost, a, plan, col_scale, average, flush_weight, eta_row, row_weight, eta_col, taylor,
                    column_sums, sums, buffers)


@njit
def _scale_columns(b, col_scale, column_sums, eta_col):
    """The pending column scaling after a pass: b / (column sums) after a column step, 1 otherwise.
    Returns False if a column scaling failed (a sum not positive for b_j > 0, or NaN)."""
    finite = True
    for j in range(col_scale.size):
        if eta_col > 0:
            total = column_sums[0, j]
            for block in range(1, column_sums.shape[0]):
                total += column_sums[block, j]
            col_scale[j] = b[j] / total if total > 0 else (0.0 if b[j] == 0 else np.nan)
            finite = finite and not math.isnan(col_scale[j])
        else:
            col_scale[j] = 1.0
    return finite


@njit
def mirror_sinkhorn_linear(cost, a, b, plan, col_scale, average, state, t0, n_iter, step_scale, cost_bound,
                           uniform, column_sums, buffers, values, record, threads):
    """Mirror Sinkhorn iterations t0+1 .. t0+n_iter for linear OT (Ballu & Berthet 2023, Algorithm 1).

    Iteration t: eta_t = step_scale / sqrt(t); P' = P exp(-eta_t C); rows
    rescaled to a when t is odd, columns to b when t is even. The iterate is
    P = plan diag(col_scale) = diag(u) exp(-s C) diag(v) (u, v: the products
    of the scalings so far, s the sum of the steps). The output average
    accumulates w_t P_t (w_t = 1 if ``uniform`` else eta_t) in ``average``
    (unnormalized) with total weight state[0]. ``state`` holds (total
    weight, pending weight, sum of w_t <C, P_t>): a column iterate is added to
    the average by the next pass ("pending"), and by a final flush before
    returning, so two iterations (a row and a column step) cost one pass over
    C. When ``record``, values[k] = <C, average> / weight after iteration
    t0+1+k (the objective of the unrounded average). The pass runs threaded
    over the row blocks of ``column_sums`` (one row per block) when
    ``threads`` is not None. Returns (iterations done, status code): when a
    scaling fails (a sum not positive, or NaN) it returns at once with the
    iterations done before the failing pass and CODE_NONFINITE; the arrays
    are then left mid-pass (the caller recomputes the state from P_0, see
    ``LinearMirrorSinkhorn``), else CONTINUE.
    """
    sums = np.zeros((column_sums.shape[0], 3))
    done = 0
    while True:  # one pass per turn, from one call site (each call site of the pass costs compile time)
        t = t0 + done + 1
        pending = state[1]
        eta = step_scale / math.sqrt(t)
        weight = 1.0 if uniform else eta
        pair = t % 2 == 1 and done + 2 <= n_iter
        eta_next = step_scale / math.sqrt(t + 1) if pair else 0.0
        if done < n_iter and t % 2 == 1:  # row step t, fused with column step t + 1 when the budget allows
            kind, flush, eta_row, eta_col = _ROW, pending, eta, eta_next
        elif done < n_iter:  # column step with no row step before it in this call (pending is 0 here)
            kind, flush, eta_row, eta_col = _COLUMN, 0.0, 0.0, eta
        elif pending > 0:  # flush the last column iterate into the average
            kind, flush, eta_row, eta_col = _FLUSH, pending, 0.0, 0.0
        else:
            break
        taylor = pair and use_taylor(eta, eta_next, cost_bound)
        # ``threads`` None: Numba prunes the threaded branch for a None argument before typing, so the
        # threaded kernel is only compiled when a threaded solve runs
        if threads is not None:
            _pass_parallel(cost, a, plan, col_scale, average, flush, eta_row, weight, eta_col, taylor, column_sums,
                           sums, buffers)
        else:
            for block in range(column_sums.shape[0]):
                _pass_block(block, cost, a, plan, col_scale, average, flush, eta_row, weight, eta_col, taylor,
                            column_sums, sums, buffers)
        finite = _scale_columns(b, col_scale, column_sums, eta_col) and _column_total(sums, 2) == 0
        if not finite and kind != _FLUSH:
            return done, CODE_NONFINITE
        if kind == _COLUMN:
            state[1] = weight
            done += 1
            continue
        if pending > 0:
            state[0] += pending
            state[2] += pending * _column_total(sums, 0)
            if record and done > 0:
                values[done - 1] = state[2] / state[0]
        state[1] = 0.0
        if kind == _FLUSH:
            break
        state[0] += weight
        state[2] += weight * _column_total(sums, 1)
        if record:
            values[done] = state[2] / state[0]
        done += 1
        if pair:
            state[1] = 1.0 if uniform else eta_next
            done += 1
    return done, CONTINUE


_ROW, _COLUMN, _FLUSH = 0, 1, 2


@njit
def _fill_zero(matrix):
    """matrix[:] = 0 as a loop (slice assignment costs seconds of compile time in Numba)."""
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            matrix[i, j] = 0.0


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
    grad_alpha = np.empty(n)
    grad_beta = np.empty(m)
    for i in range(n):
        grad_alpha[i] = -a[i]
    for j in range(m):
        grad_beta[j] = -b[j]
    column = np.empty(n)
    rows = np.empty(k, dtype=np.int64)
    _fill_zero(plan)
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
    grad = np.empty(n)
    for i in range(n):
        grad[i] = -a[i]
    column = np.empty(n)
    rows = np.empty(k, dtype=np.int64)
    _fill_zero(plan)
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
