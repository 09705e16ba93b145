"""The library-owned loop, through the worked example solver of docs/architecture.md."""
import importlib.util
import io
import pathlib
import sys
import time

import numpy as np
import pytest

import mathopt
from mathopt import Status
from mathopt.core.driver import CHUNK, Advance, IterationInfo, IterativeSolver, Progress, _next_chunk, run
from mathopt.core.options import CommonOptions
from mathopt.core.status import CODE_CONVERGED, CODE_NONFINITE, CONTINUE
from mathopt.core.user import is_numerical_failure, is_user_error, user_function
from mathopt.core.registry import _REGISTRY

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "custom_solver.py"
METHOD = "example-projected-gradient"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("custom_solver_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    _REGISTRY.pop(METHOD)
    sys.modules.pop(spec.name)


def box_problem(objective=None):
    # min sum((x - c)^2) on [0, 1]^3 with c = (2, -1, 0.25): solution clip(c) = (1, 0, 0.25)
    c = np.array([2.0, -1.0, 0.25])
    return mathopt.NLP(objective or (lambda x: float((x - c) @ (x - c))), x0=[0.5, 0.5, 0.5],
                       gradient=lambda x: 2.0 * (x - c), bounds=(0.0, 1.0))


def test_worked_example_converges_to_closed_form(example):
    result = mathopt.solve(box_problem(), method=METHOD)
    assert result.status is Status.CONVERGED
    np.testing.assert_allclose(result.x, [1.0, 0.0, 0.25], atol=1e-8)
    assert result.nfev >= 1 and result.ngev >= 1


def test_max_iter_and_history(example):
    ill = mathopt.NLP(lambda x: x[0] ** 2 + 100.0 * x[1] ** 2, x0=[1.0, 1.0],
                      gradient=lambda x: np.array([2 * x[0], 200.0 * x[1]]), bounds=(-5.0, 5.0))
    result = mathopt.solve(ill, method=METHOD, max_iter=3, history=True, step=0.001)
    assert result.status is Status.MAX_ITER and result.nit == 3
    assert set(result.history) >= {"nit", "fun", "stationarity", "time"}
    np.testing.assert_array_equal(result.history["nit"], [0, 1, 2, 3])
    assert np.all(np.diff(result.history["fun"]) < 0)


def test_max_time(example):
    slow = box_problem(lambda x: (time.sleep(0.02), float(np.sum((x - 3.0) ** 2) * 1e-9))[1])
    result = mathopt.solve(slow, method=METHOD, max_time=0.05, step=1e-12, stationarity_tol=1e-30)
    assert result.status is Status.MAX_TIME


def test_nan_gives_nonfinite_status(example):
    c = np.array([2.0, -1.0, 0.25])
    nan_gradient_after_first_step = mathopt.NLP(
        lambda x: float((x - c) @ (x - c)), x0=[0.5, 0.5, 0.5], bounds=(0.0, 1.0),
        gradient=lambda x: 2.0 * (x - c) if x[0] == 0.5 else np.full(3, np.nan))
    result = mathopt.solve(nan_gradient_after_first_step, method=METHOD)
    assert result.status is Status.NONFINITE and not result.success


def test_callback_sees_info_and_stops(example):
    seen = []

    def callback(info):
        seen.append(info)
        return info.nit == 1

    ill = mathopt.NLP(lambda x: x[0] ** 2 + 100.0 * x[1] ** 2, x0=[1.0, 1.0],
                      gradient=lambda x: np.array([2 * x[0], 200.0 * x[1]]), bounds=(-5.0, 5.0))
    result = mathopt.solve(ill, method=METHOD, callback=callback, step=0.001)
    assert result.status is Status.CALLBACK and result.nit == 1
    assert [i.nit for i in seen] == [0, 1] and isinstance(seen[0], IterationInfo)
    assert "stationarity" in seen[0].residuals


def test_progress_is_opt_in(example, capsys):
    mathopt.solve(box_problem(), method=METHOD)
    assert capsys.readouterr().err == ""
    mathopt.solve(box_problem(), method=METHOD, verbose=1)
    err = capsys.readouterr().err
    assert "objective" in err and "stationarity" in err


def test_progress_prints_every_k_and_final_once():
    stream = io.StringIO()
    progress = Progress("p", 2, stream)
    for k in range(5):
        progress.update(IterationInfo(nit=k, x=np.zeros(1), fun=float(k)))
    progress.update(IterationInfo(nit=4, x=np.zeros(1), fun=4.0), force=True)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 + 3  # header, iterations 0, 2, 4


def test_jax_while_loop_carries_a_status_code_and_drops_a_nonfinite_step():
    import jax
    import jax.numpy as jnp

    from mathopt.core.jax_utils import enable_x64, jax_while_loop
    from mathopt.core.status import CODE_CONVERGED, CODE_NONFINITE, CONTINUE

    def status(x):
        return jnp.where(~jnp.isfinite(x), CODE_NONFINITE, jnp.where(x < 1.0, CODE_CONVERGED, CONTINUE))

    with enable_x64():
        @jax.jit
        def halve(x0, n):
            return jax_while_loop(lambda x: x / 2.0, status, x0, n, record=lambda x: {"value": x}, capacity=10)

        out = halve(jnp.asarray(20.0), 10)
        assert int(out.nit) == 5 and float(out.state) == 0.625 and int(out.code) == CODE_CONVERGED
        assert out.history["value"].dtype == jnp.float64
        np.testing.assert_allclose(np.asarray(out.history["value"][:5]), [10, 5, 2.5, 1.25, 0.625])
        assert np.all(np.isnan(np.asarray(out.history["value"][5:])))
        capped = halve(jnp.asarray(1e6), 3)  # a traced budget: same compiled loop
        assert int(capped.nit) == 3 and int(capped.code) == CONTINUE
        # x -> log(x) - 1 from 100: 3.61, 0.28, -2.26, then NaN: the loop stops at the last finite iterate
        finite_only = lambda x: jnp.where(jnp.isfinite(x), CONTINUE, CODE_NONFINITE)  # noqa: E731
        blow = jax_while_loop(lambda x: jnp.log(x) - 1.0, finite_only, jnp.asarray(100.0), 10)
        assert int(blow.code) == CODE_NONFINITE and int(blow.nit) == 3
        assert float(blow.state) == pytest.approx(np.log(np.log(np.log(100.0) - 1.0) - 1.0) - 1.0)
        assert blow.history is None


def test_numba_njit_compiles_a_kernel():
    from mathopt.core.numba_utils import njit

    @njit
    def cumulative(values, out):
        total = 0.0
        for i in range(values.size):
            total += values[i]
            out[i] = total
        return values.size

    out = np.zeros(4)
    assert cumulative(np.arange(4.0), out) == 4
    np.testing.assert_array_equal(out, [0.0, 1.0, 3.0, 6.0])


class Halving(IterativeSolver):
    """x <- x / 2 in a stand-in "compiled" advance; converged below 1e-3; NaN at a chosen iteration."""

    records = ("fun",)

    def __init__(self, nan_at=None, sleep=0.0, info_cost=0.0):
        self.nan_at, self.sleep, self.info_cost, self.calls = nan_at, sleep, info_cost, []

    def init(self, problem, options):
        return {"x": 1.0, "t": 0}

    def advance(self, state, nit, k, record):
        self.calls.append(k)
        x, t = state["x"], state["t"]
        values = np.full(k, np.nan)
        time.sleep(self.sleep * k)
        for i in range(k):
            new = float("nan") if self.nan_at == t + 1 else x / 2.0
            if not np.isfinite(new):
                return Advance({"x": x, "t": t}, i, CODE_NONFINITE, {"fun": values})
            x, t = new, t + 1
            values[i] = x
            if x < 1e-3:
                return Advance({"x": x, "t": t}, i + 1, CODE_CONVERGED, {"fun": values})
        return Advance({"x": x, "t": t}, k, CONTINUE, {"fun": values})

    def info(self, state, nit, elapsed):
        time.sleep(self.info_cost)
        return IterationInfo(nit=nit, x=np.array([state["x"]]), fun=state["x"], elapsed=elapsed,
                             residuals={"size": state["x"]})


def test_compiled_path_follows_the_rules_of_the_loop():
    solver = Halving()
    result = run(solver, None, CommonOptions(max_iter=50, history=True))
    assert result.status is Status.CONVERGED and result.nit == 10 and solver.calls == [50]  # one compiled call
    np.testing.assert_array_equal(result.history["nit"], np.arange(11))
    np.testing.assert_allclose(result.history["fun"], 0.5 ** np.arange(11))

    solver, seen = Halving(), []
    result = run(solver, None, CommonOptions(max_iter=50, callback=lambda i: seen.append(i.nit) or i.nit == 3))
    assert result.status is Status.CALLBACK and seen == [0, 1, 2, 3] and solver.calls == [1, 1, 1]

    result = run(Halving(), None, CommonOptions(max_iter=4, history=True))
    assert result.status is Status.MAX_ITER and result.nit == 4 and len(result.history["fun"]) == 5


def test_compiled_nonfinite_keeps_the_last_finite_iterate():
    result = run(Halving(nan_at=4), None, CommonOptions(max_iter=50, history=True))
    assert result.status is Status.NONFINITE and result.nit == 3
    np.testing.assert_allclose(result.x, [0.125])
    np.testing.assert_array_equal(result.history["nit"], np.arange(4))


class Stepping(IterativeSolver):
    """A Python-stepped solver whose step meets NaN, or a singular system, at a chosen iteration."""

    def __init__(self, fault_at, fault):
        self.fault_at, self.fault = fault_at, fault

    def init(self, problem, options):
        return (1.0, 0)

    def step(self, state):
        x, t = state
        if t + 1 == self.fault_at:
            if self.fault == "nan":
                return (float("nan"), t + 1)
            if self.fault == "singular":
                np.linalg.solve(np.zeros((2, 2)), np.ones(2))
            user_function(lambda: 1.0 / 0.0)()  # the user's own function divides by zero
        return (x / 2.0, t + 1)

    def info(self, state, nit, elapsed):
        return IterationInfo(nit=nit, x=np.array([state[0]]), fun=state[0], elapsed=elapsed)


def test_stepped_failures_keep_the_last_good_iterate_and_user_errors_propagate():
    result = run(Stepping(3, "nan"), None, CommonOptions(max_iter=10, history=True))
    assert result.status is Status.NONFINITE and result.nit == 2 and result.x[0] == 0.25
    assert len(result.history["fun"]) == 3
    result = run(Stepping(3, "singular"), None, CommonOptions(max_iter=10))
    assert result.status is Status.NUMERICAL_ERROR and result.nit == 2 and "Singular" in result.message
    with pytest.raises(ZeroDivisionError):  # the user's error is not turned into a status
        run(Stepping(3, "user"), None, CommonOptions(max_iter=10))


def test_user_function_errors_are_marked_and_propagate_unchanged():
    def bad(x):
        return 1.0 / 0.0

    wrapped = user_function(bad)
    with pytest.raises(ZeroDivisionError) as caught:
        wrapped(1.0)
    assert is_user_error(caught.value) and not is_numerical_failure(caught.value)
    assert is_numerical_failure(np.linalg.LinAlgError("x"))
    assert user_function(wrapped) is wrapped and user_function(None) is None


def test_compiled_path_under_a_time_limit_grows_chunks_while_info_is_costly():
    # info costs 100 iterations' time: 2000 iterations per call keep it at 5%, unless time runs out
    assert abs(_next_chunk(1e-6, 1e-4, 10.0) - 2000) <= 1  # ceil of a rounded 2000
    assert abs(_next_chunk(1e-6, 1e-4, 1e-3) - 1000) <= 1
    assert _next_chunk(1e-6, 1e-9, 10.0) == CHUNK  # cheap info: never below CHUNK
    assert _next_chunk(1e-3, 1.0, 0.0) == 1

    class Slow(Halving):
        def advance(self, state, nit, k, record):
            self.calls.append(k)
            time.sleep(1e-5 * k)
            return Advance(state, k)

    solver = Slow(info_cost=2e-3)  # info as costly as 200 iterations
    result = run(solver, None, CommonOptions(max_iter=100_000, max_time=0.5))
    assert result.status is Status.MAX_TIME and result.wall_time == 0.0  # wall_time is set by solve()
    assert solver.calls[:2] == [CHUNK, CHUNK] and max(solver.calls) >= 1000  # the first call times compilation
