"""The bilevel problem class and its result type.

.. math::

    \\min_{x \\in X} \\; F(x, y) \\quad \\text{s.t.} \\quad
    y \\in \\operatorname{argmin}_{y \\in Y} f(x, y)

with ``upper`` = F and ``lower`` = f JAX-traceable scalar functions (their
gradients and Hessian-vector products come from autodiff), X and Y closed
convex sets given by a projection (:mod:`mathopt.sets`). Among several
lower-level solutions the *optimistic* one (smallest F) is sought.

Stochastic oracles: with ``data`` (or ``upper_data``/``lower_data``), a pytree
of arrays sharing a leading sample axis, the objectives take a third argument,
``upper(x, y, batch)``; with ``batch_size`` the solvers draw each gradient from a
batch of that many samples (drawn with replacement using the seeded key of the
``seed`` option), without it the full dataset is passed (deterministic).
``data`` also serves to pass the parameters of a family of problems, so that
instances of one family share a compiled solver (and can be ``vmap``-ed).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..core.problem import Problem, ProblemError, as_float_vector
from ..core.result import Result
from ..core.user import user_function
from ..sets import ConvexSet, Reals


@dataclass(frozen=True, eq=False)
class BilevelProblem(Problem):
    """``min_{x in X} upper(x, y)`` s.t. ``y in argmin_{y in Y} lower(x, y)``.

    Parameters
    ----------
    upper, lower : callable
        ``upper(x, y[, batch]) -> scalar`` (F) and ``lower(x, y[, batch]) -> scalar`` (f),
        JAX-traceable. The batch argument is present exactly when the level has data.
    x0, y0 : array_like
        Initial upper- and lower-level points (1-D).
    upper_set, lower_set : mathopt.sets.ConvexSet, optional
        X and Y (default: the whole space).
    lower_constraints : callable, optional
        ``g(x, y) -> array`` of shape (m,) (a scalar counts as m = 1), JAX-traceable:
        lower-level constraints ``g(x, y) <= 0`` coupling x and y, so the lower level is
        ``min_{y in Y} f(x, y) s.t. g(x, y) <= 0``. Traced once at construction: its
        output must be a finite 1-D (or scalar) float array at (x0, y0) (x0 itself need
        not be feasible). The problem then reports
        ``constraint_types == {"lower_constraints"}``; :func:`mathopt.solve` refuses
        it to the methods that do not handle coupled constraints (``lvhba`` does),
        naming ``lower_constraints``.
    data : pytree of arrays, optional
        Samples shared by both levels (leading axis = sample index).
    upper_data, lower_data : pytree of arrays, optional
        Per-level samples (override ``data``), e.g. validation and training sets.
    batch_size : int, optional
        Mini-batch size of the stochastic oracles; None: full batches.
    name : str
        A label for reports.
    """

    upper: Callable
    lower: Callable
    x0: Any
    y0: Any
    upper_set: ConvexSet | None = None
    lower_set: ConvexSet | None = None
    lower_constraints: Callable | None = None
    data: Any = None
    upper_data: Any = None
    lower_data: Any = None
    batch_size: int | None = None
    name: str = ""
    known_solution: dict | None = field(default=None)

    def __post_init__(self):
        for name in ("upper", "lower"):
            if not callable(getattr(self, name)):
                raise ProblemError(name, "must be a callable (x, y[, batch]) -> scalar")
        if self.lower_constraints is not None and not callable(self.lower_constraints):
            raise ProblemError("lower_constraints", "must be a callable g(x, y) -> array (g <= 0)")
        # the user's exceptions (raised when JAX traces these) then reach the caller unchanged
        for name in ("upper", "lower", "lower_constraints"):
            object.__setattr__(self, name, user_function(getattr(self, name), name))
        object.__setattr__(self, "x0", as_float_vector(self.x0, "x0"))
        object.__setattr__(self, "y0", as_float_vector(self.y0, "y0"))
        for name, var in (("upper_set", "x0"), ("lower_set", "y0")):
            value = getattr(self, name)
            if value is None:
                value = Reals()
            if not isinstance(value, ConvexSet):
                raise ProblemError(name, f"must be a mathopt.sets.ConvexSet, got {type(value).__name__}")
            value.check_dimension(getattr(self, var).shape[0], name)
            object.__setattr__(self, name, value)
        for name in ("upper_data", "lower_data"):
            if getattr(self, name) is None and self.data is not None:
                object.__setattr__(self, name, self.data)
        sizes = {name: _validate_data(getattr(self, name), name) for name in ("upper_data", "lower_data")}
        if self.batch_size is not None:
            if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
                raise ProblemError("batch_size", f"must be a positive integer or None, got {self.batch_size!r}")
            if all(n is None for n in sizes.values()):
                raise ProblemError("batch_size", "given but the problem has no data to sample from")
            for name, n in sizes.items():
                if n is not None and self.batch_size > n:
                    raise ProblemError("batch_size", f"{self.batch_size} exceeds the {n} samples of {name}")
        self._check_objectives()
        self._check_constraints()

    def _check_constraints(self):
        """Evaluate g once at (x0, y0): a finite vector (or scalar) of floats."""
        if self.lower_constraints is None:
            return
        import jax.numpy as jnp

        from ..core.jax_utils import enable_x64

        with enable_x64():
            try:
                value = np.asarray(self.lower_constraints(jnp.asarray(self.x0), jnp.asarray(self.y0)))
            except Exception as exc:  # any tracing failure is a problem-definition error
                raise ProblemError("lower_constraints", f"cannot be evaluated at (x0, y0): "
                                                       f"{type(exc).__name__}: {exc}") from None
        if value.ndim > 1 or value.size == 0:
            raise ProblemError("lower_constraints", f"must return a scalar or a non-empty 1-D array, "
                                                    f"got shape {value.shape}")
        if not (np.issubdtype(value.dtype, np.floating) or np.issubdtype(value.dtype, np.integer)):
            raise ProblemError("lower_constraints", f"must return real numbers, got dtype {value.dtype}")
        if not np.all(np.isfinite(value)):
            raise ProblemError("lower_constraints", "is not finite at (x0, y0)")

    @property
    def num_lower_constraints(self) -> int:
        """m, the number of coupled lower-level constraints (0 without them)."""
        if self.lower_constraints is None:
            return 0
        import jax
        import jax.numpy as jnp

        from ..core.jax_utils import enable_x64

        with enable_x64():
            shape = jax.eval_shape(self.lower_constraints, jnp.asarray(self.x0), jnp.asarray(self.y0)).shape
        return int(np.prod(shape))

    def _check_objectives(self):
        import jax
        import jax.numpy as jnp

        from ..core.jax_utils import enable_x64

        with enable_x64():
            x, y = jnp.asarray(self.x0), jnp.asarray(self.y0)
            for name, data in (("upper", self.upper_data), ("lower", self.lower_data)):
                args = (x, y) if data is None else (x, y, jax.tree_util.tree_map(jnp.asarray, data))
                try:
                    shape = jax.eval_shape(getattr(self, name), *args).shape
                except Exception as exc:  # any tracing failure is a problem-definition error
                    raise ProblemError(name, f"cannot be evaluated at (x0, y0"
                                             f"{'' if data is None else ', data'}): {type(exc).__name__}: {exc}") from None
                if shape not in ((), (1,)):
                    raise ProblemError(name, f"must return a scalar, got shape {shape}")

    @property
    def constraint_types(self) -> frozenset:
        """Constraint kinds the solver must handle beyond the projections onto X and Y."""
        return frozenset({"lower_constraints"}) if self.lower_constraints is not None else frozenset()

    @property
    def stochastic(self) -> bool:
        """True when gradients are drawn from mini-batches."""
        return self.batch_size is not None

    @property
    def dims(self) -> tuple[int, int]:
        return self.x0.shape[0], self.y0.shape[0]


def _validate_data(data, field_name: str) -> int | None:
    """Number of samples of a data pytree (all leaves share the leading axis)."""
    if data is None:
        return None
    import jax

    leaves = jax.tree_util.tree_leaves(data)
    if not leaves:
        raise ProblemError(field_name, "has no arrays")
    sizes = set()
    for leaf in leaves:
        arr = np.asarray(leaf)
        if arr.ndim == 0:
            raise ProblemError(field_name, "every array needs a leading sample axis")
        if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
            raise ProblemError(field_name, "contains NaN or inf")
        sizes.add(arr.shape[0])
    if len(sizes) != 1:
        raise ProblemError(field_name, f"arrays disagree on the number of samples: {sorted(sizes)}")
    return sizes.pop()


@dataclass(frozen=True, kw_only=True, repr=False)  # keep Result's short repr
class BilevelResult(Result):
    """Result of a bilevel solve.

    ``x`` is the upper-level point and ``fun`` = ``upper_value`` = F(x, y) on the
    full data. Residuals (on the full data):

    * ``lower_gap``: the lower-level projected-gradient norm
      :math:`\\|y - P_Y(y - \\nabla_y f(x, y))\\|_2` (zero iff y is a stationary
      point of the lower level; for convex f, an optimality certificate);
    * ``step``: :math:`\\|x_{k+1} - x_k\\|_2`, the last upper-level move.

    With coupled lower-level constraints (``lower_constraints``, solved by ``lvhba``),
    ``multipliers`` holds the multipliers :math:`\\lambda \\ge 0` of ``g(x, y) <= 0``
    that certify y (the residuals ``lower_kkt`` and ``constraint_violation`` are computed
    with them, see :mod:`mathopt.bilevel.lvhba`); it is empty otherwise.

    ``history`` (with ``history=True``) holds, for iterates ``nit = 0, ..., result.nit``,
    ``upper_value`` (also as ``fun``), ``lower_value``, ``lower_gap`` and ``step``.
    A non-finite value of either level, residual or iterate ends the run with
    ``Status.NONFINITE`` and the last finite iterate. The callback's ``info``
    carries ``lower_value`` among its residuals (so the history and the
    non-finite check see it at every iterate) and ``y`` in ``info.extra``.
    """

    y: np.ndarray = field(default_factory=lambda: np.zeros(0))
    upper_value: float = float("nan")
    lower_value: float = float("nan")
    multipliers: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "y", np.asarray(self.y, dtype=float))
        object.__setattr__(self, "multipliers", np.asarray(self.multipliers, dtype=float).reshape(-1))
        object.__setattr__(self, "upper_value", float(self.upper_value))
        object.__setattr__(self, "lower_value", float(self.lower_value))
