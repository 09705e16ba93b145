import numpy as np
import ot
import pytest

import mathopt
from tests.transport.conftest import point_cloud_instance


@pytest.mark.parametrize("reg", [0.05, 0.005])
def test_matches_pot_sinkhorn_log(reg):
    a, b, cost = point_cloud_instance()
    result = mathopt.solve(mathopt.TransportProblem(a, b, cost=cost), method="sinkhorn", reg=reg,
                           max_iter=100000, marginal_tol=1e-11)
    reference = ot.bregman.sinkhorn_log(a, b, cost, reg, numItermax=100000, stopThr=1e-13)
    assert result.status is mathopt.Status.CONVERGED
    np.testing.assert_allclose(result.plan, reference, atol=1e-9)
    assert result.residuals["marginal"] <= 1e-11
    # potentials reproduce the plan
    np.testing.assert_allclose(np.exp((result.f[:, None] + result.g[None, :] - cost) / reg), result.plan, atol=1e-12)


def test_zero_mass_rows_are_removed():
    a, b, cost = point_cloud_instance()
    a = a.copy()
    a[0] = 0.0
    a /= a.sum()
    result = mathopt.solve(mathopt.TransportProblem(a, b, cost=cost), method="sinkhorn", reg=0.05)
    assert result.success and np.all(result.plan[0] == 0) and result.f[0] == -np.inf
    reference = ot.bregman.sinkhorn_log(a[1:], b, cost[1:], 0.05, numItermax=10000, stopThr=1e-12)
    np.testing.assert_allclose(result.plan[1:], reference, atol=1e-8)


def test_history_records_marginal_error():
    a, b, cost = point_cloud_instance()
    result = mathopt.solve(mathopt.TransportProblem(a, b, cost=cost), method="sinkhorn", reg=0.05, history=True)
    marginal = result.history["marginal"]
    assert marginal.size == result.nit + 1  # iterates 0..nit
    assert marginal[-1] == result.residuals["marginal"] <= 1e-8 < marginal[0]
    assert np.all(np.diff(marginal[1:]) < 0)  # Sinkhorn's row error decreases here


def test_callback_path_equals_compiled_loop():
    a, b, cost = point_cloud_instance()
    problem = mathopt.TransportProblem(a, b, cost=cost)
    compiled = mathopt.solve(problem, method="sinkhorn", reg=0.05, max_iter=30)
    stepped = mathopt.solve(problem, method="sinkhorn", reg=0.05, max_iter=30, callback=lambda info: None)
    np.testing.assert_allclose(stepped.plan, compiled.plan, atol=1e-15)
    assert stepped.nit == compiled.nit == 30


def test_default_method_for_linear_ot_is_sinkhorn():
    a, b, cost = point_cloud_instance()
    problem = mathopt.TransportProblem(a, b, cost=cost)
    assert mathopt.core.registry.default_method(problem) == "sinkhorn"
    assert mathopt.solve(problem).solver == "sinkhorn"


@pytest.mark.parametrize("shape", [(4, 4), (20, 30), (100, 100)])
def test_converges_with_default_options(shape):
    rng = np.random.default_rng(sum(shape))
    a, b = rng.random(shape[0]) + 0.1, rng.random(shape[1]) + 0.1
    problem = mathopt.TransportProblem(a / a.sum(), b / b.sum(), cost=rng.random(shape))
    result = mathopt.solve(problem, method="sinkhorn")
    assert result.status is mathopt.Status.CONVERGED, result.message
    assert result.residuals["marginal"] <= 1e-8
    result.raise_for_status()
