"""JAX kernels of sparse-ot (imported inside the solve function only).

Notation (Liu, Puigcerver & Blondel 2023): reg = gamma, k = max_nz, and for
column j the vector x_j = alpha + beta_j - c_j (dual) or alpha - c_j
(semi-dual). Both objectives are written as minimizations (negated duals).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp


def _top_k_columns(x, k):
    """Top-k values and row indices of each column of x (n, m): arrays (m, k)."""
    return jax.lax.top_k(x.T, k)


def _scatter_columns(values, rows, shape):
    n, m = shape
    cols = jnp.broadcast_to(jnp.arange(m)[:, None], rows.shape)
    return jnp.zeros(shape, values.dtype).at[rows, cols].set(values)


def dual_plan(alpha, beta, cost, reg, k):
    """Plan of the dual, T_ij = [x_ij]_+ / reg on the top-k entries of each column (paper eq. for
    the gradient of the conjugate of the k-sparse squared L2 regularizer)."""
    x = alpha[:, None] + beta[None, :] - cost
    top, rows = _top_k_columns(x, k)
    return _scatter_columns(jax.nn.relu(top) / reg, rows, cost.shape)


def neg_dual(params, cost, a, b, reg, k):
    """-D(alpha, beta), D = <alpha, a> + <beta, b> - sum_j (1/2reg) sum_{top-k} [x_j]_+^2."""
    alpha, beta = params
    x = alpha[:, None] + beta[None, :] - cost
    top, _ = _top_k_columns(x, k)
    return -(alpha @ a + beta @ b - jnp.sum(jax.nn.relu(top) ** 2) / (2.0 * reg))


def _sparse_simplex_columns(x, radius, reg, k):
    """Columns t_j = b_j * P_k(x_j / (b_j reg)), P_k the projection onto the k-sparse simplex
    (top-k entries projected onto the simplex, the rest 0; Kyrillidis et al. 2013)."""
    scaled = x / (radius[None, :] * reg)
    top, rows = _top_k_columns(scaled, k)                  # (m, k), sorted in decreasing order
    cumulative = jnp.cumsum(top, axis=1) - 1.0
    index = jnp.arange(1, k + 1)
    support = top - cumulative / index > 0
    size = jnp.sum(support, axis=1)
    theta = jnp.take_along_axis(cumulative, (size - 1)[:, None], axis=1) / size[:, None]
    projected = jax.nn.relu(top - theta) * radius[:, None]
    return _scatter_columns(projected, rows, x.shape)


def semi_dual_plan(alpha, cost, b, reg, k):
    return _sparse_simplex_columns(alpha[:, None] - cost, b, reg, k)


def neg_semi_dual(alpha, cost, a, b, reg, k):
    """-S(alpha), S = <alpha, a> - sum_j max_{t in b_j simplex, ||t||_0 <= k} <x_j, t> - reg/2 ||t||^2.

    The maximizer t is held constant (stop_gradient): by Danskin's theorem the
    gradient is a - T 1, so no derivative flows through the sort."""
    x = alpha[:, None] - cost
    plan = jax.lax.stop_gradient(semi_dual_plan(alpha, cost, b, reg, k))
    values = jnp.sum(x * plan, axis=0) - 0.5 * reg * jnp.sum(plan ** 2, axis=0)
    return -(alpha @ a - jnp.sum(values))


@functools.lru_cache(maxsize=None)
def lbfgs(formulation: str, k: int, max_iter: int, tol: float, history_size: int, implicit_diff: bool = False):
    """A cached jaxopt L-BFGS solver on the chosen (negated) dual."""
    import jaxopt

    fun = neg_dual if formulation == "dual" else neg_semi_dual
    objective = functools.partial(_bind_k, fun, k)
    return jaxopt.LBFGS(objective, maxiter=max_iter, tol=tol, history_size=history_size,
                        implicit_diff=implicit_diff, jit=True)


def _bind_k(fun, k, params, cost, a, b, reg):
    return fun(params, cost, a, b, reg, k)


def plan(formulation, params, data, k):
    """The plan recovered from the duals (paper eq. 10), ``data = (cost, a, b, reg)``."""
    cost, _, b, reg = data
    if formulation == "dual":
        return dual_plan(params[0], params[1], cost, reg, k)
    return semi_dual_plan(params, cost, b, reg, k)


def flat(tree):
    """The leaves of a gradient pytree concatenated (a NumPy vector)."""
    import numpy as np

    return np.concatenate([np.ravel(np.asarray(leaf)) for leaf in jax.tree_util.tree_leaves(tree)])


@functools.lru_cache(maxsize=None)
def compiled_init(formulation: str, k: int, history_size: int):
    """``jit`` of jaxopt's L-BFGS ``init_state``."""
    return jax.jit(lbfgs(formulation, k, 1, 0.0, history_size).init_state)


@functools.lru_cache(maxsize=None)
def compiled_advance(formulation: str, k: int, history_size: int):
    """``jit`` of up to ``max_steps`` L-BFGS updates in one ``lax.while_loop`` carrying a status code:
    CODE_CONVERGED when the infinity norm of the gradient is at most ``tol``, CODE_NONFINITE (step
    not committed) when the value or gradient is not finite (see ``jax_while_loop``)."""
    from ..core.jax_utils import jax_while_loop
    from ..core.status import CODE_CONVERGED, CODE_NONFINITE, CONTINUE

    solver = lbfgs(formulation, k, 1, 0.0, history_size)

    @jax.jit
    def advance(params, state, cost, a, b, reg, tol, max_steps):
        def step(carry):
            return tuple(solver.update(*carry, cost, a, b, reg))

        def status(carry):
            grad = jax.tree_util.tree_leaves(carry[1].grad)
            norm = jnp.max(jnp.stack([jnp.max(jnp.abs(g)) for g in grad]))
            finite = jnp.isfinite(carry[1].value) & jnp.isfinite(norm)
            return jnp.where(finite, jnp.where(norm <= tol, CODE_CONVERGED, CONTINUE), CODE_NONFINITE)

        return jax_while_loop(step, status, (params, state), max_steps)

    return advance
