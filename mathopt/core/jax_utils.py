"""JAX helpers: float64 scope and the compiled-loop path.

mathopt never flips JAX's global ``jax_enable_x64`` flag behind the user's back:
every JAX solver runs inside :func:`enable_x64`, a context manager that turns
64-bit mode on for the duration of the solve only, so answers are float64
whatever the user's global setting. JAX places arrays on its default backend:
the GPU when one is present, otherwise the CPU, with no change to the code.
"""
from __future__ import annotations

import contextlib
from typing import Callable, NamedTuple


@contextlib.contextmanager
def enable_x64():
    """Run the enclosed JAX code in 64-bit precision."""
    import jax

    with jax.enable_x64(True):
        yield


def default_backend() -> str:
    """The platform JAX computes on: ``"gpu"`` when one is present, else ``"cpu"``."""
    import jax

    return jax.default_backend()


class LoopOutput(NamedTuple):
    """Output of :func:`jax_while_loop`."""

    state: object      # final solver state
    nit: object        # iterations performed (a JAX integer)
    history: object    # dict name -> array of length ``max_iter`` (NaN past ``nit``), or None


def jax_while_loop(step: Callable, done: Callable, state, max_iter: int,
                   record: Callable | None = None) -> LoopOutput:
    """Run ``state = step(state)`` in one ``lax.while_loop`` until ``done(state)``.

    This is the compiled path of the driver for JAX solvers with no callback:
    the whole iteration runs on the device, stops when ``done(state)`` is true
    or after ``max_iter`` steps, and (when ``record`` is given) writes
    ``record(state)`` -- a dict of scalars -- into preallocated history arrays
    so history works inside compiled code. Call it inside ``jax.jit`` (with
    ``max_iter`` static) so the compiled loop is cached per problem shape.
    """
    import jax
    import jax.numpy as jnp

    if record is not None:
        template = jax.eval_shape(record, state)
        history = {k: jnp.full((max_iter,), jnp.nan, dtype=v.dtype if jnp.issubdtype(v.dtype, jnp.floating) else float)
                   for k, v in template.items()}
    else:
        history = None

    def cond(carry):
        st, k, _ = carry
        return jnp.logical_and(k < max_iter, jnp.logical_not(done(st)))

    def body(carry):
        st, k, hist = carry
        st = step(st)
        if hist is not None:
            rec = record(st)
            hist = {name: hist[name].at[k].set(rec[name]) for name in hist}
        return st, k + 1, hist

    state, nit, history = jax.lax.while_loop(cond, body, (state, jnp.asarray(0), history))
    return LoopOutput(state, nit, history)
