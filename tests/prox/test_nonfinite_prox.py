"""A prox that turns NaN mid-run (e.g. a learned network that blows up): every prox-family solver
ends with NONFINITE and the last finite iterate, without raising."""
import numpy as np
import pytest

import mathopt
from mathopt import Status
from mathopt.prox import Prox
from mathopt.prox.operators import L1Norm

RNG = np.random.default_rng(8)
A = RNG.standard_normal((15, 10))
Y = RNG.standard_normal(15)


class FailingProx(Prox):
    """Soft-thresholding for the first ``calls`` calls, then NaN."""

    traceable = False

    def __init__(self, calls):
        self.calls, self.count = calls, 0

    def prox(self, v, step=1.0):
        self.count += 1
        out = L1Norm(0.5).prox(np.asarray(v, dtype=float), step)
        return out if self.count <= self.calls else np.full_like(out, np.nan)


@pytest.mark.parametrize("method", ["fista", "pnp-admm", "pnp-pgd"])
def test_nan_prox_gives_nonfinite_with_last_finite_iterate(method):
    seen = []
    if method == "fista":
        problem = mathopt.CompositeProblem(lambda x: 0.5 * float(np.sum((A @ x - Y) ** 2)), FailingProx(8),
                                           np.zeros(10), grad=lambda x: A.T @ (A @ x - Y))
        result = mathopt.solve(problem, callback=lambda info: seen.append(info.x))
    else:
        result = mathopt.solve(mathopt.InverseProblem(A, Y), method=method, prox=FailingProx(8), reg=1.0,
                               callback=lambda info: seen.append(info.x))
    assert result.status is Status.NONFINITE and not result.success
    assert result.nit >= 1 and np.all(np.isfinite(result.x))
    np.testing.assert_array_equal(result.x, seen[-1])  # the last iterate reported
    assert result.extra["g_value"] is False and np.isfinite(result.fun)
