"""The proximal-operator protocol shared by classical proxes, set indicators and learned
proximal networks.

For a function :math:`g` and a step :math:`t > 0`,

.. math::

    \\operatorname{prox}_{t g}(v) = \\operatorname*{argmin}_u \\; g(u) + \\frac{1}{2t}\\|u - v\\|_2^2 .

An indicator :math:`\\iota_C` of a closed convex set has :math:`\\operatorname{prox}_{t\\iota_C} = P_C`
for every t, so :class:`mathopt.sets.ConvexSet` is a :class:`Prox`.
"""
from __future__ import annotations

import numpy as np


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
        """:meth:`prox` on a NumPy array, returning a float64 NumPy array."""
        if not self.traceable:
            return np.asarray(self.prox(np.asarray(v, dtype=float), step), dtype=float)
        from ..core.jax_utils import enable_x64
        import jax.numpy as jnp

        with enable_x64():
            return np.asarray(self.prox(jnp.asarray(v, dtype=float), step), dtype=float)
