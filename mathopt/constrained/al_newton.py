r"""``al-newton``: exact-augmented-Lagrangian Newton method with an exact KKT solve.

.. math::

    \min_x f(x) \quad \text{s.t.} \quad c(x) = 0 .

The outer method of ``al-sketch`` (Hong, Na, Mahoney & Kolar 2023,
Algorithm 1; see :mod:`mathopt.constrained._exact_al` for the merit function,
its gradient, the descent test and the line search) with the Lagrangian
Newton system solved exactly: dense LU (``scipy.linalg.lu_factor``) or sparse
LU (``scipy.sparse.linalg.splu``) when the Jacobian or Hessian is sparse. A
singular KKT matrix (rank-deficient Jacobian, inconsistent linearized
constraints) falls back on the minimum-norm least-squares solution (``lstsq``
dense, ``lsqr`` sparse). It is the baseline that isolates what sketching buys.

Returns the method's multipliers in ``extra["multipliers"]["eq"]`` and the
residuals ``stationarity = ||grad f + G^T lambda||_inf`` and
``feasibility = ||c||_inf`` (conventions of :mod:`mathopt.constrained.kkt`).

References
----------
.. [1] I. Hong, S. Na, M. W. Mahoney, M. Kolar, "Constrained Optimization via
   Exact Augmented Lagrangian and Randomized Iterative Sketching", ICML 2023
   (arXiv:2305.18379).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from ..core.lazy import lazy_module

sp = lazy_module("scipy.sparse")

from ..core.driver import run
from ..core.nlp import NLP
from ..core.registry import register
from ._exact_al import ExactALNewton, ExactALOptions, KKTLinearSolver, LinearSolve


@dataclass(frozen=True)
class ALNewtonOptions(ExactALOptions):
    """Exact augmented Lagrangian Newton method with a direct KKT solve (no own options)."""


class DirectKKTSolver(KKTLinearSolver):
    """Dense or sparse LU; minimum-norm least squares when the matrix is singular."""

    exact = True

    def solve(self, K, rhs, accuracy, seed, warm=None, memory=(), n=None) -> LinearSolve:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # singular matrices are handled below
            d = self._lu(K, rhs)
            if d is None or not np.all(np.isfinite(d)) or (
                    np.linalg.norm(K @ d - rhs) > 1e-8 * max(1.0, np.linalg.norm(rhs))):
                d = self._least_squares(K, rhs)
        return LinearSolve(d, float(np.linalg.norm(K @ d - rhs)), ok=bool(np.all(np.isfinite(d))))

    @staticmethod
    def _lu(K, rhs):
        from scipy.linalg import LinAlgError, lu_factor, lu_solve

        try:
            if sp.issparse(K):
                from scipy.sparse.linalg import splu

                return splu(sp.csc_matrix(K)).solve(rhs)
            return lu_solve(lu_factor(K, check_finite=False), rhs)
        except (RuntimeError, LinAlgError, ValueError):
            return None

    @staticmethod
    def _least_squares(K, rhs):
        if sp.issparse(K):
            from scipy.sparse.linalg import lsqr

            return lsqr(K, rhs, atol=1e-14, btol=1e-14)[0]
        from scipy.linalg import lstsq

        # minimum-norm solution by a complete orthogonal factorization (LAPACK gelsy): the same
        # answer as the SVD-based gelsd, 5-10x faster on large singular KKT matrices (m > n, DMN15102)
        return lstsq(K, rhs, lapack_driver="gelsy", check_finite=False)[0]


@register("al-newton", problem=NLP, options=ALNewtonOptions, constraints=("eq",), requires=("scipy",))
def al_newton(problem: NLP, options: ALNewtonOptions):
    """Exact-AL Newton (Hong et al. 2023, Algorithm 1) with an exact LU solve of the KKT system."""
    return run(ExactALNewton(DirectKKTSolver()), problem, options, "al-newton")
