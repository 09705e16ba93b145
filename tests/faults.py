"""Fault injection for the contract tests: user functions that turn bad after a few calls.

Each family's ``tests/<family>/contract.py`` builds its fault problems from these, so
the whole registry meets the same faults (see tests/test_contract.py).
"""
import numpy as np

#: The faults every family answers in ``make_fault_problem(method, fault)``.
FAULTS = ("nan_objective", "nan_gradient", "user_error", "user_zero_division", "unbounded")


class UserError(RuntimeError):
    """The exception a faulty user function raises: it must reach the caller unchanged."""


class Countdown:
    """``func`` for the first ``calls`` calls, then the fault: ``"nan"`` (a NaN-filled
    value of the same shape), ``"error"`` (raise UserError) or ``"zero"`` (raise ZeroDivisionError).
    """

    def __init__(self, func, calls: int, fault: str):
        self.func, self.calls, self.fault, self.count = func, calls, fault, 0

    def __call__(self, *args, **kwargs):
        self.count += 1
        value = self.func(*args, **kwargs)
        if self.count <= self.calls:
            return value
        if self.fault == "error":
            raise UserError(f"user function failed on call {self.count}")
        if self.fault == "zero":
            raise ZeroDivisionError(f"user function divided by zero on call {self.count}")
        return np.full(np.shape(value), np.nan) if np.ndim(value) else float("nan")
