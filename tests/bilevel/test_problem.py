"""BilevelProblem validation, the engine's common options, and vmap over instances."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mathopt
from mathopt import ProblemError, Status
from mathopt.core.jax_utils import enable_x64
from mathopt.problems import bilevel as problems
from mathopt.sets import Box

F, f = problems._toy_upper, problems._toy_lower


@pytest.mark.parametrize("kwargs, field", [
    (dict(upper=1.0), "upper"),
    (dict(x0=[np.nan, 0.0]), "x0"),
    (dict(y0=[[0.0]]), "y0"),
    (dict(upper_set=Box([0.0, 0.0, 0.0], 1.0)), "upper_set"),
    (dict(lower_set="box"), "lower_set"),
    (dict(upper=lambda x, y: x), "upper"),
    (dict(lower=lambda x, y: jnp.dot(x, y[:1])), "lower"),
    (dict(batch_size=4), "batch_size"),
    (dict(lower_constraints=5), "lower_constraints"),
    (dict(lower_constraints=lambda x, y: jnp.outer(x, y)), "lower_constraints"),     # not 1-D
    (dict(lower_constraints=lambda x, y: jnp.zeros(0)), "lower_constraints"),        # empty
    (dict(lower_constraints=lambda x, y: jnp.log(x - 1.0)), "lower_constraints"),    # NaN at (x0, y0)
    (dict(lower_constraints=lambda x, y: x @ jnp.ones(3)), "lower_constraints"),     # fails to evaluate
])
def test_invalid_problem_rejected(kwargs, field):
    args = dict(upper=F, lower=f, x0=[0.0, 0.0], y0=[0.0, 0.0])
    args.update(kwargs)
    with pytest.raises(ProblemError) as info:
        mathopt.BilevelProblem(**args)
    assert info.value.field == field


def test_data_validated():
    upper = lambda x, y, b: jnp.sum(b["a"]) * jnp.sum(x)  # noqa: E731
    with pytest.raises(ProblemError, match="disagree"):
        mathopt.BilevelProblem(upper, upper, [0.0], [0.0], data={"a": np.ones(3), "b": np.ones(4)})
    with pytest.raises(ProblemError, match="exceeds"):
        mathopt.BilevelProblem(upper, upper, [0.0], [0.0], data={"a": np.ones(3)}, batch_size=5)
    with pytest.raises(ProblemError, match="NaN"):
        mathopt.BilevelProblem(upper, upper, [0.0], [0.0], data={"a": np.array([1.0, np.nan])})


def test_lower_constraints_refused_by_solvers_without_support():
    problem = mathopt.BilevelProblem(F, f, [0.0], [0.0], lower_constraints=lambda x, y: y - 1.0)
    assert problem.constraint_types == {"lower_constraints"}
    for method in ("pbgd", "f2sa", "penalty-bo", "implicit", "itd"):
        with pytest.raises(mathopt.UnknownMethodError, match="lower_constraints"):
            mathopt.solve(problem, method)


def test_history_of_both_levels_and_callback_path_agree():
    problem = problems.quadratic_toy(2)
    compiled = mathopt.solve(problem, "penalty-bo", max_iter=40, history=True)
    seen = []
    driven = mathopt.solve(problem, "penalty-bo", max_iter=40, history=True, callback=lambda info: seen.append(info.nit))
    assert seen == list(range(41))
    np.testing.assert_allclose(compiled.x, driven.x, rtol=0, atol=1e-14)
    for name in ("upper_value", "lower_value", "lower_gap", "step", "stationarity", "penalty"):
        assert compiled.history[name].shape == (41,)  # iterates 0..40
        np.testing.assert_allclose(compiled.history[name], driven.history[name], rtol=1e-12, atol=1e-14)
    assert compiled.upper_value == compiled.fun
    np.testing.assert_allclose(compiled.history["upper_value"][-1], compiled.upper_value)
    assert isinstance(compiled, mathopt.BilevelResult) and compiled.y.shape == (2,)


def test_max_time_stops():
    # stationarity_tol = 0: the run cannot converge (the toy is solved in ~60 iterations otherwise)
    result = mathopt.solve(problems.quadratic_toy(2), "pbgd", max_iter=10**7, max_time=0.2, stationarity_tol=0.0)
    assert result.status is Status.MAX_TIME


def test_vmap_over_instances():
    """A batch of random-quadratic instances (same family) solved by one vmapped compiled run."""
    instances = [problems.random_quadratic(2, 3, seed=s) for s in range(4)]
    run = mathopt.bilevel.make_solver(instances[0], "implicit", max_iter=1000)
    stacked = jax.tree_util.tree_map(lambda *a: np.stack(a), *[p.upper_data for p in instances])
    with enable_x64():
        out = jax.jit(jax.vmap(lambda data: run(jnp.zeros(2), jnp.zeros(3), data, data)))(stacked)
    for i, problem in enumerate(instances):
        np.testing.assert_allclose(np.asarray(out["x"][i]), problem.known_solution["x"], atol=1e-5)
    # the status code comes out of the vmapped loop, per instance
    assert [Status(int(code)) for code in out["status"]] == [Status.CONVERGED] * 4
    assert np.all((np.asarray(out["nit"]) > 0) & (np.asarray(out["nit"]) < 1000))


def _fresh_toy():
    """The 1-D toy with objectives of its own (a compilation cache entry of its own)."""
    return mathopt.BilevelProblem(lambda x, y: F(x, y), lambda x, y: f(x, y), [0.0], [0.0])


def test_step_size_sweep_compiles_once():
    """Step sizes, tolerances and max_iter are traced: a sweep compiles init and the loop once."""
    from mathopt.bilevel import _engine

    problem = _fresh_toy()
    before = _engine.TRACES.copy()
    xs = [mathopt.solve(problem, "implicit", step_size=step, max_iter=max_iter, stationarity_tol=tol).x[0]
          for step, max_iter, tol in ((0.05, 5, 1e-6), (0.1, 6, 1e-7), (0.2, 7, 1e-8))]
    assert _engine.TRACES["implicit", "init"] - before["implicit", "init"] == 1
    assert _engine.TRACES["implicit", "advance"] - before["implicit", "advance"] == 1
    # the traced values are the ones used: x_1 = step * 1 from x0 = 0 (hypergradient -1 at x = y = 0),
    # and larger steps move further in the same budget
    assert len(set(xs)) == 3 and xs == sorted(xs)


def test_compilation_cache_is_bounded():
    from mathopt.bilevel import _engine
    from mathopt.bilevel.implicit import _METHOD

    opts = mathopt.core.options.build_options(mathopt.core.registry.get_solver("implicit").options, "implicit", {})
    static, traced = _engine.split_options(_METHOD, opts)
    for _ in range(_engine.CACHE_SIZE + 3):
        _engine.compiled(_METHOD, _fresh_toy(), static, traced)
    assert len(_engine._CACHE) == _engine.CACHE_SIZE


@pytest.mark.parametrize("method", ["pbgd", "implicit"])
def test_nan_lower_value_ends_nonfinite(method):
    """A lower-level value that turns NaN (gradients finite) ends the run NONFINITE with the last
    finite iterate, with and without callback (the fuzz found success and MAX_ITER here)."""
    from tests.bilevel.contract import make_fault_problem

    problem = make_fault_problem(method, "nan_objective")
    for callback in (None, lambda info: None):
        result = mathopt.solve(problem, method, max_iter=300, callback=callback)
        assert result.status is Status.NONFINITE and not result.success
        assert 0 < result.nit < 300
        assert np.isfinite(result.lower_value) and np.all(np.isfinite(result.x))
        assert result.x[0] <= 0.1  # the last iterate before the NaN region
