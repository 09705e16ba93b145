"""Closed convex sets given by their Euclidean projection.

Every set is a :class:`~mathopt.prox.base.Prox`: the proximal operator of the indicator
:math:`\\iota_C` (0 on C, ``inf`` outside) is the projection for every step,
``prox(v, step) = project(v)``, and ``value(x)`` is 0 on C and ``inf`` outside.
Every set has a JAX-traceable :meth:`ConvexSet.project` (usable inside
``jit``, ``vmap`` and ``lax.while_loop``; on NumPy input the sets of this module compute with
NumPy, without JAX dispatch) and is validated at construction
(:class:`~mathopt.core.problem.ProblemError` naming the field at fault).
The sets are registered as JAX pytrees when a JAX solver first uses them
(their arrays are leaves), so two sets of the same kind and shape share one
compiled solver.

.. math::

    P_C(v) = \\operatorname{argmin}_{u \\in C} \\tfrac12 \\|u - v\\|_2^2

============================  ==============================================
set                           projection
============================  ==============================================
``Reals()``                   identity
``NonnegativeOrthant()``      :math:`\\max(v, 0)`
``Box(lower, upper)``         :math:`\\min(\\max(v, l), u)` (infinite bounds allowed)
``Ball(center, radius)``      :math:`c + (v - c)\\min(1, r / \\|v - c\\|_2)`
``Simplex(total)``            sort-based projection onto
                              :math:`\\{u \\ge 0, \\sum_i u_i = s\\}` [1]_
``L1Ball(radius)``            :math:`\\operatorname{sign}(v)\\,P_{\\Delta_r}(|v|)` outside the ball
                              :math:`\\{u : \\|u\\|_1 \\le r\\}` [1]_, identity inside
``Projection(fn)``            the user's ``fn(v)`` (must be JAX-traceable)
============================  ==============================================

>>> from mathopt.sets import Box
>>> Box(0.0, 1.0).project_numpy([-1.0, 0.5, 3.0]).tolist()
[0.0, 0.5, 1.0]

References
----------
.. [1] J. Duchi, S. Shalev-Shwartz, Y. Singer, T. Chandra, "Efficient
   projections onto the l1-ball for learning in high dimensions", ICML 2008.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .core.problem import ProblemError, as_real_array
from .prox.base import Prox, array_namespace, check_step

__all__ = ["ConvexSet", "Reals", "NonnegativeOrthant", "Box", "Ball", "Simplex", "L1Ball", "Projection"]

#: Relative tolerance of the membership test of :meth:`ConvexSet.value`.
MEMBERSHIP_RTOL = 1e-8


def _float_array(value, field: str, *, allow_inf: bool = False) -> np.ndarray:
    arr = as_real_array(value, field)
    if arr.ndim > 1:
        raise ProblemError(field, f"must be a scalar or a 1-D array, got shape {arr.shape}")
    bad = np.isnan(arr) if allow_inf else ~np.isfinite(arr)
    if np.any(bad):
        raise ProblemError(field, "contains NaN" + ("" if allow_inf else " or inf"))
    return arr


class ConvexSet(Prox):
    """A closed convex set known through its Euclidean projection; as a :class:`Prox`, its
    indicator function."""

    #: names of the array attributes (the pytree leaves)
    _arrays: tuple[str, ...] = ()
    #: True when :meth:`project` also takes NumPy arrays (``array_namespace``), False for JAX only
    numpy_projection: bool = True

    def project(self, v):
        """The Euclidean projection of ``v`` (a JAX array) onto the set."""
        raise NotImplementedError

    def prox(self, v, step=1.0):
        """The prox of the indicator: the projection, whatever the step (checked positive)."""
        check_step(step)
        return self.project(v)

    def prox_numpy(self, v, step=1.0) -> np.ndarray:
        check_step(step)
        return self.project_numpy(v)

    def value(self, x) -> float:
        """The indicator: 0 when ``x`` is in the set, ``inf`` otherwise. Membership is tested as
        ``||P(x) - x||_inf <= 1e-8 max(1, ||x||_inf)`` (:data:`MEMBERSHIP_RTOL`), so that a
        computed projection counts as inside."""
        x = np.asarray(x, dtype=float)
        gap = np.max(np.abs(self.project_numpy(x) - x), initial=0.0)
        return 0.0 if gap <= MEMBERSHIP_RTOL * max(1.0, np.max(np.abs(x), initial=0.0)) else np.inf

    def project_numpy(self, v) -> np.ndarray:
        """:meth:`project` on a NumPy array, returning a float64 NumPy array (computed by NumPy for
        the sets of this module, by JAX for a :class:`Projection`)."""
        if self.numpy_projection:
            return np.asarray(self.project(np.asarray(v, dtype=float)), dtype=float)
        from .core.jax_utils import enable_x64
        import jax.numpy as jnp

        with enable_x64():
            return np.asarray(self.project(jnp.asarray(v, dtype=float)))

    def check_dimension(self, size: int, field: str) -> None:
        """Raise ProblemError(field) unless the set's arrays fit vectors of length ``size``."""
        for name in self._arrays:
            arr = getattr(self, name)
            if arr.ndim == 1 and arr.shape[0] != size:
                raise ProblemError(field, f"{type(self).__name__}.{name} has length {arr.shape[0]}, "
                                          f"but the variable has length {size}")

    def is_whole_space(self) -> bool:
        """True only for :class:`Reals` (no projection needed)."""
        return False

    def __repr__(self):
        args = ", ".join(f"{n}={getattr(self, n).tolist()!r}" for n in self._arrays)
        return f"{type(self).__name__}({args})"


class Reals(ConvexSet):
    """The whole space :math:`\\mathbb{R}^n` (projection = identity)."""

    def project(self, v):
        return v

    def is_whole_space(self) -> bool:
        return True


class NonnegativeOrthant(ConvexSet):
    """:math:`\\{u : u_i \\ge 0\\}`."""

    def project(self, v):
        return array_namespace(v).maximum(v, 0.0)


class Box(ConvexSet):
    """:math:`\\{u : l \\le u \\le r\\}`; ``lower``/``upper`` scalars or vectors, may be infinite."""

    _arrays = ("lower", "upper")

    def __init__(self, lower=-np.inf, upper=np.inf):
        self.lower = _float_array(lower, "lower", allow_inf=True)
        self.upper = _float_array(upper, "upper", allow_inf=True)
        if self.lower.ndim == 1 and self.upper.ndim == 1 and self.lower.shape != self.upper.shape:
            raise ProblemError("upper", f"shape {self.upper.shape} differs from lower's {self.lower.shape}")
        if np.any(self.lower > self.upper):
            raise ProblemError("upper", "must be >= lower elementwise (the box is empty)")

    def project(self, v):
        return array_namespace(v).clip(v, self.lower, self.upper)


class Ball(ConvexSet):
    """Euclidean ball :math:`\\{u : \\|u - c\\|_2 \\le r\\}` (``center`` scalar or vector)."""

    _arrays = ("center", "radius")

    def __init__(self, center=0.0, radius=1.0):
        self.center = _float_array(center, "center")
        self.radius = _float_array(radius, "radius")
        if self.radius.ndim != 0 or self.radius <= 0:
            raise ProblemError("radius", f"must be a positive scalar, got {radius!r}")

    def project(self, v):
        xp = array_namespace(v)
        shift = v - self.center
        norm = xp.sqrt(xp.sum(shift ** 2))
        scale = xp.minimum(1.0, self.radius / xp.maximum(norm, np.finfo(shift.dtype).tiny))
        return self.center + shift * scale


class Simplex(ConvexSet):
    """Scaled simplex :math:`\\{u \\ge 0 : \\sum_i u_i = s\\}` with ``total`` s > 0."""

    _arrays = ("total",)

    def __init__(self, total=1.0):
        self.total = _float_array(total, "total")
        if self.total.ndim != 0 or self.total <= 0:
            raise ProblemError("total", f"must be a positive scalar, got {total!r}")

    def project(self, v):
        """The projection of ``v`` (any shape: all its entries sum to ``total``)."""
        return _simplex_projection(v, self.total)


def _simplex_projection(v, total):
    """Duchi et al. (2008), Fig. 1: sort, find the last index rho with
    u_rho > (cumsum_rho - s) / rho, shift by that threshold. ``v`` of any shape."""
    xp = array_namespace(v)
    flat = xp.ravel(v)
    u = xp.sort(flat)[::-1]
    cumulative = xp.cumsum(u) - total
    index = xp.arange(1, flat.shape[0] + 1, dtype=flat.dtype)
    active = u - cumulative / index > 0
    rho = xp.max(xp.where(active, xp.arange(flat.shape[0]), 0))
    threshold = cumulative[rho] / (rho + 1.0)
    return xp.maximum(v - threshold, 0.0)


class L1Ball(ConvexSet):
    """:math:`\\{u : \\|u\\|_1 \\le r\\}` with ``radius`` r > 0 (the entries of an array of any shape).

    Outside the ball the projection is :math:`\\operatorname{sign}(v) P_{\\Delta_r}(|v|)`, with
    :math:`\\Delta_r` the simplex of total r (Duchi et al. 2008, Section 4).
    """

    _arrays = ("radius",)

    def __init__(self, radius=1.0):
        self.radius = _float_array(radius, "radius")
        if self.radius.ndim != 0 or self.radius <= 0:
            raise ProblemError("radius", f"must be a positive scalar, got {radius!r}")

    def project(self, v):
        xp = array_namespace(v)
        magnitude = xp.abs(v)
        inside = xp.sum(magnitude) <= self.radius
        return xp.where(inside, v, xp.sign(v) * _simplex_projection(magnitude, self.radius))


class Projection(ConvexSet):
    """A set given by a user projection ``fn(v) -> array`` (JAX-traceable, same shape)."""

    numpy_projection = False

    def __init__(self, fn: Callable):
        if not callable(fn):
            raise ProblemError("fn", f"must be callable, got {type(fn).__name__}")
        self.fn = fn

    def project(self, v):
        return self.fn(v)

    def __repr__(self):
        return f"Projection({getattr(self.fn, '__name__', self.fn)!r})"


_registered = False


def register_pytrees() -> None:
    """Register every set class as a JAX pytree (arrays are leaves); idempotent."""
    global _registered
    if _registered:
        return
    import jax

    def make(cls):
        def flatten(obj):
            if cls is Projection:
                return (), obj.fn
            return tuple(getattr(obj, n) for n in cls._arrays), None

        def unflatten(aux, leaves):
            obj = object.__new__(cls)
            if cls is Projection:
                obj.fn = aux
            for name, leaf in zip(cls._arrays, leaves):
                setattr(obj, name, leaf)
            return obj

        jax.tree_util.register_pytree_node(cls, flatten, unflatten)

    for cls in (Reals, NonnegativeOrthant, Box, Ball, Simplex, L1Ball, Projection):
        make(cls)
    _registered = True
