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


def reject_complex(value, field: str) -> None:
    """Complex input is an error naming the field (NumPy would only warn and drop the imaginary part)."""
    data = value.data if is_sparse(value) else value
    listed = not isinstance(data, np.ndarray) and np.ndim(data) > 0  # a list may mix complex and real entries
    if np.iscomplexobj(data) or isinstance(data, complex) or (listed and any(
            isinstance(v, complex) for v in np.ravel(np.asarray(data, dtype=object)))):
        raise ProblemError(field, "has complex values; mathopt solves real problems")


def all_finite(*arrays) -> bool:
    """True when every entry of every array is finite; a SciPy sparse matrix is checked through its
    stored entries (``.data``), without densifying it."""
    return all(bool(np.all(np.isfinite(a.data if hasattr(a, "tocsr") else a))) for a in arrays)


def as_real_array(value, field: str) -> np.ndarray:
    """A float64 copy of ``value``; a ProblemError naming ``field`` for complex values (never a
    silent loss of the imaginary part), strings, or anything NumPy cannot read as numbers."""
    if isinstance(value, (str, bytes)):
        raise ProblemError(field, f"must be numbers, got the string {value!r:.40}")
    reject_complex(value, field)
    try:
        return np.array(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ProblemError(field, f"cannot be converted to a float array ({exc})") from None


def as_float_vector(value, field: str, *, size: int | None = None, allow_empty: bool = False) -> np.ndarray:
    """A finite, non-empty (unless ``allow_empty``) 1-D float64 copy of ``value``, or a ProblemError
    naming ``field``."""
    arr = as_real_array(value, field)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ProblemError(field, f"must be a 1-D array, got shape {arr.shape}")
    if size is not None and arr.shape[0] != size:
        raise ProblemError(field, f"must have length {size}, got {arr.shape[0]}")
    if arr.shape[0] == 0 and not allow_empty:
        raise ProblemError(field, "must have at least one entry")
    if not np.all(np.isfinite(arr)):
        raise ProblemError(field, "contains NaN or inf")
    return arr


def as_float_matrix(value, field: str, *, shape: tuple[int, int] | None = None,
                    allow_inf: bool = False) -> np.ndarray:
    """A 2-D float64 copy of ``value`` (finite unless ``allow_inf``)."""
    arr = as_real_array(value, field)
    if arr.ndim != 2:
        raise ProblemError(field, f"must be a 2-D array, got shape {arr.shape}")
    if shape is not None and arr.shape != shape:
        raise ProblemError(field, f"must have shape {shape}, got {arr.shape}")
    bad = np.isnan(arr) if allow_inf else ~np.isfinite(arr)
    if np.any(bad):
        raise ProblemError(field, "contains NaN" + ("" if allow_inf else " or inf"))
    return arr
