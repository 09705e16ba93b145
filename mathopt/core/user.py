"""Telling the user's exceptions from mathopt's own.

An exception raised by a function the user wrote (an objective, a gradient,
a constraint, a callback) propagates out of :func:`mathopt.solve` unchanged:
same object, same type, same traceback. A numerical failure inside mathopt's
own linear algebra (a singular system, a floating-point error) instead ends
the run with ``Status.NUMERICAL_ERROR`` and the last good iterate.

Problem classes wrap the user's callables with :func:`user_function`; the
driver asks :func:`is_user_error` before turning an exception into a status.
"""
from __future__ import annotations

import functools

import numpy as np

_MARK = "_mathopt_user_error"

#: Exceptions that mean "mathopt's numerics failed" when mathopt raised them.
NUMERICAL_ERRORS = (np.linalg.LinAlgError, FloatingPointError, ZeroDivisionError, OverflowError)


def user_function(func, name: str = ""):
    """Wrap a user's callable so that any exception it raises is marked as the user's.

    The exception itself is re-raised unchanged. ``None`` passes through.
    Wrapping twice is harmless.
    """
    if func is None or getattr(func, "_mathopt_wrapped", False):
        return func

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except BaseException as exc:
            try:
                setattr(exc, _MARK, True)
            except (AttributeError, TypeError):  # an exception type without __dict__
                pass
            raise

    wrapper._mathopt_wrapped = True
    wrapper._mathopt_user_name = name
    return wrapper


def is_user_error(exc: BaseException) -> bool:
    """True when ``exc`` was raised by (or through) a function the user supplied."""
    return bool(getattr(exc, _MARK, False))


def is_numerical_failure(exc: BaseException) -> bool:
    """True for mathopt's own numerical failures (never for the user's exceptions)."""
    return isinstance(exc, NUMERICAL_ERRORS) and not is_user_error(exc)


def failure_message(exc: BaseException) -> str:
    from .status import Status

    return f"{Status.NUMERICAL_ERROR.message}: {type(exc).__name__}: {exc}"
