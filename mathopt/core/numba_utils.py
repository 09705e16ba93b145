"""Numba helpers: one cached ``njit`` for every compiled kernel in mathopt.

Kernel modules import Numba at their top, so a solver module must import its
kernel module inside the solve function, never at module level: this keeps
``import mathopt`` and the solver registry light. Kernels are compiled with
``cache=True`` (machine code reused across processes) and IEEE semantics
(``fastmath`` off: NaN checks must keep working). Compiled loops record history
in arrays preallocated by :func:`preallocate_history`.
"""
from __future__ import annotations

import numba
import numpy as np


def njit(func=None, **kwargs):
    """``numba.njit(cache=True, ...)``; use as ``@njit`` or ``@njit(parallel=True)``."""
    kwargs.setdefault("cache", True)
    if func is None:
        return numba.njit(**kwargs)
    return numba.njit(**kwargs)(func)


def preallocate_history(names, max_iter: int) -> dict[str, np.ndarray]:
    """NaN-filled float arrays, one per recorded quantity, for compiled loops."""
    return {name: np.full(max_iter + 1, np.nan) for name in names}


def trim_history(history: dict[str, np.ndarray], nit: int) -> dict[str, np.ndarray]:
    """Cut preallocated history arrays to the iterations actually run."""
    return {name: values[: nit + 1].copy() for name, values in history.items()}
