import numpy as np
import pytest
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


def test_online_model_rejects_bad_options_and_starts_from_the_product_plan():
    a, b, _ = point_cloud_instance()
    with pytest.raises(mathopt.OptionError, match="averaging"):
        OnlineMirrorSinkhorn(a, b, averaging="last")
    with pytest.raises(mathopt.OptionError, match="step_size"):
        OnlineMirrorSinkhorn(a, b, step_size=-1.0)
    np.testing.assert_allclose(OnlineMirrorSinkhorn(a, b).plan_, np.outer(a, b) / a.sum())


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


def _reference_iterates(a, b, cost, max_iter, step_scale, uniform):
    """Algorithm 1 written plainly in NumPy: P <- P exp(-eta_t C), then row (t odd) / column (t even) scaling."""
    plan = np.outer(a, b) / a.sum()
    average, weight = np.zeros_like(plan), 0.0
    for t in range(1, max_iter + 1):
        eta = step_scale / np.sqrt(t)
        plan = plan * np.exp(-eta * cost)
        plan *= (a / plan.sum(1))[:, None] if t % 2 else (b / plan.sum(0))[None, :]
        w = 1.0 if uniform else eta
        average, weight = average + w * plan, weight + w
    return average / weight


def test_scaling_form_kernel_equals_plain_algorithm_and_paper_step():
    a, b, cost = point_cloud_instance()
    problem = mathopt.TransportProblem(a, b, cost=3.0 * cost)  # max |C| = 3
    delta = np.max(-np.log(a)) + np.max(-np.log(b))
    for averaging, uniform in (("uniform", True), ("step", False)):
        # odd budgets end on a row step, even ones on a column step; by t = 40 the fused passes use the
        # Taylor ratio of degrees 11, 8 and 5, and 301 runs most passes on degree 5
        for budget in (1, 2, 7, 40, 301):
            result = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=budget, averaging=averaging,
                                   rounding=False)
            expected = _reference_iterates(a, b, 3.0 * cost, budget, np.sqrt(delta) / 3.0, uniform)
            np.testing.assert_allclose(result.plan, expected, rtol=1e-11, atol=1e-15)


def test_linear_history_is_the_unrounded_average_objective():
    a, b, cost = point_cloud_instance()
    problem = mathopt.TransportProblem(a, b, cost=cost)
    result = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=25, history=True, rounding=False)
    values = result.history["averaged_objective"]
    assert values.size == 25 and np.all(np.isfinite(values))
    assert abs(values[-1] - result.fun) < 1e-12
    chunked = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=25, history=True, rounding=False,
                            verbose=4)  # chunks of 4 iterations: pending column iterates flushed per chunk
    np.testing.assert_allclose(chunked.history["averaged_objective"], values, rtol=1e-12)
    np.testing.assert_allclose(chunked.plan, result.plan, rtol=1e-12)


def test_general_and_online_history():
    a, b, cost = point_cloud_instance()
    lam = 0.5
    value = lambda plan: np.sum(cost * plan) + 0.5 * lam * np.sum(plan ** 2)
    problem = mathopt.TransportProblem(a, b, objective=value, gradient=lambda plan: cost + lam * plan)
    result = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=400, history=True, rounding=False)
    history = result.history
    assert set(history) >= {"objective", "averaged_objective", "marginal", "gradient_max", "nit"}
    assert all(history[k].size == 400 for k in history)
    assert abs(history["averaged_objective"][-1] - result.fun) < 1e-12
    assert abs(history["marginal"][-1] - result.residuals["marginal"]) < 1e-12
    assert history["marginal"][-1] < 0.5 * history["marginal"][9]  # the average approaches U(a, b)
    assert history["averaged_objective"][-1] < history["averaged_objective"][0]
    np.testing.assert_allclose(history["gradient_max"][0], np.max(cost + lam * np.outer(a, b) / a.sum()))

    def noisy_cost(plan, rng):
        return cost + rng.normal(0.0, 0.3, cost.shape)

    online = mathopt.TransportProblem(a, b, cost=cost, stochastic_gradient=noisy_cost)
    result = mathopt.solve(online, method="mirror-sinkhorn", max_iter=300, history=True, seed=1)
    assert result.history["objective"].size == 300 and np.all(np.isfinite(result.history["objective"]))
    assert result.history["gradient_max"].mean() > np.max(cost)  # noisy draws exceed the true bound
    assert result.history["averaged_objective"][-1] < result.history["averaged_objective"][4]


def test_uniform_averaging_beats_step_weighted_on_linear_ot():
    a, b, cost = point_cloud_instance()
    problem = mathopt.TransportProblem(a, b, cost=cost)
    gaps = {avg: _gap(mathopt.solve(problem, method="mirror-sinkhorn", max_iter=2000, averaging=avg), a, b, cost)
            for avg in ("uniform", "step")}
    assert 0 <= gaps["uniform"] < gaps["step"]
    with pytest.raises(mathopt.OptionError, match="averaging"):
        mathopt.solve(problem, method="mirror-sinkhorn", averaging="last")


def test_threaded_pass_equals_serial(monkeypatch):
    from mathopt.transport import _numba_kernels

    monkeypatch.setattr(_numba_kernels, "parallel_min_entries", lambda: 0)  # thread even this small instance
    a, b, cost = point_cloud_instance()
    problem = mathopt.TransportProblem(a, b, cost=cost)
    serial = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=31, history=True, parallel=False)
    threaded = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=31, history=True)
    np.testing.assert_allclose(threaded.plan, serial.plan, rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(threaded.history["averaged_objective"], serial.history["averaged_objective"],
                               rtol=1e-12)


def test_zero_mass_rows_and_columns_stay_empty_serial_and_threaded(monkeypatch):
    from mathopt.transport import _numba_kernels

    rng = np.random.default_rng(1)
    a, b = rng.random(120), rng.random(120)
    a[[3, 7]] = 0.0
    b[[0, 5]] = 0.0
    a, b = a / a.sum(), b / b.sum()
    cost = rng.random((120, 120))
    problem = mathopt.TransportProblem(a, b, cost=cost)
    plans = []
    monkeypatch.setattr(_numba_kernels, "parallel_min_entries", lambda: 10_000)  # thread 14 400 entries
    for parallel in (False, True):
        result = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=3001, parallel=parallel)
        assert np.all(result.plan[[3, 7]] == 0) and np.all(result.plan[:, [0, 5]] == 0)
        assert result.residuals["marginal"] < 1e-14
        assert 0 <= _gap(result, a, b, cost) < 5e-3
        plans.append(result.plan)
    np.testing.assert_allclose(plans[1], plans[0], rtol=1e-12, atol=1e-17)
