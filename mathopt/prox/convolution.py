"""Circular convolution on an n-D grid, diagonalized by the FFT.

.. math::

    (A x)_i = \\sum_j k_j\\, x_{(i - j + c) \\bmod N}, \\qquad
    A = F^{-1} \\operatorname{diag}(\\hat k) F,

with ``kernel`` k centered at ``c = kernel.shape // 2`` and :math:`\\hat k` the discrete Fourier
transform of k zero-padded to the grid and rolled so that its center sits at index 0 (the
optical transfer function). Hence :math:`A^T = F^{-1}\\operatorname{diag}(\\bar{\\hat k})F`, and
:math:`(A^T A + \\rho I)^{-1} b = F^{-1}[\\hat b / (|\\hat k|^2 + \\rho)]` costs two FFTs: the
x-update of PnP-ADMM (:mod:`mathopt.prox.pnp`) is exact and cheap for deblurring.
"""
from __future__ import annotations

import numpy as np

from ..core.problem import ProblemError, as_real_array


class Convolution:
    """The circular convolution ``x -> kernel (*) x`` on arrays of ``shape`` (periodic boundary).

    Parameters
    ----------
    kernel : array
        The point-spread function, with as many dimensions as ``shape`` and no larger; finite.
    shape : tuple of int
        The shape of x (and of A x).

    >>> import numpy as np
    >>> blur = Convolution(np.full((3, 3), 1 / 9), (8, 8))
    >>> float(blur.apply(np.ones((8, 8)))[4, 4])
    1.0
    """

    def __init__(self, kernel, shape):
        kernel = as_real_array(kernel, "kernel")
        try:
            shape = tuple(int(s) for s in shape)
        except (TypeError, ValueError):
            raise ProblemError("shape", f"must be a tuple of integers, got {shape!r}") from None
        if not shape or any(s < 1 for s in shape):
            raise ProblemError("shape", f"must be a non-empty tuple of positive integers, got {shape!r}")
        if kernel.ndim != len(shape):
            raise ProblemError("kernel", f"has {kernel.ndim} dimensions, shape has {len(shape)}")
        if any(k > s for k, s in zip(kernel.shape, shape)) or kernel.size == 0:
            raise ProblemError("kernel", f"shape {kernel.shape} must be non-empty and fit in {shape}")
        if not np.all(np.isfinite(kernel)):
            raise ProblemError("kernel", "contains NaN or inf")
        padded = np.zeros(shape)
        padded[tuple(slice(0, k) for k in kernel.shape)] = kernel
        center = tuple(-(k // 2) for k in kernel.shape)
        self.kernel, self.shape = kernel, shape
        self.transfer = np.fft.fftn(np.roll(padded, center, axis=tuple(range(len(shape)))))

    def apply_multiplier(self, x, multiplier) -> np.ndarray:
        """:math:`F^{-1} \\operatorname{diag}(m) F x`: x filtered by the Fourier multiplier m
        (an array of ``shape``)."""
        x = np.asarray(x, dtype=float).reshape(self.shape)
        return np.real(np.fft.ifftn(multiplier * np.fft.fftn(x)))

    def apply(self, x) -> np.ndarray:
        """:math:`A x` (x reshaped to ``shape``)."""
        return self.apply_multiplier(x, self.transfer)

    def apply_adjoint(self, r) -> np.ndarray:
        """:math:`A^T r` (correlation with the kernel)."""
        return self.apply_multiplier(r, np.conj(self.transfer))

    def normal_solve(self, rhs, rho: float) -> np.ndarray:
        """:math:`(A^T A + \\rho I)^{-1}` rhs, exactly, by two FFTs (rho > 0)."""
        return self.apply_multiplier(rhs, 1.0 / (np.abs(self.transfer) ** 2 + rho))

    def norm_squared(self) -> float:
        """:math:`\\|A\\|_2^2 = \\max |\\hat k|^2`."""
        return float(np.max(np.abs(self.transfer)) ** 2)

    def __repr__(self):
        return f"Convolution(kernel of shape {self.kernel.shape}, shape={self.shape})"
