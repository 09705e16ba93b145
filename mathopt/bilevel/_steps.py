"""Step sizes that adapt to the problem's scale (mathopt's addition to every bilevel method).

The papers of the bilevel methods take constant steps set from Lipschitz constants
(:math:`1/L`) that the user rarely knows; a problem multiplied by 1e3 then diverges
and one multiplied by 1e-3 crawls. The bilevel methods use instead:

* **lower-level steps** :math:`1/\\hat L`, with :math:`\\hat L` an estimate of the
  Lipschitz constant of :math:`\\nabla_y f` (or of :math:`\\nabla_y F`): power iteration on
  the Hessian (Hessian-vector products by autodiff, :func:`hessian_norm`) at the start,
  then the running maximum of the secant estimates
  :math:`\\|\\nabla_y f(y_{t+1}) - \\nabla_y f(y_t)\\| / \\|y_{t+1} - y_t\\|` met along the
  inner iterations (:func:`descend`), so a curvature larger than the first estimate is
  caught on the way (deterministic oracles only: with sampled gradients the secants
  measure the noise, and the first estimate is kept);
* **upper-level steps** by the adaptive rule of Malitsky & Mishchenko (ICML 2020,
  "Adaptive gradient descent without descent", Algorithm 1), which needs no function
  values and no line search:
  :math:`\\alpha_k = \\min\\{\\sqrt{1+\\theta_{k-1}}\\,\\alpha_{k-1},\\;
  \\|x_k - x_{k-1}\\| / (2\\|d_k - d_{k-1}\\|)\\}`, :math:`\\theta_k = \\alpha_k/\\alpha_{k-1}`
  (:func:`adaptive_step`), applied to the method's own direction d (hypergradient or
  penalty gradient; projected steps). Its analysis covers convex problems with exact
  gradients; here the directions are inexact (inner loops), which we state as ours.
  Where x does not move (it sits at a bound) the step is kept.

Every quantity here is traced: the estimates live in the method's state, so no step
size is a compile-time constant.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

#: Power-iteration steps of the initial Lipschitz estimates.
POWER_STEPS = 20
#: Safety factor on the Lipschitz estimates (power iteration approaches the top eigenvalue from below).
SAFETY = 1.2
#: The first upper step, relative to 1 / ||d_0|| (tiny: the adaptive rule then sets the scale).
FIRST_STEP = 1e-6
#: theta_0 of the adaptive rule (the paper's +inf would let a linear direction take an infinite step).
FIRST_THETA = 1e4


def hessian_norm(fn, y):
    """Estimate of the largest |eigenvalue| of the Hessian of ``fn`` at ``y`` (power iteration on
    Hessian-vector products from a fixed pseudo-random start), at least a tiny positive number."""
    grad = jax.grad(fn)
    _, hvp = jax.linearize(grad, y)
    start = jax.random.normal(jax.random.PRNGKey(0), y.shape, dtype=y.dtype)

    def body(_, carry):
        v, _ = carry
        w = hvp(v)
        norm = jnp.linalg.norm(w)
        return w / jnp.where(norm > 0, norm, 1.0), norm

    _, norm = jax.lax.fori_loop(0, POWER_STEPS, body, (start / jnp.linalg.norm(start), jnp.asarray(0.0)))
    return jnp.maximum(SAFETY * norm, 1e-12)


def secant(dv, dg, previous):
    """max(previous, SAFETY ||dg|| / ||dv||) (previous where v did not move)."""
    moved = jnp.linalg.norm(dv)
    estimate = SAFETY * jnp.linalg.norm(dg) / jnp.where(moved > 0, moved, 1.0)
    return jnp.where(moved > 0, jnp.maximum(previous, estimate), previous)


def descend(grad, project, v, lipschitz, steps, key, adapt=True):
    """``steps`` projected gradient steps ``v <- P(v - grad(v, key_t) / L)`` with the running
    secant update of L (``adapt=False``: L fixed, the step 1/L given by the user);
    ``grad(v, key)`` with ``key=None`` uses the full data. Returns (v, L)."""
    def body(_, carry):
        v, g, lip, k = carry
        k, sub = (None, None) if k is None else jax.random.split(k)
        new = project(v - g / lip)
        g_new = grad(new, sub)
        return new, g_new, secant(new - v, g_new - g, lip) if adapt else lip, k

    if steps == 0:
        return v, lipschitz
    k0, k = (None, None) if key is None else jax.random.split(key)
    v, _, lipschitz, _ = jax.lax.fori_loop(0, steps, body, (v, grad(v, k0), lipschitz, k))
    return v, lipschitz


def first_step(direction):
    """The first upper step: FIRST_STEP / ||d_0|| (1 when d_0 = 0)."""
    norm = jnp.linalg.norm(direction)
    return jnp.where(norm > 0, FIRST_STEP / jnp.where(norm > 0, norm, 1.0), 1.0)


def adaptive_step(alpha, theta, dx, dd):
    """Malitsky-Mishchenko: (alpha_k, theta_k) from alpha_{k-1}, theta_{k-1} and the last moves
    dx = x_k - x_{k-1}, dd = d_k - d_{k-1} (alpha kept where x did not move)."""
    moved, change = jnp.linalg.norm(dx), jnp.linalg.norm(dd)
    local = jnp.where(change > 0, moved / (2.0 * jnp.where(change > 0, change, 1.0)), jnp.inf)
    new = jnp.minimum(jnp.sqrt(1.0 + theta) * alpha, local)
    new = jnp.where(moved > 0, new, alpha)
    return new, new / alpha


def upper_init(x, direction) -> dict:
    """The adaptive rule's entries of a method's state at x_0 with direction d_0."""
    return {"x_prev": x, "d_prev": direction, "alpha": first_step(direction),
            "theta": jnp.asarray(FIRST_THETA, dtype=x.dtype)}


def upper_move(state, direction, project, step_size=None):
    """(x_{k+1}, entries of the new state): the projected step along ``direction`` (d_k at
    ``state["x"]``) with the adaptive step, or the constant ``step_size`` when given."""
    x = state["x"]
    if step_size is None:
        alpha, theta = adaptive_step(state["alpha"], state["theta"], x - state["x_prev"], direction - state["d_prev"])
    else:
        alpha, theta = jnp.asarray(step_size, dtype=x.dtype), state["theta"]
    return project(x - alpha * direction), {"x_prev": x, "d_prev": direction, "alpha": alpha, "theta": theta}


def lower_lipschitz(oracles, opts, x, y):
    """L of grad_y f at (x, y) on the full data: 1 / ``inner_step_size`` when the user gave it,
    else the power-iteration estimate."""
    if opts.inner_step_size is not None:
        return 1.0 / jnp.asarray(opts.inner_step_size, dtype=y.dtype)
    return hessian_norm(lambda v: oracles.lower(x, v), y)


def curvature_ratio(fn, y, lipschitz):
    """Estimate of lambda_min / L for the Hessian of ``fn`` at ``y`` (PSD expected): power iteration on
    L I - H gives L - lambda_min. Near 0: the Hessian is singular (several lower-level solutions)."""
    grad = jax.grad(fn)
    _, hvp = jax.linearize(grad, y)
    start = jax.random.normal(jax.random.PRNGKey(1), y.shape, dtype=y.dtype)

    def body(_, carry):
        v, _ = carry
        w = lipschitz * v - hvp(v)
        norm = jnp.linalg.norm(w)
        return w / jnp.where(norm > 0, norm, 1.0), norm

    _, top = jax.lax.fori_loop(0, 4 * POWER_STEPS, body, (start / jnp.linalg.norm(start), jnp.asarray(0.0)))
    return jnp.clip((lipschitz - top) / lipschitz, 0.0, 1.0)


def singular_lower_check(oracles, opts, state, stationarity, scale):
    """``lower_curvature`` = lambda_min / L of the lower Hessian at the returned (x, y), computed once
    the method is stationary (1 before, to save the work): near 0 the lower level has several
    solutions, which the hypergradient methods cannot select among (not the optimistic one)."""
    def ratio(_):
        x = state["x"]
        fn = lambda v: oracles.lower(x, v)  # noqa: E731
        return curvature_ratio(fn, state["y"], hessian_norm(fn, state["y"]))

    stationary = stationarity <= opts.stationarity_tol * scale
    return jax.lax.cond(stationary, ratio, lambda _: jnp.ones_like(stationarity), None)


#: lower_curvature below this: the lower Hessian is taken as singular.
SINGULAR = 1e-6


def singular_message(name, residuals) -> str:
    return (f"{name} stopped at a stationary point of its hypergradient, but the lower-level Hessian is "
            f"singular there (lower_curvature = {residuals['lower_curvature']:.1e}): the lower level has several "
            f"solutions and the hypergradient does not select the optimistic one; use method='penalty-bo' or "
            f"'pbgd' (optimistic selection)")
