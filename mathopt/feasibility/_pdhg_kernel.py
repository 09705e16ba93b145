"""The Numba loop of ``pdhg-lp`` / ``halpern-pdhg-lp`` (see :mod:`mathopt.feasibility.pdhg`)."""
import math

import numpy as np
from numba import njit

from ..core.numba_utils import csr_matvec as _matvec
from ._anchor_kernel import next_iterate


@njit(cache=True)
def pdhg_iterations(a_ptr, a_idx, a_val, t_ptr, t_idx, t_val, q, lower, upper, tau, sigma,
                    x, y, anchor_x, anchor_y, image_x, image_y, diff_x, diff_y,
                    since, anchor_residual, iteration, steps, halpern, restart_decay, restart_fraction):
    """Up to ``steps`` PDHG iterations, in place on x, y (and the Halpern anchor).

    Writes the last image T(x, y) and its difference T(x, y) - (x, y) to image_*/diff_*;
    stops before committing a non-finite image. Returns (iterations done, iterations since
    the anchor, the residual at the anchor, restarts).
    """
    n, m = x.shape[0], y.shape[0]
    ATy, Axbar, xbar = np.empty(n), np.empty(m), np.empty(n)
    done, restarts = 0, 0
    for _ in range(steps):
        _matvec(t_ptr, t_idx, t_val, y, ATy)
        for j in range(n):
            image_x[j] = x[j] - tau * (q[j] + ATy[j])
            xbar[j] = 2.0 * image_x[j] - x[j]
        _matvec(a_ptr, a_idx, a_val, xbar, Axbar)
        finite = True
        for i in range(m):
            v = y[i] / sigma + Axbar[i]  # y+ = sigma (v - Pi(v)): exactly 0 where Pi(v) = v
            image_y[i] = sigma * (v - min(max(v, lower[i]), upper[i]))
            finite = finite and math.isfinite(image_y[i])
        for j in range(n):
            finite = finite and math.isfinite(image_x[j])
        if not finite:
            break
        residual = 0.0
        for j in range(n):
            diff_x[j] = image_x[j] - x[j]
            residual += diff_x[j] * diff_x[j] / tau
        for i in range(m):
            diff_y[i] = image_y[i] - y[i]
            residual += diff_y[i] * diff_y[i] / sigma
        residual = math.sqrt(residual)
        since, anchor_residual, restarted = next_iterate(
            halpern, x, y, anchor_x, anchor_y, image_x, image_y, residual, since, anchor_residual,
            iteration, restart_decay, restart_fraction)
        restarts += restarted
        iteration += 1
        done += 1
    return done, since, anchor_residual, restarts
