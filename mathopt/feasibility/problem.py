"""Convex quadratic programs in OSQP form (:class:`QP`) and their result type (:class:`QPResult`).

.. math::

   \\min_{x \\in \\mathbb{R}^n} \\tfrac12 x^T P x + q^T x + r
   \\quad\\text{s.t.}\\quad l \\le A x \\le u,

with :math:`P \\succeq 0` (``P=None`` is a linear program), :math:`A \\in \\mathbb{R}^{m\\times n}`,
:math:`l_i \\in [-\\infty, \\infty)`, :math:`u_i \\in (-\\infty, \\infty]`, :math:`l \\le u`
(equality rows have :math:`l_i = u_i`). This is the form of OSQP [1]_ and of the
Maros-Meszaros collection; :func:`mathopt.problems.lp.read_mps` and
:func:`mathopt.problems.qp.maros_meszaros` build it from files.

Certificates (Banjac et al. [2]_) returned in :attr:`QPResult.certificate`:

* ``PRIMAL_INFEASIBLE``: :math:`y \\ne 0` with :math:`A^T y = 0` and
  :math:`S(y) = u^T y_+ + l^T y_- < 0` (the support function of :math:`[l, u]`;
  :math:`y_+ = \\max(y, 0)`, :math:`y_- = \\min(y, 0)`, :math:`0\\cdot\\infty = 0`). For any
  :math:`x`, :math:`y^T A x = 0 > S(y) \\ge y^T z` for every :math:`z \\in [l, u]`, so no
  :math:`x` has :math:`Ax \\in [l, u]`.
* ``DUAL_INFEASIBLE``: :math:`x \\ne 0` with :math:`P x = 0`, :math:`q^T x < 0` and :math:`A x`
  in the recession cone of :math:`[l, u]` (:math:`(Ax)_i = 0` on rows with two finite
  bounds, :math:`\\ge 0` where only :math:`l_i` is finite, :math:`\\le 0` where only
  :math:`u_i` is): from any feasible point the objective decreases without bound along :math:`x`.

References
----------
.. [1] B. Stellato, G. Banjac, P. Goulart, A. Bemporad, S. Boyd, "OSQP: an operator
   splitting solver for quadratic programs", Math. Prog. Comp. 12 (2020).
.. [2] G. Banjac, P. Goulart, B. Stellato, S. Boyd, "Infeasibility detection in the
   alternating direction method of multipliers for convex optimization", JOTA 183 (2019).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..core.problem import Problem, ProblemError, as_float_matrix, as_real_array, is_sparse
from ..core.result import Result

#: Largest n for which the constructor checks P >= 0 with a dense eigenvalue computation.
PSD_CHECK_MAX_N = 500


def _as_sparse(value, name: str, shape: tuple[int, int] | None):
    """A float64 CSC copy of a dense or scipy.sparse matrix with finite entries."""
    import scipy.sparse as sp

    if is_sparse(value):
        matrix = sp.csc_matrix(value, dtype=float)
        if shape is not None and matrix.shape != shape:
            raise ProblemError(name, f"must have shape {shape}, got {matrix.shape}")
    else:
        matrix = sp.csc_matrix(as_float_matrix(value, name, shape=shape))
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    if not np.all(np.isfinite(matrix.data)):
        raise ProblemError(name, "contains NaN or inf")
    return matrix


def _bounds(value, name: str, m: int, forbidden: float) -> np.ndarray:
    arr = as_real_array(value, name).reshape(-1)
    if arr.shape[0] != m:
        raise ProblemError(name, f"must have length {m} (the rows of A), got {arr.shape[0]}")
    if np.any(np.isnan(arr)):
        raise ProblemError(name, "contains NaN")
    if np.any(arr == forbidden):
        raise ProblemError(name, f"contains {forbidden} (an empty constraint)")
    return arr


@dataclass(frozen=True, eq=False)
class QP(Problem):
    """``min 1/2 x'Px + q'x + r  s.t.  l <= Ax <= u`` (see the module docstring).

    Parameters
    ----------
    P : (n, n) array or scipy.sparse matrix, or None
        Symmetric positive semidefinite; None for a linear program. Stored as
        CSC (``problem.P`` is a sparse matrix, all zeros for an LP).
    q : (n,) array
        Linear cost.
    A : (m, n) array or scipy.sparse matrix, or None
        Constraint matrix (None: no constraints, m = 0). Stored as CSC.
    l, u : (m,) arrays
        Bounds, ``-inf``/``+inf`` allowed for absent ones, ``l <= u``.
    r : float, default 0.0
        Constant term of the objective.

    Raises
    ------
    ProblemError
        Naming the field at fault: a wrong shape, NaN or inf entries (other than
        infinite bounds), ``l > u``, a non-symmetric ``P``, or (for n <= 500, or any
        n with a negative diagonal entry) a ``P`` that is not positive semidefinite.

    Examples
    --------
    >>> import numpy as np, mathopt
    >>> lp = mathopt.QP(None, [1.0, 1.0], np.eye(2), [0.0, 0.0], [np.inf, np.inf])
    >>> lp.n, lp.m, lp.is_lp
    (2, 2, True)
    """

    P: object
    q: np.ndarray
    A: object
    l: np.ndarray
    u: np.ndarray
    r: float = field(default=0.0, kw_only=True)

    def __post_init__(self):
        import scipy.sparse as sp

        q = as_real_array(self.q, "q")
        if q.ndim != 1 or q.shape[0] == 0:
            raise ProblemError("q", f"must be a non-empty 1-D array, got {self.q!r:.60}")
        if not np.all(np.isfinite(q)):
            raise ProblemError("q", "contains NaN or inf")
        n = q.shape[0]
        P = sp.csc_matrix((n, n)) if self.P is None else _as_sparse(self.P, "P", (n, n))
        if P.nnz:
            scale = float(np.max(np.abs(P.data)))
            if abs(P - P.T).max() > 1e-10 * scale:
                raise ProblemError("P", "must be symmetric")
            if np.any(P.diagonal() < -1e-12 * scale):
                raise ProblemError("P", "must be positive semidefinite (it has a negative diagonal entry)")
            if n <= PSD_CHECK_MAX_N and np.linalg.eigvalsh(P.toarray())[0] < -1e-9 * scale * n:
                raise ProblemError("P", "must be positive semidefinite (it has a negative eigenvalue)")
        A = sp.csc_matrix((0, n)) if self.A is None else _as_sparse(self.A, "A", None)
        if A.shape[1] != n:
            raise ProblemError("A", f"must have {n} columns (the length of q), got shape {A.shape}")
        m = A.shape[0]
        lower = _bounds(self.l, "l", m, np.inf)
        upper = _bounds(self.u, "u", m, -np.inf)
        if np.any(lower > upper):
            i = int(np.argmax(lower > upper))
            raise ProblemError("l", f"must satisfy l <= u; row {i} has l = {lower[i]} > u = {upper[i]}")
        try:
            r = float(self.r)
        except (TypeError, ValueError):
            raise ProblemError("r", f"must be a real number, got {self.r!r}") from None
        if not np.isfinite(r):
            raise ProblemError("r", "must be finite")
        for name, value in (("P", P), ("q", q), ("A", A), ("l", lower), ("u", upper), ("r", r)):
            object.__setattr__(self, name, value)

    @property
    def n(self) -> int:
        """Number of variables."""
        return self.q.shape[0]

    @property
    def m(self) -> int:
        """Number of constraint rows."""
        return self.A.shape[0]

    @cached_property
    def AT(self):
        """``A'`` (CSR, the arrays of ``A``), made once: SciPy builds a new object with index checks at
        every ``.T`` (60-270 us on QSCFXM2, half the time of a termination test), and the
        certificate tests multiply by ``A'`` at every check. A problem is not modified after
        validation, so the cached transpose stays valid."""
        return self.A.T

    @property
    def is_lp(self) -> bool:
        """True when P is zero."""
        return self.P.nnz == 0

    def objective(self, x) -> float:
        """``1/2 x'Px + q'x + r``."""
        x = np.asarray(x, dtype=float)
        # sums, not BLAS dots: see mathopt.feasibility.admm_operator.dot
        return float(0.5 * np.sum(x * (self.P @ x)) + np.sum(self.q * x) + self.r)


@dataclass(frozen=True, kw_only=True, repr=False)
class QPResult(Result):
    """Result of a QP solve.

    ``x`` is the primal point and ``fun`` the objective there; after an infeasibility
    verdict they are those of the last iterate, which is not a solution (the answer is then
    ``certificate``).

    Attributes
    ----------
    y : ndarray
        Multipliers of ``l <= Ax <= u`` (length m): ``Px + q + A'y = 0`` at a
        solution, ``y_i > 0`` only at the upper bound, ``y_i < 0`` only at the lower.
        Also ``extra["multipliers"]``.
    certificate : ndarray or None
        None unless ``status`` is ``PRIMAL_INFEASIBLE`` (a vector ``y`` of length m,
        ``||y||_inf = 1``, with ``A'y ~ 0`` and ``u'y_+ + l'y_- < 0``) or
        ``DUAL_INFEASIBLE`` (a vector ``x`` of length n, ``||x||_inf = 1``, with
        ``Px ~ 0``, ``q'x < 0`` and ``Ax`` in the recession cone of ``[l, u]``).
    """

    y: np.ndarray = field(default_factory=lambda: np.zeros(0))
    certificate: np.ndarray | None = None

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "y", np.array(self.y, dtype=float).reshape(-1))
        if self.certificate is not None:
            object.__setattr__(self, "certificate", np.array(self.certificate, dtype=float).reshape(-1))
