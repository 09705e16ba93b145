"""Numba helpers: one cached ``njit`` for every compiled kernel in mathopt.

Kernel modules import Numba at their top, so a solver module must import its
kernel module inside the solve function, never at module level: this keeps
``import mathopt`` and the solver registry light. Kernels are compiled with
``cache=True`` (machine code reused across processes) and IEEE semantics
(``fastmath`` off: NaN checks must keep working). Compiled loops record history
in arrays the solver preallocates and hands back as ``Advance.records``
(see :mod:`mathopt.core.driver`). :func:`exp` is a
vectorizable exponential for kernels dominated by ``exp`` (Numba calls the
scalar libm ``exp`` otherwise, several times slower than NumPy's SIMD one).
:func:`csr_matvec` is the CSR matrix-vector product the compiled loops share.
"""
from __future__ import annotations

import math

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic


def njit(func=None, **kwargs):
    """``numba.njit(cache=True, ...)``; use as ``@njit`` or ``@njit(parallel=True)``."""
    kwargs.setdefault("cache", True)
    if func is None:
        return numba.njit(**kwargs)
    return numba.njit(**kwargs)(func)


@njit
def csr_matvec(indptr, indices, data, x, out):
    """``out = M @ x`` for a CSR matrix ``M`` given by its three arrays (in place, no allocation)."""
    for i in range(indptr.shape[0] - 1):
        total = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            total += data[p] * x[indices[p]]
        out[i] = total


@intrinsic
def _int64_bits_as_float64(typingctx, bits):
    """Reinterpret the 64 bits of an int64 as a float64 (an LLVM bitcast, vectorizable)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


_LOG2_E = 1.4426950408889634
_LN2_HIGH = 0.693147180369123816490  # ln 2 split in two (Cody & Waite) for an exact k * ln2
_LN2_LOW = 1.90821492927058770002e-10


@njit(inline="always")
def exp(x):
    """``exp(x)`` within 1 ulp of ``math.exp``, written so LLVM vectorizes loops calling it.

    Cody-Waite reduction x = k ln2 + r, |r| <= ln2 / 2, degree-13 Taylor
    polynomial for exp(r) (truncation error below 1e-17 relative), and 2^k
    built from its IEEE bits in two halves so that underflow to subnormals/0
    and overflow to inf are exact. NaN propagates; -inf gives 0, +inf gives inf.
    Measured max error 1 ulp against NumPy's exp on [-745, 709].
    """
    x = min(max(x, -746.0), 710.0)
    k = math.floor(x * _LOG2_E + 0.5)
    r = (x - k * _LN2_HIGH) - k * _LN2_LOW
    p = 1.0 / 6227020800.0
    for coefficient in (1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0,
                        1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0):
        p = p * r + coefficient
    half = np.int64(k) >> 1
    rest = np.int64(k) - half
    return p * _int64_bits_as_float64((half + 1023) << 52) * _int64_bits_as_float64((rest + 1023) << 52)
