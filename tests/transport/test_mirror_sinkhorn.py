import numpy as np
import ot

import mathopt
from mathopt.transport import OnlineMirrorSinkhorn
from tests.transport.conftest import point_cloud_instance


def _gap(result, a, b, cost):
    return result.fun - ot.emd2(a, b, cost)


def test_reaches_emd_value_with_tightening_tolerance():
    a, b, cost = point_cloud_instance()
    problem = mathopt.TransportProblem(a, b, cost=cost)
    gaps = [_gap(mathopt.solve(problem, method="mirror-sinkhorn", max_iter=t), a, b, cost) for t in (100, 1000, 10000)]
    # O(1/sqrt(T)) rate: each 10x budget at least halves the gap; all plans feasible (rounded)
    assert gaps[0] < 0.08 and gaps[1] < 0.5 * gaps[0] and gaps[2] < 0.5 * gaps[1] and gaps[2] < 8e-3
    assert min(gaps) > -1e-12  # never below the exact LP value


def test_structured_instance_and_marginals():
    x = np.linspace(0, 1, 12)
    cost = (x[:, None] - x[None, ::-1]) ** 2
    a = b = np.full(12, 1 / 12)
    result = mathopt.solve(mathopt.TransportProblem(a, b, cost=cost), method="mirror-sinkhorn", max_iter=5000)
    assert result.status is mathopt.Status.MAX_ITER and result.nit == 5000
    assert result.residuals["marginal"] < 1e-12
    assert _gap(result, a, b, cost) < 1e-2
    unrounded = mathopt.solve(mathopt.TransportProblem(a, b, cost=cost), method="mirror-sinkhorn", max_iter=5000,
                              rounding=False)
    assert unrounded.residuals["marginal"] < 0.05


def test_general_convex_objective_matches_cvxpy_like_reference():
    """F(P) = <C, P> + (lam/2)||P||^2 equals POT's quadratically regularized OT."""
    a, b, cost = point_cloud_instance()
    lam = 0.5
    reference = ot.smooth.smooth_ot_dual(a, b, cost, lam, reg_type="l2", stopThr=1e-12, numItermax=5000)
    value = lambda plan: np.sum(cost * plan) + 0.5 * lam * np.sum(plan ** 2)
    problem = mathopt.TransportProblem(a, b, objective=value, gradient=lambda plan: cost + lam * plan)
    result = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=3000)
    assert result.ngev == 3000
    assert abs(result.fun - value(reference)) < 1e-2
    assert result.fun >= value(reference) - 1e-6


def test_jax_objective_without_gradient():
    import jax.numpy as jnp

    a, b, cost = point_cloud_instance()
    problem = mathopt.TransportProblem(a, b, objective=lambda plan: jnp.sum(cost * plan))
    result = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=300)
    linear = mathopt.solve(mathopt.TransportProblem(a, b, cost=cost), method="mirror-sinkhorn", max_iter=300)
    np.testing.assert_allclose(result.plan, linear.plan, atol=1e-12)


def test_online_stochastic_costs_seeded():
    a, b, cost = point_cloud_instance()

    def noisy_cost(plan, rng):
        return cost + rng.normal(0.0, 0.3, cost.shape)

    problem = mathopt.TransportProblem(a, b, cost=cost, stochastic_gradient=noisy_cost)
    first = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=4000, seed=3)
    second = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=4000, seed=3)
    np.testing.assert_array_equal(first.plan, second.plan)
    assert _gap(first, a, b, cost) < 0.02


def test_partial_fit_equals_solve_with_the_same_stream():
    a, b, cost = point_cloud_instance()
    rng = np.random.default_rng(0)
    samples = [cost + rng.normal(0.0, 0.3, cost.shape) for _ in range(200)]
    stream = iter(samples)
    problem = mathopt.TransportProblem(a, b, cost=cost, stochastic_gradient=lambda plan, rng: next(stream))
    batch = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=200, step_size=1.0)
    model = OnlineMirrorSinkhorn(a, b, step_size=1.0)
    for sample in samples:
        model.partial_fit(sample)
    assert model.n_iter_ == 200
    np.testing.assert_allclose(model.plan_, batch.plan, atol=1e-14)


def test_callback_path_equals_compiled_loop_and_history():
    a, b, cost = point_cloud_instance()
    problem = mathopt.TransportProblem(a, b, cost=cost)
    compiled = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=60, history=True)
    seen = []
    stepped = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=60, callback=lambda info: seen.append(info.nit))
    np.testing.assert_allclose(stepped.plan, compiled.plan, atol=1e-15)
    assert seen == list(range(1, 61))
    values = compiled.history["averaged_objective"]
    assert values.size == 60 and values[-1] < values[0]
