"""Classical proximal operators (the :class:`~mathopt.prox.base.Prox` protocol).

For :math:`t > 0` (``step``), :math:`\\operatorname{prox}_{t g}(v) = \\operatorname{argmin}_u
g(u) + \\frac{1}{2t}\\|u - v\\|_2^2`, with the Frobenius norm of the whole array. ``v`` may have
any shape unless stated. The elementwise and norm proxes below work on NumPy arrays (fast, no
JAX dispatch) and on JAX arrays (``traceable=True``: usable inside ``jit``); the set indicators
are the sets of :mod:`mathopt.sets` (their projections, one abstraction).

==========================================  =====================================  =================================================================
operator                                    :math:`g(x)`                           :math:`\\operatorname{prox}_{tg}(v)`
==========================================  =====================================  =================================================================
``L1Norm(weight)``                          :math:`\\sum_i w_i |x_i|`              soft-thresholding :math:`\\operatorname{sign}(v)\\max(|v| - t w, 0)`
``L2Norm(weight, axis=None)``               :math:`w \\|x\\|_2` (per slice along   block soft-thresholding :math:`\\max(1 - t w/\\|v\\|_2, 0)\\, v`
                                            ``axis``: group lasso)
``SquaredL2Norm(weight)``                   :math:`\\frac w2 \\|x\\|_2^2`           :math:`v / (1 + t w)`
``NuclearNorm(weight)``                     :math:`w \\sum_i \\sigma_i(X)`          singular value thresholding :math:`U \\max(\\Sigma - t w, 0) V^T`
``TotalVariation(weight)``                  :math:`w \\sum_i \\|(\\nabla x)_i\\|_2`  Chambolle's dual projection (scikit-image), inexact, NumPy only
``Box(l, u)``, ``NonnegativeOrthant()``     indicator                              :math:`\\min(\\max(v, l), u)`, :math:`\\max(v, 0)`
``Simplex(s)``, ``L1Ball(r)``               indicator                              sort-based projections (Duchi et al. 2008)
``Reals()``                                 0                                      identity
==========================================  =====================================  =================================================================

Every prox checks ``step`` (a positive finite number: :class:`~mathopt.core.problem.ProblemError`
naming ``step``); weights are validated at construction (nonnegative and finite, naming
``weight``).

>>> import numpy as np
>>> from mathopt.prox.operators import L1Norm
>>> L1Norm(1.0).prox(np.array([-3.0, 0.5, 2.0]), step=1.0).tolist()
[-2.0, 0.0, 1.0]
"""
from __future__ import annotations

import numpy as np

from ..core.problem import ProblemError, as_real_array
from ..sets import Ball, Box, L1Ball, NonnegativeOrthant, Reals, Simplex
from .base import Prox, array_namespace, check_step

__all__ = ["L1Norm", "L2Norm", "SquaredL2Norm", "NuclearNorm", "TotalVariation", "Box",
           "NonnegativeOrthant", "Simplex", "L1Ball", "Ball", "Reals"]


def _weight(weight, *, scalar: bool = True) -> np.ndarray:
    arr = as_real_array(weight, "weight")
    if scalar and arr.ndim != 0:
        raise ProblemError("weight", f"must be a scalar, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ProblemError("weight", "contains NaN or inf")
    if np.any(arr < 0):
        raise ProblemError("weight", "must be nonnegative")
    return arr


class ArrayProx(Prox):
    """A prox written once for NumPy and JAX arrays (the array's own namespace)."""

    def _input(self, v, step):
        check_step(step)
        xp = array_namespace(v)
        v = xp.asarray(v, dtype=float) if xp is np else v
        return xp, v

    def prox_numpy(self, v, step=1.0) -> np.ndarray:
        return np.asarray(self.prox(np.asarray(v, dtype=float), step), dtype=float)

    def __repr__(self):
        weight = getattr(self, "weight", None)
        return f"{type(self).__name__}(weight={weight.tolist() if weight is not None else None!r})"


class L1Norm(ArrayProx):
    """:math:`g(x) = \\sum_i w_i |x_i|` (``weight`` a scalar or an array broadcast to x's shape)."""

    def __init__(self, weight=1.0):
        self.weight = _weight(weight, scalar=False)

    def _check_shape(self, shape):
        try:
            if np.broadcast_shapes(shape, self.weight.shape) != tuple(shape):
                raise ValueError
        except ValueError:
            raise ProblemError("v", f"shape {tuple(shape)} does not match the weight's shape "
                                    f"{self.weight.shape}") from None

    def prox(self, v, step=1.0):
        xp, v = self._input(v, step)
        self._check_shape(v.shape)
        return xp.sign(v) * xp.maximum(xp.abs(v) - step * self.weight, 0.0)

    def value(self, x) -> float:
        x = np.asarray(x, dtype=float)
        self._check_shape(x.shape)
        return float(np.sum(self.weight * np.abs(x)))


class L2Norm(ArrayProx):
    """:math:`g(x) = w \\|x\\|_2` (the Frobenius norm of the whole array), or with ``axis`` the
    sum of the norms of the slices along ``axis`` (group lasso: with x of shape (groups, size),
    ``axis=1`` gives :math:`w \\sum_k \\|x_{k,:}\\|_2`)."""

    def __init__(self, weight=1.0, axis: int | None = None):
        self.weight = _weight(weight)
        if axis is not None and (isinstance(axis, bool) or not isinstance(axis, (int, np.integer))):
            raise ProblemError("axis", f"must be an integer or None, got {axis!r}")
        self.axis = None if axis is None else int(axis)

    def _norms(self, xp, v):
        if self.axis is not None and not -v.ndim <= self.axis < v.ndim:
            raise ProblemError("v", f"has {v.ndim} dimensions, no axis {self.axis}")
        return xp.sqrt(xp.sum(v * v, axis=self.axis, keepdims=self.axis is not None))

    def prox(self, v, step=1.0):
        xp, v = self._input(v, step)
        norms = self._norms(xp, v)
        safe = xp.where(norms > 0, norms, 1.0)
        return xp.maximum(1.0 - step * self.weight / safe, 0.0) * v

    def value(self, x) -> float:
        x = np.asarray(x, dtype=float)
        return float(self.weight * np.sum(self._norms(np, x)))


class SquaredL2Norm(ArrayProx):
    """:math:`g(x) = \\frac w2 \\|x\\|_2^2` (Tikhonov); :math:`\\operatorname{prox}_{tg}(v) = v/(1 + tw)`."""

    def __init__(self, weight=1.0):
        self.weight = _weight(weight)

    def prox(self, v, step=1.0):
        _, v = self._input(v, step)
        return v / (1.0 + step * self.weight)

    def value(self, x) -> float:
        x = np.asarray(x, dtype=float)
        return float(0.5 * self.weight * np.sum(x * x))


class NuclearNorm(ArrayProx):
    """:math:`g(X) = w \\|X\\|_* = w \\sum_i \\sigma_i(X)` for a matrix X; the prox is singular
    value thresholding (Cai, Candès & Shen 2010, Theorem 2.1): with :math:`V = U \\Sigma W^T`,
    :math:`U \\max(\\Sigma - t w, 0) W^T`."""

    def __init__(self, weight=1.0):
        self.weight = _weight(weight)

    @staticmethod
    def _matrix(v):
        if v.ndim != 2:
            raise ProblemError("v", f"must be a matrix (2-D), got shape {tuple(v.shape)}")

    def prox(self, v, step=1.0):
        xp, v = self._input(v, step)
        self._matrix(v)
        u, s, wt = xp.linalg.svd(v, full_matrices=False)
        return (u * xp.maximum(s - step * self.weight, 0.0)) @ wt

    def value(self, x) -> float:
        x = np.asarray(x, dtype=float)
        self._matrix(x)
        return float(self.weight * np.sum(np.linalg.svd(x, compute_uv=False)))


class TotalVariation(Prox):
    """Isotropic total variation of an n-D array (a signal, an image, a volume), by Chambolle's
    algorithm as implemented in :func:`skimage.restoration.denoise_tv_chambolle`.

    .. math::

        g(x) = w \\sum_i \\Big(\\sum_{a=1}^{d} (D_a x)_i^2\\Big)^{1/2}, \\qquad
        (D_a x)_i = x_{i + e_a} - x_i \\text{ (0 on the last slice along axis a)},

    forward differences with Neumann boundary. scikit-image's ``denoise_tv_chambolle(v,
    weight=W)`` solves :math:`\\min_u W\\,\\mathrm{TV}(u) + \\frac12\\|u - v\\|_2^2` (its ``weight`` is
    :math:`1/\\lambda` of its docstring's ROF form), so :math:`\\operatorname{prox}_{tg}(v)` is
    that call with ``W = step * weight``. It is an iterative, inexact prox: Chambolle's
    projection with step 1/(2d), stopped when the relative change of its energy is below
    ``tol`` (scikit-image's ``eps``) or after ``max_num_iter`` iterations (the defaults are
    tighter than scikit-image's 2e-4 and 200). NumPy only (``traceable=False``).

    References: A. Chambolle, "An algorithm for total variation minimization and applications",
    J. Math. Imaging Vision 20 (2004).
    """

    traceable = False

    def __init__(self, weight=1.0, *, tol: float = 1e-6, max_num_iter: int = 1000):
        self.weight = _weight(weight)
        tol = as_real_array(tol, "tol")
        if tol.ndim != 0 or not (np.isfinite(tol) and tol > 0):
            raise ProblemError("tol", f"must be a positive number, got {tol!r}")
        if isinstance(max_num_iter, bool) or not isinstance(max_num_iter, (int, np.integer)) or max_num_iter < 1:
            raise ProblemError("max_num_iter", f"must be an integer >= 1, got {max_num_iter!r}")
        self.tol, self.max_num_iter = float(tol), int(max_num_iter)

    def prox(self, v, step=1.0):
        from skimage.restoration import denoise_tv_chambolle

        check_step(step)
        v = np.asarray(v, dtype=float)
        if v.ndim == 0:
            raise ProblemError("v", "must be an array with at least one dimension")
        if self.weight == 0:
            return v.copy()
        return denoise_tv_chambolle(v, weight=float(step * self.weight), eps=self.tol,
                                    max_num_iter=self.max_num_iter, channel_axis=None)

    def value(self, x) -> float:
        x = np.asarray(x, dtype=float)
        squares = np.zeros_like(x)
        for axis in range(x.ndim):
            difference = np.diff(x, axis=axis)
            pad = [(0, 0)] * x.ndim
            pad[axis] = (0, 1)
            squares += np.pad(difference, pad) ** 2
        return float(self.weight * np.sum(np.sqrt(squares)))

    def __repr__(self):
        return f"TotalVariation(weight={float(self.weight)!r}, tol={self.tol!r}, max_num_iter={self.max_num_iter})"
