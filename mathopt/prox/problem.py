"""Problems of the prox family and their result type.

* :class:`CompositeProblem`: :math:`\\min_x f(x) + g(x)` with f smooth (a gradient) and g known
  through its prox (any :class:`~mathopt.prox.base.Prox`); solved by ``fista``.
* :class:`InverseProblem`: data :math:`y = A x + \\text{noise}` with a linear forward operator
  A; the plug-and-play solvers ``pnp-admm`` / ``pnp-pgd`` solve
  :math:`\\min_x \\frac12\\|Ax - y\\|_2^2 + \\lambda g(x)` for the prox of g given as an option.

The variable x may be an array of any shape (an image): ``result.x`` is its flat copy (C
order) and ``result.array`` the array of the problem's ``shape``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..core.problem import Problem, ProblemError, as_float_matrix, as_real_array, is_sparse
from ..core.result import Result
from ..core.user import user_function
from .base import Prox

#: Relative tolerance of the adjoint test <A x, w> = <x, A' w> at construction.
ADJOINT_RTOL = 1e-6
#: Largest number of unknowns for which a matrix forward operator gets a dense Cholesky solve.
DENSE_MAX_N = 2000


class ProxProblem(Problem):
    """Base of the prox family's problems (variable of shape ``shape``, start ``x0``)."""


def _finite_array(value, name: str) -> np.ndarray:
    arr = as_real_array(value, name)
    if arr.size == 0:
        raise ProblemError(name, "must have at least one entry")
    if not np.all(np.isfinite(arr)):
        raise ProblemError(name, "contains NaN or inf")
    return arr


def _positive_or_none(value, name: str):
    if value is None:
        return None
    arr = as_real_array(value, name)
    if arr.ndim != 0 or not (np.isfinite(arr) and arr > 0):
        raise ProblemError(name, f"must be a positive finite number, got {value!r}")
    return float(arr)


def _is_jax_array(value) -> bool:
    return type(value).__module__.startswith("jax")


@dataclass(frozen=True, eq=False)
class CompositeProblem(ProxProblem):
    """:math:`\\min_x f(x) + g(x)`, f differentiable with a Lipschitz gradient, g a :class:`Prox`.

    Parameters
    ----------
    f : callable
        ``f(x) -> float`` on arrays of ``x0``'s shape. Without ``grad`` it must be JAX-traceable
        (its gradient is ``jax.grad(f)``, jitted, in float64); with ``grad`` any Python function.
    g : Prox
        The nonsmooth part, through ``g.prox(v, step)``; ``g.value`` enters ``result.fun``
        where it exists (else ``fun`` is f alone, ``extra["g_value"] = False``).
    x0 : array
        Starting point, any shape; finite.
    grad : callable, optional
        ``grad(x) -> array`` of x's shape (size).
    lipschitz : float, optional
        A Lipschitz constant L of grad f; fista then starts from the step 1/L (it still
        backtracks if the sufficient-decrease test fails).

    Raises
    ------
    ProblemError
        Naming the field: ``f``/``grad`` not callable, not JAX-traceable without ``grad``, not
        finite at ``x0`` or of the wrong shape; ``g`` not a Prox; ``x0`` empty or not finite;
        ``lipschitz`` not a positive number.

    Examples
    --------
    >>> import numpy as np, jax.numpy as jnp, mathopt
    >>> from mathopt.prox.operators import L1Norm
    >>> p = mathopt.CompositeProblem(lambda x: 0.5 * jnp.sum((x - 3.0) ** 2), L1Norm(1.0), np.zeros(2))
    >>> np.round(mathopt.solve(p).x, 6).tolist()   # soft-thresholding of 3 by 1
    [2.0, 2.0]
    """

    f: object
    g: object
    x0: object
    grad: object = field(default=None, kw_only=True)
    lipschitz: object = field(default=None, kw_only=True)

    def __post_init__(self):
        if not callable(self.f):
            raise ProblemError("f", f"must be callable, got {type(self.f).__name__}")
        if not isinstance(self.g, Prox):
            raise ProblemError("g", f"must be a mathopt.prox.Prox (e.g. L1Norm(), a set), got {type(self.g).__name__}")
        if self.grad is not None and not callable(self.grad):
            raise ProblemError("grad", f"must be callable, got {type(self.grad).__name__}")
        x0 = _finite_array(self.x0, "x0")
        object.__setattr__(self, "x0", x0)
        object.__setattr__(self, "lipschitz", _positive_or_none(self.lipschitz, "lipschitz"))
        f = user_function(self.f, "f")
        if self.grad is None:
            objective, gradient = _jax_oracles(f, x0)
        else:
            grad = user_function(self.grad, "grad")
            objective = lambda x: float(np.asarray(f(x), dtype=float))  # noqa: E731
            gradient = lambda x: np.asarray(grad(x), dtype=float)  # noqa: E731
        object.__setattr__(self, "_objective", objective)
        object.__setattr__(self, "_gradient", gradient)
        value = self.objective(x0)
        if not math.isfinite(value):
            raise ProblemError("f", f"must be finite at x0, got {value}")
        g0 = self.gradient(x0)
        if not np.all(np.isfinite(g0)):
            raise ProblemError("grad", "must be finite at x0")

    @property
    def shape(self) -> tuple:
        return self.x0.shape

    def objective(self, x) -> float:
        """f(x)."""
        value = np.asarray(self._objective(x))
        if value.size != 1:
            raise ProblemError("f", f"must return a scalar, got shape {value.shape}")
        return float(value.reshape(()))

    def gradient(self, x) -> np.ndarray:
        """grad f(x), an array of x's shape."""
        value = np.asarray(self._gradient(x), dtype=float)
        if value.size != self.x0.size:
            raise ProblemError("grad", f"must return {self.x0.size} values (x's shape {self.shape}), "
                                       f"got shape {value.shape}")
        return value.reshape(self.shape)


def _jax_oracles(f, x0):
    """Jitted float64 f and grad f of a JAX-traceable f."""
    import jax
    from ..core.jax_utils import enable_x64

    with enable_x64():
        try:
            jax.eval_shape(f, jax.numpy.asarray(x0))
        except Exception as exc:  # noqa: BLE001 - any tracing failure: ask for grad=
            raise ProblemError("f", f"is not JAX-traceable ({type(exc).__name__}: {exc}); "
                                    "write it with jax.numpy or pass grad=") from exc
        value, gradient = jax.jit(f), jax.jit(jax.grad(f))

    def objective(x):
        with enable_x64():
            return np.asarray(value(np.asarray(x, dtype=float)), dtype=float)

    def grad(x):
        with enable_x64():
            return np.asarray(gradient(np.asarray(x, dtype=float)), dtype=float)

    return objective, grad


@dataclass(frozen=True, eq=False)
class InverseProblem(ProxProblem):
    """A linear inverse problem: data :math:`y = A x + \\text{noise}`, x of shape ``shape``.

    Parameters
    ----------
    forward : array, scipy.sparse matrix, LinearOperator, Convolution or callable
        A as an (m, n) matrix (dense or sparse), a :class:`scipy.sparse.linalg.LinearOperator`
        (``matvec``/``rmatvec``), a :class:`~mathopt.prox.convolution.Convolution` (circular,
        with an exact FFT solve of :math:`A^TA + \\rho I`), or a function ``forward(x)`` (NumPy or
        JAX) of an array of ``shape`` giving m values (then ``adjoint`` is required).
    data : array
        The observations y (m values, any shape: an image for deblurring); finite.
    adjoint : callable, optional
        ``adjoint(r)`` = :math:`A^T r`, required with a function ``forward``, and only then.
    shape : tuple of int, optional
        Shape of x; default ``(n,)`` for a matrix or operator, ``data.shape`` for a function
        or a convolution (whose own shape it must match).
    x0 : array, optional
        Starting point of the solvers (``shape``); default :math:`A^T y`.

    A function pair is checked at construction on a random pair (seeded, reproducible):
    :math:`|\\langle Ax, w\\rangle - \\langle x, A^Tw\\rangle| \\le 10^{-6}(\\|Ax\\|\\|w\\| + \\|x\\|\\|A^Tw\\|)`
    (:data:`ADJOINT_RTOL`), and output sizes are checked.

    Raises
    ------
    ProblemError
        Naming the field: ``forward`` of an unknown kind or with the wrong number of
        columns/rows, ``data`` empty or not finite, ``adjoint`` missing, superfluous or
        inconsistent with ``forward``, ``shape`` or ``x0`` of the wrong size.
    """

    forward: object
    data: object
    adjoint: object = field(default=None, kw_only=True)
    shape: object = field(default=None, kw_only=True)
    x0: object = field(default=None, kw_only=True)

    def __post_init__(self):
        from .convolution import Convolution

        data = _finite_array(self.data, "data")
        object.__setattr__(self, "data", data)
        forward = self.forward
        if isinstance(forward, Convolution):
            kind, n_in = "convolution", int(np.prod(forward.shape))
            default_shape = forward.shape
            if data.shape != forward.shape and data.size != n_in:
                raise ProblemError("data", f"must have the convolution's shape {forward.shape}, got {data.shape}")
            apply, apply_adjoint = forward.apply, forward.apply_adjoint
        elif is_sparse(forward) or isinstance(forward, (np.ndarray, list, tuple)) or _is_linear_operator(forward):
            kind = "operator" if _is_linear_operator(forward) else "matrix"
            if kind == "matrix":
                forward = forward.tocsr().astype(float) if is_sparse(forward) else as_float_matrix(forward, "forward")
                if is_sparse(forward) and not np.all(np.isfinite(forward.data)):
                    raise ProblemError("forward", "contains NaN or inf")
                object.__setattr__(self, "forward", forward)
            m, n_in = forward.shape
            if data.size != m:
                raise ProblemError("data", f"must have {m} values (the rows of forward), got {data.size}")
            default_shape = (n_in,)
            matrix = forward
            apply = lambda x: np.asarray(matrix @ np.ravel(x), dtype=float)  # noqa: E731
            apply_adjoint = (lambda r: np.asarray(matrix.rmatvec(np.ravel(r)), dtype=float)) if kind == "operator" \
                else (lambda r: np.asarray(matrix.T @ np.ravel(r), dtype=float))
        elif callable(forward) and not isinstance(forward, type):
            kind = "function"
            if not callable(self.adjoint):
                raise ProblemError("adjoint", "is required (a function r -> A'r) with a function forward operator")
            default_shape = data.shape
            n_in = None
            apply, apply_adjoint = _function_pair(user_function(forward, "forward"),
                                                  user_function(self.adjoint, "adjoint"))
        else:
            raise ProblemError("forward", "must be a matrix, a scipy.sparse matrix or LinearOperator, "
                                          f"a Convolution or a function, got {type(forward).__name__}")
        if kind != "function" and self.adjoint is not None:
            raise ProblemError("adjoint", f"is only given with a function forward operator, not a {kind}")
        shape = default_shape if self.shape is None else _shape(self.shape)
        if n_in is not None and int(np.prod(shape)) != n_in:
            raise ProblemError("shape", f"{shape} has {int(np.prod(shape))} entries; forward takes {n_in}")
        object.__setattr__(self, "shape", tuple(shape))
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "_apply", apply)
        object.__setattr__(self, "_apply_adjoint", apply_adjoint)
        if kind == "function":
            self._check_adjoint()
        x0 = self.apply_adjoint(data) if self.x0 is None else _finite_array(self.x0, "x0")
        if x0.size != int(np.prod(self.shape)):
            raise ProblemError("x0", f"must have shape {self.shape}, got {x0.shape}")
        if not np.all(np.isfinite(x0)):
            raise ProblemError("x0", "A'y (the default x0) is not finite")
        object.__setattr__(self, "x0", x0.reshape(self.shape))

    def apply(self, x) -> np.ndarray:
        """:math:`Ax`, an array of ``data``'s shape."""
        value = np.asarray(self._apply(np.reshape(x, self.shape)), dtype=float)
        if value.size != self.data.size:
            raise ProblemError("forward", f"must return {self.data.size} values, got shape {value.shape}")
        return value.reshape(self.data.shape)

    def apply_adjoint(self, r) -> np.ndarray:
        """:math:`A^T r`, an array of ``shape``."""
        value = np.asarray(self._apply_adjoint(np.reshape(r, self.data.shape)), dtype=float)
        if value.size != int(np.prod(self.shape)):
            raise ProblemError("adjoint", f"must return {int(np.prod(self.shape))} values (shape {self.shape}), "
                                          f"got shape {value.shape}")
        return value.reshape(self.shape)

    def data_fidelity(self, x) -> float:
        """:math:`\\frac12\\|Ax - y\\|_2^2`."""
        residual = self.apply(x) - self.data
        return 0.5 * float(np.vdot(residual, residual))

    def _check_adjoint(self) -> None:
        rng = np.random.default_rng(0)
        x = rng.standard_normal(self.shape)
        w = rng.standard_normal(self.data.shape)
        ax, atw = self.apply(x), self.apply_adjoint(w)
        if not (np.all(np.isfinite(ax)) and np.all(np.isfinite(atw))):
            raise ProblemError("forward", "forward or adjoint returned NaN or inf on a random input")
        gap = abs(float(np.vdot(ax, w)) - float(np.vdot(x, atw)))
        scale = float(np.linalg.norm(ax) * np.linalg.norm(w)) + float(np.linalg.norm(x) * np.linalg.norm(atw))
        if gap > ADJOINT_RTOL * max(scale, np.finfo(float).tiny):
            raise ProblemError("adjoint", f"is not the adjoint of forward: <Ax, w> - <x, A'w> = {gap:.3e} on a "
                                          f"random pair (relative {gap / max(scale, 1e-300):.1e} > {ADJOINT_RTOL})")

    def norm_squared(self, iterations: int = 100) -> float:
        """:math:`\\|A\\|_2^2`: exact for a convolution or a matrix with at most
        :data:`DENSE_MAX_N` columns, else 100 power iterations on :math:`A^TA` (seeded) times 1.01."""
        from .convolution import Convolution

        if isinstance(self.forward, Convolution):
            return self.forward.norm_squared()
        if self.kind == "matrix" and int(np.prod(self.shape)) <= DENSE_MAX_N:
            dense = self.forward.toarray() if is_sparse(self.forward) else self.forward
            return float(np.linalg.norm(dense, 2) ** 2)
        v = np.random.default_rng(0).standard_normal(self.shape)
        estimate = 0.0
        for _ in range(iterations):
            v = v / np.linalg.norm(v)
            w = self.apply_adjoint(self.apply(v))
            estimate = float(np.vdot(v, w))
            v = w
            if not np.all(np.isfinite(v)) or np.linalg.norm(v) == 0:
                break
        return 1.01 * estimate


def _shape(value) -> tuple:
    try:
        shape = tuple(int(s) for s in np.atleast_1d(value))
    except (TypeError, ValueError):
        raise ProblemError("shape", f"must be a tuple of positive integers, got {value!r}") from None
    if any(s < 1 for s in shape):
        raise ProblemError("shape", f"must be a tuple of positive integers, got {value!r}")
    return shape


def _is_linear_operator(value) -> bool:
    import sys

    linalg = sys.modules.get("scipy.sparse.linalg")
    return linalg is not None and isinstance(value, linalg.LinearOperator)


def _function_pair(forward, adjoint):
    """NumPy-returning forward/adjoint. When JAX is loaded (a JAX function can only exist then)
    they run in float64 (:func:`~mathopt.core.jax_utils.enable_x64`)."""
    import sys

    def wrap(func):
        def call(x):
            if "jax" in sys.modules:
                from ..core.jax_utils import enable_x64

                with enable_x64():
                    return np.asarray(func(x), dtype=float)
            return np.asarray(func(x), dtype=float)
        return call

    return wrap(forward), wrap(adjoint)


@dataclass(frozen=True, kw_only=True, repr=False)
class ProxResult(Result):
    """Result of the prox family's solvers.

    Attributes
    ----------
    array : ndarray
        ``x`` in the problem's shape (an image for an image problem).
    """

    array: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "array", np.array(self.array, dtype=float))
