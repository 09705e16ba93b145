"""The transport problem and its result type.

.. math::

    \\min_{P \\in U(a, b)} F(P), \\qquad
    U(a, b) = \\{P \\in \\mathbb{R}_+^{n \\times m} : P \\mathbf{1}_m = a,\\;
    P^\\top \\mathbf{1}_n = b\\},

with either a linear objective :math:`F(P) = \\langle C, P \\rangle` (``cost``)
or a general convex ``objective`` :math:`F` (JAX-traceable, or with a user
``gradient``). Methods add their own regularization through options (``reg``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..core.problem import Problem, ProblemError, as_float_matrix, as_float_vector
from ..core.result import Result
from ..core.user import user_function


@dataclass(frozen=True)
class TransportProblem(Problem):
    """Optimal transport between histograms ``a`` (n) and ``b`` (m).

    Parameters
    ----------
    a, b : array_like
        Nonnegative, finite marginals of equal total mass (within ``mass_tol``
        relative to the mass of ``a``).
    cost : array_like (n, m), optional
        Cost matrix C of linear OT, :math:`F(P) = \\langle C, P\\rangle`.
    objective : callable, optional
        A convex ``objective(P) -> float`` over plans (n, m). If ``gradient``
        is not given it must be JAX-traceable (the gradient comes from
        ``jax.grad``). Exactly one of ``cost`` and ``objective`` is required.
    gradient : callable, optional
        ``gradient(P) -> (n, m) array``, the gradient of ``objective``.
    stochastic_gradient : callable, optional
        Online mode: ``stochastic_gradient(P, rng) -> (n, m) array`` draws an
        unbiased estimate of the gradient at ``P`` (for linear OT, a noisy or
        sampled cost) with the ``numpy.random.Generator`` ``rng`` seeded from
        the solver's ``seed``. Methods that support it (``mirror-sinkhorn``)
        use it instead of the exact gradient; ``cost``/``objective`` then only
        serve to report ``fun``.
    mass_tol : float, default 1e-8
        Relative tolerance on ``|sum(a) - sum(b)|``.
    """

    a: np.ndarray
    b: np.ndarray
    cost: np.ndarray | None = None
    objective: Callable | None = None
    gradient: Callable | None = None
    stochastic_gradient: Callable | None = None
    mass_tol: float = 1e-8

    def __post_init__(self):
        a = _marginal(self.a, "a")
        b = _marginal(self.b, "b")
        if not (np.isfinite(self.mass_tol) and self.mass_tol >= 0):
            raise ProblemError("mass_tol", f"must be a nonnegative number, got {self.mass_tol!r}")
        if abs(a.sum() - b.sum()) > self.mass_tol * max(a.sum(), 1e-300):
            raise ProblemError("b", f"total mass {b.sum():.17g} differs from the mass of a "
                                    f"{a.sum():.17g} by more than mass_tol={self.mass_tol:g} (relative)")
        if (self.cost is None) == (self.objective is None):
            raise ProblemError("cost", "give exactly one of cost (linear OT) and objective "
                                       f"(got {'both' if self.cost is not None else 'neither'})")
        cost = None
        if self.cost is not None:
            cost = as_float_matrix(self.cost, "cost", shape=(a.size, b.size))
        if self.objective is not None and not callable(self.objective):
            raise ProblemError("objective", "must be callable")
        if self.gradient is not None:
            if self.objective is None:
                raise ProblemError("gradient", "is the gradient of objective; give objective too")
            if not callable(self.gradient):
                raise ProblemError("gradient", "must be callable")
        if self.stochastic_gradient is not None and not callable(self.stochastic_gradient):
            raise ProblemError("stochastic_gradient", "must be callable")
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "cost", cost)
        for name in ("objective", "gradient", "stochastic_gradient"):  # the user's exceptions propagate unchanged
            object.__setattr__(self, name, user_function(getattr(self, name), name))

    @property
    def shape(self) -> tuple[int, int]:
        return (self.a.size, self.b.size)

    @property
    def is_linear(self) -> bool:
        return self.cost is not None

    def value(self, plan: np.ndarray) -> float:
        """The objective F(P) (``<C, P>`` for linear OT)."""
        if self.cost is not None:
            return float(np.sum(self.cost * plan))
        value = np.asarray(self.objective(plan))
        if value.size != 1:
            raise ProblemError("objective", f"returned an array of shape {value.shape}; it must return a scalar")
        return float(value.ravel()[0])

    def gradient_function(self) -> Callable:
        """``P -> grad F(P)`` as NumPy arrays (JAX autodiff when no gradient was given).

        A user ``gradient`` whose value does not have the plan's shape raises a
        :class:`ProblemError` naming ``gradient``; NaN/inf values are returned
        as they are (the solver ends with ``Status.NONFINITE``).
        """
        if self.cost is not None:
            cost = self.cost
            return lambda plan: cost
        if self.gradient is not None:
            return checked_gradient(self.gradient, "gradient", self.shape)
        return _jax_gradient(self.objective)

    def stochastic_gradient_function(self, rng) -> Callable:
        """``P -> stochastic_gradient(P, rng)`` as a NumPy array, checked like ``gradient_function``."""
        draw = checked_gradient(self.stochastic_gradient, "stochastic_gradient", self.shape)
        return lambda plan: draw(plan, rng)

    def marginal_error(self, plan: np.ndarray) -> float:
        """``max(||P 1 - a||_1, ||P^T 1 - b||_1)``: the residual named ``marginal``."""
        return marginal_error(plan, self.a, self.b)


def plan_info(problem, plan, nit, elapsed, **extra_residuals):
    """IterationInfo of a dense plan: x = plan.ravel(), fun = F(plan), marginal error."""
    from ..core.driver import IterationInfo

    residuals = {"marginal": problem.marginal_error(plan), **extra_residuals}
    return IterationInfo(nit=nit, x=plan.ravel(), fun=problem.value(plan), residuals=residuals, elapsed=elapsed)


def checked_gradient(func: Callable, name: str, shape) -> Callable:
    """``func`` returning float arrays; a value of another shape than ``shape`` raises a ProblemError
    naming ``name`` (at the first evaluation)."""

    def gradient(*args):
        value = np.asarray(func(*args), dtype=float)
        if value.shape != tuple(shape):
            raise ProblemError(name, f"returned an array of shape {value.shape}; the plan's shape is {tuple(shape)}")
        return value

    return gradient


def linear_ot_lower_bound(cost, a, b, alpha) -> float:
    """A certified lower bound on ``min_{P in U(a, b)} <C, P>`` from any row potentials ``alpha``.

    Two c-transforms make the pair dual feasible: beta_j = min_i (C_ij - alpha_i),
    then alpha_i = min_j (C_ij - beta_j), so alpha_i + beta_j <= C_ij and, by weak LP
    duality, <a, alpha> + <b, beta> <= <C, P> for every P in U(a, b). Rows and columns of
    zero mass are left out (their potentials do not enter the bound).
    """
    rows, cols = a > 0, b > 0
    cost = cost[np.ix_(rows, cols)] if not (rows.all() and cols.all()) else cost
    beta = np.min(cost - alpha[rows][:, None], axis=0)
    alpha = np.min(cost - beta[None, :], axis=1)
    return float(a[rows] @ alpha + b[cols] @ beta)


def marginal_error(plan, a, b) -> float:
    return float(max(np.abs(plan.sum(axis=1) - a).sum(), np.abs(plan.sum(axis=0) - b).sum()))


def _marginal(value, name: str) -> np.ndarray:
    arr = as_float_vector(value, name)
    if np.any(arr < 0):
        raise ProblemError(name, f"must be nonnegative (entry {int(np.argmin(arr))} is {arr.min():g})")
    if arr.sum() <= 0:
        raise ProblemError(name, "must have positive total mass")
    return arr


def _jax_gradient(objective: Callable) -> Callable:
    import jax

    from ..core.jax_utils import enable_x64

    with enable_x64():
        grad = jax.jit(jax.grad(objective))

    def gradient(plan):
        with enable_x64():
            return np.asarray(grad(plan), dtype=float)

    return gradient


@dataclass(frozen=True, kw_only=True)
class TransportResult(Result):
    """Result of a transport solver.

    ``x`` is ``plan`` flattened in row-major order (``plan.ravel()``, dense),
    so every mathopt result has an array ``x``; ``fun`` is the problem's
    objective F at the returned plan (the unregularized ``<C, P>`` for
    linear OT, whatever ``reg``). ``residuals["marginal"]`` is
    ``max(||P 1 - a||_1, ||P^T 1 - b||_1)``.

    Attributes
    ----------
    plan : ndarray (n, m) or scipy.sparse.csc_array
        The transport plan; sparse (CSC) for ``sparse-ot``.
    f, g : ndarray or None
        Dual potentials of the marginal constraints on a and b, for methods
        that have them (``sinkhorn``, ``sparse-ot``), else None.
    regularized_objective : float
        The objective the method minimized including its regularization
        (equal to ``fun`` for unregularized methods).
    dual_objective : float
        The dual objective at (f, g) for dual methods, else nan.
    """

    plan: object = None
    f: np.ndarray | None = None
    g: np.ndarray | None = None
    regularized_objective: float = float("nan")
    dual_objective: float = float("nan")
    extra: dict = field(default_factory=dict)
