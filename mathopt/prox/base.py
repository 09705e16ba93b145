"""The proximal-operator protocol shared by classical proxes, set indicators and learned
proximal networks.

For a function :math:`g` and a step :math:`t > 0`,

.. math::

    \\operatorname{prox}_{t g}(v) = \\operatorname*{argmin}_u \\; g(u) + \\frac{1}{2t}\\|u - v\\|_2^2 .

An indicator :math:`\\iota_C` of a closed convex set has :math:`\\operatorname{prox}_{t\\iota_C} = P_C`
for every t, so :class:`mathopt.sets.ConvexSet` is a :class:`Prox`.

``v`` may be an array of any shape (a vector, a matrix, an image): the norm above is the
Frobenius norm of the whole array, and ``prox`` returns an array of ``v``'s shape. Proxes
that only make sense for one shape say so (the nuclear norm takes matrices).
"""
from __future__ import annotations

import numbers

import numpy as np

from ..core.problem import ProblemError


def array_namespace(v):
    """NumPy for NumPy input (arrays, scalars, lists), jax.numpy for JAX arrays and tracers: a
    prox written with ``xp = array_namespace(v)`` runs without JAX dispatch on NumPy arrays and
    stays traceable inside ``jit``."""
    if isinstance(v, (np.ndarray, np.generic, list, tuple, float, int)):
        return np
    import jax.numpy as jnp

    return jnp


def check_step(step) -> None:
    """Raise ProblemError('step') unless ``step`` is a positive finite real number.

    A JAX tracer (a step inside ``jit``) cannot be checked and passes through.
    """
    if isinstance(step, (bool, np.bool_)) or isinstance(step, (str, bytes)):
        raise ProblemError("step", f"must be a positive finite number, got {step!r}")
    if isinstance(step, numbers.Real) or (isinstance(step, np.ndarray) and step.ndim == 0):
        if not (np.isfinite(step) and step > 0):
            raise ProblemError("step", f"must be a positive finite number, got {step!r}")
    elif isinstance(step, np.ndarray):
        raise ProblemError("step", f"must be a scalar, got an array of shape {step.shape}")


class Prox:
    """A function :math:`g` known through its proximal operator.

    Subclasses implement :meth:`prox` (and :meth:`value` where g can be evaluated).

    Attributes
    ----------
    traceable : bool
        True when :meth:`prox` and :meth:`value` are JAX-traceable (usable inside ``jit`` and
        ``lax.while_loop``); False for proxes computed by NumPy code (e.g. scikit-image's TV).
    """

    traceable: bool = True

    def prox(self, v, step=1.0):
        """:math:`\\operatorname{prox}_{t g}(v)` for ``step`` t > 0; an array of v's shape."""
        raise NotImplementedError

    def value(self, x) -> float:
        """:math:`g(x)` (``inf`` outside the domain); NotImplementedError where g has no
        computable value."""
        raise NotImplementedError(f"{type(self).__name__} has no computable value")

    def prox_numpy(self, v, step=1.0) -> np.ndarray:
        """:meth:`prox` on a NumPy array, returning a float64 NumPy array of v's shape."""
        if not self.traceable:
            return np.asarray(self.prox(np.asarray(v, dtype=float), step), dtype=float)
        from ..core.jax_utils import enable_x64
        import jax.numpy as jnp

        with enable_x64():
            return np.asarray(self.prox(jnp.asarray(v, dtype=float), step), dtype=float)


def has_value(g: Prox, x) -> bool:
    """Whether ``g.value`` is implemented (probed at ``x``, a point of the problem's shape)."""
    try:
        g.value(x)
    except NotImplementedError:
        return False
    return True


def value_or_zero(g: Prox, x) -> float:
    """``g.value(x)``, or 0 where g has no computable value (a solver's ``fun`` is then the
    smooth part alone, and says so with ``extra["g_value"] = False``)."""
    try:
        return float(g.value(x))
    except NotImplementedError:
        return 0.0
