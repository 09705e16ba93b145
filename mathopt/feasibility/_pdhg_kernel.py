"""The Numba loop of ``pdhg-lp`` / ``halpern-pdhg-lp`` (see :mod:`mathopt.feasibility.pdhg`)."""
import math

import numpy as np
from numba import njit

from ..core.numba_utils import csr_matvec as _matvec


@njit(cache=True)
def pdhg_iterations(a_ptr, a_idx, a_val, t_ptr, t_idx, t_val, q, lower, upper, x_lower, x_upper, tau, sigma,
                    x, y, anchor_x, anchor_y, sum_x, sum_y, image_x, image_y, diff_x, diff_y,
                    since, steps, halpern, reflection):
    """Up to ``steps`` iterations, in place on x, y (and sum_x, sum_y: running sums of the images).

    One PDHG step T(x, y) = (x+, y+) with ``x+ = clip(x - tau (q + A'y), x_lower, x_upper)``,
    ``y+ = sigma (w - clip(w, lower, upper))``, ``w = y / sigma + A(2 x+ - x)``; then, without
    ``halpern``, (x, y) <- T(x, y); with it the reflected Halpern step
    ``z <- beta z_anchor + (1 - beta)((1 + reflection) T z - reflection z)``, ``beta = 1/(since + 2)``.
    Writes the last image T(x, y) and its difference T(x, y) - (x, y) to image_*/diff_*; stops
    before committing a non-finite image. Returns (iterations done, iterations since the anchor).
    """
    n, m = x.shape[0], y.shape[0]
    ATy, Axbar, xbar = np.empty(n), np.empty(m), np.empty(n)
    done = 0
    for _ in range(steps):
        _matvec(t_ptr, t_idx, t_val, y, ATy)
        finite = True
        for j in range(n):
            value = min(max(x[j] - tau * (q[j] + ATy[j]), x_lower[j]), x_upper[j])
            image_x[j] = value
            xbar[j] = 2.0 * value - x[j]
            finite = finite and math.isfinite(value)
        _matvec(a_ptr, a_idx, a_val, xbar, Axbar)
        for i in range(m):
            v = y[i] / sigma + Axbar[i]  # y+ = sigma (v - Pi(v)): exactly 0 where Pi(v) = v
            image_y[i] = sigma * (v - min(max(v, lower[i]), upper[i]))
            finite = finite and math.isfinite(image_y[i])
        if not finite:
            break
        beta = 1.0 / (since + 2.0)
        for j in range(n):
            diff_x[j] = image_x[j] - x[j]
            if halpern:
                x[j] = beta * anchor_x[j] + (1.0 - beta) * (image_x[j] + reflection * diff_x[j])
            else:
                x[j] = image_x[j]
                sum_x[j] += image_x[j]
        for i in range(m):
            diff_y[i] = image_y[i] - y[i]
            if halpern:
                y[i] = beta * anchor_y[i] + (1.0 - beta) * (image_y[i] + reflection * diff_y[i])
            else:
                y[i] = image_y[i]
                sum_y[i] += image_y[i]
        since += 1
        done += 1
    return done, since
