"""The fully first-order value-function-penalty step shared by ``f2sa`` and ``penalty-bo``.

Both methods track y (a minimizer of F + lambda f over Y) and z (a minimizer
of f over Y) with projected (stochastic) gradient steps and move x along

.. math::

    d = \\nabla_x F(x, y) + \\lambda\\,(\\nabla_x f(x, y) - \\nabla_x f(x, z)),

the gradient of the penalty function :math:`\\min_y [F + \\lambda f] - \\lambda \\min_z f`
(Kwon et al. 2023; Kwon et al. 2024).

Deviation from both papers: the y- and z-steps share their lower-level
mini-batch, and so do the two lower-level gradients of d (the papers draw
independent samples); the estimates keep their expectations.
"""
from __future__ import annotations

import jax

from .options import split


def track_lower(oracles, x, y, z, y_step, z_step, multiplier, steps, key):
    """``steps`` projected steps: y on F + lambda f (step y_step), z on f (step z_step)."""
    def body(_, carry):
        y, z, key = carry
        key, (k_upper, k_lower) = split(key, 2)
        _, upper_y = oracles.upper_grad(x, y, k_upper)
        lower_y = oracles.lower_grad_y(x, y, k_lower)
        y = oracles.project_y(y - y_step * (upper_y + multiplier * lower_y))
        # the same lower batch for z as for y: the noise of y - z (amplified by
        # lambda in the x-direction) then largely cancels
        z = oracles.project_y(z - z_step * oracles.lower_grad_y(x, z, k_lower))
        return y, z, key

    return jax.lax.fori_loop(0, steps, body, (y, z, key))


def penalty_direction(oracles, x, y, z, multiplier, keys):
    """d = grad_x F(x, y) + lambda (grad_x f(x, y) - grad_x f(x, z)) with the given batch keys.

    Both lower-level gradients use the same batch (common random numbers): the
    estimate stays unbiased, and the sampling noise of the difference no longer
    gets multiplied by lambda.
    """
    k_upper, k_lower = keys
    upper_x, _ = oracles.upper_grad(x, y, k_upper)
    lower_x, _ = oracles.lower_grad(x, y, k_lower)
    lower_x_z, _ = oracles.lower_grad(x, z, k_lower)
    return upper_x + multiplier * (lower_x - lower_x_z)


def penalty_stationarity(oracles, x, y, z, multiplier):
    """The projected gradient of ``F(x, y) + lambda (f(x, y) - f(x, z))`` (min over x, y; max over z)
    on the full data: the x-part is the penalty direction d, the y- and z-parts certify that y and
    z solve their inner problems (their errors enter d multiplied by lambda)."""
    direction = penalty_direction(oracles, x, y, z, multiplier, (None, None))
    _, upper_y = oracles.upper_grad(x, y)
    return oracles.stationarity([(x, direction, oracles.project_x),
                                 (y, upper_y + multiplier * oracles.lower_grad_y(x, y), oracles.project_y),
                                 (z, multiplier * oracles.lower_grad_y(x, z), oracles.project_y)])
