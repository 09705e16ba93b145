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
from mathopt.core.driver import IterationInfo, Progress
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


def test_jax_while_loop_stops_on_done_and_records_history():
    import jax
    import jax.numpy as jnp

    from mathopt.core.jax_utils import enable_x64, jax_while_loop

    with enable_x64():
        @jax.jit
        def halve(x0):
            return jax_while_loop(lambda x: x / 2.0, lambda x: x < 1.0, x0, max_iter=10,
                                  record=lambda x: {"value": x})

        out = halve(jnp.asarray(20.0))
        assert int(out.nit) == 5 and float(out.state) == 0.625
        assert out.history["value"].dtype == jnp.float64
        np.testing.assert_allclose(np.asarray(out.history["value"][:5]), [10, 5, 2.5, 1.25, 0.625])
        assert np.all(np.isnan(np.asarray(out.history["value"][5:])))
        capped = jax_while_loop(lambda x: x / 2.0, lambda x: x < 1.0, jnp.asarray(1e6), max_iter=3)
        assert int(capped.nit) == 3 and capped.history is None


def test_numba_helpers():
    from mathopt.core.numba_utils import njit, preallocate_history, trim_history

    @njit
    def cumulative(values, out):
        total = 0.0
        for i in range(values.size):
            total += values[i]
            out[i] = total
        return values.size

    hist = preallocate_history(["total"], 5)
    n = cumulative(np.arange(4.0), hist["total"])
    np.testing.assert_array_equal(trim_history(hist, n - 1)["total"], [0.0, 1.0, 3.0, 6.0])


def test_run_chunked_limits_callback_history_and_nonfinite():
    from mathopt.core.driver import run_chunked
    from mathopt.core.options import CommonOptions

    state = {"x": 1.0, "calls": []}

    def advance(nit, k):
        state["calls"].append(k)
        values = np.empty(k)
        for i in range(k):
            state["x"] *= 0.5
            values[i] = state["x"]
        return k, state["x"] < 1e-3, {"x": values}

    def info(nit, elapsed):
        return IterationInfo(nit=nit, x=np.array([state["x"]]), fun=state["x"], elapsed=elapsed)

    status, last, history = run_chunked(advance, info, CommonOptions(max_iter=50, history=True))
    assert status is mathopt.Status.CONVERGED and last.nit == 50 and state["calls"] == [50]  # one compiled call
    np.testing.assert_allclose(history["x"], 0.5 ** np.arange(1, 51))
    np.testing.assert_array_equal(history["nit"], np.arange(1, 51))

    state.update(x=1.0, calls=[])
    seen = []
    status, last, _ = run_chunked(advance, info, CommonOptions(max_iter=50, callback=lambda i: seen.append(i.nit)
                                                               or i.nit == 3))
    assert status is mathopt.Status.CALLBACK and seen == [1, 2, 3] and state["calls"] == [1, 1, 1]

    state.update(x=float("nan"), calls=[])
    status, _, history = run_chunked(advance, info, CommonOptions(max_iter=5))
    assert status is mathopt.Status.NONFINITE and state["calls"] == [] and history is None


def test_run_chunked_under_a_time_limit_grows_chunks_while_info_is_costly():
    import time

    from mathopt.core.driver import CHUNK, _next_chunk, run_chunked
    from mathopt.core.options import CommonOptions

    # info costs 100 iterations' time: 2000 iterations per call keep it at 5%, unless time runs out
    assert abs(_next_chunk(1e-6, 1e-4, 10.0) - 2000) <= 1  # ceil of a rounded 2000
    assert abs(_next_chunk(1e-6, 1e-4, 1e-3) - 1000) <= 1
    assert _next_chunk(1e-6, 1e-9, 10.0) == CHUNK  # cheap info: never below CHUNK
    assert _next_chunk(1e-3, 1.0, 0.0) == 1

    calls = []

    def advance(nit, k):
        calls.append(k)
        time.sleep(1e-5 * k)
        return k, False, {}

    def info(nit, elapsed):
        time.sleep(2e-3)  # as costly as 200 iterations
        return IterationInfo(nit=nit, x=np.zeros(1), fun=0.0, elapsed=elapsed)

    status, last, _ = run_chunked(advance, info, CommonOptions(max_iter=100_000, max_time=0.5))
    assert status is mathopt.Status.MAX_TIME and last.elapsed < 0.6
    assert calls[0] == CHUNK and max(calls) >= 1000
