"""The Halpern anchoring with restarts of the compiled loop of ``halpern-admm`` (see
:mod:`mathopt.feasibility.halpern_admm` for the rule; ``halpern-pdhg-lp`` has its own, r2HPDHG's)."""
from numba import njit


@njit(cache=True)
def next_iterate(halpern, x, y, anchor_x, anchor_y, image_x, image_y, residual, since, anchor_residual,
                 iteration, restart_decay, restart_fraction):
    """The next iterate, in place: (x, y) <- T(x, y) = (image_x, image_y) without ``halpern``; with it
    (x, y) <- beta (anchor) + (1 - beta) T(x, y), beta = 1/(since + 2), after
    moving the anchor to (x, y) when ``residual`` (the norm of T(x, y) - (x, y)) is at most
    ``restart_decay`` times its value at the anchor or ``since`` reaches ``restart_fraction`` of
    ``iteration``. Returns (iterations since the anchor, the residual at the anchor, 1 if restarted)."""
    if not halpern:
        x[:] = image_x
        y[:] = image_y
        return since, anchor_residual, 0
    restarted = 0
    if since == 0:
        anchor_residual = residual
    elif residual <= restart_decay * anchor_residual or since >= restart_fraction * iteration > 0:
        anchor_x[:] = x
        anchor_y[:] = y
        since, anchor_residual, restarted = 0, residual, 1
    beta = 1.0 / (since + 2)
    for j in range(x.shape[0]):
        x[j] = beta * anchor_x[j] + (1.0 - beta) * image_x[j]
    for i in range(y.shape[0]):
        y[i] = beta * anchor_y[i] + (1.0 - beta) * image_y[i]
    return since + 1, anchor_residual, restarted
