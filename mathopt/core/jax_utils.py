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

from .status import CODE_NONFINITE, CONTINUE


@contextlib.contextmanager
def enable_x64():
    """Run the enclosed JAX code in 64-bit precision.

    Uses ``jax.enable_x64`` where it exists (jax >= 0.8) and the older
    ``jax.experimental.enable_x64`` otherwise: both scope the setting to the block.
    """
    import jax

    scope = getattr(jax, "enable_x64", None)
    if scope is None:  # jax < 0.8
        from jax.experimental import enable_x64 as scope
    with scope(True):
        yield


def default_backend() -> str:
    """The platform JAX computes on: ``"gpu"`` when one is present, else ``"cpu"``."""
    import jax

    return jax.default_backend()


class LoopOutput(NamedTuple):
    """Output of :func:`jax_while_loop`."""

    state: object      # state at the last finite iterate
    nit: object        # iterations performed (a JAX integer)
    code: object       # a Status value, or CONTINUE when the budget ran out (a JAX int32)
    history: object    # dict name -> array of length ``capacity`` (NaN past ``nit``), or None


def jax_while_loop(step: Callable, status: Callable, state, max_steps, record: Callable | None = None,
                   capacity: int = 0) -> LoopOutput:
    """Run ``state = step(state)`` in one ``lax.while_loop`` with a status code in the carry.

    ``status(state) -> int32`` is the method's test after each step: a
    :class:`~mathopt.core.status.Status` value (``CODE_CONVERGED``,
    ``CODE_NONFINITE``, ...) or ``CONTINUE``. The loop stops at the first code
    other than ``CONTINUE`` or after ``max_steps`` steps (a traced integer: one
    compilation serves every budget). A step whose status is ``CODE_NONFINITE``
    is not committed: the returned state is the last finite one and ``nit``
    does not count it (the driver's rule for every loop). With ``record``,
    ``record(state)`` -- a dict of scalars -- is written for step ``i`` at row
    ``i`` of preallocated arrays of static length ``capacity``. Call it inside
    ``jax.jit`` so the compiled loop is cached per problem shape.
    """
    import jax
    import jax.numpy as jnp

    if record is not None:
        template = jax.eval_shape(record, state)
        history = {k: jnp.full((capacity,), jnp.nan, dtype=v.dtype if jnp.issubdtype(v.dtype, jnp.floating) else float)
                   for k, v in template.items()}
    else:
        history = None

    def cond(carry):
        _, k, code, _ = carry
        return jnp.logical_and(k < max_steps, code == CONTINUE)

    def body(carry):
        old, k, _, hist = carry
        new = step(old)
        code = jnp.asarray(status(new), dtype=jnp.int32)
        bad = code == CODE_NONFINITE
        new = jax.tree_util.tree_map(lambda a, b: jnp.where(bad, a, b), old, new)
        if hist is not None:
            rec = record(new)
            row = jnp.where(bad, capacity, k)  # out of range: dropped
            hist = {name: hist[name].at[row].set(rec[name], mode="drop") for name in hist}
        return new, k + jnp.where(bad, 0, 1), code, hist

    carry = (state, jnp.asarray(0), jnp.asarray(CONTINUE, dtype=jnp.int32), history)
    state, nit, code, history = jax.lax.while_loop(cond, body, carry)
    return LoopOutput(state, nit, code, history)
