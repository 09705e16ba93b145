"""Hock-Schittkowski test problems, written from their published formulas.

Each problem is an :class:`~mathopt.NLP` with the standard starting point and
the known optimal value (``known_optimum``); derivatives are exact
(hand-written). Use :func:`load` and :func:`names`.

Reference: W. Hock and K. Schittkowski, "Test Examples for Nonlinear
Programming Codes", Lecture Notes in Economics and Mathematical Systems 187,
Springer, 1981.
"""
from __future__ import annotations

import numpy as np

from ..core.nlp import NLP

_BUILDERS = {}


def _problem(name, constraints):
    def deco(func):
        _BUILDERS[name] = (func, constraints)
        return func
    return deco


@_problem("HS6", "equality")
def _hs6():
    return NLP(lambda x: (1.0 - x[0]) ** 2, [-1.2, 1.0],
               gradient=lambda x: np.array([-2.0 * (1.0 - x[0]), 0.0]),
               eq=lambda x: np.array([10.0 * (x[1] - x[0] ** 2)]),
               eq_jacobian=lambda x: np.array([[-20.0 * x[0], 10.0]]),
               lagrangian_hessian=lambda x, y, _: np.array([[2.0 - 20.0 * y[0], 0.0], [0.0, 0.0]]),
               name="HS6", known_optimum=0.0)


@_problem("HS7", "equality")
def _hs7():
    def grad(x):
        return np.array([2.0 * x[0] / (1.0 + x[0] ** 2), -1.0])

    def hess(x, y, _):
        u = 1.0 + x[0] ** 2
        f11 = 2.0 * (1.0 - x[0] ** 2) / u ** 2
        c11 = 4.0 * u + 8.0 * x[0] ** 2
        return np.array([[f11 + y[0] * c11, 0.0], [0.0, 2.0 * y[0]]])

    return NLP(lambda x: np.log(1.0 + x[0] ** 2) - x[1], [2.0, 2.0], gradient=grad,
               eq=lambda x: np.array([(1.0 + x[0] ** 2) ** 2 + x[1] ** 2 - 4.0]),
               eq_jacobian=lambda x: np.array([[4.0 * x[0] * (1.0 + x[0] ** 2), 2.0 * x[1]]]),
               lagrangian_hessian=hess, name="HS7", known_optimum=-np.sqrt(3.0))


@_problem("HS28", "equality")
def _hs28():
    h = np.array([[2.0, 2.0, 0.0], [2.0, 4.0, 2.0], [0.0, 2.0, 2.0]])
    return NLP(lambda x: (x[0] + x[1]) ** 2 + (x[1] + x[2]) ** 2, [-4.0, 1.0, 1.0],
               gradient=lambda x: h @ x,
               eq=lambda x: np.array([x[0] + 2.0 * x[1] + 3.0 * x[2] - 1.0]),
               eq_jacobian=lambda x: np.array([[1.0, 2.0, 3.0]]),
               lagrangian_hessian=lambda x, y, _: h, name="HS28", known_optimum=0.0)


@_problem("HS71", "general")
def _hs71():
    def f(x):
        return x[0] * x[3] * (x[0] + x[1] + x[2]) + x[2]

    def grad(x):
        s = x[0] + x[1] + x[2]
        return np.array([x[3] * (s + x[0]), x[0] * x[3], x[0] * x[3] + 1.0, x[0] * s])

    def ineq(x):  # x1 x2 x3 x4 >= 25 written as 25 - prod <= 0
        return np.array([25.0 - np.prod(x)])

    def ineq_jac(x):
        return -np.array([[x[1] * x[2] * x[3], x[0] * x[2] * x[3], x[0] * x[1] * x[3], x[0] * x[1] * x[2]]])

    return NLP(f, [1.0, 5.0, 5.0, 1.0], gradient=grad,
               eq=lambda x: np.array([x @ x - 40.0]), eq_jacobian=lambda x: np.atleast_2d(2.0 * x),
               ineq=ineq, ineq_jacobian=ineq_jac, bounds=(1.0, 5.0), name="HS71",
               known_optimum=17.0140172891)


def names(constraints: str | None = None) -> list[str]:
    """Names of the built-in problems; ``constraints="equality"`` keeps equality-only ones."""
    return [n for n, (_, kind) in _BUILDERS.items() if constraints is None or kind == constraints]


def load(name: str) -> NLP:
    """The named problem as an :class:`~mathopt.NLP` (standard x0, ``known_optimum`` set)."""
    try:
        builder, _ = _BUILDERS[name.upper()]
    except KeyError:
        raise KeyError(f"unknown problem {name!r}; available: {', '.join(names())}") from None
    return builder()
