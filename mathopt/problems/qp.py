"""Convex QPs of the Maros-Meszaros collection (``.mat`` files in OSQP form) as :class:`mathopt.QP`.

The files of qpsolvers/maros_meszaros_qpbenchmark hold ``P`` (full symmetric, sparse), ``q``,
``r``, ``A`` (sparse), ``l``, ``u``, with ``+-1e20`` for infinite bounds.

>>> problem = maros_meszaros("../shared/data/maros-meszaros/HS21.mat")   # doctest: +SKIP
>>> problem.n, problem.m                                                  # doctest: +SKIP
(2, 3)
"""
from __future__ import annotations

import os

import numpy as np

from ..feasibility.problem import QP
from .lp import INFINITE_BOUND


def maros_meszaros(path) -> QP:
    """Read a Maros-Meszaros ``.mat`` file (``scipy.io.loadmat``: P, q, r, A, l, u) into a QP."""
    import scipy.io

    if not os.path.exists(path):
        raise FileNotFoundError(path)
    data = scipy.io.loadmat(path)
    bounds = []
    for name in ("l", "u"):
        values = np.asarray(data[name], dtype=float).reshape(-1)
        values = np.where(values >= INFINITE_BOUND, np.inf, np.where(values <= -INFINITE_BOUND, -np.inf, values))
        bounds.append(values)
    return QP(data["P"], np.asarray(data["q"], dtype=float).reshape(-1), data["A"], bounds[0], bounds[1],
              r=float(np.asarray(data["r"]).reshape(-1)[0]))
