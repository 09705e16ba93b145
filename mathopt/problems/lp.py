"""Linear (and quadratic) programs from MPS files, read by HiGHS, as :class:`mathopt.QP`.

The Netlib LP collections (feasible ``netlib-lp`` and infeasible ``netlib-infeas``, gzipped
free MPS) are read by HiGHS's own reader (``pip install highspy``, extra ``lp``); nothing
here parses MPS. The OSQP form ``l <= Ax <= u`` has no separate variable bounds, so the
finite bounds of the columns become rows of the identity appended below the constraint
rows (``bounds_as_rows``).

>>> problem = read_mps("../shared/data/netlib-infeas/itest2.mps.gz")   # doctest: +SKIP
>>> problem.n, problem.m                                                 # doctest: +SKIP
(4, 13)
"""
from __future__ import annotations

import os

import numpy as np

from ..feasibility.problem import QP

#: Magnitudes at or above this are infinite bounds (the MPS and HiGHS convention).
INFINITE_BOUND = 1e20


def _highs(path):
    try:
        import highspy
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("read_mps needs HiGHS: pip install highspy (or mathopt[lp])") from None
    if not os.path.exists(path):
        raise FileNotFoundError(path)
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    status = highs.readModel(str(path))
    if status == highspy.HighsStatus.kError:  # a warning (e.g. a duplicate entry) still gives a model
        raise ValueError(f"HiGHS could not read {path!r} ({status})")
    return highs, highspy


def _infinite(values) -> np.ndarray:
    values = np.array(values, dtype=float)
    values[values >= INFINITE_BOUND] = np.inf
    values[values <= -INFINITE_BOUND] = -np.inf
    return values


def _matrix(start, index, value, shape, colwise: bool):
    import scipy.sparse as sp

    cls = sp.csc_matrix if colwise else sp.csr_matrix
    return cls((np.asarray(value, dtype=float), np.asarray(index), np.asarray(start)), shape=shape).tocsc()


def read_mps(path, *, bounds_as_rows: bool = True) -> QP:
    """Read an MPS file (plain or gzipped) with HiGHS into a :class:`~mathopt.QP`.

    Parameters
    ----------
    path : str or path-like
        The MPS file; HiGHS reads ``.mps.gz`` directly.
    bounds_as_rows : bool, default True
        Append an identity row for each column with a finite bound (needed for the bounds to
        be constraints: a QP has no separate variable bounds). With False the column bounds
        are dropped, which changes the problem unless every column is free.

    Returns
    -------
    QP
        ``min 1/2 x'Px + c'x + offset`` (a maximization is negated) subject to the rows
        ``row_lower <= A x <= row_upper`` and, with ``bounds_as_rows``, ``col_lower <= x <= col_upper``
        on the bounded columns. ``P`` is the quadratic part of a QPS file (None for an LP).
    """
    import scipy.sparse as sp

    highs, highspy = _highs(path)
    model = highs.getModel()
    lp = model.lp_
    n, m = lp.num_col_, lp.num_row_
    sign = -1.0 if lp.sense_ == highspy.ObjSense.kMaximize else 1.0
    matrix = lp.a_matrix_
    A = _matrix(matrix.start_, matrix.index_, matrix.value_, (m, n),
                matrix.format_ == highspy.MatrixFormat.kColwise)
    lower, upper = _infinite(lp.row_lower_), _infinite(lp.row_upper_)
    if bounds_as_rows:
        col_lower, col_upper = _infinite(lp.col_lower_), _infinite(lp.col_upper_)
        bounded = np.flatnonzero(np.isfinite(col_lower) | np.isfinite(col_upper))
        rows = sp.csc_matrix((np.ones(bounded.size), (np.arange(bounded.size), bounded)), shape=(bounded.size, n))
        A = sp.vstack([A, rows], format="csc")
        lower = np.concatenate([lower, col_lower[bounded]])
        upper = np.concatenate([upper, col_upper[bounded]])
    P = None
    hessian = model.hessian_
    if hessian.dim_ > 0:
        H = _matrix(hessian.start_, hessian.index_, hessian.value_, (n, n), True)
        if hessian.format_ == highspy.HessianFormat.kTriangular:
            H = H + sp.tril(H, -1).T
        P = sign * H
    return QP(P, sign * np.asarray(lp.col_cost_, dtype=float), A, lower, upper, r=sign * float(lp.offset_))
