r"""Smooth constrained nonlinear programs.

.. math::

    \min_{x \in \mathbb{R}^n} f(x) \quad \text{s.t.} \quad
    c_E(x) = 0,\; c_I(x) \le 0,\; \ell \le x \le u .

Lagrangian convention used by every NLP solver in mathopt (multipliers of
inequalities and bounds are nonnegative):

.. math::

    L(x, y_E, y_I, z) = f(x) + y_E^\top c_E(x) + y_I^\top c_I(x) + z^\top x ,

where ``z = z_u - z_l`` collects the bound multipliers (``z_i > 0`` at an
active upper bound, ``z_i < 0`` at an active lower bound).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import differentiation as diff
from .problem import Problem, ProblemError, as_float_vector, is_sparse, reject_complex
from .user import is_user_error, user_function

_DERIVATIVE_MODES = ("auto", "jax", "finite-difference")
_USER_FUNCTIONS = ("objective", "gradient", "hessian", "hessp", "eq", "eq_jacobian", "ineq", "ineq_jacobian",
                   "lagrangian_hessian")


@dataclass(frozen=True, eq=False)
class NLP(Problem):
    r"""A smooth nonlinear program ``min f(x) s.t. c_E(x)=0, c_I(x)<=0, lb<=x<=ub``.

    Parameters
    ----------
    objective : callable ``f(x) -> float``
    x0 : array_like, shape (n,)
        Starting point (finite).
    gradient : callable ``g(x) -> (n,)``, optional
    hessian : callable ``H(x) -> (n, n)``, optional
        Hessian of the objective (used when there are no constraints).
    hessp : callable ``(x, v) -> (n,)``, optional
        Hessian-vector product of the objective.
    eq, ineq : callable ``c(x) -> (m,)``, optional
        Equality constraints ``c_E(x) = 0`` and inequalities ``c_I(x) <= 0``.
    eq_jacobian, ineq_jacobian : callable ``J(x) -> (m, n)``, optional
        Jacobians, dense arrays or ``scipy.sparse`` matrices.
    lagrangian_hessian : callable ``(x, y_eq, y_ineq) -> (n, n)``, optional
        Hessian of ``f + y_eq . c_E + y_ineq . c_I`` in x (dense or sparse).
    bounds : (lb, ub), optional
        Scalars or arrays of length n; ``-inf``/``inf`` (or None) for no bound.
    derivatives : {"auto", "jax", "finite-difference"}
        How missing derivatives are obtained. ``"auto"``: JAX autodiff when
        every given function traces under JAX, else finite differences (see
        :mod:`mathopt.core.differentiation`). User-supplied derivatives are
        always used as given.
    name : str
        A label used in reports.
    known_optimum : float, optional
        Optimal value when known (test problems); used by benchmarks.

    Raises
    ------
    ProblemError
        Naming the field at fault: non-finite, empty, complex or non-vector
        ``x0``; complex bounds, bounds of the wrong length or with
        ``lb > ub``; a function or derivative returning the wrong shape, a
        complex or non-numeric value (or a non-finite objective or constraint)
        at ``x0``. An exception raised by a user function (at ``x0`` or during
        a solve) propagates unchanged: every callable is wrapped with
        :func:`mathopt.core.user.user_function`.

    Examples
    --------
    >>> import numpy as np, mathopt
    >>> p = mathopt.NLP(lambda x: x @ x, x0=[1.0, 1.0],
    ...                 eq=lambda x: np.array([x[0] + x[1] - 1.0]))
    >>> np.round(mathopt.solve(p, method="scipy-slsqp").x, 6)
    array([0.5, 0.5])
    """

    objective: Callable
    x0: np.ndarray
    gradient: Callable | None = None
    hessian: Callable | None = None
    hessp: Callable | None = None
    eq: Callable | None = None
    eq_jacobian: Callable | None = None
    ineq: Callable | None = None
    ineq_jacobian: Callable | None = None
    lagrangian_hessian: Callable | None = None
    bounds: tuple | None = None
    derivatives: str = "auto"
    name: str = ""
    known_optimum: float | None = None
    n_eq: int = field(init=False)
    n_ineq: int = field(init=False)
    lb: np.ndarray = field(init=False, repr=False)
    ub: np.ndarray = field(init=False, repr=False)
    derivative_source: str = field(init=False)

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 - frozen dataclass
        if not callable(self.objective):
            raise ProblemError("objective", "must be callable")
        for name in _USER_FUNCTIONS[1:]:
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise ProblemError(name, "must be callable or None")
        for name in _USER_FUNCTIONS:  # the user's exceptions then propagate unchanged from every solver
            set_(name, user_function(getattr(self, name), name))
        x0 = as_float_vector(self.x0, "x0")
        set_("x0", x0)
        n = x0.size
        if self.derivatives not in _DERIVATIVE_MODES:
            raise ProblemError("derivatives", f"must be one of {_DERIVATIVE_MODES}, got {self.derivatives!r}")
        if self.eq_jacobian is not None and self.eq is None:
            raise ProblemError("eq_jacobian", "given without eq")
        if self.ineq_jacobian is not None and self.ineq is None:
            raise ProblemError("ineq_jacobian", "given without ineq")
        lb, ub = _parse_bounds(self.bounds, n)
        set_("lb", lb)
        set_("ub", ub)

        # Values at x0: a user function that raises propagates as is; a value of the wrong kind
        # (shape, complex, not numeric) is a ProblemError naming the function.
        f0 = _checked_value(self.objective(x0), "objective")
        if f0.size != 1 or f0.ndim > 1:
            raise ProblemError("objective", f"must return a scalar, got shape {f0.shape}")
        if not np.isfinite(f0.reshape(())):
            raise ProblemError("objective", "is not finite at x0")
        set_("n_eq", _constraint_size(self.eq, x0, "eq"))
        set_("n_ineq", _constraint_size(self.ineq, x0, "ineq"))
        n_eq, n_ineq = self.n_eq, self.n_ineq

        source = self._choose_derivatives(x0)
        set_("derivative_source", source)
        set_("_jax", diff.JaxDerivatives(self.objective, self.eq, self.ineq) if source == "jax" else None)
        ev = self.evaluator()
        user_or = lambda name, oracle: getattr(self, name) or oracle  # noqa: E731 - the raw user value if any
        _check_derivative(lambda: user_or("gradient", ev.gradient)(x0), (n,), "gradient")
        if n_eq:
            _check_derivative(lambda: user_or("eq_jacobian", ev.eq_jacobian)(x0), (n_eq, n), "eq_jacobian")
        if n_ineq:
            _check_derivative(lambda: user_or("ineq_jacobian", ev.ineq_jacobian)(x0), (n_ineq, n), "ineq_jacobian")
        if self.hessian is not None:
            _check_derivative(lambda: self.hessian(x0), (n, n), "hessian")
        if self.hessp is not None:
            _check_derivative(lambda: self.hessp(x0, np.ones(n)), (n,), "hessp")
        if self.lagrangian_hessian is not None:
            _check_derivative(lambda: self.lagrangian_hessian(x0, np.zeros(n_eq), np.zeros(n_ineq)), (n, n),
                              "lagrangian_hessian")

    # -- derivative plumbing -------------------------------------------------
    def _choose_derivatives(self, x0) -> str:
        missing = self.gradient is None or (self.eq is not None and self.eq_jacobian is None) or (
            self.ineq is not None and self.ineq_jacobian is None)
        if self.derivatives == "finite-difference" or not missing and self.derivatives == "auto":
            return "user" if not missing else "finite-difference"
        funcs = (self.objective, self.eq, self.ineq)
        if diff.jax_traceable(funcs, x0):
            return "jax"
        if self.derivatives == "jax":
            raise ProblemError("derivatives", "'jax' requested but the functions cannot be traced by JAX "
                               "(use jax.numpy inside them, or pass derivatives)")
        return "finite-difference"

    @property
    def n(self) -> int:
        """Number of variables."""
        return self.x0.size

    @property
    def has_bounds(self) -> bool:
        return bool(np.any(np.isfinite(self.lb)) or np.any(np.isfinite(self.ub)))

    @property
    def constraint_types(self) -> frozenset:
        """The kinds of constraints present: subset of {"eq", "ineq", "bounds"}."""
        kinds = set()
        if self.n_eq:
            kinds.add("eq")
        if self.n_ineq:
            kinds.add("ineq")
        if self.has_bounds:
            kinds.add("bounds")
        return frozenset(kinds)

    def evaluator(self) -> "NLPEvaluator":
        """A fresh oracle with evaluation counters (one per solve)."""
        return NLPEvaluator(self)


class NLPEvaluator:
    """Counting oracle over an :class:`NLP`: what solvers call.

    Every method takes and returns float64 NumPy arrays (Jacobians and Hessians
    may be ``scipy.sparse`` when the user's functions return them).
    """

    def __init__(self, problem: NLP):
        self.problem = problem
        self.nfev = self.ngev = self.ncev = self.njev = self.nhev = 0
        self._jax = problem._jax
        self._fd = problem.derivative_source == "finite-difference"

    # values
    def fun(self, x) -> float:
        self.nfev += 1
        return float(np.asarray(self.problem.objective(x)).reshape(()))

    def eq(self, x) -> np.ndarray:
        if not self.problem.n_eq:
            return np.zeros(0)
        self.ncev += 1
        return np.atleast_1d(np.asarray(self.problem.eq(x), dtype=float))

    def ineq(self, x) -> np.ndarray:
        if not self.problem.n_ineq:
            return np.zeros(0)
        self.ncev += 1
        return np.atleast_1d(np.asarray(self.problem.ineq(x), dtype=float))

    # first derivatives
    def gradient(self, x) -> np.ndarray:
        self.ngev += 1
        p = self.problem
        if p.gradient is not None:
            return np.asarray(p.gradient(x), dtype=float)
        if self._jax is not None:
            return self._jax.call("gradient", x)
        return diff.fd_gradient(p.objective, x)

    def eq_jacobian(self, x):
        p = self.problem
        if not p.n_eq:
            return np.zeros((0, p.n))
        self.njev += 1
        return self._jacobian(p.eq, p.eq_jacobian, "eq_jacobian", x)

    def ineq_jacobian(self, x):
        p = self.problem
        if not p.n_ineq:
            return np.zeros((0, p.n))
        self.njev += 1
        return self._jacobian(p.ineq, p.ineq_jacobian, "ineq_jacobian", x)

    def _jacobian(self, fun, jac, name, x):
        if jac is not None:
            value = jac(x)
            return value if is_sparse(value) else np.atleast_2d(np.asarray(value, dtype=float))
        if self._jax is not None:
            return self._jax.call(name, x)
        return diff.fd_jacobian(fun, x)

    # second derivatives
    def lagrangian_hessian(self, x, y_eq=None, y_ineq=None):
        """Hessian in x of ``f + y_eq . c_E + y_ineq . c_I``."""
        p = self.problem
        y_eq = np.zeros(p.n_eq) if y_eq is None else np.asarray(y_eq, dtype=float)
        y_ineq = np.zeros(p.n_ineq) if y_ineq is None else np.asarray(y_ineq, dtype=float)
        self.nhev += 1
        if p.lagrangian_hessian is not None:
            return p.lagrangian_hessian(x, y_eq, y_ineq)
        if p.hessian is not None and not p.n_eq and not p.n_ineq:
            return p.hessian(x)
        if self._jax is not None:
            return self._jax.call("lagrangian_hessian", x, y_eq, y_ineq)
        exact = p.gradient is not None and (not p.n_eq or p.eq_jacobian is not None) and (
            not p.n_ineq or p.ineq_jacobian is not None)
        return diff.fd_hessian_from_gradient(lambda z: self._lagrangian_gradient(z, y_eq, y_ineq), x, exact)

    def _lagrangian_gradient(self, x, y_eq, y_ineq):
        g = self.gradient(x)
        if self.problem.n_eq:
            g = g + self.eq_jacobian(x).T @ y_eq
        if self.problem.n_ineq:
            g = g + self.ineq_jacobian(x).T @ y_ineq
        return np.asarray(g).ravel()

    def hessp(self, x, v) -> np.ndarray:
        """Objective Hessian-vector product."""
        p = self.problem
        self.nhev += 1
        if p.hessp is not None:
            return np.asarray(p.hessp(x, v), dtype=float)
        if p.hessian is not None:
            return np.asarray(p.hessian(x) @ v, dtype=float)
        if self._jax is not None:
            return self._jax.call("hessp", x, v)
        h = np.sqrt(np.finfo(float).eps) * max(1.0, np.linalg.norm(x)) / max(np.linalg.norm(v), 1e-300)
        return (self.gradient(x + h * v) - self.gradient(x)) / h

    def counters(self) -> dict[str, int]:
        return {"nfev": self.nfev, "ngev": self.ngev, "nhev": self.nhev}


def _checked_value(value, field_name) -> np.ndarray:
    """``value`` (what a user function returned at x0) as a float array, or a ProblemError naming it."""
    reject_complex(value, field_name)
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ProblemError(field_name, f"must return numbers, got {type(value).__name__} ({exc})") from None


def _constraint_size(fun, x0, field_name) -> int:
    if fun is None:
        return 0
    value = _checked_value(fun(x0), field_name)
    if value.ndim > 1:
        raise ProblemError(field_name, f"must return a 1-D array, got shape {value.shape}")
    if not np.all(np.isfinite(value)):
        raise ProblemError(field_name, "is not finite at x0")
    return int(value.size)


def _check_derivative(evaluate, shape, field_name):
    """Evaluate a derivative at x0 and check its kind and shape (user exceptions propagate unchanged)."""
    try:
        value = evaluate()
    except Exception as exc:  # noqa: BLE001 - mathopt's conversion of a bad value, not the user's error
        if is_user_error(exc):
            raise
        raise ProblemError(field_name, f"returned a value that is not a float array at x0 "
                                       f"({type(exc).__name__}: {exc})") from exc
    reject_complex(value, field_name)
    got = value.shape if (is_sparse(value) or hasattr(value, "shape")) else np.shape(value)
    if tuple(got) != tuple(shape):
        raise ProblemError(field_name, f"must return shape {shape} at x0, got {tuple(got)}")


def _parse_bounds(bounds, n):
    if bounds is None:
        return np.full(n, -np.inf), np.full(n, np.inf)
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):  # scipy.optimize.Bounds
        bounds = (bounds.lb, bounds.ub)
    try:
        lower, upper = bounds
    except (TypeError, ValueError):
        raise ProblemError("bounds", "must be a pair (lb, ub)") from None
    out = []
    for side, value, fill in (("lb", lower, -np.inf), ("ub", upper, np.inf)):
        if value is None:
            value = fill
        if np.ndim(value) == 1:  # None entries mean "no bound"
            value = [fill if v is None else v for v in value]
        reject_complex(value, "bounds")
        try:
            arr = np.array(value, dtype=float)
        except (TypeError, ValueError):
            raise ProblemError("bounds", f"{side} must be numeric, got {value!r}") from None
        if arr.ndim == 0:
            arr = np.full(n, float(arr))
        if arr.shape != (n,):
            raise ProblemError("bounds", f"{side} must be a scalar or have length {n}, got shape {arr.shape}")
        if np.any(np.isnan(arr)):
            raise ProblemError("bounds", f"{side} contains NaN")
        out.append(arr)
    lb, ub = out
    if np.any(lb > ub):
        i = int(np.argmax(lb > ub))
        raise ProblemError("bounds", f"lb > ub at index {i} ({lb[i]} > {ub[i]})")
    if np.any(lb == np.inf) or np.any(ub == -np.inf):
        raise ProblemError("bounds", "lb may not be +inf and ub may not be -inf")
    return lb, ub
