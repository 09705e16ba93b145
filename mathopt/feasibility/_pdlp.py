"""PDLP's ingredients for ``pdhg-lp`` / ``halpern-pdhg-lp`` (see :mod:`mathopt.feasibility.pdhg`).

* :func:`reduce_lp`: rows of A with one nonzero become bounds on their column (PDLP's native
  variable bounds :math:`x \\in X = [x_l, x_u]`, projected in the primal step; the OSQP form of a
  QP stores column bounds as identity rows, ``read_mps(bounds_as_rows=True)``).
* :func:`precondition`: Ruiz equilibration then Pock-Chambolle (alpha = 1) on the remaining rows
  (Applegate et al. 2021, Section 3.4).
* :func:`operator_norm`: ``||A||_2`` by Lanczos on ``A'A`` with a margin, capped by the bound
  ``sqrt(||A||_1 ||A||_inf)`` (cuPDLP, Lu & Yang 2023, uses a power-iteration estimate and step
  0.998 / ||A||_2).
* :func:`initial_primal_weight`, :func:`kkt_error`: PDLP's ``||c|| / ||b||`` and cuPDLP's weighted
  KKT error, on which the restarts are decided.
* :func:`full_point`: the point (or a difference of points) back in the original QP's space,
  with the multipliers of the bound rows recovered from the reduced costs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# a'b without BLAS (OpenBLAS threads ddot above 10 000 entries: 11.7 ms against 0.016 ms at
# n = 10 733, gosh, 2 cores at load 4) and u'y_+ + l'y_-: the ADMM operator's own
from .admm_operator import dot, support_value

#: Relative margin added to the Lanczos estimate of ||A||_2 (its converged value is accurate to
#: about the solver tolerance 1e-8; the margin keeps tau sigma ||A||^2 < 1 with step_size < 1).
NORM_MARGIN = 1e-3
#: Scaling factors are clipped to [SCALE_MIN, SCALE_MAX] at each pass.
SCALE_MIN, SCALE_MAX = 1e-4, 1e4


def norm(a: np.ndarray) -> float:
    """The 2-norm, through :func:`dot`."""
    return float(np.sqrt(dot(a, a)))


@dataclass(frozen=True, eq=False)
class ReducedLP:
    """``min q'x  s.t.  l <= A x <= u,  xl <= x <= xu`` on the scaled variables
    ``x_hat = x / D`` and rows ``E A D`` (the rows of the QP with two or more nonzeros)."""

    A: object            # scaled general rows, CSR
    AT: object           # its transpose, CSR
    q: np.ndarray        # D q
    l: np.ndarray        # E l
    u: np.ndarray
    xl: np.ndarray       # bounds of x_hat
    xu: np.ndarray
    D: np.ndarray
    E: np.ndarray
    rows: np.ndarray     # indices (in the QP) of the general rows
    low_row: np.ndarray  # per column, the QP row giving its lower bound (-1: none)
    up_row: np.ndarray   # per column, the QP row giving its upper bound (-1: none)
    coef: np.ndarray     # per QP row, its single coefficient (0 for a general row)
    GT: object           # the unscaled general rows, transposed (CSR), for the reduced costs


def _column_bounds(problem, singleton: np.ndarray):
    """Bounds implied on each column by the singleton rows, and the rows that give them."""
    n = problem.n
    csr = problem.A.tocsr()
    xl, xu = np.full(n, -np.inf), np.full(n, np.inf)
    low_row, up_row = np.full(n, -1), np.full(n, -1)
    coef = np.zeros(problem.m)
    for i in singleton:
        j, a = csr.indices[csr.indptr[i]], csr.data[csr.indptr[i]]
        coef[i] = a
        lo, hi = (problem.l[i] / a, problem.u[i] / a) if a > 0 else (problem.u[i] / a, problem.l[i] / a)
        if lo > xl[j]:
            xl[j], low_row[j] = lo, i
        if hi < xu[j]:
            xu[j], up_row[j] = hi, i
    return xl, xu, low_row, up_row, coef


def reduce_lp(problem, bound_rows: bool):
    """(general rows, xl, xu, low_row, up_row, coef): the rows of one nonzero become column bounds
    when ``bound_rows`` (a column whose implied bounds cross keeps its rows as constraints)."""
    counts = np.diff(problem.A.tocsr().indptr)
    singleton = np.flatnonzero(counts == 1) if bound_rows else np.zeros(0, dtype=int)
    xl, xu, low_row, up_row, coef = _column_bounds(problem, singleton)
    crossed = xl > xu
    if crossed.any():  # keep those rows general: the certificate then comes from the rows
        cols = problem.A.tocsr().indices
        keep = singleton[crossed[cols[problem.A.tocsr().indptr[singleton]]]]
        singleton = np.setdiff1d(singleton, keep)
        xl, xu, low_row, up_row, coef = _column_bounds(problem, singleton)
    general = np.setdiff1d(np.arange(problem.m), singleton)
    return general, xl, xu, low_row, up_row, coef


def _norms(matrix, ord_):
    """(row norms, column norms) of a CSR matrix, ``ord_`` in {"inf", 1}."""
    absolute = abs(matrix)
    if ord_ == "inf":
        rows = np.asarray(absolute.max(axis=1).toarray()).ravel() if matrix.nnz else np.zeros(matrix.shape[0])
        cols = np.asarray(absolute.max(axis=0).toarray()).ravel() if matrix.nnz else np.zeros(matrix.shape[1])
    else:
        rows = np.asarray(absolute.sum(axis=1)).ravel()
        cols = np.asarray(absolute.sum(axis=0)).ravel()
    return rows, cols


def _inverse_sqrt(norms):
    return 1.0 / np.sqrt(np.clip(np.where(norms > 0, norms, 1.0), SCALE_MIN, SCALE_MAX))


def precondition(problem, ruiz: int, pock_chambolle: bool, bound_rows: bool) -> ReducedLP:
    """Ruiz equilibration (``ruiz`` passes, infinity norms) then one Pock-Chambolle pass
    (alpha = 1: rows and columns divided by the square roots of their 1-norms) of the general rows,
    as PDLP (Applegate et al. 2021, Section 3.4); the objective is not scaled."""
    import scipy.sparse as sp

    general, xl, xu, low_row, up_row, coef = reduce_lp(problem, bound_rows)
    A = problem.A.tocsr()[general]
    D, E = np.ones(problem.n), np.ones(general.size)
    passes = [("inf", ruiz)] + ([(1, 1)] if pock_chambolle else [])
    for ord_, count in passes:
        for _ in range(count):
            rows, cols = _norms(A, ord_)
            e, d = _inverse_sqrt(rows), _inverse_sqrt(cols)
            A = (sp.diags(e) @ A @ sp.diags(d)).tocsr()
            D, E = D * d, E * e
    A.sort_indices()
    return ReducedLP(A=A, AT=A.T.tocsr(), q=D * problem.q, l=E * problem.l[general], u=E * problem.u[general],
                     xl=xl / D, xu=xu / D, D=D, E=E, rows=general, low_row=low_row, up_row=up_row, coef=coef,
                     GT=problem.A.tocsr()[general].T.tocsr())


def norm_bound(A) -> float:
    """``sqrt(||A||_1 ||A||_inf)``, an upper bound of ``||A||_2``."""
    if A.nnz == 0:
        return 0.0
    rows, cols = _norms(A, 1)
    return float(np.sqrt(rows.max() * cols.max()))


def operator_norm(A, estimate: bool) -> float:
    """``||A||_2``: with ``estimate``, the Lanczos value (ARPACK on ``A'A``, deterministic start)
    times ``1 + NORM_MARGIN``, capped by :func:`norm_bound`, which is also the fallback when the
    iteration fails; without it, the bound."""
    bound = norm_bound(A)
    if not estimate or bound == 0.0 or min(A.shape) < 2:
        return bound
    from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, LinearOperator, eigsh

    n = A.shape[1]
    AT = A.T.tocsr()
    gram = LinearOperator((n, n), matvec=lambda v: AT @ (A @ v), dtype=float)
    try:
        value = eigsh(gram, k=1, which="LA", v0=np.ones(n), tol=1e-8, maxiter=max(1000, 10 * n),
                      return_eigenvectors=False)[0]
    except (ArpackError, ArpackNoConvergence):
        return bound
    if not np.isfinite(value) or value <= 0.0:
        return bound
    return float(min(np.sqrt(value) * (1.0 + NORM_MARGIN), bound))


def _bound_norm(lp: ReducedLP) -> float:
    """2-norm of the right-hand side: per row the largest finite bound in magnitude."""
    l = np.where(np.isfinite(lp.l), np.abs(lp.l), 0.0)
    u = np.where(np.isfinite(lp.u), np.abs(lp.u), 0.0)
    return norm(np.maximum(l, u))


def initial_primal_weight(lp: ReducedLP) -> float:
    """PDLP's initial primal weight ``||c||_2 / ||b||_2`` (scaled data), 1 when either is ~0."""
    c, b = norm(lp.q), _bound_norm(lp)
    return c / b if c > 1e-10 and b > 1e-10 else 1.0


def reduced_costs(lp: ReducedLP, g: np.ndarray) -> np.ndarray:
    """The part of ``g = q + A'y`` that the bounds of x absorb: positive entries where ``xl`` is
    finite, negative ones where ``xu`` is finite (PDLP's reduced costs lambda)."""
    return np.where(g > 0, np.where(np.isfinite(lp.xl), g, 0.0), np.where(np.isfinite(lp.xu), g, 0.0))


def kkt_error(lp: ReducedLP, x: np.ndarray, y: np.ndarray, weight: float) -> float:
    """cuPDLP's KKT error ``sqrt(w ||r_p||^2 + ||r_d||^2 / w + gap^2)`` of the scaled LP at (x, y)
    (x within its bounds, y in the polar of the recession cone of [l, u]): primal residual
    ``Ax - Pi(Ax)``, dual residual ``q + A'y - lambda``, gap ``q'x - (lambda_+'xl + lambda_-'xu - S(y))``."""
    Ax = lp.A @ x
    primal = Ax - np.clip(Ax, lp.l, lp.u)
    g = lp.q + lp.AT @ y
    lam = reduced_costs(lp, g)
    dual = g - lam
    dual_objective = support_value(lp.xu, lp.xl, lam) - support_value(lp.l, lp.u, y)  # lam_+'xl + lam_-'xu - S(y)
    gap = dot(lp.q, x) - dual_objective
    return float(np.sqrt(weight * dot(primal, primal) + dot(dual, dual) / weight + gap * gap))


def full_point(problem, lp: ReducedLP, x_hat: np.ndarray, y_hat: np.ndarray, homogeneous: bool):
    """(x, y) in the QP's space from a scaled point of the reduced LP (or, with ``homogeneous``, a
    difference of points: then q is left out of the reduced costs). The multiplier of a bound row is
    minus the reduced cost of its column over its coefficient, on the row giving that bound."""
    x = lp.D * x_hat
    y = np.zeros(problem.m)
    y_general = lp.E * y_hat
    y[lp.rows] = y_general
    g = lp.GT @ y_general
    if not homogeneous:
        g = g + problem.q
    lam = np.where(g > 0, np.where(lp.low_row >= 0, g, 0.0), np.where(lp.up_row >= 0, g, 0.0))
    for rows, mask in ((lp.low_row, lam > 0), (lp.up_row, lam < 0)):
        cols = np.flatnonzero(mask)
        np.add.at(y, rows[cols], -lam[cols] / lp.coef[rows[cols]])
    return x, y
