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
import jax.numpy as jnp

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


# ---------------------------------------------------------------------------------------------
# The adaptive penalty loop shared by pbgd (value variant), penalty-bo and f2sa (schedule
# "adaptive"): mathopt's step sizes and penalty continuation around the methods' updates.
# ---------------------------------------------------------------------------------------------

def track_adaptive(oracles, x, y, z, multiplier, lips, steps, key, fixed=(None, None)):
    """Projected steps of y on F + lambda f and of z on f sharing their lower batch:
    ``steps = (y_steps, z_steps)``; the y step is ``fixed[0] / lambda`` (a step ``fixed[0]`` on
    F / lambda + f) or 1 / (L_F + lambda L_f), the
    z step ``fixed[1]`` or 1 / L_f, with ``lips`` = (L_F, L_f) raised to the secant estimates
    met on the way (adaptive steps only). Returns (y, z, lips)."""
    from ._steps import secant

    y_steps, z_steps = steps
    y_fixed, z_fixed = fixed

    def grads(y, z, k):
        k_upper, k_lower = (None, None) if k is None else jax.random.split(k)
        _, upper_y = oracles.upper_grad(x, y, k_upper)
        lower_y = oracles.lower_grad_y(x, y, k_lower)
        return upper_y + multiplier * lower_y, oracles.lower_grad_y(x, z, k_lower)

    def body(t, carry):
        y, z, gy, gz, (lip_upper, lip_lower), k = carry
        k, sub = (None, None) if k is None else jax.random.split(k)
        y_step = 1.0 / (lip_upper + multiplier * lip_lower) if y_fixed is None else y_fixed / multiplier
        z_step = 1.0 / lip_lower if z_fixed is None else z_fixed
        y_new = jnp.where(t < y_steps, oracles.project_y(y - y_step * gy), y)
        z_new = jnp.where(t < z_steps, oracles.project_y(z - z_step * gz), z)
        gy_new, gz_new = grads(y_new, z_new, sub)
        # secants of sampled gradients measure the noise, not the curvature: deterministic only
        if z_fixed is None and oracles.batch_size is None:
            lip_lower = secant(z_new - z, gz_new - gz, lip_lower)
        if y_fixed is None and oracles.batch_size is None:
            whole = secant(y_new - y, gy_new - gy, lip_upper + multiplier * lip_lower)
            lip_upper = jnp.maximum(lip_upper, whole - multiplier * lip_lower)
        return y_new, z_new, gy_new, gz_new, (lip_upper, lip_lower), k

    if max(y_steps, z_steps) == 0:
        return y, z, lips
    k0, k = (None, None) if key is None else jax.random.split(key)
    gy, gz = grads(y, z, k0)
    y, z, _, _, lips, _ = jax.lax.fori_loop(0, max(y_steps, z_steps), body, (y, z, gy, gz, tuple(lips), k))
    return y, z, lips


class PenaltyLoop:
    """The x / y / z iteration of the penalty methods with adaptive steps and continuation.

    ``settings(opts)`` (a method hook) gives the static structure: ``y_steps``, ``z_steps``,
    and the traced values ``penalty`` (lambda_0), ``penalty_growth``, ``penalty_max``,
    ``step_size`` (None: adaptive x step), ``lower_step`` / ``value_step`` (None: 1 / L
    estimates for the y step on F + lambda f and the z step on f).

    Iteration: x_{k+1} = P_X(x_k - alpha_k d_k) (alpha_k adaptive); y and z tracked at x_{k+1};
    d_{k+1} = grad_x F(x, y) + lambda (grad_x f(x, y) - grad_x f(x, z)); then the continuation
    (mathopt's): lambda grows by ``penalty_growth`` (up to ``penalty_max``) when the penalty
    problem of the current lambda is solved to the accuracy of its own bias, i.e. when its
    stationarity is at most max(stationarity_tol, lower_gap) while lower_gap > lower_gap_tol.
    """

    def __init__(self, settings):
        self.settings = settings

    def _lips(self, oracles, opts, s, x, y):
        """(L_F, L_f): power-iteration estimates of the y-Lipschitz constants of grad F and grad f."""
        from ._steps import hessian_norm

        return hessian_norm(lambda v: oracles.upper(x, v), y), hessian_norm(lambda v: oracles.lower(x, v), y)

    def _track(self, oracles, s, x, y, z, multiplier, lips, key):
        return track_adaptive(oracles, x, y, z, multiplier, lips, (s["y_steps"], s["z_steps"]), key,
                              (s["lower_step"], s["value_step"]))

    def _finish(self, oracles, opts, s, x, y, z, multiplier, keys, grow):
        """d at the new point, the full-data stationarity and the continuation of lambda."""
        stationarity = penalty_stationarity(oracles, x, y, z, multiplier)
        _, gap = oracles.lower_value_and_gap(x, y)
        more = jnp.asarray(False)
        if grow:
            more = (stationarity <= jnp.maximum(opts.stationarity_tol, gap)) & (gap > opts.lower_gap_tol)
            new = jnp.where(more, jnp.minimum(multiplier * s["penalty_growth"], s["penalty_max"]), multiplier)
            # y_lambda - z is O(1/lambda) to first order: rescaling it is the warm start for the new lambda
            y = oracles.project_y(z + (y - z) * (multiplier / new))
            if s.get("penalty_increment") is not None:  # pbgd: the authors' linear ramp, every iteration
                new = jnp.minimum(new + s["penalty_increment"], s["penalty_max"])
            multiplier = new
        return penalty_direction(oracles, x, y, z, multiplier, keys), multiplier, stationarity, more, y

    def init(self, oracles, opts, x0, y0, key):
        from ._steps import upper_init

        s = self.settings(opts)
        multiplier = jnp.asarray(s["penalty"], dtype=x0.dtype)
        lips = self._lips(oracles, opts, s, x0, y0)
        key, keys = split(key, 3)
        y, z, lips = self._track(oracles, s, x0, y0, y0, multiplier, lips, keys[0])
        d, _, stationarity, _, y = self._finish(oracles, opts, s, x0, y, z, multiplier, tuple(keys[1:]), False)
        return {"x": x0, "y": y, "z": z, "key": key, "penalty": multiplier, "lips": lips, "d": d,
                "stationarity": stationarity, **upper_init(x0, d)}

    def step(self, oracles, opts, state):
        from ._steps import upper_move

        s = self.settings(opts)
        key, keys = split(state["key"], 3)
        x, moves = upper_move(state, state["d"], oracles.project_x, s["step_size"])
        y, z, lips = self._track(oracles, s, x, state["y"], state["z"], state["penalty"], state["lips"], keys[0])
        d, multiplier, stationarity, more, y = self._finish(oracles, opts, s, x, y, z, state["penalty"],
                                                         tuple(keys[1:]), True)
        # a new lambda changes d without a move of x: the adaptive rule restarts its secant there
        moves = {**moves, "x_prev": jnp.where(more, x, moves["x_prev"]), "d_prev": jnp.where(more, d, moves["d_prev"])}
        return {"x": x, "y": y, "z": z, "key": key, "penalty": multiplier, "lips": lips, "d": d,
                "stationarity": stationarity, **moves}

    @staticmethod
    def residuals(state):
        """``stationarity`` (of the penalty problem of the lambda in use, full data) and ``penalty``
        (that lambda: not a residual, reported so that the history shows the continuation)."""
        return {"stationarity": state["stationarity"], "penalty": state["penalty"]}

    @staticmethod
    def converged(opts, residuals, penalty_max):
        capped = residuals["penalty"] >= penalty_max
        return (residuals["stationarity"] <= opts.stationarity_tol) & (
            (residuals["lower_gap"] <= opts.lower_gap_tol) | capped)

    @staticmethod
    def inaccurate(opts, residuals):
        return residuals["lower_gap"] > opts.lower_gap_tol

    @staticmethod
    def message(name, opts, status, residuals):
        from ..core.status import Status

        if status is not Status.CONVERGED_INACCURATE:
            return ""
        return (f"{name} solved its penalty problem with the largest penalty {residuals['penalty']:.3g} "
                f"(penalty_max), but y is not a lower-level solution to lower_gap_tol "
                f"(lower_gap {residuals['lower_gap']:.1e} > {opts.lower_gap_tol:.1e}; the penalty's O(1/penalty) "
                f"bias): raise penalty_max or lower_gap_tol")
