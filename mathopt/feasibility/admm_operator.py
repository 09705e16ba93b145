"""The OSQP ADMM operator on a scaled QP, its termination tests and infeasibility certificates.

Problem (see :class:`~mathopt.feasibility.problem.QP`): ``min 1/2 x'Px + q'x  s.t.  z = Ax, z in C = [l, u]``.

**Scaling** (OSQP [1]_, Section 5.1, modified Ruiz equilibration): diagonal :math:`D, E` and a
cost scale :math:`c` give :math:`\\hat P = c D P D`, :math:`\\hat q = c D q`, :math:`\\hat A = E A D`,
:math:`\\hat l = E l`, :math:`\\hat u = E u`; then :math:`x = D \\hat x`, :math:`z = E^{-1} \\hat z`,
:math:`y = E \\hat y / c`. Every test below is made on the unscaled quantities.

**The operator** (OSQP [1]_, Algorithm 1, on the scaled data). The iterate is
:math:`s = (x, v)` with :math:`v = z + \\rho^{-1} y`; from it :math:`z = \\Pi_C(v)` and
:math:`y = \\rho (v - \\Pi_C(v))`. One application of :math:`T` is

.. math::

   \\begin{bmatrix} P + \\sigma I & A^T \\\\ A & -\\rho^{-1} \\end{bmatrix}
   \\begin{bmatrix} \\tilde x \\\\ \\nu \\end{bmatrix}
   = \\begin{bmatrix} \\sigma x - q \\\\ z - \\rho^{-1} y \\end{bmatrix},\\quad
   \\tilde z = z + \\rho^{-1}(\\nu - y),

.. math::

   x^+ = \\alpha \\tilde x + (1 - \\alpha) x,\\quad
   v^+ = \\alpha \\tilde z + (1 - \\alpha) z + \\rho^{-1} y,\\quad
   z^+ = \\Pi_C(v^+),\\quad y^+ = \\rho (v^+ - z^+).

It is the relaxed Douglas-Rachford operator of the splitting, averaged for
:math:`\\alpha \\in (0, 2)` and nonexpansive for :math:`\\alpha = 2` in the norm
:math:`\\sigma \\|x\\|^2 + \\|v\\|_\\rho^2` ([2]_, Section 3). The KKT matrix is quasi-definite and
factored once per value of :math:`\\rho` by :func:`quasidefinite_factor`: LDL' with an
approximate-minimum-degree ordering (QDLDL, the factorization OSQP uses, through the ``qdldl``
package that cvxpy installs), SuperLU (``scipy.sparse.linalg.splu``) where it is absent.
:math:`\\rho` is a vector: ``penalty`` on inequality rows, ``1e3 * penalty`` on equality rows,
``1e-6`` on free rows (OSQP's choice).

**Termination** (unscaled): converged when

* ``feasibility`` :math:`= \\|Ax - z\\|_\\infty \\le \\epsilon_{f} + \\epsilon_{r}\\max(\\|Ax\\|_\\infty, \\|z\\|_\\infty)`,
* ``stationarity`` :math:`= \\|Px + q + A^T y\\|_\\infty \\le \\epsilon_{s} + \\epsilon_{r}
  \\max(\\|Px\\|_\\infty, \\|A^T y\\|_\\infty, \\|q\\|_\\infty)`,
* ``gap`` :math:`= |x^T P x + q^T x + S_C(y)| \\le \\epsilon_{g} + \\epsilon_{r}
  \\max(|x^TPx|, |q^Tx|, |S_C(y)|)`, :math:`S_C(y) = u^T y_+ + l^T y_-` (primal minus dual objective).

Primal infeasible ([2]_, Section 5) when the difference :math:`\\delta y = y^+ - y` of one
application of :math:`T` (its limit is a block of the infimal displacement vector), projected
on the polar of the recession cone of :math:`C`, has
:math:`\\|A^T \\delta y\\|_\\infty \\le \\epsilon_{inf} \\|\\delta y\\|_\\infty` and
:math:`S_C(\\delta y) \\le -10\\,\\epsilon_{inf} \\|\\delta y\\|_\\infty`; dual infeasible when
:math:`\\delta x = x^+ - x` has :math:`\\|P \\delta x\\|_\\infty \\le \\epsilon_{inf}\\|\\delta x\\|_\\infty`,
:math:`q^T \\delta x \\le -\\epsilon_{inf}\\|\\delta x\\|_\\infty` and :math:`A \\delta x` in the
recession cone of :math:`C` up to :math:`\\epsilon_{inf}\\|\\delta x\\|_\\infty`.

References
----------
.. [1] B. Stellato, G. Banjac, P. Goulart, A. Bemporad, S. Boyd, "OSQP: an operator splitting
   solver for quadratic programs", Math. Prog. Comp. 12 (2020).
.. [2] G. Banjac, P. Goulart, B. Stellato, S. Boyd, "Infeasibility detection in the
   alternating direction method of multipliers for convex optimization", JOTA 183 (2019).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..core.status import CODE_CONVERGED, CODE_DUAL_INFEASIBLE, CODE_PRIMAL_INFEASIBLE, CONTINUE

RHO_MIN, RHO_MAX = 1e-6, 1e6
EQUALITY_RHO_FACTOR = 1e3
SCALING_MIN, SCALING_MAX = 1e-4, 1e4


@dataclass(frozen=True, eq=False)
class ScaledQP:
    """The problem after Ruiz equilibration, with the scaling to undo it."""

    P: object          # scaled P (CSC)
    q: np.ndarray
    A: object          # scaled A (CSC)
    AT: object         # its transpose (CSR of A as CSC of A')
    l: np.ndarray
    u: np.ndarray
    D: np.ndarray      # x = D * x_hat
    E: np.ndarray      # z = z_hat / E, y = E * y_hat / c
    c: float
    row_kind: np.ndarray   # 0 inequality, 1 equality, 2 free


def _inf_norm_columns(matrix) -> np.ndarray:
    """Infinity norm of each column of a CSC matrix."""
    out = np.zeros(matrix.shape[1])
    if matrix.nnz:
        absolute = abs(matrix).tocsc()
        out = np.asarray(absolute.max(axis=0).toarray()).ravel()
    return out


def scale_problem(problem, iterations: int) -> ScaledQP:
    """Modified Ruiz equilibration of the KKT matrix [[P, A'], [A, 0]] and cost scaling (OSQP, Alg. 2)."""
    import scipy.sparse as sp

    n, m = problem.n, problem.m
    P, q, A = problem.P.copy(), problem.q.copy(), problem.A.copy()
    D, E, c = np.ones(n), np.ones(m), 1.0
    for _ in range(iterations):
        col_norms = np.maximum(_inf_norm_columns(P), _inf_norm_columns(A))
        row_norms = _inf_norm_columns(A.T.tocsc()) if m else np.zeros(0)
        d = 1.0 / np.sqrt(np.clip(np.where(col_norms < SCALING_MIN, 1.0, col_norms), SCALING_MIN, SCALING_MAX))
        e = 1.0 / np.sqrt(np.clip(np.where(row_norms < SCALING_MIN, 1.0, row_norms), SCALING_MIN, SCALING_MAX))
        Dd, Ed = sp.diags(d), sp.diags(e)
        P, A, q = (Dd @ P @ Dd).tocsc(), (Ed @ A @ Dd).tocsc(), d * q
        D, E = D * d, E * e
        mean_col = float(np.mean(_inf_norm_columns(P))) if n else 0.0
        gamma_norm = max(mean_col, float(np.max(np.abs(q), initial=0.0)))
        gamma_norm = 1.0 if gamma_norm < SCALING_MIN else min(gamma_norm, SCALING_MAX)
        P, q, c = P / gamma_norm, q / gamma_norm, c / gamma_norm
    lower, upper = problem.l, problem.u
    kind = np.zeros(m, dtype=np.int8)
    kind[(lower == upper)] = 1
    kind[np.isinf(lower) & np.isinf(upper)] = 2
    lower_hat, upper_hat = E * lower, E * upper  # E > 0: infinite bounds stay infinite
    return ScaledQP(P=P.tocsc(), q=q, A=A.tocsc(), AT=A.T.tocsc(), l=lower_hat, u=upper_hat,
                    D=D, E=E, c=c, row_kind=kind)


def rho_vector(scaled: ScaledQP, penalty: float) -> np.ndarray:
    rho = np.full(scaled.l.shape[0], penalty)
    rho[scaled.row_kind == 1] = min(EQUALITY_RHO_FACTOR * penalty, RHO_MAX)
    rho[scaled.row_kind == 2] = RHO_MIN
    return rho


class LDLFactor:
    """:math:`K = \\Pi^T (I + L) D (I + L)^T \\Pi` from QDLDL, with ``solve`` and SuperLU's attribute
    names (``L``, ``U``, ``perm_r``, ``perm_c``: :math:`P_r K P_c = L U` with :math:`L` unit lower and
    :math:`U = D (I + L)^T`), so the compiled loop's triangular solves take either factorization."""

    def __init__(self, solver, size: int):
        self._solver, self._size = solver, size
        self._factors = None

    def ldl_factors(self):
        """QDLDL's factors as the compiled loop takes them (:func:`_admm_kernel.triangular_factors`): the
        strictly lower L (CSC), D, and the inverse of QDLDL's permutation (scipy's ``perm_r``)."""
        import scipy.sparse as sp

        lower, diagonal, perm = self._solver.factors()
        inverse = np.empty(self._size, dtype=np.int64)
        inverse[np.asarray(perm, dtype=np.int64)] = np.arange(self._size)
        return sp.csc_matrix(lower), np.asarray(diagonal, dtype=float), inverse

    def _triangular(self):
        if self._factors is None:  # built on first use: the polishing solves need only ``solve``
            import scipy.sparse as sp

            lower, diagonal, inverse = self.ldl_factors()
            unit = (lower + sp.eye(self._size, format="csc")).tocsc()
            self._factors = unit, (sp.diags(diagonal) @ unit.T).tocsc(), inverse
        return self._factors

    @property
    def L(self):
        return self._triangular()[0]

    @property
    def U(self):
        return self._triangular()[1]

    @property
    def perm_r(self):
        return self._triangular()[2]

    perm_c = perm_r

    def solve(self, b: np.ndarray) -> np.ndarray:
        return self._solver.solve(np.ascontiguousarray(b, dtype=float))


def quasidefinite_factor(matrix):
    """Factor a sparse symmetric quasi-definite matrix (``[[H, B'], [B, -G]]``, H and G positive
    definite); a failed factorization is a LinAlgError.

    A quasi-definite matrix has an LDL' factorization for every symmetric permutation (Vanderbei
    1995), so no pivoting is needed. QDLDL with its approximate minimum degree ordering
    (:class:`LDLFactor`) is used where the ``qdldl`` package is installed (a dependency of cvxpy):
    on the Maros-Meszaros BOYD1 (n + m = 186 540) it factors in 0.13 s against SuperLU's 35 s with
    multiple minimum degree, with 10 % fewer factor entries on BOYD2, and within 6 % on the others
    measured (docs/feasibility.md). Otherwise SuperLU runs in symmetric mode (minimum degree on
    A + A', diagonal pivots): on bgindy (n + m = 22903) 1.5 s and 5e5 factor entries, against 38 s
    and 2.4e7 with its default column ordering and partial pivoting.
    """
    import scipy.sparse as sp

    matrix = sp.csc_matrix(matrix)
    try:
        import qdldl
    except ImportError:  # pragma: no cover - qdldl comes with cvxpy
        qdldl = None
    if qdldl is not None:
        try:
            return LDLFactor(qdldl.Solver(matrix), matrix.shape[0])
        except (RuntimeError, ValueError) as exc:  # QDLDL: "not quasi-definite" (a zero pivot)
            raise np.linalg.LinAlgError(f"KKT factorization failed: {exc}") from None
    from scipy.sparse.linalg import splu

    try:
        return splu(matrix, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True})
    except RuntimeError as exc:  # "Factor is exactly singular"
        raise np.linalg.LinAlgError(f"KKT factorization failed: {exc}") from None


def factor_kkt(scaled: ScaledQP, sigma: float, rho: np.ndarray):
    """The quasi-definite KKT matrix of the operator, factored by :func:`quasidefinite_factor`."""
    import scipy.sparse as sp

    n = scaled.q.shape[0]
    if scaled.l.shape[0] == 0:
        kkt = (scaled.P + sigma * sp.eye(n)).tocsc()
    else:
        kkt = sp.bmat([[scaled.P + sigma * sp.eye(n), scaled.AT], [scaled.A, sp.diags(-1.0 / rho)]], format="csc")
    return quasidefinite_factor(kkt)


class Image(NamedTuple):
    """One application of T at s = (x, v): the new iterate and what the tests need."""

    x: np.ndarray       # x+
    v: np.ndarray       # v+
    z: np.ndarray       # z+ = Pi_C(v+)
    y: np.ndarray       # y+
    dx: np.ndarray      # x+ - x
    dv: np.ndarray      # v+ - v
    dy: np.ndarray      # y+ - y(s)


def apply_operator(scaled: ScaledQP, factor, sigma: float, rho: np.ndarray, alpha: float,
                   x: np.ndarray, v: np.ndarray) -> Image:
    """``T(x, v)`` (OSQP Algorithm 1, one iteration) on the scaled problem."""
    n = x.shape[0]
    z = np.clip(v, scaled.l, scaled.u)
    y = rho * (v - z)
    solution = factor.solve(np.concatenate([sigma * x - scaled.q, z - y / rho]))
    x_tilde, nu = solution[:n], solution[n:]
    z_tilde = z + (nu - y) / rho
    x_new = alpha * x_tilde + (1.0 - alpha) * x
    v_new = alpha * z_tilde + (1.0 - alpha) * z + y / rho
    z_new = np.clip(v_new, scaled.l, scaled.u)
    y_new = rho * (v_new - z_new)
    return Image(x=x_new, v=v_new, z=z_new, y=y_new, dx=x_new - x, dv=v_new - v, dy=y_new - y)


class Unscaled(NamedTuple):
    x: np.ndarray
    z: np.ndarray
    y: np.ndarray


def unscale(scaled: ScaledQP, x, z, y) -> Unscaled:
    return Unscaled(x=scaled.D * x, z=z / scaled.E, y=unscale_y(scaled, y))


def unscale_y(scaled: ScaledQP, y):
    """The multipliers of the original problem from those of the scaled one."""
    return scaled.E * y / scaled.c


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """``a'b`` without BLAS: OpenBLAS runs ``ddot`` on several threads above 10 000 entries, and on a
    loaded machine their synchronization made one termination test on gosh (n + m = 25 016) take
    79 ms instead of 2.8 ms (measured, 2 cores shared with other jobs)."""
    return float(np.sum(a * b))


def support_value(lower: np.ndarray, upper: np.ndarray, y: np.ndarray) -> float:
    """:math:`u^T y_+ + l^T y_-` with 0 * inf = 0, for a ``y`` whose nonzeros meet finite bounds only
    (callers that cannot ensure it use :func:`support`)."""
    up, down = np.maximum(y, 0.0), np.minimum(y, 0.0)
    return dot(np.where(up > 0, upper, 0.0), up) + dot(np.where(down < 0, lower, 0.0), down)


def support(problem, y: np.ndarray) -> float:
    """:math:`S_C(y) = u^T y_+ + l^T y_-`, with 0 * inf = 0 and +inf when unbounded."""
    if np.any((y > 0) & np.isinf(problem.u)) or np.any((y < 0) & np.isinf(problem.l)):
        return np.inf
    return support_value(problem.l, problem.u, y)


def residuals(problem, point: Unscaled) -> tuple[dict, dict]:
    """The three residuals at an unscaled point and the scales of their relative tolerances
    (:func:`residuals_reference`), computed by the compiled :func:`_residual_kernel.qp_residuals`
    with the same arithmetic in the same order (the same values, bitwise) when A and P are CSC."""
    A, P = problem.A, problem.P
    if A.format != "csc" or P.format != "csc" or A.dtype != np.float64 or P.dtype != np.float64:
        return residuals_reference(problem, point)
    from ._residual_kernel import qp_residuals

    out = np.empty(6)
    as_vector = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
    qp_residuals(A.indptr, A.indices, A.data, P.indptr, P.indices, P.data, as_vector(problem.q),
                 as_vector(problem.l), as_vector(problem.u), as_vector(point.x), as_vector(point.z),
                 as_vector(point.y), out)
    names = ("feasibility", "stationarity", "gap")
    return ({name: float(out[k]) for k, name in enumerate(names)},
            {name: float(out[3 + k]) for k, name in enumerate(names)})


def residuals_reference(problem, point: Unscaled) -> tuple[dict, dict]:
    """The three residuals at an unscaled point and the scales of their relative tolerances (NumPy;
    the specification :func:`residuals` is tested against)."""
    Ax, Px, ATy = problem.A @ point.x, problem.P @ point.x, problem.A.T @ point.y
    xPx, qx = dot(point.x, Px), dot(problem.q, point.x)
    # y comes from a projection: zero where the bound it would multiply is infinite, so s is finite
    s = support(problem, point.y)
    norm = lambda a: float(np.max(np.abs(a), initial=0.0))  # noqa: E731
    values = {"feasibility": norm(Ax - point.z), "stationarity": norm(Px + problem.q + ATy),
              "gap": abs(xPx + qx + s)}
    scales = {"feasibility": max(norm(Ax), norm(point.z)),
              "stationarity": max(norm(Px), norm(ATy), norm(problem.q)),
              "gap": max(abs(xPx), abs(qx), abs(s))}
    return values, scales


def polar_projection(problem, y: np.ndarray) -> np.ndarray:
    """Project y on the polar of the recession cone of [l, u]: y_i <= 0 where u_i = inf, y_i >= 0 where l_i = -inf."""
    y = np.where(np.isinf(problem.u), np.minimum(y, 0.0), y)
    return np.where(np.isinf(problem.l), np.maximum(y, 0.0), y)


#: A primal certificate needs S(y) <= -SUPPORT_MARGIN * tol: a support value clearly below 0 next to
#: the Farkas residual ||A'y||_inf <= tol (with 1, halpern-admm stopped on gran with S(y) above -1e-4, a vector that fails
#: the independent check at 1e-4).
SUPPORT_MARGIN = 10.0


def primal_certificate(problem, dy: np.ndarray, tol: float) -> np.ndarray | None:
    """The normalized Farkas vector ``dy / ||dy||_inf`` if ``||A'y||_inf <= tol`` and
    ``S(y) <= -SUPPORT_MARGIN * tol``, else None."""
    dy = polar_projection(problem, dy)
    size = float(np.max(np.abs(dy), initial=0.0))
    if size <= 1e-300:
        return None
    y = dy / size
    if np.max(np.abs(problem.AT @ y), initial=0.0) <= tol and support(problem, y) <= -SUPPORT_MARGIN * tol:
        return y
    return None


#: :func:`farkas_candidate`: largest ||A'y||_inf / max_j ||A e_j||_inf of a candidate (||y||_inf = 1).
CANDIDATE_TOL = 0.1


def farkas_candidate(problem, dy: np.ndarray) -> bool:
    """True when the unscaled dual difference ``dy``, projected on the polar of the recession cone of
    [l, u] and scaled to ||y||_inf = 1, has a negative support value S(y) < 0 and
    ||A'y||_inf <= CANDIDATE_TOL * (largest column inf-norm of A): a rough Farkas vector."""
    y = polar_projection(problem, dy)
    size = float(np.max(np.abs(y), initial=0.0))
    if size <= 1e-300 or not np.isfinite(size):
        return False
    y = y / size
    scale = float(np.max(np.abs(problem.A.data), initial=0.0)) if problem.A.nnz else 0.0
    return (support(problem, y) < 0.0
            and float(np.max(np.abs(problem.AT @ y), initial=0.0)) <= CANDIDATE_TOL * scale)


#: Support thresholds (relative to ||y||_inf) tried by :func:`polished_primal_certificate`.
POLISH_THRESHOLDS = (1e-2, 1e-4, 1e-6)
#: Regularization of the polishing system [[I, A_S], [A_S', -delta I]] (always quasi-definite).
POLISH_DELTA = 1e-12


def polished_primal_certificate(problem, dy: np.ndarray, tol: float, passes: int = 3) -> np.ndarray | None:
    r"""Certificate polishing: a Farkas vector near the candidate ``dy``, or None.

    The difference sequence may show the support of the certificate well before its entries satisfy
    :math:`A^Ty = 0` to the tolerance (its error decays as :math:`O(1/k)` for Halpern,
    :math:`O(1/\sqrt k)` plain). Like OSQP's solution polishing for the primal-dual pair, this guesses
    the support :math:`S = \{i : |\hat y_i| > \theta\|\hat y\|_\infty\}` of the candidate
    :math:`\hat y` (projected on the polar of the recession cone of :math:`[l, u]`) and projects it on
    :math:`\{y : A^Ty = 0, y_i = 0 \ (i \notin S)\}`,

    .. math::

       \min_{y_S} \|y_S - \hat y_S\|^2 \ \text{s.t.}\ A_S^Ty_S = 0, \qquad
       \begin{bmatrix} I & A_S \\ A_S^T & -\delta I \end{bmatrix}
       \begin{bmatrix} y_S \\ w \end{bmatrix} = \begin{bmatrix} \hat y_S \\ 0 \end{bmatrix},

    (one sparse LDL'-type factorization; :math:`\delta` = :data:`POLISH_DELTA`), then onto the polar
    cone again, ``passes`` times, for each threshold of :data:`POLISH_THRESHOLDS`. When these
    alternating projections fail (the projection on :math:`A_S^Ty = 0` breaks the signs, the sign
    projection breaks :math:`A_S^Ty = 0`, and the two can shrink y to 0), the Farkas system restricted
    to the same support is solved as a nonnegative least-squares problem
    (:func:`nnls_primal_certificate`). A candidate whose support value is not negative yet is not
    projected; only the NNLS system on its largest entries (:math:`|\hat y_i| >`
    :data:`NNLS_SUPPORT_THRESHOLD`) is tried (on reactor this certifies at 20 000 iterations, where the
    difference sequence still has :math:`S_C > 0`). The result is
    returned only if it passes the same test as an unpolished certificate
    (:func:`primal_certificate`), so polishing can shorten a run but never change a verdict's meaning.
    """
    start = polar_projection(problem, dy)
    size = float(np.max(np.abs(start), initial=0.0))
    if size <= 1e-300 or not np.isfinite(size):
        return None
    start = start / size
    rows = problem.A.tocsr()
    if support(problem, start) >= 0.0:  # not a candidate yet: only its largest entries may mark the rows
        return nnls_primal_certificate(problem, rows, np.flatnonzero(np.abs(start) > NNLS_SUPPORT_THRESHOLD), tol)
    for threshold in POLISH_THRESHOLDS:
        certificate = _projected_certificate(problem, rows, start, threshold, tol, passes)
        if certificate is None:
            certificate = nnls_primal_certificate(problem, rows, np.flatnonzero(np.abs(start) > threshold), tol)
        if certificate is not None:
            return certificate
    return None


def projection_kkt(A_S, delta: float):
    """The CSC matrix ``[[I, A_S], [A_S', -delta I]]`` of the certificate projection, built from the
    index arrays of ``A_S`` (CSR, rows of A) directly: the same arrays as ``scipy.sparse.bmat`` gives
    (canonical CSC, same index dtype; ``test_factor.py`` checks it), without its COO round trip, which
    took 4 ms a call, more than the factorization, on QSCFXM2 (docs/feasibility.md)."""
    import scipy.sparse as sp

    rows = sp.csr_matrix(A_S)
    rows.sort_indices()
    columns = rows.tocsc()
    columns.sort_indices()
    s, n = rows.shape
    left, right = 1 + np.diff(rows.indptr), 1 + np.diff(columns.indptr)
    indptr = np.zeros(s + n + 1, dtype=np.int64)
    np.cumsum(np.concatenate([left, right]), out=indptr[1:])
    nnz = int(indptr[-1])
    index_dtype = np.int32 if max(nnz, s + n) < np.iinfo(np.int32).max else np.int64
    indices, data = np.empty(nnz, dtype=np.int64), np.empty(nnz)
    rest = np.ones(nnz, dtype=bool)
    head = indptr[:s]                      # column j < s: row j (1), then rows s + k of A_S's row j
    indices[head], data[head] = np.arange(s), 1.0
    tail = indptr[s + 1:] - 1              # column s + k: rows i of A_S's column k, then row s + k (-delta)
    indices[tail], data[tail] = s + np.arange(n), -delta
    rest[head], rest[tail] = False, False
    indices[rest] = np.concatenate([s + rows.indices, columns.indices])
    data[rest] = np.concatenate([rows.data, columns.data])
    return sp.csc_matrix((data, indices.astype(index_dtype), indptr.astype(index_dtype)), shape=(s + n, s + n))


def _projected_certificate(problem, rows, start, threshold, tol, passes):
    """The alternating projections of :func:`polished_primal_certificate` at one threshold."""
    y = start
    for _ in range(passes):
        S = np.flatnonzero(np.abs(y) > threshold * np.max(np.abs(y), initial=0.0))
        if S.size == 0:
            break
        kkt = projection_kkt(rows[S], POLISH_DELTA)
        try:
            solution = quasidefinite_factor(kkt).solve(np.concatenate([y[S], np.zeros(problem.n)]))
        except np.linalg.LinAlgError:  # singular despite the regularization
            return None
        polished = np.zeros_like(y)
        polished[S] = solution[:S.size]
        polished = polar_projection(problem, polished)
        if not np.all(np.isfinite(polished)) or np.max(np.abs(polished), initial=0.0) <= 1e-300:
            break
        certificate = primal_certificate(problem, polished, tol)
        if certificate is not None:
            return certificate
        y = polished / np.max(np.abs(polished))
    return None


#: Largest dense matrix (entries) :func:`nnls_primal_certificate` builds: 3e5 (2.4 MB; on greenbea a
#: 3.4e6-entry system took 100 s and gave nothing).
NNLS_MAX_ENTRIES = 300_000
#: Support threshold (relative to ||y||_inf) of the NNLS try on a candidate with S_C(y) >= 0.
NNLS_SUPPORT_THRESHOLD = 0.1


def nnls_primal_certificate(problem, rows, S: np.ndarray, tol: float) -> np.ndarray | None:
    r"""A Farkas vector supported on the rows ``S``, by nonnegative least squares, or None.

    Write :math:`y = \sum_{i \in U} w_i e_i - \sum_{i \in L} w_i e_i` with :math:`w \ge 0`, where
    :math:`U = \{i \in S : u_i < \infty\}`, :math:`L = \{i \in S : l_i > -\infty\}` (so y is in the
    polar of the recession cone of [l, u]); then :math:`S_C(y) \le b^Tw` with :math:`b = (u_U, -l_L)`
    (equality when no row has both of its columns positive), and y is a Farkas vector when
    :math:`A^Ty = 0` and :math:`b^Tw < 0`. Solve

    .. math::

       \min_{w \ge 0} \|A^Ty\|_2^2 + (b^Tw + 1)^2

    by Lawson and Hanson's active-set method (``scipy.optimize.nnls``) on the columns of A the rows S
    touch: a zero residual is a certificate with :math:`S_C(y) \le -1`. This is the Farkas problem
    itself restricted to the support S that the ADMM difference sequence suggests (the ADMM run
    supplies the support; the restricted system is small). Skipped when the dense matrix would exceed
    :data:`NNLS_MAX_ENTRIES`. The result must pass :func:`primal_certificate` at ``tol``.
    """
    import scipy.sparse as sp
    from scipy.optimize import nnls

    upper = S[np.isfinite(problem.u[S])]
    lower = S[np.isfinite(problem.l[S])]
    index = np.concatenate([upper, lower])
    sign = np.concatenate([np.ones(upper.size), -np.ones(lower.size)])
    if index.size == 0:
        return None
    columns = (rows[index].T @ sp.diags(sign)).tocsr()   # A'y = columns @ w
    used = np.flatnonzero(np.diff(columns.indptr))
    if (used.size + 1) * index.size > NNLS_MAX_ENTRIES:
        return None
    matrix = np.vstack([columns[used].toarray(), np.concatenate([problem.u[upper], -problem.l[lower]])[None, :]])
    target = np.zeros(matrix.shape[0])
    target[-1] = -1.0
    try:
        w, _ = nnls(matrix, target, maxiter=10 * index.size)
    except RuntimeError:  # the active-set iteration limit
        return None
    y = np.zeros(problem.m)
    np.add.at(y, index, sign * w)
    if not np.all(np.isfinite(y)):
        return None
    return primal_certificate(problem, y, tol)


def dual_certificate(problem, dx: np.ndarray, tol: float) -> np.ndarray | None:
    """The normalized direction ``dx / ||dx||_inf`` if it passes the test, else None."""
    size = float(np.max(np.abs(dx), initial=0.0))
    if size <= 1e-300:
        return None
    x = dx / size
    if np.max(np.abs(problem.P @ x), initial=0.0) > tol or dot(problem.q, x) > -tol:
        return None
    Ax = problem.A @ x
    lower_ok = np.isinf(problem.l) | (Ax >= -tol)
    upper_ok = np.isinf(problem.u) | (Ax <= tol)
    return x if np.all(lower_ok & upper_ok) else None


#: Regularization and iterative-refinement steps of :func:`polish_solution` (OSQP's defaults).
SOLUTION_POLISH_DELTA = 1e-6
SOLUTION_POLISH_REFINE = 3


def polish_solution(problem, point: Unscaled, passes: int = 3) -> Unscaled | None:
    r"""OSQP's solution polishing (Stellato et al. 2020, Section 4.2), on the unscaled problem.

    Guess the active constraints from the converged ``point`` :math:`(x_0, z, y)`: lower-active
    :math:`L = \{i : z_i - l_i < -y_i\}`, upper-active :math:`U = \{i : u_i - z_i < y_i\}`; solve the
    equality-constrained QP on them with a proximal term that fixes the directions the active rows
    leave free, :math:`\min \tfrac12 x^TPx + q^Tx + \tfrac\delta2\|x - x_0\|^2` s.t.
    :math:`A_Lx = l_L, A_Ux = u_U`:

    .. math::

       \begin{bmatrix} P + \delta I & A_L^T & A_U^T \\ A_L & 0 & 0 \\ A_U & 0 & 0 \end{bmatrix}
       \begin{bmatrix} x \\ y_L \\ y_U \end{bmatrix} = \begin{bmatrix} \delta x_0 - q \\ l_L \\ u_U \end{bmatrix},

    through the quasi-definite matrix with :math:`-\delta I` on the second diagonal block
    (:data:`SOLUTION_POLISH_DELTA`) and :data:`SOLUTION_POLISH_REFINE` steps of iterative refinement.
    Rows whose multiplier comes out with the wrong sign (:math:`y_i > 0` on L, :math:`< 0` on U)
    leave the active set and the system is solved again, up to ``passes`` times. Returns the
    polished (x, z = Pi(Ax), y), or None when the factorization fails, the result is not finite
    or the signs never settle; the caller keeps it only if it is better.
    """
    import scipy.sparse as sp

    delta, n = SOLUTION_POLISH_DELTA, problem.n
    lower = np.flatnonzero(point.z - problem.l < -point.y)
    upper = np.flatnonzero(problem.u - point.z < point.y)
    rows = problem.A.tocsr()
    for _ in range(passes):
        active = np.concatenate([lower, upper])
        k = active.size
        A_act = rows[active]
        top = (problem.P + delta * sp.eye(n)).tocsc()
        exact = sp.bmat([[top, A_act.T], [A_act, sp.csc_matrix((k, k))]], format="csc") if k else top
        regular = (exact - sp.diags(np.concatenate([np.zeros(n), np.full(k, delta)]))).tocsc()
        rhs = np.concatenate([delta * point.x - problem.q, problem.l[lower], problem.u[upper]])
        try:
            factor = quasidefinite_factor(regular)
        except np.linalg.LinAlgError:
            return None
        solution = factor.solve(rhs)
        for _ in range(SOLUTION_POLISH_REFINE):
            solution = solution + factor.solve(rhs - exact @ solution)
        if not np.all(np.isfinite(solution)):
            return None
        y_lower, y_upper = solution[n:n + lower.size], solution[n + lower.size:]
        wrong_lower, wrong_upper = y_lower > 0.0, y_upper < 0.0
        if not (wrong_lower.any() or wrong_upper.any()):
            x = solution[:n]
            y = np.zeros(problem.m)
            y[lower] = y_lower
            y[upper] += y_upper
            return Unscaled(x=x, z=np.clip(problem.A @ x, problem.l, problem.u), y=y)
        lower, upper = lower[~wrong_lower], upper[~wrong_upper]
    return None


class Verdict(NamedTuple):
    code: int
    values: dict
    certificate: np.ndarray | None


def check(problem, scaled: ScaledQP, image: Image, tols: dict, rel_tol: float, infeasibility_tol: float,
          polish: bool = False) -> Verdict:
    """The termination test at the point ``image`` (converged, primal or dual infeasible, or CONTINUE);
    with ``polish``, a failed primal-infeasibility test is retried on the polished candidate
    (:func:`polished_primal_certificate`)."""
    point = unscale(scaled, image.x, image.z, image.y)
    values, scales = residuals(problem, point)
    if all(values[k] <= tols[k] + rel_tol * scales[k] for k in values):
        return Verdict(CODE_CONVERGED, values, None)
    certificate = primal_certificate(problem, scaled.E * image.dy, infeasibility_tol)
    if certificate is not None:
        return Verdict(CODE_PRIMAL_INFEASIBLE, values, certificate)
    certificate = dual_certificate(problem, scaled.D * image.dx, infeasibility_tol)
    if certificate is not None:
        return Verdict(CODE_DUAL_INFEASIBLE, values, certificate)
    if polish:
        certificate = polished_primal_certificate(problem, scaled.E * image.dy, infeasibility_tol)
        if certificate is not None:
            return Verdict(CODE_PRIMAL_INFEASIBLE, values, certificate)
    return Verdict(CONTINUE, values, None)


def gap_balanced_penalty(problem, scaled: ScaledQP, image: Image, penalty: float, tolerances: dict,
                         rel_tol: float) -> float:
    """The penalty rule ``penalty_balance="gap"``: OSQP's update :math:`\\rho\\sqrt{e_p/e_d}` with primal
    and dual errors that include the duality gap of the termination test.

    At an iterate of the operator :math:`y_i \\ne 0` only where :math:`z_i` is at a bound, so
    :math:`S(y) = y^Tz` and the gap splits into a dual and a primal term,
    :math:`x^TPx + q^Tx + S(y) = x^T(Px + q + A^Ty) - y^T(Ax - z)`. With :math:`t_R` the tolerance of
    residual R at this point (``tolerances[R] + rel_tol * scale_R``, unscaled, as in :func:`check`),
    :math:`e_p = \\max(\\|Ax - z\\|_\\infty / t_f, |y^T(Ax - z)| / t_g)` and
    :math:`e_d = \\max(\\|Px + q + A^Ty\\|_\\infty / t_s, |x^T(Px + q + A^Ty)| / t_g)`: a larger
    :math:`\\rho` shrinks the primal residual and its gap term, a smaller one the dual. OSQP's rule
    (:func:`adapted_penalty`) balances the two relative residuals only; on LP-like QPs both meet their
    tolerances long before the gap does (QFORPLAN: 0.007 and 0.07 of them at 1e5 iterations, the gap
    200 times its own, with multipliers of 1e5), and the rule then holds :math:`\\rho` where the gap
    converges slowly. Own rule (docs/feasibility.md, "LP-like QPs")."""
    point = unscale(scaled, image.x, image.z, image.y)
    values, scales = residuals(problem, point)
    tol = {name: tolerances[name] + rel_tol * scales[name] for name in values}
    primal_residual = problem.A @ point.x - point.z
    dual_residual = problem.P @ point.x + problem.q + problem.AT @ point.y
    primal = max(values["feasibility"] / tol["feasibility"], abs(dot(point.y, primal_residual)) / tol["gap"])
    dual = max(values["stationarity"] / tol["stationarity"], abs(dot(point.x, dual_residual)) / tol["gap"])
    if not (primal > 0.0 and dual > 0.0 and math.isfinite(primal) and math.isfinite(dual)):
        return penalty
    return float(np.clip(penalty * math.sqrt(primal / dual), RHO_MIN, RHO_MAX))


def adapted_penalty(scaled: ScaledQP, image: Image, penalty: float) -> float:
    """OSQP's rho update (Section 5.2): balance the relative primal and dual residuals (scaled space)."""
    Ax, Px, ATy = scaled.A @ image.x, scaled.P @ image.x, scaled.AT @ image.y
    norm = lambda a: float(np.max(np.abs(a), initial=0.0))  # noqa: E731
    primal = norm(Ax - image.z) / max(norm(Ax), norm(image.z), 1e-30)
    dual = norm(Px + scaled.q + ATy) / max(norm(Px), norm(ATy), norm(scaled.q), 1e-30)
    if primal <= 0.0 or dual <= 0.0:
        return penalty
    return float(np.clip(penalty * np.sqrt(primal / dual), RHO_MIN, RHO_MAX))
