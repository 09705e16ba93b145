import numpy as np
import ot
import pytest

import mathopt
from tests.transport.conftest import point_cloud_instance

REG = 0.1


def _pot_dual_value(a, b, cost, k):
    _, log = ot.smooth.smooth_ot_dual(a, b, cost, REG, reg_type="sparsity_constrained", max_nz=k, log=True,
                                      stopThr=1e-12, numItermax=5000)
    x = log["alpha"][:, None] + log["beta"][None, :] - cost
    return log["alpha"] @ a + log["beta"] @ b - ot.smooth.SparsityConstrained(k, REG).delta_Omega(x)[0].sum()


@pytest.mark.parametrize("formulation", ["dual", "semi-dual"])
def test_matches_pot_sparsity_constrained(formulation):
    a, b, cost = point_cloud_instance()
    k = 3
    result = mathopt.solve(mathopt.TransportProblem(a, b, cost=cost), method="sparse-ot", max_nz=k, reg=REG,
                           formulation=formulation)
    # SciPy's L-BFGS-B stalls near a 1e-5 gradient on this piecewise quadratic (see the options doc)
    assert result.status in (mathopt.Status.CONVERGED, mathopt.Status.CONVERGED_INACCURATE)
    plan = result.plan.toarray()
    assert np.all((plan > 0).sum(axis=0) <= k)
    assert result.residuals["marginal"] < 1e-4
    if formulation == "dual":
        np.testing.assert_allclose(result.dual_objective, _pot_dual_value(a, b, cost, k), rtol=1e-7)
    reference = ot.smooth.smooth_ot_dual(a, b, cost, REG, reg_type="sparsity_constrained", max_nz=k,
                                         stopThr=1e-12, numItermax=5000)
    np.testing.assert_allclose(plan, reference, atol=1e-4)


def test_large_k_is_quadratic_ot():
    a, b, cost = point_cloud_instance()
    result = mathopt.solve(mathopt.TransportProblem(a, b, cost=cost), method="sparse-ot", max_nz=a.size, reg=REG)
    reference = ot.smooth.smooth_ot_dual(a, b, cost, REG, reg_type="l2", stopThr=1e-12, numItermax=5000)
    np.testing.assert_allclose(result.plan.toarray(), reference, atol=1e-4)


def test_jax_backend_agrees_with_numba_backend():
    a, b, cost = point_cloud_instance()
    problem = mathopt.TransportProblem(a, b, cost=cost)
    numba = mathopt.solve(problem, method="sparse-ot", max_nz=3, reg=REG)
    jax = mathopt.solve(problem, method="sparse-ot", max_nz=3, reg=REG, backend="jax", stationarity_tol=1e-9)
    assert jax.status is mathopt.Status.CONVERGED
    np.testing.assert_allclose(jax.dual_objective, numba.dual_objective, rtol=1e-9)
    np.testing.assert_allclose(jax.plan.toarray(), numba.plan.toarray(), atol=1e-4)


def test_small_k_is_sparser_and_feasible_up_to_tolerance():
    a, b, cost = point_cloud_instance()
    result = mathopt.solve(mathopt.TransportProblem(a, b, cost=cost), method="sparse-ot", max_nz=1, reg=REG)
    assert np.all((result.plan.toarray() > 0).sum(axis=0) <= 1)
    # k = 1 makes the dual nonsmooth: both L-BFGS runs (ours, POT's) stop near, not at, the
    # maximum, and where each stops depends on rounding (seen: 1.7e-6 apart on one machine).
    assert result.dual_objective >= _pot_dual_value(a, b, cost, 1) - 1e-5


def test_sparse_ot_plan_gradient_matches_finite_differences():
    import jax
    import jax.numpy as jnp

    from mathopt.core.jax_utils import enable_x64
    from mathopt.transport import sparse_ot_plan

    rng = np.random.default_rng(1)
    with enable_x64():
        cost = jnp.asarray(rng.random((6, 5)))
        a, b = jnp.full(6, 1 / 6), jnp.full(5, 1 / 5)
        weights = jnp.asarray(rng.normal(size=(6, 5)))
        loss = jax.jit(lambda c: jnp.sum(sparse_ot_plan(c, a, b, 0.5, 3) * weights))
        grad = np.asarray(jax.grad(loss)(cost))
        eps = 1e-6
        fd = np.zeros(cost.shape)
        for i in range(6):
            for j in range(5):
                e = jnp.zeros(cost.shape).at[i, j].set(eps)
                fd[i, j] = (loss(cost + e) - loss(cost - e)) / (2 * eps)
    np.testing.assert_allclose(grad, fd, atol=1e-4)
    assert np.abs(fd).max() > 1e-2  # the test is not vacuous


@pytest.mark.parametrize("shape", [(4, 4), (20, 30), (100, 100)])
def test_converges_with_default_options(shape):
    rng = np.random.default_rng(sum(shape))
    a, b = rng.random(shape[0]) + 0.1, rng.random(shape[1]) + 0.1
    a, b = a / a.sum(), b / b.sum()
    result = mathopt.solve(mathopt.TransportProblem(a, b, cost=rng.random(shape)), method="sparse-ot")
    assert result.status is mathopt.Status.CONVERGED, result.message
    plan = result.plan.toarray()
    # stationarity is the infinity norm of the dual gradient: the largest marginal violation
    violation = max(np.abs(plan.sum(1) - a).max(), np.abs(plan.sum(0) - b).max())
    np.testing.assert_allclose(result.residuals["stationarity"], violation, rtol=1e-6, atol=1e-15)
    assert result.residuals["stationarity"] <= 1e-6
    assert np.all((plan > 0).sum(axis=0) <= 5)


def test_registry_metadata_lists_the_default_backend_first():
    spec = mathopt.core.registry.get_solver("sparse-ot")
    assert spec.backends[0] == "numba" == mathopt.core.registry.get_solver("sparse-ot").options().backend


@pytest.mark.parametrize("max_iter", [0, 3])
def test_jax_backend_follows_the_loop_rules(max_iter):
    a, b, cost = point_cloud_instance()
    seen = []
    result = mathopt.solve(mathopt.TransportProblem(a, b, cost=cost), method="sparse-ot", backend="jax",
                           max_iter=max_iter, history=True, callback=lambda info: seen.append(info.nit))
    assert result.status is mathopt.Status.MAX_ITER and result.nit == max_iter
    assert seen == list(range(max_iter + 1)) and result.history["nit"].size == max_iter + 1


def test_overflowing_cost_ends_nonfinite():
    a = np.full(4, 0.25)
    cost = np.ones((4, 4))
    cost[0, 0] = -1e200  # [alpha + beta - C]_+^2 overflows at the start
    result = mathopt.solve(mathopt.TransportProblem(a, a, cost=cost), method="sparse-ot")
    assert result.status is mathopt.Status.NONFINITE and not result.success
