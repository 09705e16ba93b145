"""Problem base class, validation helpers and :class:`ProblemError`."""
from __future__ import annotations

import sys

import numpy as np


def is_sparse(value) -> bool:
    """``scipy.sparse.issparse`` without importing scipy.sparse at ``import mathopt``.

    A sparse matrix can only exist once its module is loaded, so checking
    ``sys.modules`` first is exact and keeps the import cost out of the core.
    """
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(value)


class ProblemError(ValueError):
    """Invalid problem data. ``field`` names the argument at fault."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


class Problem:
    """Marker base class of every problem family (used by the registry)."""


def as_float_vector(value, field: str, *, size: int | None = None) -> np.ndarray:
    """A finite 1-D float64 copy of ``value``, or a ProblemError naming ``field``."""
    try:
        arr = np.array(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ProblemError(field, f"cannot be converted to a float array ({exc})") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ProblemError(field, f"must be a 1-D array, got shape {arr.shape}")
    if size is not None and arr.shape[0] != size:
        raise ProblemError(field, f"must have length {size}, got {arr.shape[0]}")
    if not np.all(np.isfinite(arr)):
        raise ProblemError(field, "contains NaN or inf")
    return arr


def as_float_matrix(value, field: str, *, shape: tuple[int, int] | None = None,
                    allow_inf: bool = False) -> np.ndarray:
    """A 2-D float64 copy of ``value`` (finite unless ``allow_inf``)."""
    try:
        arr = np.array(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ProblemError(field, f"cannot be converted to a float array ({exc})") from None
    if arr.ndim != 2:
        raise ProblemError(field, f"must be a 2-D array, got shape {arr.shape}")
    if shape is not None and arr.shape != shape:
        raise ProblemError(field, f"must have shape {shape}, got {arr.shape}")
    bad = np.isnan(arr) if allow_inf else ~np.isfinite(arr)
    if np.any(bad):
        raise ProblemError(field, "contains NaN" + ("" if allow_inf else " or inf"))
    return arr
