import numpy as np
import pytest
import ot

import mathopt
from mathopt.transport import OnlineMirrorSinkhorn
from tests.transport.conftest import point_cloud_instance

# a fixed budget: stopping tests that cannot fire
FIXED = {"gap_tol": 1e-300, "objective_change_tol": 1e-300}
HALF = {"projection": "half"}  # Algorithm 1 on a general objective (the default there is the full projection)


def _gap(result, a, b, cost):
    return result.fun - ot.emd2(a, b, cost)


def test_reaches_emd_value_with_tightening_tolerance():
    a, b, cost = point_cloud_instance()
    problem = mathopt.TransportProblem(a, b, cost=cost)
    gaps = [_gap(mathopt.solve(problem, method="mirror-sinkhorn", max_iter=t, **FIXED), a, b, cost) for t in (100, 1000, 10000)]
    # O(1/sqrt(T)) rate: each 10x budget at least halves the gap; all plans feasible (rounded)
    assert gaps[0] < 0.08 and gaps[1] < 0.5 * gaps[0] and gaps[2] < 0.5 * gaps[1] and gaps[2] < 8e-3
    assert min(gaps) > -1e-12  # never below the exact LP value


def test_structured_instance_and_marginals():
    x = np.linspace(0, 1, 12)
    cost = (x[:, None] - x[None, ::-1]) ** 2
    a = b = np.full(12, 1 / 12)
    result = mathopt.solve(mathopt.TransportProblem(a, b, cost=cost), method="mirror-sinkhorn", max_iter=5000,
                           **FIXED)
    assert result.status is mathopt.Status.MAX_ITER and result.nit == 5000
    assert result.residuals["marginal"] < 1e-12
    assert _gap(result, a, b, cost) < 1e-2
    unrounded = mathopt.solve(mathopt.TransportProblem(a, b, cost=cost), method="mirror-sinkhorn", max_iter=5000,
                              rounding=False, **FIXED)
    assert unrounded.residuals["marginal"] < 0.05


def test_general_convex_objective_matches_cvxpy():
    """F(P) = <C, P> + (lam/2)||P||^2 on U(a, b), solved by cvxpy (Clarabel) on the same instance."""
    import cvxpy as cp

    a, b, cost = point_cloud_instance()
    lam = 0.5
    plan = cp.Variable(cost.shape, nonneg=True)
    reference = cp.Problem(cp.Minimize(cp.sum(cp.multiply(cost, plan)) + 0.5 * lam * cp.sum_squares(plan)),
                           [cp.sum(plan, axis=1) == a, cp.sum(plan, axis=0) == b])
    optimum = reference.solve(solver=cp.CLARABEL)
    value = lambda plan: np.sum(cost * plan) + 0.5 * lam * np.sum(plan ** 2)
    problem = mathopt.TransportProblem(a, b, objective=value, gradient=lambda plan: cost + lam * plan)
    result = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=3000, **FIXED, **HALF)
    assert result.ngev == 3000 and result.status is mathopt.Status.MAX_ITER
    assert abs(result.fun - optimum) < 1e-2
    assert result.fun >= optimum - 1e-6  # the rounded plan is feasible: never below the optimum


def test_general_objective_converges_with_defaults():
    a, b, cost = point_cloud_instance()
    value = lambda plan: np.sum(cost * plan) + 0.25 * np.sum(plan ** 2)
    problem = mathopt.TransportProblem(a, b, objective=value, gradient=lambda plan: cost + 0.5 * plan)
    result = mathopt.solve(problem, method="mirror-sinkhorn", **HALF)
    assert result.status is mathopt.Status.CONVERGED
    assert result.residuals["objective_change"] <= 1e-3 and result.residuals["marginal"] < 1e-12
    reference = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=20000, **FIXED, **HALF)
    assert -1e-12 <= result.fun - reference.fun < 5e-3  # the stagnation test stopped near the optimum


def test_jax_objective_without_gradient():
    import jax.numpy as jnp

    a, b, cost = point_cloud_instance()
    problem = mathopt.TransportProblem(a, b, objective=lambda plan: jnp.sum(cost * plan))
    result = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=300, **FIXED, **HALF)
    linear = mathopt.solve(mathopt.TransportProblem(a, b, cost=cost), method="mirror-sinkhorn", max_iter=300,
                           **FIXED)
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
    batch = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=200, step_size=1.0, **FIXED)
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
    with pytest.raises(mathopt.OptionError, match="rounding"):
        OnlineMirrorSinkhorn(a, b, rounding="no")
    np.testing.assert_allclose(OnlineMirrorSinkhorn(a, b).plan_, np.outer(a, b) / a.sum())


def test_callback_path_equals_compiled_loop_and_history():
    a, b, cost = point_cloud_instance()
    problem = mathopt.TransportProblem(a, b, cost=cost)
    compiled = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=60, history=True, **FIXED)
    seen = []
    stepped = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=60, callback=lambda info: seen.append(info.nit),
                            **FIXED)
    np.testing.assert_allclose(stepped.plan, compiled.plan, atol=1e-15)
    assert seen == list(range(61))
    values = compiled.history["averaged_objective"]
    # kernel records for iterates 1..59; iterates 0 and 60 are reported rows (fun, marginal, gap)
    assert values.size == 61 and np.all(np.isfinite(values[1:60])) and values[59] < values[1]
    assert np.isfinite(compiled.history["gap"][[0, 60]]).all()


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
                                   rounding=False, **FIXED)
            expected = _reference_iterates(a, b, 3.0 * cost, budget, np.sqrt(delta) / 3.0, uniform)
            np.testing.assert_allclose(result.plan, expected, rtol=1e-11, atol=1e-15)


def test_linear_history_is_the_unrounded_average_objective():
    a, b, cost = point_cloud_instance()
    problem = mathopt.TransportProblem(a, b, cost=cost)
    result = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=25, history=True, rounding=False, **FIXED)
    values = result.history["averaged_objective"]
    assert values.size == 26 and np.all(np.isfinite(values[1:25]))
    # with rounding=False the reported objective is the same quantity
    np.testing.assert_allclose(result.history["fun"][[0, 25]], [np.sum(cost * np.outer(a, b)), result.fun])
    chunked = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=25, history=True, rounding=False,
                            verbose=4, **FIXED)  # chunks of 4 iterations: pending column iterates flushed per chunk
    merged = np.where(np.isnan(chunked.history["averaged_objective"]), chunked.history["fun"],
                      chunked.history["averaged_objective"])
    np.testing.assert_allclose(merged[1:25], values[1:25], rtol=1e-12)
    np.testing.assert_allclose(chunked.plan, result.plan, rtol=1e-12)


def test_general_and_online_history():
    a, b, cost = point_cloud_instance()
    lam = 0.5
    value = lambda plan: np.sum(cost * plan) + 0.5 * lam * np.sum(plan ** 2)
    problem = mathopt.TransportProblem(a, b, objective=value, gradient=lambda plan: cost + lam * plan)
    result = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=400, history=True, rounding=False, **FIXED,
                           **HALF)
    history = result.history
    assert set(history) >= {"objective", "averaged_objective", "averaged_marginal", "gradient_max", "nit"}
    assert all(history[k].size == 401 for k in history)
    assert abs(history["fun"][-1] - result.fun) < 1e-12
    assert abs(history["averaged_objective"][399] - value(np.asarray(result.plan))) < 0.01
    assert history["averaged_marginal"][399] < 0.5 * history["averaged_marginal"][10]  # the average nears U(a, b)
    assert history["averaged_objective"][399] < history["averaged_objective"][1]
    np.testing.assert_allclose(history["gradient_max"][1], np.max(cost + lam * np.outer(a, b) / a.sum()))

    def noisy_cost(plan, rng):
        return cost + rng.normal(0.0, 0.3, cost.shape)

    online = mathopt.TransportProblem(a, b, cost=cost, stochastic_gradient=noisy_cost)
    result = mathopt.solve(online, method="mirror-sinkhorn", max_iter=300, history=True, seed=1, **FIXED)
    objective = result.history["objective"][1:300]
    assert objective.size == 299 and np.all(np.isfinite(objective))
    assert np.nanmean(result.history["gradient_max"]) > np.max(cost)  # noisy draws exceed the true bound
    assert result.history["averaged_objective"][299] < result.history["averaged_objective"][5]


def test_uniform_averaging_beats_step_weighted_on_linear_ot():
    a, b, cost = point_cloud_instance()
    problem = mathopt.TransportProblem(a, b, cost=cost)
    gaps = {avg: _gap(mathopt.solve(problem, method="mirror-sinkhorn", max_iter=2000, averaging=avg, **FIXED), a, b,
                      cost)
            for avg in ("uniform", "step")}
    assert 0 <= gaps["uniform"] < gaps["step"]
    with pytest.raises(mathopt.OptionError, match="averaging"):
        mathopt.solve(problem, method="mirror-sinkhorn", averaging="last")


def test_threaded_pass_equals_serial(monkeypatch):
    from mathopt.transport import _numba_kernels

    monkeypatch.setattr(_numba_kernels, "parallel_min_entries", lambda: 0)  # thread even this small instance
    a, b, cost = point_cloud_instance()
    problem = mathopt.TransportProblem(a, b, cost=cost)
    serial = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=31, history=True, parallel=False, **FIXED)
    threaded = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=31, history=True, **FIXED)
    np.testing.assert_allclose(threaded.plan, serial.plan, rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(threaded.history["averaged_objective"], serial.history["averaged_objective"],
                               rtol=1e-12)  # NaN at the reported iterates 0 and 31 in both


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
        result = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=3001, parallel=parallel, **FIXED)
        assert np.all(result.plan[[3, 7]] == 0) and np.all(result.plan[:, [0, 5]] == 0)
        assert result.residuals["marginal"] < 1e-14
        assert 0 <= _gap(result, a, b, cost) < 5e-3
        plans.append(result.plan)
    np.testing.assert_allclose(plans[1], plans[0], rtol=1e-12, atol=1e-17)


@pytest.mark.parametrize("shape", [(4, 4), (20, 30), (100, 100)])
def test_converges_with_default_options_and_the_gap_is_certified(shape):
    rng = np.random.default_rng(sum(shape))
    a, b = rng.random(shape[0]) + 0.1, rng.random(shape[1]) + 0.1
    a, b, cost = a / a.sum(), b / b.sum(), rng.random(shape)
    result = mathopt.solve(mathopt.TransportProblem(a, b, cost=cost), method="mirror-sinkhorn")
    assert result.status is mathopt.Status.CONVERGED, result.message
    assert result.residuals["gap"] <= 1e-2 * cost.max()
    assert -1e-12 <= _gap(result, a, b, cost) <= result.residuals["gap"] + 1e-12  # a true upper bound


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nonfinite_user_gradient_ends_nonfinite_with_the_last_finite_average(bad):
    a, b, cost = point_cloud_instance()
    calls = []

    def gradient(plan):
        calls.append(1)
        return cost + (bad if len(calls) > 7 else 0.0)

    problem = mathopt.TransportProblem(a, b, objective=lambda plan: np.sum(cost * plan), gradient=gradient)
    result = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=50, **HALF)
    assert result.status is mathopt.Status.NONFINITE and result.nit == 7
    finite = mathopt.solve(mathopt.TransportProblem(a, b, objective=lambda plan: np.sum(cost * plan),
                                                    gradient=lambda plan: cost), method="mirror-sinkhorn", max_iter=7, **HALF)
    np.testing.assert_allclose(result.plan, finite.plan, rtol=1e-13)
    assert not np.allclose(result.plan, np.outer(a, b))  # not the starting plan


@pytest.mark.parametrize("field", ["gradient", "stochastic_gradient"])
def test_wrong_gradient_shape_names_the_function(field):
    a, b, cost = point_cloud_instance()
    if field == "gradient":
        problem = mathopt.TransportProblem(a, b, objective=lambda plan: np.sum(cost * plan),
                                           gradient=lambda plan: cost[:, :-1])
    else:
        problem = mathopt.TransportProblem(a, b, cost=cost, stochastic_gradient=lambda plan, rng: cost.T)
    with pytest.raises(mathopt.ProblemError, match="shape") as err:
        mathopt.solve(problem, method="mirror-sinkhorn", max_iter=5)
    assert err.value.field == field


def test_boolean_options_reject_strings():
    a, b, cost = point_cloud_instance()
    problem = mathopt.TransportProblem(a, b, cost=cost)
    for name in ("rounding", "parallel"):
        with pytest.raises(mathopt.OptionError, match=name):
            mathopt.solve(problem, method="mirror-sinkhorn", **{name: "no"})


def test_failed_scaling_is_not_committed(monkeypatch):
    """A kernel call reporting a failed scaling (impossible on a validated finite cost, so simulated):
    NONFINITE with the state of the iterations before the failing pass, recomputed from P_0."""
    from mathopt.transport import _numba_kernels

    kernel = _numba_kernels.mirror_sinkhorn_linear
    calls = []

    def failing_once(*args):
        calls.append(1)
        done, _ = kernel(*args)  # (done, code)
        if len(calls) == 1:  # the first call: pretend the pass after 37 iterations failed
            args[5][:] = np.nan  # the average is garbage after a failed pass
            return 37, mathopt.core.status.CODE_NONFINITE
        return done, mathopt.core.status.CONTINUE

    monkeypatch.setattr(_numba_kernels, "mirror_sinkhorn_linear", failing_once)
    a, b, cost = point_cloud_instance()
    problem = mathopt.TransportProblem(a, b, cost=cost)
    result = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=90, **FIXED)
    assert result.status is mathopt.Status.NONFINITE and result.nit == 37
    monkeypatch.setattr(_numba_kernels, "mirror_sinkhorn_linear", kernel)
    clean = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=37, **FIXED)
    np.testing.assert_allclose(result.plan, clean.plan, rtol=1e-12)
