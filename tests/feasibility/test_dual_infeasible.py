"""Dual infeasibility: generated unbounded LPs and QPs whose recession direction is known.

Construction (n variables, a direction d with ||d||_inf = 1, a feasible point x0):

* QP: ``P = 2 (I - d d' / |d|^2)``, whose null space is span(d), so any certificate x (Px = 0)
  is a multiple of d;
* LP: ``n - 1`` equality rows ``E x = E x0`` with ``E d = 0`` (E spans the complement of d),
  so again every x with ``Ex = 0`` is a multiple of d;
* extra rows: ``a'x >= a'x0 - s`` with ``a'd > 0`` (only a lower bound), ``a'x <= a'x0 + s`` with
  ``a'd < 0`` (only an upper bound), two-sided ``|a'(x - x0)| <= s`` with ``a'd = 0``: d is in
  their recession cone and x0 is feasible;
* ``q`` with ``q'd < 0`` (``q = -d + w``, ``w`` orthogonal to d).

The objective then decreases without bound along d from x0, the only recession direction up to
scale is d, and the certificate must be ``d`` (``q'x < 0`` picks the sign).
"""
import numpy as np
import pytest

import mathopt
from mathopt import Status
from tests.feasibility.certificates import check_certificate


def _orthogonal_to(d, rng, k):
    """k random vectors orthogonal to d (rows)."""
    V = rng.standard_normal((k, d.size))
    return V - np.outer(V @ d, d) / (d @ d)


def unbounded_problem(seed, n=5, lp=False):
    rng = np.random.default_rng(seed)
    d = rng.standard_normal(n)
    d /= np.max(np.abs(d))
    x0 = rng.standard_normal(n)
    rows, lower, upper = [], [], []
    if lp:
        E = _orthogonal_to(d, rng, n - 1)
        rows += list(E)
        lower += list(E @ x0)
        upper += list(E @ x0)
        P = None
    else:
        P = 2.0 * (np.eye(n) - np.outer(d, d) / (d @ d))
    for _ in range(2):  # one-sided rows with d in their recession cone
        a = rng.standard_normal(n)
        slack = rng.random()
        if a @ d > 0:
            rows.append(a), lower.append(a @ x0 - slack), upper.append(np.inf)
        else:
            rows.append(a), lower.append(-np.inf), upper.append(a @ x0 + slack)
    a = _orthogonal_to(d, rng, 1)[0]  # a two-sided row along which d does not move
    rows.append(a), lower.append(a @ x0 - 1.0), upper.append(a @ x0 + 1.0)
    q = -d + 0.5 * _orthogonal_to(d, rng, 1)[0]
    return mathopt.QP(P, q, np.array(rows), np.array(lower), np.array(upper)), d


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("method,lp", [("admm-qp", False), ("halpern-admm", False), ("admm-qp", True),
                                       ("halpern-admm", True), ("pdhg-lp", True), ("halpern-pdhg-lp", True)])
def test_certificate_is_the_known_recession_direction(method, lp, seed):
    problem, d = unbounded_problem(seed, lp=lp)
    # the construction: d is a recession direction of the feasible set with P d = 0 and q'd < 0
    assert np.max(np.abs(problem.P @ d)) < 1e-12 and problem.q @ d < 0
    result = mathopt.solve(problem, method=method, max_iter=50000)
    assert result.status is Status.DUAL_INFEASIBLE, result.message
    ok, why = check_certificate(problem, result)
    assert ok, why
    np.testing.assert_allclose(result.certificate / np.max(np.abs(result.certificate)), d, atol=1e-3)
    assert problem.q @ result.certificate < 0  # the objective decreases along it


def test_bounded_neighbour_is_not_called_unbounded():
    """The same QP with the direction capped by a bound on d'x converges instead."""
    problem, d = unbounded_problem(0)
    A = np.vstack([problem.A.toarray(), d])
    capped = mathopt.QP(problem.P, problem.q, A, np.r_[problem.l, -np.inf], np.r_[problem.u, 10.0])
    result = mathopt.solve(capped, method="admm-qp")
    assert result.status is Status.CONVERGED, result.message
    assert d @ result.x == pytest.approx(10.0, abs=1e-4)  # the cap is active at the optimum
