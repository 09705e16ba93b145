r"""Hock-Schittkowski and Boggs-Tolle test problems, written from their published formulas.

Each problem is an :class:`~mathopt.NLP`

.. math::

    \min_x f(x) \quad \text{s.t.} \quad c_E(x) = 0,\; c_I(x) \le 0,\; \ell \le x \le u,

with the standard starting point ``x0`` of the source and its published
optimal value ``known_optimum``. Use :func:`load` and :func:`names`.

The functions are written once against an array namespace (NumPy when called
with a NumPy array, ``jax.numpy`` when traced), so evaluations from NumPy
solvers cost plain NumPy, while the NLP obtains exact first and second
derivatives by JAX autodiff (see :mod:`mathopt.core.differentiation`).
:func:`load` caches each problem, so its jitted derivatives compile once per
process. Inequalities are stated as in the book, ``g(x) >= 0``, and handed to
the NLP as ``c_I = -g <= 0``.

The set (``names()``):

* equality-only problems (``names(constraints="equality")``): every
  Hock-Schittkowski problem among HS6-HS79 whose only constraints are
  equalities (no bounds, no inequalities): HS6, 7, 8, 9, 26, 27, 28, 39, 40,
  42, 46, 47, 48, 49, 50, 51, 52, 56, 61, 77, 78, 79, and BT1-BT12;
* problems with inequalities and/or bounds (``constraints="general"``):
  HS10, 11, 12, 14, 21, 22, 29, 35, 41, 43, 53, 60, 63, 71, 76 and BT13
  (BT13 has the bound ``x5 >= 0`` added in CUTEst).

``known_optimum`` is the published optimal value. Where the published
figure is rounded, or its 7th digit disagrees with what the formula gives
(BT3, BT4, BT6, BT11, BT12, HS77), the value used is the one both SciPy
reference solvers reach from ``x0`` (or the exact value, e.g. BT3 = 176/43,
BT12 = 625/101), with the published figure in a comment; BT7's optimum 306.5
is attained at the stated ``solution``. :func:`solution` gives a published
minimizer where one is recorded.

Where the CUTEst SIF version of a Boggs-Tolle problem corrects a typo of the
paper (BT4, BT5, BT9, BT10, BT13), the CUTEst version is used; BT4 then uses
the CUTEst starting point.

References
----------
.. [1] W. Hock and K. Schittkowski, "Test Examples for Nonlinear Programming
   Codes", Lecture Notes in Economics and Mathematical Systems 187,
   Springer, 1981.
.. [2] P. T. Boggs and J. W. Tolle, "A strategy for global convergence in a
   sequential quadratic programming algorithm", SIAM J. Numer. Anal. 26(3),
   600-623, 1989 (problems 1-13, as given in the CUTEst SIF collection).

Examples
--------
>>> from mathopt.problems import hs
>>> p = hs.load("HS28")
>>> p.n, p.n_eq, p.known_optimum
(3, 1, 0.0)
>>> "BT9" in hs.names(constraints="equality")
True
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..core.nlp import NLP

SQRT2 = math.sqrt(2.0)


@dataclass(frozen=True)
class _Spec:
    name: str
    kind: str                    # "equality" (equalities only) or "general"
    objective: Callable          # f(x, xp) -> scalar
    x0: tuple
    known_optimum: float
    eq: Callable | None = None   # (x, xp) -> list of c_E entries (= 0)
    ge: Callable | None = None   # (x, xp) -> list of g entries (>= 0)
    bounds: tuple | None = None
    solution: tuple | None = None  # a published minimizer, when stated


_SPECS: dict[str, _Spec] = {}


def _add(name, kind, objective, x0, known_optimum, **kw):
    _SPECS[name] = _Spec(name, kind, objective, tuple(float(v) for v in x0), float(known_optimum), **kw)


def _xp(x):
    """NumPy for NumPy inputs, jax.numpy for anything else (tracers, JAX arrays)."""
    if isinstance(x, np.ndarray):
        return np
    import jax.numpy as jnp

    return jnp


def _vector(x, entries):
    xp = _xp(x)
    return xp.stack([xp.asarray(e, dtype=x.dtype) for e in entries])


# --- Hock-Schittkowski, equality constraints only --------------------------------------------
_add("HS6", "equality", lambda x, m: (1.0 - x[0]) ** 2, [-1.2, 1.0], 0.0,
     eq=lambda x, m: [10.0 * (x[1] - x[0] ** 2)], solution=(1.0, 1.0))
_add("HS7", "equality", lambda x, m: m.log(1.0 + x[0] ** 2) - x[1], [2.0, 2.0], -math.sqrt(3.0),
     eq=lambda x, m: [(1.0 + x[0] ** 2) ** 2 + x[1] ** 2 - 4.0], solution=(0.0, math.sqrt(3.0)))
_add("HS8", "equality", lambda x, m: -1.0 + 0.0 * x[0], [2.0, 1.0], -1.0,
     eq=lambda x, m: [x[0] ** 2 + x[1] ** 2 - 25.0, x[0] * x[1] - 9.0])
_add("HS9", "equality", lambda x, m: m.sin(math.pi * x[0] / 12.0) * m.cos(math.pi * x[1] / 16.0),
     [0.0, 0.0], -0.5, eq=lambda x, m: [4.0 * x[0] - 3.0 * x[1]], solution=(-3.0, -4.0))
_add("HS26", "equality", lambda x, m: (x[0] - x[1]) ** 2 + (x[1] - x[2]) ** 4, [-2.6, 2.0, 2.0], 0.0,
     eq=lambda x, m: [(1.0 + x[1] ** 2) * x[0] + x[2] ** 4 - 3.0], solution=(1.0, 1.0, 1.0))
_add("HS27", "equality", lambda x, m: 0.01 * (x[0] - 1.0) ** 2 + (x[1] - x[0] ** 2) ** 2, [2.0, 2.0, 2.0], 0.04,
     eq=lambda x, m: [x[0] + x[2] ** 2 + 1.0], solution=(-1.0, 1.0, 0.0))
_add("HS28", "equality", lambda x, m: (x[0] + x[1]) ** 2 + (x[1] + x[2]) ** 2, [-4.0, 1.0, 1.0], 0.0,
     eq=lambda x, m: [x[0] + 2.0 * x[1] + 3.0 * x[2] - 1.0], solution=(0.5, -0.5, 0.5))
_add("HS39", "equality", lambda x, m: -x[0], [2.0, 2.0, 2.0, 2.0], -1.0,
     eq=lambda x, m: [x[1] - x[0] ** 3 - x[2] ** 2, x[0] ** 2 - x[1] - x[3] ** 2], solution=(1.0, 1.0, 0.0, 0.0))
_add("HS40", "equality", lambda x, m: -x[0] * x[1] * x[2] * x[3], [0.8] * 4, -0.25,
     eq=lambda x, m: [x[0] ** 3 + x[1] ** 2 - 1.0, x[0] ** 2 * x[3] - x[2], x[3] ** 2 - x[1]],
     solution=(2.0 ** (-1.0 / 3.0), 2.0 ** -0.5, 2.0 ** (-11.0 / 12.0), 2.0 ** -0.25))
_add("HS42", "equality", lambda x, m: (x[0] - 1.0) ** 2 + (x[1] - 2.0) ** 2 + (x[2] - 3.0) ** 2 + (x[3] - 4.0) ** 2,
     [1.0] * 4, 28.0 - 10.0 * SQRT2, eq=lambda x, m: [x[0] - 2.0, x[2] ** 2 + x[3] ** 2 - 2.0],
     solution=(2.0, 2.0, 0.6 * SQRT2, 0.8 * SQRT2))
_add("HS46", "equality",
     lambda x, m: (x[0] - x[1]) ** 2 + (x[2] - 1.0) ** 2 + (x[3] - 1.0) ** 4 + (x[4] - 1.0) ** 6,
     [0.5 * SQRT2, 1.75, 0.5, 2.0, 2.0], 0.0,
     eq=lambda x, m: [x[0] ** 2 * x[3] + m.sin(x[3] - x[4]) - 1.0, x[1] + x[2] ** 4 * x[3] ** 2 - 2.0],
     solution=(1.0,) * 5)
_add("HS47", "equality",
     lambda x, m: (x[0] - x[1]) ** 2 + (x[1] - x[2]) ** 3 + (x[2] - x[3]) ** 4 + (x[3] - x[4]) ** 4,
     [2.0, SQRT2, -1.0, 2.0 - SQRT2, 0.5], 0.0,
     eq=lambda x, m: [x[0] + x[1] ** 2 + x[2] ** 3 - 3.0, x[1] - x[2] ** 2 + x[3] - 1.0, x[0] * x[4] - 1.0],
     solution=(1.0,) * 5)
_add("HS48", "equality", lambda x, m: (x[0] - 1.0) ** 2 + (x[1] - x[2]) ** 2 + (x[3] - x[4]) ** 2,
     [3.0, 5.0, -3.0, 2.0, -2.0], 0.0,
     eq=lambda x, m: [x[0] + x[1] + x[2] + x[3] + x[4] - 5.0, x[2] - 2.0 * (x[3] + x[4]) + 3.0],
     solution=(1.0,) * 5)
_add("HS49", "equality",
     lambda x, m: (x[0] - x[1]) ** 2 + (x[2] - 1.0) ** 2 + (x[3] - 1.0) ** 4 + (x[4] - 1.0) ** 6,
     [10.0, 7.0, 2.0, -3.0, 0.8], 0.0,
     eq=lambda x, m: [x[0] + x[1] + x[2] + 4.0 * x[3] - 7.0, x[2] + 5.0 * x[4] - 6.0], solution=(1.0,) * 5)
_add("HS50", "equality",
     lambda x, m: (x[0] - x[1]) ** 2 + (x[1] - x[2]) ** 2 + (x[2] - x[3]) ** 4 + (x[3] - x[4]) ** 2,
     [35.0, -31.0, 11.0, 5.0, -5.0], 0.0,
     eq=lambda x, m: [x[0] + 2.0 * x[1] + 3.0 * x[2] - 6.0, x[1] + 2.0 * x[2] + 3.0 * x[3] - 6.0,
                      x[2] + 2.0 * x[3] + 3.0 * x[4] - 6.0], solution=(1.0,) * 5)
_add("HS51", "equality",
     lambda x, m: (x[0] - x[1]) ** 2 + (x[1] + x[2] - 2.0) ** 2 + (x[3] - 1.0) ** 2 + (x[4] - 1.0) ** 2,
     [2.5, 0.5, 2.0, -1.0, 0.5], 0.0,
     eq=lambda x, m: [x[0] + 3.0 * x[1] - 4.0, x[2] + x[3] - 2.0 * x[4], x[1] - x[4]], solution=(1.0,) * 5)
_add("HS52", "equality",
     lambda x, m: (4.0 * x[0] - x[1]) ** 2 + (x[1] + x[2] - 2.0) ** 2 + (x[3] - 1.0) ** 2 + (x[4] - 1.0) ** 2,
     [2.0] * 5, 1859.0 / 349.0,
     eq=lambda x, m: [x[0] + 3.0 * x[1], x[2] + x[3] - 2.0 * x[4], x[1] - x[4]],
     solution=(-33.0 / 349.0, 11.0 / 349.0, 180.0 / 349.0, -158.0 / 349.0, 11.0 / 349.0))


def _hs56_x0():
    a = math.asin(math.sqrt(1.0 / 4.2))
    return [1.0, 1.0, 1.0, a, a, a, math.asin(math.sqrt(5.0 / 7.2))]


_add("HS56", "equality", lambda x, m: -x[0] * x[1] * x[2], _hs56_x0(), -3.456,
     eq=lambda x, m: [x[0] - 4.2 * m.sin(x[3]) ** 2, x[1] - 4.2 * m.sin(x[4]) ** 2, x[2] - 4.2 * m.sin(x[5]) ** 2,
                      x[0] + 2.0 * x[1] + 2.0 * x[2] - 7.2 * m.sin(x[6]) ** 2])
_add("HS61", "equality",
     lambda x, m: 4.0 * x[0] ** 2 + 2.0 * x[1] ** 2 + 2.0 * x[2] ** 2 - 33.0 * x[0] + 16.0 * x[1] - 24.0 * x[2],
     [0.0, 0.0, 0.0], -143.6461421978,
     eq=lambda x, m: [3.0 * x[0] - 2.0 * x[1] ** 2 - 7.0, 4.0 * x[0] - x[2] ** 2 - 11.0])
_add("HS77", "equality",
     lambda x, m: ((x[0] - 1.0) ** 2 + (x[0] - x[1]) ** 2 + (x[2] - 1.0) ** 2 + (x[3] - 1.0) ** 4
                   + (x[4] - 1.0) ** 6), [2.0] * 5, 0.2415051287902,  # published: 0.24150513
     eq=lambda x, m: [x[0] ** 2 * x[3] + m.sin(x[3] - x[4]) - 2.0 * SQRT2, x[1] + x[2] ** 4 * x[3] ** 2 - 8.0 - SQRT2])
_add("HS78", "equality", lambda x, m: x[0] * x[1] * x[2] * x[3] * x[4], [-2.0, 1.5, 2.0, -1.0, -1.0], -2.919700409,
     eq=lambda x, m: [x[0] ** 2 + x[1] ** 2 + x[2] ** 2 + x[3] ** 2 + x[4] ** 2 - 10.0,
                      x[1] * x[2] - 5.0 * x[3] * x[4], x[0] ** 3 + x[1] ** 3 + 1.0])
_add("HS79", "equality",
     lambda x, m: ((x[0] - 1.0) ** 2 + (x[0] - x[1]) ** 2 + (x[1] - x[2]) ** 2 + (x[2] - x[3]) ** 4
                   + (x[3] - x[4]) ** 4), [2.0] * 5, 0.07877682087,
     eq=lambda x, m: [x[0] + x[1] ** 2 + x[2] ** 3 - 2.0 - 3.0 * SQRT2, x[1] - x[2] ** 2 + x[3] + 2.0 - 2.0 * SQRT2,
                      x[0] * x[4] - 2.0])

# --- Boggs-Tolle (CUTEst versions), equality constraints only ------------------------------
_add("BT1", "equality", lambda x, m: 100.0 * x[0] ** 2 + 100.0 * x[1] ** 2 - x[0] - 100.0, [0.08, 0.06], -1.0,
     eq=lambda x, m: [x[0] ** 2 + x[1] ** 2 - 1.0], solution=(1.0, 0.0))
_add("BT2", "equality", lambda x, m: (x[0] - 1.0) ** 2 + (x[0] - x[1]) ** 2 + (x[1] - x[2]) ** 4, [10.0] * 3,
     0.03256820039, eq=lambda x, m: [x[0] * (1.0 + x[1] ** 2) + x[2] ** 4 - 8.2426407])
_add("BT3", "equality",
     lambda x, m: (x[0] - x[1]) ** 2 + (x[1] + x[2] - 2.0) ** 2 + (x[3] - 1.0) ** 2 + (x[4] - 1.0) ** 2,
     [20.0] * 5, 176.0 / 43.0,  # CUTEst: 4.09301056; exact value as HS53 (bounds inactive)
     eq=lambda x, m: [x[0] + 3.0 * x[1], x[2] + x[3] - 2.0 * x[4], x[1] - x[4]])
_add("BT4", "equality", lambda x, m: x[0] - x[1] + x[1] ** 3, [4.0382, -2.9470, -0.09115],
     -45.51055074,  # CUTEst: -45.5101
     eq=lambda x, m: [x[0] ** 2 + x[1] ** 2 + x[2] ** 2 - 25.0, x[0] + x[1] + x[2] - 1.0])
_add("BT5", "equality",
     lambda x, m: 1000.0 - x[0] ** 2 - 2.0 * x[1] ** 2 - x[2] ** 2 - x[0] * x[1] - x[0] * x[2], [2.0] * 3, 961.71517213,
     eq=lambda x, m: [x[0] ** 2 + x[1] ** 2 + x[2] ** 2 - 25.0, 8.0 * x[0] + 14.0 * x[1] + 7.0 * x[2] - 56.0])
_add("BT6", "equality",
     lambda x, m: ((x[0] - 1.0) ** 2 + (x[0] - x[1]) ** 2 + (x[2] - 1.0) ** 2 + (x[3] - 1.0) ** 4
                   + (x[4] - 1.0) ** 6), [2.0] * 5, 0.2770447887679,  # CUTEst: 0.277044924
     eq=lambda x, m: [x[3] * x[0] ** 2 + m.sin(x[3] - x[4]) - 2.0 * SQRT2, x[2] ** 4 * x[1] ** 2 + x[1] - 8.0 - SQRT2])
_add("BT7", "equality", lambda x, m: 100.0 * (x[1] - x[0] ** 2) ** 2 + (x[0] - 1.0) ** 2,
     [-2.0, 1.0, 1.0, 1.0, 1.0], 306.5,
     eq=lambda x, m: [x[0] * x[1] - x[2] ** 2 - 1.0, x[1] ** 2 - x[3] ** 2 + x[0], x[4] ** 2 + x[0] - 0.5],
     solution=(0.5, 2.0, 0.0, math.sqrt(4.5), 0.0))
_add("BT8", "equality", lambda x, m: x[0] ** 2 + x[1] ** 2 + x[2] ** 2, [1.0, 1.0, 1.0, 0.0, 0.0], 1.0,
     eq=lambda x, m: [x[0] - 1.0 - x[3] ** 2 + x[1] ** 2, x[0] ** 2 + x[1] ** 2 - 1.0 - x[4] ** 2],
     solution=(1.0, 0.0, 0.0, 0.0, 0.0))
_add("BT9", "equality", lambda x, m: -x[0], [2.0] * 4, -1.0,
     eq=lambda x, m: [x[1] - x[0] ** 3 - x[2] ** 2, x[0] ** 2 - x[1] - x[3] ** 2], solution=(1.0, 1.0, 0.0, 0.0))
_add("BT10", "equality", lambda x, m: -x[0], [2.0, 2.0], -1.0,
     eq=lambda x, m: [x[1] - x[0] ** 3, x[0] ** 2 - x[1]], solution=(1.0, 1.0))
_add("BT11", "equality",
     lambda x, m: ((x[0] - 1.0) ** 2 + (x[0] - x[1]) ** 2 + (x[1] - x[2]) ** 2 + (x[2] - x[3]) ** 4
                   + (x[3] - x[4]) ** 4), [2.0] * 5, 0.8248917783,  # CUTEst: 0.824891436
     eq=lambda x, m: [x[0] + x[1] ** 2 + x[2] ** 3 + 2.0 - 3.0 * SQRT2, x[1] + x[3] - x[2] ** 2 + 2.0 - 2.0 * SQRT2,
                      x[0] - x[4] - 2.0])
_add("BT12", "equality", lambda x, m: 0.01 * x[0] ** 2 + x[1] ** 2, [15.811, 1.5811, 0.0, 15.083, 3.7164],
     625.0 / 101.0,  # = 6.18811881; CUTEst: 6.188118628
     eq=lambda x, m: [x[0] + x[1] - x[2] ** 2 - 25.0, x[0] ** 2 + x[1] ** 2 - x[3] ** 2 - 25.0, x[0] - x[4] ** 2 - 2.0])

# --- inequalities and/or bounds ----------------------------------------------------------------
_add("HS10", "general", lambda x, m: x[0] - x[1], [-10.0, 10.0], -1.0,
     ge=lambda x, m: [-3.0 * x[0] ** 2 + 2.0 * x[0] * x[1] - x[1] ** 2 + 1.0], solution=(0.0, 1.0))
_add("HS11", "general", lambda x, m: (x[0] - 5.0) ** 2 + x[1] ** 2 - 25.0, [4.9, 0.1], -8.498464223,
     ge=lambda x, m: [-x[0] ** 2 + x[1]])
_add("HS12", "general", lambda x, m: 0.5 * x[0] ** 2 + x[1] ** 2 - x[0] * x[1] - 7.0 * x[0] - 7.0 * x[1],
     [0.0, 0.0], -30.0, ge=lambda x, m: [25.0 - 4.0 * x[0] ** 2 - x[1] ** 2], solution=(2.0, 3.0))
_add("HS14", "general", lambda x, m: (x[0] - 2.0) ** 2 + (x[1] - 1.0) ** 2, [2.0, 2.0],
     9.0 - 23.0 * math.sqrt(7.0) / 8.0,
     eq=lambda x, m: [x[0] - 2.0 * x[1] + 1.0], ge=lambda x, m: [1.0 - 0.25 * x[0] ** 2 - x[1] ** 2],
     solution=(0.5 * (math.sqrt(7.0) - 1.0), 0.25 * (math.sqrt(7.0) + 1.0)))
_add("HS21", "general", lambda x, m: 0.01 * x[0] ** 2 + x[1] ** 2 - 100.0, [-1.0, -1.0], -99.96,
     ge=lambda x, m: [10.0 * x[0] - x[1] - 10.0], bounds=([2.0, -50.0], [50.0, 50.0]), solution=(2.0, 0.0))
_add("HS22", "general", lambda x, m: (x[0] - 2.0) ** 2 + (x[1] - 1.0) ** 2, [2.0, 2.0], 1.0,
     ge=lambda x, m: [2.0 - x[0] - x[1], x[1] - x[0] ** 2], solution=(1.0, 1.0))
_add("HS29", "general", lambda x, m: -x[0] * x[1] * x[2], [1.0, 1.0, 1.0], -16.0 * SQRT2,
     ge=lambda x, m: [48.0 - x[0] ** 2 - 2.0 * x[1] ** 2 - 4.0 * x[2] ** 2], solution=(4.0, 2.0 * SQRT2, 2.0))
_add("HS35", "general",
     lambda x, m: (9.0 - 8.0 * x[0] - 6.0 * x[1] - 4.0 * x[2] + 2.0 * x[0] ** 2 + 2.0 * x[1] ** 2 + x[2] ** 2
                   + 2.0 * x[0] * x[1] + 2.0 * x[0] * x[2]), [0.5, 0.5, 0.5], 1.0 / 9.0,
     ge=lambda x, m: [3.0 - x[0] - x[1] - 2.0 * x[2]], bounds=(0.0, None), solution=(4.0 / 3.0, 7.0 / 9.0, 4.0 / 9.0))
_add("HS41", "general", lambda x, m: 2.0 - x[0] * x[1] * x[2], [2.0] * 4, 52.0 / 27.0,
     eq=lambda x, m: [x[0] + 2.0 * x[1] + 2.0 * x[2] - x[3]], bounds=(0.0, [1.0, 1.0, 1.0, 2.0]),
     solution=(2.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 2.0))
_add("HS43", "general",
     lambda x, m: (x[0] ** 2 + x[1] ** 2 + 2.0 * x[2] ** 2 + x[3] ** 2 - 5.0 * x[0] - 5.0 * x[1] - 21.0 * x[2]
                   + 7.0 * x[3]), [0.0] * 4, -44.0,
     ge=lambda x, m: [8.0 - x[0] ** 2 - x[1] ** 2 - x[2] ** 2 - x[3] ** 2 - x[0] + x[1] - x[2] + x[3],
                      10.0 - x[0] ** 2 - 2.0 * x[1] ** 2 - x[2] ** 2 - 2.0 * x[3] ** 2 + x[0] + x[3],
                      5.0 - 2.0 * x[0] ** 2 - x[1] ** 2 - x[2] ** 2 - 2.0 * x[0] + x[1] + x[3]],
     solution=(0.0, 1.0, 2.0, -1.0))
_add("HS53", "general",
     lambda x, m: (x[0] - x[1]) ** 2 + (x[1] + x[2] - 2.0) ** 2 + (x[3] - 1.0) ** 2 + (x[4] - 1.0) ** 2,
     [2.0] * 5, 176.0 / 43.0, eq=lambda x, m: [x[0] + 3.0 * x[1], x[2] + x[3] - 2.0 * x[4], x[1] - x[4]],
     bounds=(-10.0, 10.0), solution=(-33.0 / 43.0, 11.0 / 43.0, 27.0 / 43.0, -5.0 / 43.0, 11.0 / 43.0))
_add("HS60", "general", lambda x, m: (x[0] - 1.0) ** 2 + (x[0] - x[1]) ** 2 + (x[1] - x[2]) ** 4, [2.0] * 3,
     0.03256820025, eq=lambda x, m: [x[0] * (1.0 + x[1] ** 2) + x[2] ** 4 - 4.0 - 3.0 * SQRT2], bounds=(-10.0, 10.0))
_add("HS63", "general",
     lambda x, m: 1000.0 - x[0] ** 2 - 2.0 * x[1] ** 2 - x[2] ** 2 - x[0] * x[1] - x[0] * x[2], [2.0] * 3, 961.71517213,
     eq=lambda x, m: [8.0 * x[0] + 14.0 * x[1] + 7.0 * x[2] - 56.0, x[0] ** 2 + x[1] ** 2 + x[2] ** 2 - 25.0],
     bounds=(0.0, None))
_add("HS71", "general", lambda x, m: x[0] * x[3] * (x[0] + x[1] + x[2]) + x[2], [1.0, 5.0, 5.0, 1.0],
     17.0140172891, eq=lambda x, m: [x[0] ** 2 + x[1] ** 2 + x[2] ** 2 + x[3] ** 2 - 40.0],
     ge=lambda x, m: [x[0] * x[1] * x[2] * x[3] - 25.0], bounds=(1.0, 5.0))
_add("HS76", "general",
     lambda x, m: (x[0] ** 2 + 0.5 * x[1] ** 2 + x[2] ** 2 + 0.5 * x[3] ** 2 - x[0] * x[2] + x[2] * x[3] - x[0]
                   - 3.0 * x[1] + x[2] - x[3]), [0.5] * 4, -103.0 / 22.0,
     ge=lambda x, m: [5.0 - x[0] - 2.0 * x[1] - x[2] - x[3], 4.0 - 3.0 * x[0] - x[1] - 2.0 * x[2] + x[3],
                      x[1] + 4.0 * x[2] - 1.5], bounds=(0.0, None))
_add("BT13", "general", lambda x, m: x[4], [1.0, 2.0, 3.0, 3.0, 228.0], 0.0,
     eq=lambda x, m: [x[0] ** 2 + (x[0] - 2.0 * x[1]) ** 2 + (x[1] - 3.0 * x[2]) ** 2 + (x[2] - 4.0 * x[3]) ** 2
                      - x[4] ** 2], bounds=([-np.inf] * 4 + [0.0], None), solution=(0.0,) * 5)


def names(constraints: str | None = None) -> list[str]:
    """Names of the built-in problems.

    ``constraints="equality"`` keeps the equality-only problems (no
    inequalities, no bounds); ``"general"`` the others; ``None`` all.
    """
    if constraints not in (None, "equality", "general"):
        raise ValueError(f"constraints must be None, 'equality' or 'general', got {constraints!r}")
    return [name for name, spec in _SPECS.items() if constraints is None or spec.kind == constraints]


def solution(name: str) -> np.ndarray | None:
    """A published minimizer of the problem, or None when the source states none here."""
    spec = _spec(name)
    return None if spec.solution is None else np.array(spec.solution)


def load(name: str) -> NLP:
    """The named problem as an :class:`~mathopt.NLP` (standard x0, ``known_optimum`` set).

    Problems are cached per process: loading twice returns the same
    (immutable) NLP, so JAX compiles its derivatives once.
    """
    return _build(_spec(name).name)


def _spec(name: str) -> _Spec:
    try:
        return _SPECS[name.upper()]
    except KeyError:
        raise KeyError(f"unknown problem {name!r}; available: {', '.join(names())}") from None


def _wrap_vector(fun, sign=1.0):
    if fun is None:
        return None

    def constraint(x):
        return sign * _vector(x, fun(x, _xp(x)))
    return constraint


@functools.lru_cache(maxsize=None)
def _build(name: str) -> NLP:
    spec = _SPECS[name]
    fun = spec.objective

    def objective(x):
        return fun(x, _xp(x))

    return NLP(objective, np.array(spec.x0), eq=_wrap_vector(spec.eq), ineq=_wrap_vector(spec.ge, -1.0),
               bounds=spec.bounds, name=spec.name, known_optimum=spec.known_optimum)
